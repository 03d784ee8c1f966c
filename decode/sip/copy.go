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
