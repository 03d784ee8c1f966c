package sip

import "unsafe"

// CopyTo makes dst a copy of m that owns its bytes: m.Raw is appended to buf, and every slice of
// dst points into that copy as m's point into m.Raw. It returns the grown buf. Unlike Clone it
// does not parse again (a copy costs a memmove, not a parse), so that a message can be handed to
// another goroutine while the capture buffer it was read from is reused. dst's storage for listed
// headers is reused.
func (m *Message) CopyTo(dst *Message, buf []byte) []byte {
	start := len(buf)
	buf = append(buf, m.Raw...)
	raw := buf[start:len(buf):len(buf)]
	hs, ids := dst.headers[:0], dst.ids[:0]
	*dst = *m
	r := func(s []byte) []byte { return rebase(s, m.Raw, raw) }
	dst.Raw = raw
	dst.Method, dst.RequestURI, dst.Version, dst.Reason, dst.Body = r(m.Method), r(m.RequestURI), r(m.Version), r(m.Reason), r(m.Body)
	dst.CallID, dst.From, dst.To, dst.CSeqMethod = r(m.CallID), r(m.From), r(m.To), r(m.CSeqMethod)
	dst.Via, dst.ContentType, dst.UserAgent = r(m.Via), r(m.ContentType), r(m.UserAgent)
	dst.headerBlock = r(m.headerBlock)
	for _, a := range []*NameAddr{&dst.fromAddr, &dst.toAddr} {
		a.Display, a.URI, a.Params = r(a.Display), r(a.URI), r(a.Params)
	}
	dst.topVia.Transport, dst.topVia.Host, dst.topVia.Params = r(m.topVia.Transport), r(m.topVia.Host), r(m.topVia.Params)
	for _, h := range m.headers {
		hs = append(hs, Header{Name: r(h.Name), Value: r(h.Value)})
	}
	dst.headers, dst.ids = hs, append(ids, m.ids...)
	return buf
}

// rebase returns the slice of to that s is of from: the same offset and length. Every slice of a
// parsed message lies within its Raw; one that does not (nil, or empty past its end) is kept.
func rebase(s, from, to []byte) []byte {
	if s == nil || len(from) == 0 {
		return s
	}
	off := uintptr(unsafe.Pointer(unsafe.SliceData(s))) - uintptr(unsafe.Pointer(unsafe.SliceData(from)))
	if off > uintptr(len(from)) || uintptr(len(s)) > uintptr(len(from))-off {
		return s
	}
	return to[off : off+uintptr(len(s))]
}

// Packed is a message read by ParseUnchecked, as offsets into its Raw: with a copy of the Raw
// bytes, Unpack makes the message again without parsing. It is a quarter of a Message's size, so
// that handing messages to another goroutine moves little more than their bytes; the receiver
// unpacks each into one Message of its own, which stays in its core's cache.
type Packed struct {
	spans         [nSpans]span
	statusCode    int
	contentLength int
	invalid       error
	noteNames     *HeaderNames
	noted         [8]uint32
	cseq          uint32
	nNoted        uint8
	isRequest     bool
}

// span is a slice of Raw: offset and length; off is noSpan for a nil slice.
type span struct{ off, n uint32 }

const noSpan = ^uint32(0)

// The slices of a Message that Packed keeps, in the order of Message.spanFields.
const nSpans = 13

func (m *Message) spanFields() [nSpans]*[]byte {
	return [nSpans]*[]byte{&m.Method, &m.RequestURI, &m.Version, &m.Reason, &m.Body, &m.CallID,
		&m.From, &m.To, &m.CSeqMethod, &m.Via, &m.ContentType, &m.UserAgent, &m.headerBlock}
}

// Pack stores m in p as offsets into m.Raw. It reports false, leaving p unspecified, when m must
// be copied whole (CopyTo): when m was read by Parse (whose headers are listed, not kept as a
// block) or a slice of m lies outside Raw.
func (m *Message) Pack(p *Packed) bool {
	if !m.unchecked || len(m.Raw) >= int(noSpan) {
		return false
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(m.Raw)))
	for i, f := range m.spanFields() {
		s := *f
		switch {
		case s == nil:
			p.spans[i] = span{off: noSpan}
		case len(s) == 0: // an empty slice may point anywhere (Go keeps the base of a 0-cap slice)
			p.spans[i] = span{}
		default:
			off := uintptr(unsafe.Pointer(unsafe.SliceData(s))) - base
			if off > uintptr(len(m.Raw)) || uintptr(len(s)) > uintptr(len(m.Raw))-off {
				return false
			}
			p.spans[i] = span{off: uint32(off), n: uint32(len(s))}
		}
	}
	p.statusCode, p.contentLength, p.invalid = m.StatusCode, m.ContentLength, m.Invalid
	p.noteNames, p.noted, p.nNoted = m.noteNames, m.noted, m.nNoted
	p.cseq, p.isRequest = m.CSeq, m.IsRequest
	return true
}

// Unpack makes m the message p was packed from, its slices pointing into raw (a copy of the
// packed message's Raw). From, To and the top Via are parsed again, and the headers listed, when
// an accessor first asks, as after ParseUnchecked; m's storage for listed headers is reused.
func (m *Message) Unpack(raw []byte, p *Packed) {
	m.reset()
	m.Raw = raw
	for i, f := range m.spanFields() {
		if s := p.spans[i]; s.off != noSpan {
			*f = raw[s.off : s.off+s.n : s.off+s.n]
		}
	}
	m.StatusCode, m.ContentLength, m.Invalid = p.statusCode, p.contentLength, p.invalid
	m.noteNames, m.noted, m.nNoted = p.noteNames, p.noted, p.nNoted
	m.CSeq, m.IsRequest = p.cseq, p.isRequest
	m.unchecked, m.uncollected = true, true
	// As readHeader marks them: a header that was there is parsed when first asked for.
	if m.From != nil {
		m.pending |= pendingFrom
	}
	if m.To != nil {
		m.pending |= pendingTo
	}
	if m.Via != nil {
		m.pending |= pendingVia
	}
}
