package sip

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigtrace/sigtrace/internal/corpus"
)

// streamMessages returns wire messages to frame: the fixtures plus the RFC 4475 messages whose
// Content-Length is sound (the others are exercised by the error cases below).
func streamMessages(t *testing.T) [][]byte {
	msgs := [][]byte{inviteWire(), crlf(okResponse),
		// LF-only, compact Content-Length.
		[]byte("OPTIONS sip:a@b SIP/2.0\nv: SIP/2.0/TCP h;branch=z9hG4bKlf\nf: <sip:c@h>;tag=1\nt: <sip:a@b>\ni: lf\nCSeq: 1 OPTIONS\nl: 2\n\nhi"),
	}
	dir := corpus.Path(t, "third_party/rfc4475")
	for _, name := range []string{"wsinv", "esc01", "longreq", "mpart01", "unreason", "noreason", "intmeth", "transports"} {
		data, err := os.ReadFile(filepath.Join(dir, name+".dat"))
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, data)
	}
	return msgs
}

// frame runs MessageLength over a stream the way a TCP framer does.
func frame(t *testing.T, stream []byte) (msgs [][]byte, keepAlives int) {
	t.Helper()
	for len(stream) > 0 {
		n, err := MessageLength(stream)
		if err != nil {
			t.Fatalf("MessageLength: %v at %q", err, clip(stream))
		}
		if n == 0 {
			t.Fatalf("MessageLength wants more bytes with %d left: %q", len(stream), clip(stream))
		}
		if IsKeepAlive(stream[:n]) {
			keepAlives++
		} else {
			msgs = append(msgs, stream[:n])
		}
		stream = stream[n:]
	}
	return msgs, keepAlives
}

func TestMessageLengthStream(t *testing.T) {
	msgs := streamMessages(t)
	// Several messages back to back, with RFC 5626 keep-alives between some of them.
	var stream []byte
	pings := 0
	for i, m := range msgs {
		if i%3 == 1 {
			stream = append(stream, "\r\n\r\n"...)
			pings++
		}
		stream = append(stream, m...)
	}
	got, ka := frame(t, stream)
	if len(got) != len(msgs) || ka != pings {
		t.Fatalf("framed %d messages and %d keep-alives, want %d and %d", len(got), ka, len(msgs), pings)
	}
	for i := range msgs {
		if !bytes.Equal(got[i], msgs[i]) {
			t.Errorf("message %d framed as %q", i, clip(got[i]))
		}
		var m Message
		if err := Parse(got[i], &m); err != nil || m.Invalid != nil {
			t.Errorf("message %d: %v %v", i, err, m.Invalid)
		}
	}
}

func TestMessageLengthSplitAnywhere(t *testing.T) {
	// Every prefix of a message, whether cut in the start line, a header, the empty line or the
	// body, asks for more bytes; the whole message, alone or followed by the next, is framed.
	for _, msg := range streamMessages(t) {
		next := crlf(okResponse)
		for k := 0; k < len(msg); k++ {
			if n, err := MessageLength(msg[:k]); n != 0 || err != nil {
				t.Fatalf("prefix %d of %q: %d, %v; want 0, nil", k, clip(msg), n, err)
			}
		}
		if n, err := MessageLength(msg); n != len(msg) || err != nil {
			t.Fatalf("%q: %d, %v; want %d", clip(msg), n, err, len(msg))
		}
		both := append(bytes.Clone(msg), next...)
		if n, err := MessageLength(both); n != len(msg) || err != nil {
			t.Fatalf("%q then more: %d, %v; want %d", clip(msg), n, err, len(msg))
		}
	}
}

func TestMessageLengthKeepAlives(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"\r\n\r\n", 4},            // RFC 5626 ping
		{"\r\n", 2},                // pong
		{"\r", 0},                  // a ping or pong still arriving
		{"\r\n\r", 2},              // the pong is complete, the rest is not
		{"\r\n\r\nINVITE sip", 4},  // the keep-alive before a message
		{"\n\n", 2},                // LF-only peers
		{"", 0},                    // nothing yet
		{"\r\n\r\n\r\n\r\n", 8},    // a run of them at once
		{"OPTIONS sip:a@b SIP", 0}, // a start line still arriving
	}
	for _, tc := range tests {
		n, err := MessageLength([]byte(tc.in))
		if n != tc.want || err != nil {
			t.Errorf("MessageLength(%q) = %d, %v; want %d", tc.in, n, err, tc.want)
		}
		if n > 0 && !IsKeepAlive([]byte(tc.in)[:n]) {
			t.Errorf("IsKeepAlive(%q) = false", tc.in[:n])
		}
	}
	if IsKeepAlive(nil) || IsKeepAlive([]byte("\r\nX")) {
		t.Error("IsKeepAlive true for a non keep-alive")
	}
}

func TestMessageLengthErrors(t *testing.T) {
	head := "INVITE sip:b@h SIP/2.0\r\nCall-ID: x\r\n"
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"HTTP", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", ErrNotSIP},
		{"HTTP still arriving", "GET /index.html HTTP/1", ErrNotSIP},
		{"binary", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", ErrNotSIP},
		{"TLS record in a SIP port", "\x16\x03\x01", ErrNotSIP},
		{"negative Content-Length", head + "Content-Length: -999\r\n\r\n", ErrBadContentLength},
		{"conflicting Content-Length (RFC 4475 mcl01)", head + "Content-Length: 13\r\nl: 5\r\n\r\n", ErrDuplicateHeader},
		{"Content-Length over the limit", head + "Content-Length: 999999999\r\n\r\n", ErrTooLong},
		{"endless header section", head + strings.Repeat("X-Pad: "+strings.Repeat("p", 100)+"\r\n", MaxHeaderBytes/100), ErrTooLong},
	}
	for _, tc := range tests {
		n, err := MessageLength([]byte(tc.in))
		if !errors.Is(err, tc.want) || n != 0 {
			t.Errorf("%s: %d, %v; want %v", tc.name, n, err, tc.want)
		}
	}
	// Equal repeated lengths frame fine, and a folded Content-Length is read whole.
	for _, in := range []string{head + "Content-Length: 2\r\nl: 2\r\n\r\nhi", head + "Content-Length:\r\n 2\r\n\r\nhi"} {
		if n, err := MessageLength([]byte(in)); n != len(in) || err != nil {
			t.Errorf("%q: %d, %v", in, n, err)
		}
	}
}

func TestLooksLikeSIP(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"INVITE sip:bob@example.com SIP/2.0\r\n", true},
		{"SIP/2.0 200 OK\r\n", true},
		{"SIP/2.0 100 \r\n", true},
		{"SIP/2.0 180\r\n", true},
		{"sip/2.0 486 Busy Here\n", true},
		{"REGISTER sips:example.com SIP/2.0", true},
		{"MESSAGE tel:+15551234 SIP/2.0\r\n", true},
		{"OPTIONS sip:a@b SIP/7.0\r\n", true}, // still SIP, if not a version we speak
		{"GET /sip:x SIP/2.0\r\n", false},
		{"GET / HTTP/1.1\r\n", false},
		{"HTTP/1.1 200 OK\r\n", false},
		{"SIP/2.0 OK\r\n", false},
		{"SIP/2.0 099 Low\r\n", false},
		{"INVITE sip:bob@example.com\r\n", false},
		{"INVITE sip:bob@example.com HTTP/1.1\r\n", false},
		{"\x00\x01INVITE sip:a@b SIP/2.0\r\n", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := LooksLikeSIP([]byte(tc.in)); got != tc.want {
			t.Errorf("LooksLikeSIP(%q) = %v", tc.in, got)
		}
	}
	data := inviteWire()
	if a := testing.AllocsPerRun(100, func() { LooksLikeSIP(data) }); a != 0 {
		t.Errorf("LooksLikeSIP allocates %v times", a)
	}
}
