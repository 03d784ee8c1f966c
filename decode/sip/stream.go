package sip

import (
	"bytes"
	"fmt"
)

// Limits MessageLength applies so that a stream of junk cannot make a framer buffer forever.
const (
	MaxHeaderBytes = 64 << 10 // start line and headers
	MaxBodyBytes   = 16 << 20 // Content-Length
)

// MessageLength returns the length of the first complete SIP message at the start of a stream
// buffer (start line, headers, the empty line, then Content-Length bytes of body), 0 with a nil
// error when more bytes are needed, or an error when the bytes cannot be SIP, so that the framer
// can resynchronise. Leading keep-alives (RFC 5626 "\r\n\r\n" pings, "\r\n" pongs) are reported as
// their own length; IsKeepAlive tells them apart. A message without Content-Length has no body
// (RFC 3261 section 18.3 makes the header mandatory on streams).
func MessageLength(b []byte) (n int, err error) {
	if len(b) == 0 {
		return 0, nil
	}
	if b[0] == '\r' || b[0] == '\n' {
		for n < len(b) && (b[n] == '\r' || b[n] == '\n') {
			n++
		}
		if n == len(b) && b[n-1] == '\r' {
			n-- // the CR of a CRLF whose LF has not arrived
		}
		return n, nil
	}
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 {
		if len(b) > MaxHeaderBytes {
			return 0, fmt.Errorf("%w: start line longer than %d bytes", ErrTooLong, MaxHeaderBytes)
		}
		if !startLinePrefix(b) {
			return 0, fmt.Errorf("%w: start line %q", ErrNotSIP, clip(b))
		}
		return 0, nil
	}
	if !startLine(trimCR(b[:nl])) {
		return 0, fmt.Errorf("%w: start line %q", ErrNotSIP, clip(trimCR(b[:nl])))
	}

	cl := -1
	inCL := false // the header being read is Content-Length, so folds continue its value
	var clStart, clEnd int
	p := nl + 1
	for {
		if p > MaxHeaderBytes {
			return 0, fmt.Errorf("%w: header section longer than %d bytes", ErrTooLong, MaxHeaderBytes)
		}
		e := bytes.IndexByte(b[p:], '\n')
		if e < 0 {
			return 0, nil
		}
		line := trimCR(b[p : p+e])
		if len(line) > 0 && isWSP(line[0]) {
			if inCL {
				clEnd = p + len(line)
			}
			p += e + 1
			continue
		}
		if inCL {
			if cl, err = mergeContentLength(cl, b[clStart:clEnd]); err != nil {
				return 0, err
			}
			inCL = false
		}
		if len(line) == 0 {
			p += e + 1
			break
		}
		if colon := bytes.IndexByte(line, ':'); colon >= 0 {
			name := bytes.TrimRight(line[:colon], " \t")
			if id := lookupHeader(name); id == hContentLength {
				inCL, clStart, clEnd = true, p+colon+1, p+len(line)
			}
		}
		p += e + 1
	}
	if cl < 0 {
		cl = 0
	}
	if cl > MaxBodyBytes {
		return 0, fmt.Errorf("%w: Content-Length %d", ErrTooLong, cl)
	}
	if p+cl > len(b) {
		return 0, nil
	}
	return p + cl, nil
}

func mergeContentLength(prev int, v []byte) (int, error) {
	v = trimLWS(v)
	n, ok := atoi(v)
	if !ok {
		return 0, fmt.Errorf("%w %q", ErrBadContentLength, clip(v))
	}
	if prev >= 0 && prev != n {
		return 0, fmt.Errorf("%w: Content-Length %d and %d", ErrDuplicateHeader, prev, n)
	}
	return n, nil
}

// IsKeepAlive reports whether b is a keep-alive (CR and LF only), as MessageLength reports them.
func IsKeepAlive(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// LooksLikeSIP is a cheap content sniff for SIP on any port: the first line is a status line
// ("SIP/2.0 NNN ...") or a request line ("METHOD scheme:... SIP/2.0"). It does not allocate.
func LooksLikeSIP(b []byte) bool {
	_, _, ok := sniffStartLine(b)
	return ok
}

// sniffStartLine is LooksLikeSIP's test; it also returns the first line (without its line end)
// and where the next begins, for ParseIfSIP to go on from.
func sniffStartLine(b []byte) (line []byte, next int, ok bool) {
	line, next, _, ok = sniffStartLineAt(b)
	return line, next, ok
}

// sniffStartLineAt is sniffStartLine that also returns, for a request line, where the space
// before its SIP version is (-1 for a status line).
func sniffStartLineAt(b []byte) (line []byte, next, last int, ok bool) {
	// Both start lines begin with a token character; RTP (0x80...) and most binary payloads are
	// turned away here, before a search for the end of a line that they do not have.
	if len(b) == 0 || !isToken(b[0]) {
		return nil, 0, -1, false
	}
	line, next = nextLine(b, 0)
	last, ok = startLineAt(line)
	return line, next, last, ok
}

func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}

// isVersion matches "SIP/" DIGIT "." DIGIT (any version, so that RFC 4475 badvers is still SIP).
func isVersion(b []byte) bool {
	return len(b) == 7 && hasPrefixFold(b, "SIP/") && isDigit(b[4]) && b[5] == '.' && isDigit(b[6])
}

// startLine is the sniff shared by LooksLikeSIP and MessageLength; it is looser than Parse (extra
// spaces, <> around the URI) but never accepts another protocol's line.
func startLine(line []byte) bool {
	_, ok := startLineAt(line)
	return ok
}

// startLineAt is startLine that also returns, for a request line, the index of the space before
// its SIP version (-1 for a status line).
func startLineAt(line []byte) (last int, ok bool) {
	if len(line) >= 11 && isVersion(line[:7]) && line[7] == ' ' {
		return -1, '1' <= line[8] && line[8] <= '6' && isDigit(line[9]) && isDigit(line[10]) &&
			(len(line) == 11 || line[11] == ' ')
	}
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || !isTokenString(line[:sp]) {
		return -1, false
	}
	rest := line[sp+1:]
	for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '<') {
		rest = rest[1:]
	}
	if !validScheme(rest) {
		return -1, false
	}
	end := len(line)
	for end > 0 && isWSP(line[end-1]) {
		end--
	}
	if end > 8 && line[end-8] == ' ' && isVersion(line[end-7:end]) {
		return end - 8, true
	}
	return -1, false
}

// startLinePrefix reports whether b could still become a SIP start line.
func startLinePrefix(b []byte) bool {
	const v = "SIP/"
	if len(b) <= len(v) && equalFold(b, v[:len(b)]) || hasPrefixFold(b, v) {
		return true
	}
	sp := bytes.IndexByte(b, ' ')
	if sp < 0 {
		return isTokenString(b)
	}
	if sp == 0 || !isTokenString(b[:sp]) {
		return false
	}
	// The Request-URI must begin with a scheme, which tells SIP from HTTP's "GET /path".
	rest := b[sp+1:]
	for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '<') {
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return true
	}
	if !isAlpha(rest[0]) {
		return false
	}
	for _, c := range rest[1:] {
		if c == ':' {
			return true
		}
		if class[c]&cScheme == 0 {
			return false
		}
	}
	return true
}
