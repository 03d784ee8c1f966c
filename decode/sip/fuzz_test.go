package sip

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/sigtrace/sigtrace/internal/corpus"
)

// seedSIP adds the fixtures and, when the sample corpus is present, every RFC 4475 message and a
// selection of real SIP datagrams. Without the corpus the fixtures and testdata/fuzz still run.
func seedSIP(f *testing.F) {
	for _, s := range [][]byte{inviteWire(), crlf(okResponse), crlf(holdSDP), []byte(sipI), []byte("\r\n\r\n")} {
		f.Add(s)
	}
	if !corpusPresent() {
		return
	}
	files, _ := filepath.Glob(filepath.Join(corpus.Path(f, "third_party/rfc4475"), "*.dat"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, rel := range []string{
		"class45/class45.pcapng", "third_party/sngrep/aaa.pcap", "third_party/sipnab/DTMFsipinfo.pcap",
		"third_party/sngrep/ipv6frag.pcap", "third_party/pcapplusplus/sip_reqs.pcap",
		"third_party/open5gs/nonipsec_to_ipsec_call.pcapng", "third_party/heplify/sip_ipv6_udp.pcap",
	} {
		ds := udpPayloads(f, corpus.Path(f, rel), LooksLikeSIP)
		for i := 0; i < len(ds); i += 1 + len(ds)/10 { // about ten a capture
			f.Add(ds[i].payload)
		}
	}
}

// corpusPresent mirrors corpus.Dir without skipping, so that the fuzz targets' regression seeds
// run on machines without the samples.
func corpusPresent() bool {
	dir := os.Getenv(corpus.EnvSamples)
	if dir == "" {
		root, err := corpus.RepoRoot()
		if err != nil {
			return corpus.Required()
		}
		dir = filepath.Join(root, "..", "shared", "samples")
	}
	_, err := os.Stat(dir)
	return err == nil || corpus.Required()
}

// within reports whether s lies inside data (an empty or nil s trivially does).
func within(s, data []byte) bool {
	if len(s) == 0 {
		return true
	}
	if len(data) == 0 {
		return false
	}
	off := uintptr(unsafe.Pointer(&s[0])) - uintptr(unsafe.Pointer(&data[0]))
	return off < uintptr(len(data)) && int(off)+len(s) <= len(data)
}

func FuzzParse(f *testing.F) {
	seedSIP(f)
	var reused Message
	var sdp SDP
	f.Fuzz(func(t *testing.T, data []byte) {
		var fresh Message
		err := Parse(data, &fresh)
		// A Message reused after another parse must give the same result as a fresh one.
		_ = Parse(inviteWire(), &reused)
		err2 := Parse(data, &reused)
		if (err == nil) != (err2 == nil) || (fresh.Invalid == nil) != (reused.Invalid == nil) ||
			!bytes.Equal(fresh.Raw, reused.Raw) || !bytes.Equal(fresh.CallID, reused.CallID) || len(fresh.Headers()) != len(reused.Headers()) {
			t.Fatalf("reused Message differs: %v/%v, %v/%v", err, err2, fresh.Invalid, reused.Invalid)
		}
		if err != nil {
			return
		}
		m := &fresh
		if !within(m.Raw, data) || !within(m.Body, m.Raw) || len(m.Raw) == 0 {
			t.Fatalf("Raw/Body outside the input")
		}
		if m.IsRequest && len(m.Method) == 0 || !m.IsRequest && (m.StatusCode < 100 || m.StatusCode > 699) {
			t.Fatalf("start line: request %v method %q status %d", m.IsRequest, m.Method, m.StatusCode)
		}
		for _, h := range m.Headers() {
			if !within(h.Name, m.Raw) || !within(h.Value, m.Raw) || len(h.Name) == 0 {
				t.Fatalf("header %q outside the message", h.Name)
			}
		}
		if m.ContentLength >= 0 && m.ContentLength < len(m.Body) {
			t.Fatalf("body %d bytes, Content-Length %d", len(m.Body), m.ContentLength)
		}
		// The accessors must cope with whatever the parser let through.
		_, _, _, _, _ = m.FromTag(), m.ToTag(), m.FromUser(), m.ToUser(), m.Branch()
		for _, name := range []string{"Via", "Contact", "Route", "X-Unknown", "Date"} {
			for v := range m.Values(name) {
				if !within(v, m.Raw) {
					t.Fatalf("%s value outside the message", name)
				}
				a, _ := ParseNameAddr(v)
				_ = a.User()
				via, _ := ParseVia(v)
				_ = via.Param("branch")
				_ = Unfold(nil, v)
			}
		}
		_ = AppendUnescaped(nil, m.RequestURI)
		_, _ = DTMFDigit(m.ContentType, m.Body)
		_ = Parts(m.ContentType, m.Body, func(p Part) bool { _ = p.HeaderValue("Content-Type"); return true })
		if body := m.SDPBody(); body != nil && ParseSDP(body, &sdp) == nil {
			for i := range sdp.Media {
				_, _, _ = sdp.Direction(i), sdp.Connection(i), sdp.OnHold(i)
			}
		}
	})
}

// FuzzParseUnchecked: the unchecked parse never fails where Parse succeeds, and on a message Parse
// finds valid it reads every field and accessor the same. The seeds (RFC 4475, real captures) run
// as a test on every `go test`.
func FuzzParseUnchecked(f *testing.F) {
	seedSIP(f)
	var reused Message
	f.Fuzz(func(t *testing.T, data []byte) {
		var checked Message
		err := Parse(data, &checked)
		_ = ParseUnchecked(inviteWire(), &reused)
		errU := ParseUnchecked(data, &reused)
		u := &reused
		// The sniffing parse agrees with LooksLikeSIP, and when it parses, with ParseUnchecked.
		var sniffed Message
		ok, errS := ParseIfSIP(data, &sniffed, true)
		if ok != LooksLikeSIP(data) {
			t.Fatalf("ParseIfSIP sniffed %v, LooksLikeSIP %v", ok, !ok)
		}
		if ok && (fmt.Sprint(errS) != fmt.Sprint(errU) || fmt.Sprint(sniffed.Invalid) != fmt.Sprint(u.Invalid) ||
			!bytes.Equal(sniffed.Raw, u.Raw) || !bytes.Equal(sniffed.CallID, u.CallID) || !bytes.Equal(sniffed.Method, u.Method) ||
			sniffed.StatusCode != u.StatusCode || !bytes.Equal(sniffed.Body, u.Body) || sniffed.CSeq != u.CSeq ||
			sniffed.IsRequest != u.IsRequest || !bytes.Equal(sniffed.RequestURI, u.RequestURI) ||
			!bytes.Equal(sniffed.Version, u.Version) || !bytes.Equal(sniffed.Reason, u.Reason)) {
			t.Fatalf("ParseIfSIP: %v, invalid %v, %q; ParseUnchecked: %v, invalid %v, %q", errS, sniffed.Invalid, sniffed.Raw, errU, u.Invalid, u.Raw)
		}
		if errU == nil {
			// The shortcut to the tags reads what the whole name-addr reader reads.
			for _, v := range [][]byte{u.From, u.To} {
				if fast, slow := tagOf(v), readNameAddr(v).Param("tag"); !bytes.Equal(fast, slow) || (fast == nil) != (slow == nil) {
					t.Fatalf("tag of %q: shortcut %q, name-addr reader %q", v, fast, slow)
				}
			}
			// A clone is read the same way as the original.
			if c := u.Clone(); (c.Invalid == nil) != (u.Invalid == nil) || !bytes.Equal(c.Raw, u.Raw) || !bytes.Equal(c.CallID, u.CallID) {
				t.Fatalf("clone: invalid %v (original %v), Call-ID %q (%q)", c.Invalid, u.Invalid, c.CallID, u.CallID)
			}
			// The filtered visit, before anything listed the headers, sees what Headers lists
			// (and, with a filter, just the headers of those initials and lengths); after the
			// listing, it sees the same again.
			every := HeaderNames{lengths: ^uint64(0)}
			for c := range every.initials {
				every.initials[c] = true
			}
			var few HeaderNames
			for _, n := range []string{"Via", "x-Other", "Call-ID", strings.Repeat("L", 70)} {
				few.Add(n)
			}
			var all, some, again []Header
			u.EachHeaderIn(&every, func(n, v []byte) { all = append(all, Header{n, v}) })
			u.EachHeaderIn(&few, func(n, v []byte) { some = append(some, Header{n, v}) })
			listed := u.Headers()
			u.EachHeaderIn(&few, func(n, v []byte) { again = append(again, Header{n, v}) })
			if !slices.EqualFunc(all, listed, sameHeader) {
				t.Fatalf("EachHeaderIn saw %q, Headers lists %q", all, listed)
			}
			var want []Header
			for _, h := range listed {
				// An initial and a length of the set's names, not necessarily of the same one.
				c, n := lower(h.Name[0]), len(h.Name)
				if strings.IndexByte("vxcl", c) >= 0 && (n == 3 || n == 7 || n >= 63) {
					want = append(want, h)
				}
			}
			if !slices.EqualFunc(some, want, sameHeader) || !slices.EqualFunc(again, want, sameHeader) {
				t.Fatalf("EachHeaderIn(V, X, C, L; 3, 7, 63+) saw %q, then %q; want %q", some, again, want)
			}
			// A message that noted the lines of those initials while it was parsed (more than
			// eight: it reads the block again) sees the same, and reads the same fields.
			var noted Message
			noted.NoteHeaders(&few)
			var seen []Header
			if errN := ParseUnchecked(data, &noted); fmt.Sprint(errN) != fmt.Sprint(errU) || !bytes.Equal(noted.CallID, u.CallID) ||
				!bytes.Equal(noted.Via, u.Via) || !bytes.Equal(noted.Body, u.Body) {
				t.Fatalf("noting headers changed the parse: %v, Call-ID %q, Via %q", errN, noted.CallID, noted.Via)
			}
			noted.EachHeaderIn(&few, func(n, v []byte) { seen = append(seen, Header{n, v}) })
			if !slices.EqualFunc(seen, want, sameHeader) {
				t.Fatalf("EachHeaderIn after noting (%d lines noted) saw %q; want %q", noted.nNoted, seen, want)
			}
			// Whatever it let through, the accessors cope with.
			_, _, _, _, _, _ = u.FromTag(), u.ToTag(), u.FromUser(), u.ToUser(), u.Branch(), u.TopVia()
			if !within(u.Raw, data) || !within(u.Body, u.Raw) {
				t.Fatal("Raw/Body outside the input")
			}
		}
		if err != nil {
			return
		}
		if errU != nil {
			t.Fatalf("Parse reads it, ParseUnchecked says %v", errU)
		}
		if checked.Invalid != nil {
			return
		}
		c := &checked
		type field struct {
			name string
			a, b []byte
		}
		for _, f := range []field{
			{"method", c.Method, u.Method}, {"request URI", c.RequestURI, u.RequestURI}, {"version", c.Version, u.Version},
			{"reason", c.Reason, u.Reason}, {"Call-ID", c.CallID, u.CallID}, {"From", c.From, u.From}, {"To", c.To, u.To},
			{"CSeq method", c.CSeqMethod, u.CSeqMethod}, {"Via", c.Via, u.Via}, {"Content-Type", c.ContentType, u.ContentType},
			{"User-Agent", c.UserAgent, u.UserAgent}, {"body", c.Body, u.Body}, {"raw", c.Raw, u.Raw},
			{"From tag", c.FromTag(), u.FromTag()}, {"To tag", c.ToTag(), u.ToTag()}, {"From user", c.FromUser(), u.FromUser()},
			{"To user", c.ToUser(), u.ToUser()}, {"branch", c.Branch(), u.Branch()},
			{"From display", c.FromAddr().Display, u.FromAddr().Display}, {"To params", c.ToAddr().Params, u.ToAddr().Params},
			{"Via host", c.TopVia().Host, u.TopVia().Host},
		} {
			if !bytes.Equal(f.a, f.b) {
				t.Fatalf("%s: Parse %q, ParseUnchecked %q", f.name, f.a, f.b)
			}
		}
		if c.IsRequest != u.IsRequest || c.StatusCode != u.StatusCode || c.CSeq != u.CSeq ||
			c.ContentLength != u.ContentLength || len(c.Headers()) != len(u.Headers()) || u.Invalid != nil {
			t.Fatalf("Parse %v %d CSeq %d length %d %d headers; ParseUnchecked %v %d CSeq %d length %d %d headers (%v)",
				c.IsRequest, c.StatusCode, c.CSeq, c.ContentLength, len(c.Headers()),
				u.IsRequest, u.StatusCode, u.CSeq, u.ContentLength, len(u.Headers()), u.Invalid)
		}
	})
}

func FuzzMessageLength(f *testing.F) {
	seedSIP(f)
	f.Add([]byte("INVITE sip:a@b SIP/2.0\r\nContent-Length: 5\r\n\r\nhello"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := MessageLength(data)
		if n < 0 || n > len(data) || err != nil && n != 0 {
			t.Fatalf("MessageLength = %d, %v for %d bytes", n, err, len(data))
		}
		if n == 0 {
			return
		}
		if IsKeepAlive(data[:1]) {
			if !IsKeepAlive(data[:n]) {
				t.Fatalf("keep-alive of %d bytes is not one", n)
			}
			return
		}
		// The message alone frames the same, and every cut before its end asks for more.
		if n2, err := MessageLength(data[:n]); n2 != n || err != nil {
			t.Fatalf("alone: %d, %v; want %d", n2, err, n)
		}
		step := 1 + n/64
		for k := 0; k < n; k += step {
			if n2, err := MessageLength(data[:k]); n2 != 0 || err != nil {
				t.Fatalf("prefix %d of %d: %d, %v", k, n, n2, err)
			}
		}
		// What the framer accepts, the parser reads.
		var m Message
		if err := Parse(data[:n], &m); err != nil {
			t.Fatalf("framed message does not parse: %v", err)
		}
	})
}

func FuzzParseSDP(f *testing.F) {
	for _, s := range [][]byte{crlf(holdSDP), []byte("v=0\nm=audio 1 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n")} {
		f.Add(s)
	}
	if corpusPresent() {
		var m Message
		for _, rel := range []string{"class45/class45.pcapng", "third_party/sipnab/SIP_DTMF2.cap", "third_party/open5gs/nonipsec_to_ipsec_call.pcapng"} {
			for _, d := range udpPayloads(f, corpus.Path(f, rel), LooksLikeSIP) {
				if Parse(d.payload, &m) == nil && m.SDPBody() != nil {
					f.Add(bytes.Clone(m.SDPBody()))
				}
			}
		}
	}
	var reused SDP
	f.Fuzz(func(t *testing.T, body []byte) {
		var s SDP
		err := ParseSDP(body, &s)
		_ = ParseSDP(crlf(holdSDP), &reused)
		if err2 := ParseSDP(body, &reused); (err == nil) != (err2 == nil) || len(s.Media) != len(reused.Media) {
			t.Fatalf("reused SDP differs: %v / %v", err, err2)
		}
		if err != nil {
			return
		}
		for i := range s.Media {
			md := &s.Media[i]
			_, _, _ = s.Direction(i), s.Connection(i), s.OnHold(i)
			_, _ = md.Attr("fmtp")
			_, _ = md.TelephoneEvent()
			md.Payloads(func(pt int) bool { _, _, _ = md.Encoding(pt); return true })
			if len(md.RTPMaps) != len(reused.Media[i].RTPMaps) {
				t.Fatalf("media %d: %d rtpmaps, reused %d", i, len(md.RTPMaps), len(reused.Media[i].RTPMaps))
			}
			for _, rm := range md.RTPMaps {
				if !within(rm.Encoding, body) {
					t.Fatal("rtpmap outside the body")
				}
			}
		}
	})
}

func sameHeader(a, b Header) bool {
	return bytes.Equal(a.Name, b.Name) && bytes.Equal(a.Value, b.Value)
}

// FuzzCopyTo: a message copied with CopyTo, or packed (ParseUnchecked) and unpacked over a copy of
// its bytes, reads the same as the original after the buffer the original was parsed from is
// overwritten, whichever way it was parsed and whichever accessors had already run (the lazily
// parsed From, To and Via, the lazily listed headers).
func FuzzCopyTo(f *testing.F) {
	seedSIP(f)
	var orig, dst, unpacked Message
	var buf []byte
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, mode := range []struct {
			name  string
			parse func([]byte, *Message) error
			touch bool
		}{{"Parse", Parse, false}, {"ParseUnchecked", ParseUnchecked, false}, {"ParseUnchecked, read", ParseUnchecked, true}} {
			// Comparing reads the lazily parsed fields: each copy is compared with a message of
			// its own.
			var want, wantUnpacked Message
			if mode.parse(data, &want) != nil || mode.parse(data, &wantUnpacked) != nil {
				return
			}
			work := bytes.Clone(data)
			if mode.parse(work, &orig) != nil {
				t.Fatal("parses once, not twice")
			}
			if mode.touch {
				for _, m := range []*Message{&want, &wantUnpacked, &orig} {
					_, _, _, _ = m.FromAddr(), m.ToAddr(), m.TopVia(), m.Headers()
				}
			}
			buf = orig.CopyTo(&dst, append(buf[:0], "before"...))
			var packed Packed
			packedOK := orig.Pack(&packed)
			if packedOK != (mode.name != "Parse") {
				t.Fatalf("%s: Pack ok %v", mode.name, packedOK)
			}
			raw := bytes.Clone(orig.Raw)
			for i := range work {
				work[i] = 'X' // the capture buffer is reused
			}
			if packedOK {
				unpacked.Unpack(raw, &packed)
				if err := sameMessage(&wantUnpacked, &unpacked); err != "" {
					t.Fatalf("%s: unpacked message differs: %s", mode.name, err)
				}
			}
			if !within(dst.Raw, buf) {
				t.Fatalf("%s: Raw is not in the buffer", mode.name)
			}
			if err := sameMessage(&want, &dst); err != "" {
				t.Fatalf("%s: copy differs: %s", mode.name, err)
			}
		}
	})
}

// sameMessage compares what a Message exposes; it returns what differs, or "".
func sameMessage(a, b *Message) string {
	type field struct {
		name string
		a, b []byte
	}
	fields := []field{
		{"raw", a.Raw, b.Raw}, {"method", a.Method, b.Method}, {"request URI", a.RequestURI, b.RequestURI},
		{"version", a.Version, b.Version}, {"reason", a.Reason, b.Reason}, {"body", a.Body, b.Body},
		{"Call-ID", a.CallID, b.CallID}, {"From", a.From, b.From}, {"To", a.To, b.To}, {"CSeq method", a.CSeqMethod, b.CSeqMethod},
		{"Via", a.Via, b.Via}, {"Content-Type", a.ContentType, b.ContentType}, {"User-Agent", a.UserAgent, b.UserAgent},
		{"From tag", a.FromTag(), b.FromTag()}, {"To tag", a.ToTag(), b.ToTag()}, {"From user", a.FromUser(), b.FromUser()},
		{"To user", a.ToUser(), b.ToUser()}, {"branch", a.Branch(), b.Branch()},
		{"From display", a.FromAddr().Display, b.FromAddr().Display}, {"From params", a.FromAddr().Params, b.FromAddr().Params},
		{"To URI", a.ToAddr().URI, b.ToAddr().URI}, {"Via host", a.TopVia().Host, b.TopVia().Host},
		{"Via params", a.TopVia().Params, b.TopVia().Params}, {"SDP", a.SDPBody(), b.SDPBody()},
		{"X-Unknown", a.Header("X-Unknown"), b.Header("X-Unknown")},
	}
	for _, f := range fields {
		if !bytes.Equal(f.a, f.b) || (f.a == nil) != (f.b == nil) {
			return fmt.Sprintf("%s: %q, copy %q", f.name, f.a, f.b)
		}
	}
	if a.IsRequest != b.IsRequest || a.StatusCode != b.StatusCode || a.CSeq != b.CSeq || a.ContentLength != b.ContentLength ||
		(a.Invalid == nil) != (b.Invalid == nil) {
		return fmt.Sprintf("start line, CSeq, Content-Length or validity: %v %d %d %d %v; copy %v %d %d %d %v",
			a.IsRequest, a.StatusCode, a.CSeq, a.ContentLength, a.Invalid, b.IsRequest, b.StatusCode, b.CSeq, b.ContentLength, b.Invalid)
	}
	if !slices.EqualFunc(a.Headers(), b.Headers(), sameHeader) {
		return fmt.Sprintf("headers %q, copy %q", a.Headers(), b.Headers())
	}
	return ""
}
