package sip

import (
	"bytes"
	"fmt"
)

// Part is one body part of a multipart body (RFC 2046 section 5.1), e.g. the SDP and the ISUP of
// a SIP-I INVITE, or SDP and PIDF. Slices point into the message body.
type Part struct {
	Header      []byte // the part's header lines, as on the wire (empty when it has none)
	ContentType []byte // the part's Content-Type value; nil means text/plain (RFC 2046)
	Body        []byte
}

// HeaderValue returns the value of the part's first header with this name (case-insensitive).
func (p Part) HeaderValue(name string) []byte {
	for q := 0; q < len(p.Header); {
		line, next := nextLine(p.Header, q)
		q = next
		if c := bytes.IndexByte(line, ':'); c >= 0 && equalFold(bytes.TrimRight(line[:c], " \t"), name) {
			return trimLWS(line[c+1:])
		}
	}
	return nil
}

// MediaType returns the type/subtype of a Content-Type value, without parameters or white space.
func MediaType(contentType []byte) []byte {
	if semi := bytes.IndexByte(contentType, ';'); semi >= 0 {
		contentType = contentType[:semi]
	}
	return trimLWS(contentType)
}

// Boundary returns the boundary parameter of a multipart Content-Type, without quotes.
func Boundary(contentType []byte) []byte {
	semi := bytes.IndexByte(contentType, ';')
	if semi < 0 {
		return nil
	}
	b, _ := Param(contentType[semi+1:], "boundary")
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
	}
	return b
}

// Parts calls yield with each part of a multipart body, in order. It returns ErrBadMultipart when
// contentType has no boundary, when no delimiter is found, or when the closing delimiter is
// missing (after yielding the parts that were complete up to the end of the body).
func Parts(contentType, body []byte, yield func(Part) bool) error {
	boundary := Boundary(contentType)
	if len(boundary) == 0 {
		return fmt.Errorf("%w: no boundary in %q", ErrBadMultipart, clip(contentType))
	}
	_, after := findDelimiter(body, boundary, 0)
	if after < 0 {
		return fmt.Errorf("%w: no delimiter %q", ErrBadMultipart, clip(boundary))
	}
	for {
		if bytes.HasPrefix(body[after:], []byte("--")) {
			return nil // close delimiter
		}
		// Skip transport padding and the line end after the delimiter.
		nl := bytes.IndexByte(body[after:], '\n')
		if nl < 0 {
			return fmt.Errorf("%w: nothing after delimiter", ErrBadMultipart)
		}
		start := after + nl + 1
		end, nextAfter := findDelimiter(body, boundary, start)
		closed := end >= 0
		if !closed {
			end = len(body)
		} else if end > start {
			// The line end before a delimiter belongs to the delimiter.
			end--
			if end > start && body[end-1] == '\r' {
				end--
			}
		}
		if !yield(splitPart(body[start:end])) || !closed {
			if !closed {
				return fmt.Errorf("%w: no closing delimiter", ErrBadMultipart)
			}
			return nil
		}
		after = nextAfter
	}
}

// findDelimiter finds "--boundary" at the start of a line at or after from, returning where the
// "--" starts (the preceding line end is not included) and where the boundary ends, or -1, -1.
// Binary parts may hold bare LF bytes (RFC 4475 mpart01), so only a full "--boundary" after a line
// start counts.
func findDelimiter(body, boundary []byte, from int) (start, after int) {
	for from < len(body) {
		i := bytes.Index(body[from:], boundary)
		if i < 0 {
			return -1, -1
		}
		i += from
		if i >= 2 && body[i-1] == '-' && body[i-2] == '-' && (i == 2 || body[i-3] == '\n') && i-2 >= from {
			return i - 2, i + len(boundary)
		}
		from = i + 1
	}
	return -1, -1
}

func splitPart(p []byte) Part {
	var part Part
	if len(p) > 0 && (p[0] == '\n' || p[0] == '\r') {
		// No headers: the body starts after the empty line.
		_, next := nextLine(p, 0)
		part.Body = p[next:]
		part.Header = p[:0]
		return part
	}
	for q := 0; q < len(p); {
		line, next := nextLine(p, q)
		if len(line) == 0 {
			part.Header, part.Body = p[:q], p[next:]
			break
		}
		q = next
		if q == len(p) {
			part.Header, part.Body = p, p[len(p):]
		}
	}
	part.ContentType = part.HeaderValue("Content-Type")
	if part.ContentType == nil {
		part.ContentType = part.HeaderValue("c")
	}
	return part
}

// SDPBody returns the session description the message carries: the body when it is
// application/sdp, or the first application/sdp part of a multipart body (nested one level
// deep, as in multipart/mixed holding multipart/alternative). nil when there is none.
func (m *Message) SDPBody() []byte {
	return findSDP(m.ContentType, m.Body, 2)
}

func findSDP(contentType, body []byte, depth int) []byte {
	mt := MediaType(contentType)
	switch {
	case equalFold(mt, "application/sdp"):
		return body
	case depth > 0 && hasPrefixFold(mt, "multipart/"):
		var sdp []byte
		_ = Parts(contentType, body, func(p Part) bool {
			sdp = findSDP(p.ContentType, p.Body, depth-1)
			return sdp == nil
		})
		return sdp
	}
	return nil
}
