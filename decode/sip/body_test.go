package sip

import (
	"errors"
	"strings"
	"testing"
)

// A re-INVITE putting a two-stream call on hold: session-level sendonly, the video stream
// overriding it, a T.38 stream with no RTP formats.
const holdSDP = `v=0
o=alice 2890844526 2890844527 IN IP4 192.0.2.10
s=Hold me
c=IN IP4 192.0.2.10
t=0 0
a=sendonly
a=tool:sigtrace-test
m=audio 49170 RTP/AVP 0 96 101
a=rtpmap:96 opus/48000/2
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
m=video 51372/2 RTP/AVP 31
c=IN IP4 224.2.1.1/127
a=recvonly
m=image 0 udptl t38
a=T38FaxVersion:0
`

func TestParseSDP(t *testing.T) {
	var s SDP
	noErr(t, ParseSDP(crlf(holdSDP), &s))
	eq(t, "o= user", s.Origin.Username, "alice")
	eq(t, "o= version", s.Origin.Version, "2890844527")
	eq(t, "o= address", s.Origin.Address, "192.0.2.10")
	eq(t, "s=", s.SessionName, "Hold me")
	if len(s.Media) != 3 {
		t.Fatalf("%d media", len(s.Media))
	}
	audio, video, image := &s.Media[0], &s.Media[1], &s.Media[2]
	eq(t, "audio type", audio.Type, "audio")
	eq(t, "audio proto", audio.Proto, "RTP/AVP")
	eq(t, "audio formats", audio.Formats, "0 96 101")
	if audio.Port != 49170 || video.Port != 51372 || video.NumPorts != 2 || image.Port != 0 {
		t.Errorf("ports %d %d/%d %d", audio.Port, video.Port, video.NumPorts, image.Port)
	}
	// Media-level direction overrides the session's; the session's applies otherwise.
	if d := s.Direction(0); d != SendOnly {
		t.Errorf("audio direction %v", d)
	}
	if d := s.Direction(1); d != RecvOnly {
		t.Errorf("video direction %v", d)
	}
	if !s.OnHold(0) || s.OnHold(1) {
		t.Errorf("OnHold = %v %v", s.OnHold(0), s.OnHold(1))
	}
	eq(t, "audio connection (session c=)", s.Connection(0).Address, "192.0.2.10")
	eq(t, "video connection (media c=, TTL dropped)", s.Connection(1).Address, "224.2.1.1")
	if pt, ok := audio.TelephoneEvent(); !ok || pt != 101 {
		t.Errorf("telephone-event = %d %v", pt, ok)
	}
	rm, ok := audio.RTPMap(96)
	if !ok || string(rm.Encoding) != "opus" || rm.ClockRate != 48000 || string(rm.Params) != "2" {
		t.Errorf("rtpmap 96 = %+v", rm)
	}
	if name, rate, ok := audio.Encoding(0); !ok || string(name) != "PCMU" || rate != 8000 {
		t.Errorf("static PT 0 = %q %d %v", name, rate, ok)
	}
	if _, _, ok := video.Encoding(96); ok {
		t.Error("payload type 96 has no rtpmap in the video stream")
	}
	var pts []int
	audio.Payloads(func(pt int) bool { pts = append(pts, pt); return true })
	if len(pts) != 3 || pts[2] != 101 {
		t.Errorf("audio payloads %v", pts)
	}
	image.Payloads(func(pt int) bool { t.Errorf("udptl has no payload types, got %d", pt); return true })
	if v, ok := audio.Attr("ptime"); !ok || string(v) != "20" {
		t.Errorf("ptime = %q %v", v, ok)
	}
	if v, ok := audio.Attr("fmtp"); !ok || string(v) != "101 0-15" {
		t.Errorf("fmtp = %q %v", v, ok)
	}
	if _, ok := video.Attr("ptime"); ok {
		t.Error("video sees the audio stream's attribute")
	}
	if v, ok := image.Attr("T38FaxVersion"); !ok || string(v) != "0" {
		t.Errorf("T38FaxVersion = %q %v", v, ok)
	}
	if v, ok := s.Attr("tool"); !ok || string(v) != "sigtrace-test" {
		t.Errorf("session tool = %q %v", v, ok)
	}
	if _, ok := s.Attr("ptime"); ok {
		t.Error("session sees a media attribute")
	}

	// Reuse with a smaller description: nothing of the first survives. LF-only, RFC 2543 hold.
	noErr(t, ParseSDP([]byte("v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\nm=audio 4000 RTP/AVP 8\n"), &s))
	if len(s.Media) != 1 || len(s.Media[0].RTPMaps) != 0 || s.Dir != DirNone || s.Direction(0) != SendRecv || !s.OnHold(0) {
		t.Errorf("after reuse: %d media, %d rtpmaps, dir %v/%v, hold %v", len(s.Media), len(s.Media[0].RTPMaps), s.Dir, s.Direction(0), s.OnHold(0))
	}
}

func TestParseSDPErrors(t *testing.T) {
	for _, in := range []string{
		"", "o=- 1 1 IN IP4 a\r\n", "hello", "v=0\r\nm=audio x RTP/AVP 0\r\n", "v=0\r\nm=audio 70000 RTP/AVP 0\r\n",
		"v=0\r\nc=IN IP4\r\n", "v=0\r\no=- 1\r\n", "v=0\r\nm=audio\r\n",
	} {
		var s SDP
		if err := ParseSDP([]byte(in), &s); !errors.Is(err, ErrBadSDP) {
			t.Errorf("ParseSDP(%q) = %v", in, err)
		}
	}
}

// SIP-I (ITU-T Q.1912.5): SDP and an ISUP IAM whose binary bytes include CR and LF.
var sipI = "preamble to ignore\r\n" +
	"--unique-boundary-1\r\n" +
	"Content-Type: application/sdp\r\n" +
	"\r\n" +
	"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 8000 RTP/AVP 8\r\n" +
	"\r\n--unique-boundary-1\r\n" +
	"Content-Type: application/ISUP;version=itu-t92+\r\n" +
	"Content-Disposition: signal;handling=required\r\n" +
	"\r\n" +
	"\x01\x00\x60\x01\x0a\x00\x02\x0d\x0a\x07\x03\x90\x05\x21\r\n--not-the-boundary" +
	"\r\n--unique-boundary-1--\r\n"

func TestMultipart(t *testing.T) {
	var parts []Part
	ct := []byte(`multipart/mixed; boundary="unique-boundary-1"`)
	noErr(t, Parts(ct, []byte(sipI), func(p Part) bool { parts = append(parts, p); return true }))
	if len(parts) != 2 {
		t.Fatalf("%d parts", len(parts))
	}
	eq(t, "SDP part type", parts[0].ContentType, "application/sdp")
	if !strings.HasPrefix(string(parts[0].Body), "v=0\r\n") || !strings.HasSuffix(string(parts[0].Body), "RTP/AVP 8\r\n") {
		t.Errorf("SDP part = %q", parts[0].Body)
	}
	eq(t, "ISUP type", MediaType(parts[1].ContentType), "application/ISUP")
	eq(t, "ISUP disposition", parts[1].HeaderValue("content-disposition"), "signal;handling=required")
	eq(t, "ISUP body", parts[1].Body, "\x01\x00\x60\x01\x0a\x00\x02\x0d\x0a\x07\x03\x90\x05\x21\r\n--not-the-boundary")

	m := Message{ContentType: ct, Body: []byte(sipI)}
	eq(t, "SDPBody of SIP-I", m.SDPBody(), string(parts[0].Body))

	// multipart/related holding multipart/alternative holding SDP (nested), LF-only, part
	// without headers first.
	inner := "--in\nContent-Type: text/plain\n\nnot sdp\n--in\nc: application/sdp\n\nv=0\nm=audio 1 RTP/AVP 0\n--in--\n"
	outer := "--out\n\nno headers: text/plain by default\n--out\nContent-Type: multipart/alternative;boundary=in\n\n" + inner + "--out--\n"
	m = Message{ContentType: []byte("multipart/related;type=\"application/sdp\";boundary=out"), Body: []byte(outer)}
	eq(t, "nested SDPBody", m.SDPBody(), "v=0\nm=audio 1 RTP/AVP 0")
	parts = parts[:0]
	noErr(t, Parts(m.ContentType, m.Body, func(p Part) bool { parts = append(parts, p); return true }))
	if len(parts) != 2 || parts[0].ContentType != nil || string(parts[0].Body) != "no headers: text/plain by default" {
		t.Errorf("parts = %q", parts)
	}
	// Plain SDP and a body without SDP.
	m = Message{ContentType: []byte("Application/SDP"), Body: []byte("v=0\r\n")}
	eq(t, "plain SDPBody", m.SDPBody(), "v=0\r\n")
	m = Message{ContentType: []byte("application/pidf+xml"), Body: []byte("<presence/>")}
	if m.SDPBody() != nil {
		t.Error("SDP found in PIDF")
	}
}

func TestMultipartErrors(t *testing.T) {
	n := 0
	count := func(Part) bool { n++; return true }
	if err := Parts([]byte("multipart/mixed"), []byte("--x\r\n\r\nbody\r\n--x--"), count); !errors.Is(err, ErrBadMultipart) {
		t.Errorf("no boundary: %v", err)
	}
	if err := Parts([]byte("multipart/mixed;boundary=x"), []byte("no delimiter here"), count); !errors.Is(err, ErrBadMultipart) {
		t.Errorf("no delimiter: %v", err)
	}
	// A body cut short (a truncated datagram): the parts before the cut are still given.
	n = 0
	err := Parts([]byte("multipart/mixed;boundary=x"), []byte("--x\r\n\r\none\r\n--x\r\n\r\ntwo, cut"), count)
	if !errors.Is(err, ErrBadMultipart) || n != 2 {
		t.Errorf("no closing delimiter: %v after %d parts", err, n)
	}
}

func TestDTMFDigit(t *testing.T) {
	tests := []struct {
		ct, body string
		digit    string
		ok       bool
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", "5", true},
		{"application/dtmf-relay; charset=utf-8", "Signal= *\r\nDuration= 250\r\n", "*", true},
		{"Application/DTMF-Relay", "Duration=100\nsignal = #\n", "#", true},
		{"application/dtmf-relay", "Signal=11\r\nDuration=160\r\n", "#", true},
		{"application/dtmf-relay", "Signal=a\r\n", "A", true},
		{"application/dtmf-relay", "Signal=X\r\n", "", false},
		{"application/dtmf-relay", "Duration=160\r\n", "", false},
		{"application/dtmf", "7", "7", true},
		{"application/dtmf", "10\r\n", "*", true},
		{"application/dtmf", "Signal=9\r\nDuration=100\r\n", "9", true},
		{"application/dtmf", "", "", false},
		{"audio/telephone-event", "\x0b\x8a\x03\x20", "#", true},
		{"audio/telephone-event", "\x10\x8a\x03\x20", "", false},
		{"text/plain", "Signal=5", "", false},
	}
	for _, tc := range tests {
		d, ok := DTMFDigit([]byte(tc.ct), []byte(tc.body))
		if d != tc.digit || ok != tc.ok {
			t.Errorf("DTMFDigit(%q, %q) = %q %v, want %q %v", tc.ct, tc.body, d, ok, tc.digit, tc.ok)
		}
	}
}
