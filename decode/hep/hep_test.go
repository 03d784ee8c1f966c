package hep

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// diffPackets describes how the exported fields of got and want differ ("" when they do not).
// Byte slices compare by content (nil equals empty), times by instant.
func diffPackets(got, want *Packet) string {
	var diffs []string
	g, w := reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()
	for i := range g.NumField() {
		f := g.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		gv, wv := g.Field(i).Interface(), w.Field(i).Interface()
		var same bool
		switch gv := gv.(type) {
		case []byte:
			same = bytes.Equal(gv, wv.([]byte))
		case net.HardwareAddr:
			same = bytes.Equal(gv, wv.(net.HardwareAddr))
		case time.Time:
			same = gv.Equal(wv.(time.Time))
		default:
			same = reflect.DeepEqual(gv, wv)
		}
		if !same {
			diffs = append(diffs, fmt.Sprintf("%s: got %v, want %v", f.Name, gv, wv))
		}
	}
	return strings.Join(diffs, "; ")
}

const (
	sipRequest  = "INVITE sip:+15552012001@127.0.0.20:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.11:5060;branch=z9hG4bK-1\r\nContent-Length: 0\r\n\r\n"
	sipResponse = "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 127.0.0.11:5060;branch=z9hG4bK-1\r\nContent-Length: 0\r\n\r\n"
	sipACK      = "ACK sip:b@example.net SIP/2.0\r\nContent-Length: 0\r\n\r\n"
)

// buildV12 writes a HEPv1/v2 packet by hand. layout is how the v2 time header is written:
// "le12" as Kamailio does (host order, 2 bytes of struct padding), "be10" as the specification
// says, "le10" and "be12" for the other two combinations.
func buildV12(version byte, proto byte, src, dst netip.AddrPort, layout string, sec, usec uint32, id uint16, pad [2]byte, payload string) []byte {
	fam, hlen := byte(FamilyIPv4), byte(16)
	if src.Addr().Is6() {
		fam, hlen = FamilyIPv6, 40
	}
	b := []byte{version, hlen, fam, proto}
	b = binary.BigEndian.AppendUint16(b, src.Port())
	b = binary.BigEndian.AppendUint16(b, dst.Port())
	b = append(b, src.Addr().AsSlice()...)
	b = append(b, dst.Addr().AsSlice()...)
	if version == 2 {
		var o binary.AppendByteOrder = binary.BigEndian
		if strings.HasPrefix(layout, "le") {
			o = binary.LittleEndian
		}
		b = o.AppendUint32(b, sec)
		b = o.AppendUint32(b, usec)
		b = o.AppendUint16(b, id)
		if strings.HasSuffix(layout, "12") {
			b = append(b, pad[:]...)
		}
	}
	return append(b, payload...)
}

func TestDecodeV12(t *testing.T) {
	v4src, v4dst := netip.MustParseAddrPort("10.0.0.1:5060"), netip.MustParseAddrPort("10.0.0.2:5080")
	v6src, v6dst := netip.MustParseAddrPort("[2001:db8::1]:5060"), netip.MustParseAddrPort("[2001:db8::2]:5062")
	tests := []struct {
		name     string
		version  byte
		src, dst netip.AddrPort
		layout   string
		sec      uint32
		usec     uint32
		pad      [2]byte
		payload  string
	}{
		{"kamailio le12 request", 2, v4src, v4dst, "le12", 1700000000, 123456, [2]byte{}, sipRequest},
		{"kamailio le12 response", 2, v4src, v4dst, "le12", 1795400939, 545012, [2]byte{}, sipResponse},
		{"kamailio le12 ipv6", 2, v6src, v6dst, "le12", 1700000000, 999999, [2]byte{}, sipRequest},
		{"kamailio le12 zero usec", 2, v4src, v4dst, "le12", 1700000000, 0, [2]byte{}, sipRequest},
		// The padding is copied from an uninitialised struct and may hold anything.
		{"kamailio le12 dirty padding", 2, v4src, v4dst, "le12", 1700000000, 654321, [2]byte{0xde, 0xad}, sipRequest},
		{"kamailio le12 non-SIP payload", 2, v4src, v4dst, "le12", 1700000000, 500000, [2]byte{}, "\x80\x08\x01\x02"},
		{"spec be10 request", 2, v4src, v4dst, "be10", 1700000000, 123456, [2]byte{}, sipRequest},
		{"spec be10 response", 2, v4src, v4dst, "be10", 1481455196, 100, [2]byte{}, sipResponse},
		{"spec be10 ipv6", 2, v6src, v6dst, "be10", 1700000000, 1, [2]byte{}, sipResponse},
		{"spec be10 zero usec", 2, v4src, v4dst, "be10", 1700000000, 0, [2]byte{}, sipACK},
		{"spec be10 non-SIP payload", 2, v4src, v4dst, "be10", 1700000000, 500000, [2]byte{}, "\x80\x08\x01\x02"},
		{"be10 empty payload", 2, v4src, v4dst, "be10", 1700000000, 42, [2]byte{}, ""},
		{"packed le10", 2, v4src, v4dst, "le10", 1700000000, 123456, [2]byte{}, sipACK},
		{"padded be12", 2, v4src, v4dst, "be12", 1700000000, 123456, [2]byte{}, sipResponse},
		{"v1 ipv4", 1, v4src, v4dst, "", 0, 0, [2]byte{}, sipRequest},
		{"v1 ipv6", 1, v6src, v6dst, "", 0, 0, [2]byte{}, sipResponse},
	}
	var p Packet
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := buildV12(tt.version, 17, tt.src, tt.dst, tt.layout, tt.sec, tt.usec, 2001, tt.pad, tt.payload)
			if err := Decode(data, &p); err != nil {
				t.Fatal(err)
			}
			want := Packet{Version: int(tt.version), IPProto: 17, Src: tt.src, Dst: tt.dst, Payload: []byte(tt.payload)}
			want.Family = FamilyIPv4
			if tt.src.Addr().Is6() {
				want.Family = FamilyIPv6
			}
			if tt.version == 2 {
				want.Time = time.Unix(int64(tt.sec), int64(tt.usec)*1000)
				want.CaptureID = 2001
			}
			if d := diffPackets(&p, &want); d != "" {
				t.Error(d)
			}
			if got, wantLooks := Looks(data), strings.HasPrefix(tt.payload, "SIP/2.0") || strings.Contains(tt.payload, " SIP/2.0\r\n"); got != wantLooks {
				t.Errorf("Looks = %v, want %v", got, wantLooks)
			}
		})
	}
}

// fullPacket sets every field AppendEncode writes.
func fullPacket() Packet {
	return Packet{
		Version: 3, Family: FamilyIPv6, IPProto: 6,
		Src:           netip.MustParseAddrPort("[2001:db8::10]:5061"),
		Dst:           netip.MustParseAddrPort("[2001:db8::20]:5062"),
		Time:          time.Date(2026, 11, 23, 2, 34, 5, 678901000, time.UTC),
		ProtoType:     ProtoSIP,
		CaptureID:     0xfedcba98,
		AuthKey:       []byte("secret"),
		CorrelationID: []byte("a84b4c76e66710@pc33.example.com"),
		NodeName:      []byte("kamailio-edge-1"),
		KeepAlive:     30, VLAN: 101,
		SrcMAC:    net.HardwareAddr{0, 0x11, 0x22, 0x33, 0x44, 0x55},
		DstMAC:    net.HardwareAddr{0, 0x66, 0x77, 0x88, 0x99, 0xaa},
		EtherType: 0x86dd, TCPFlags: 0x18, TOS: 0xb8, MOS: 412, RFactor: 9300, Jitter: 1234,
		Payload: []byte(sipRequest),
	}
}

func TestRoundTrip(t *testing.T) {
	a := netip.MustParseAddrPort
	ts := time.Date(2026, 11, 23, 2, 34, 5, 123456000, time.UTC)
	tests := []struct {
		name string
		p    Packet
	}{
		{"ipv4 minimal", Packet{Version: 3, Family: FamilyIPv4, IPProto: 17, Src: a("127.0.0.11:5060"), Dst: a("127.0.0.20:5060"),
			Time: ts, ProtoType: ProtoSIP, CaptureID: 2001, Payload: []byte(sipRequest)}},
		{"ipv4 auth and node", Packet{Version: 3, Family: FamilyIPv4, IPProto: 17, Src: a("192.0.2.1:5060"), Dst: a("192.0.2.2:5080"),
			Time: ts, ProtoType: ProtoSIP, CaptureID: 1, AuthKey: []byte("myHep"), NodeName: []byte("node-a"), Payload: []byte(sipResponse)}},
		{"ipv6 minimal", Packet{Version: 3, Family: FamilyIPv6, IPProto: 17, Src: a("[::1]:5060"), Dst: a("[fe80::1]:5060"),
			Time: ts, ProtoType: ProtoSIP, CaptureID: 7, Payload: []byte(sipResponse)}},
		{"ipv6 auth node correlation", Packet{Version: 3, Family: FamilyIPv6, IPProto: 132, Src: a("[2001:db8::1]:3868"), Dst: a("[2001:db8::2]:3868"),
			Time: ts, ProtoType: ProtoDiameter, CaptureID: 9, AuthKey: []byte("k"), NodeName: []byte("n"),
			CorrelationID: []byte("session;1"), Payload: []byte(`{"command_code":272}`)}},
		{"every field", fullPacket()},
		{"log without addresses or time", Packet{Version: 3, ProtoType: ProtoLog, Payload: []byte("log line")}},
		{"no payload", Packet{Version: 3, Family: FamilyIPv4, IPProto: 17, Src: a("10.1.1.1:1"), Dst: a("10.1.1.2:2"), Time: time.Unix(0, 0).UTC()}},
	}
	var p Packet
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := AppendEncode([]byte("prefix"), &tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(out, []byte("prefixHEP3")) || int(binary.BigEndian.Uint16(out[10:])) != len(out)-6 {
				t.Fatalf("encoded %q: not appended, or length field wrong", out[:min(len(out), 12)])
			}
			if !Looks(out[6:]) {
				t.Error("Looks = false on an encoded packet")
			}
			if n, err := PacketLength(out[6:]); n != len(out)-6 || err != nil {
				t.Errorf("PacketLength = %d, %v; want %d", n, err, len(out)-6)
			}
			if err := Decode(out[6:], &p); err != nil {
				t.Fatal(err)
			}
			if d := diffPackets(&p, &tt.p); d != "" {
				t.Error(d)
			}
		})
	}
}

// TestEncodeRoundsTime: HEP carries microseconds; a nanosecond time goes to the nearest one (as
// sigtrace writes times), carrying into the next second.
func TestEncodeRoundsTime(t *testing.T) {
	for _, tt := range []struct{ ns, wantSec, wantUsec int64 }{
		{123456499, 1700000000, 123456},
		{123456500, 1700000000, 123457},
		{999999500, 1700000001, 0},
	} {
		out, err := AppendEncode(nil, &Packet{Time: time.Unix(1700000000, tt.ns), Payload: []byte("x")})
		if err != nil {
			t.Fatal(err)
		}
		var p Packet
		if err := Decode(out, &p); err != nil {
			t.Fatal(err)
		}
		if want := time.Unix(tt.wantSec, tt.wantUsec*1000); !p.Time.Equal(want) {
			t.Errorf("%d ns: decoded %s, want %s", tt.ns, p.Time.UTC().Format(time.RFC3339Nano), want.UTC().Format(time.RFC3339Nano))
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	// With no other field set, the packet is 53 bytes of header and fixed chunks, then the
	// payload chunk.
	const fitsLen = 65535 - 53 - 6
	big := Packet{Payload: make([]byte, 65536)}
	almost := Packet{Payload: make([]byte, fitsLen+1)} // fits a chunk, not the packet
	early := Packet{Time: time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)}
	late := Packet{Time: time.Date(2107, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, tt := range []struct {
		name string
		p    *Packet
		want error
	}{
		{"payload too big", &big, ErrTooLong},
		{"fixed chunks push it over", &almost, ErrTooLong},
		{"time before 1970", &early, ErrRange},
		{"time after 2106", &late, ErrRange},
	} {
		out, err := AppendEncode([]byte("keep"), tt.p)
		if !errors.Is(err, tt.want) || string(out) != "keep" {
			t.Errorf("%s: got %q, %v; want dst unchanged and %v", tt.name, out, err, tt.want)
		}
	}
	// The largest packet that fits must encode.
	fits := Packet{Payload: make([]byte, fitsLen)}
	out, err := AppendEncode(nil, &fits)
	if err != nil || len(out) != 65535 {
		t.Errorf("largest packet: %d bytes, %v", len(out), err)
	}
}

// compressedPacket encodes p with its payload compressed into chunk 0x10 by the given method, after
// passing the compressed bytes through mangle when it is not nil.
func compressedPacket(t testing.TB, p Packet, method string, mangle func([]byte) []byte) []byte {
	t.Helper()
	var z bytes.Buffer
	var w interface {
		Write([]byte) (int, error)
		Close() error
	}
	switch method {
	case "gzip":
		w = gzip.NewWriter(&z)
	case "zlib":
		w = zlib.NewWriter(&z)
	default:
		z.WriteString(method) // not compressed at all
	}
	if w != nil {
		w.Write(p.Payload)
		w.Close()
	}
	zb := z.Bytes()
	if mangle != nil {
		zb = mangle(zb)
	}
	p.Payload = nil
	out, err := AppendEncode(nil, &p)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, 0, 0, 0, chCompressed, byte((6+len(zb))>>8), byte(6+len(zb)))
	out = append(out, zb...)
	binary.BigEndian.PutUint16(out[4:], uint16(len(out)))
	return out
}

func TestCompressedPayload(t *testing.T) {
	base := fullPacket()
	long := Packet{Version: 3, Payload: bytes.Repeat([]byte(sipRequest), 200)} // grows the buffer past its first size
	var p Packet
	// One Packet throughout: the inflate buffer and readers are reused between methods.
	for _, tt := range []struct {
		method string
		p      Packet
	}{{"gzip", base}, {"zlib", base}, {"gzip", long}, {"zlib", long}, {"zlib", base}, {"gzip", base}} {
		data := compressedPacket(t, tt.p, tt.method, nil)
		if err := Decode(data, &p); err != nil {
			t.Fatalf("%s: %v", tt.method, err)
		}
		want := tt.p
		want.Compressed = true
		if d := diffPackets(&p, &want); d != "" {
			t.Errorf("%s: %s", tt.method, d)
		}
	}

	// A preset dictionary, which HEP has no way to name.
	setFDICT := func(z []byte) []byte {
		z[1] = z[1]&^0x1f | 0x20
		z[1] += byte((31 - (uint16(z[0])<<8|uint16(z[1]))%31) % 31)
		return z
	}
	flip := func(back int) func([]byte) []byte {
		return func(z []byte) []byte { z[len(z)-back] ^= 0xff; return z }
	}
	for name, data := range map[string][]byte{
		"bomb":             compressedPacket(t, Packet{Payload: make([]byte, MaxInflated)}, "gzip", nil),
		"not compressed":   compressedPacket(t, base, "plain text", nil),
		"bad adler":        compressedPacket(t, base, "zlib", flip(1)), // zlib ends with Adler-32
		"bad crc":          compressedPacket(t, base, "gzip", flip(5)), // gzip ends with CRC-32, size
		"bad zlib header":  compressedPacket(t, base, "zlib", setFDICT),
		"truncated stream": compressedPacket(t, base, "zlib", func(z []byte) []byte { return z[:len(z)-20] }),
		"empty":            compressedPacket(t, base, "", nil),
	} {
		if err := Decode(data, &p); !errors.Is(err, ErrCompressed) {
			t.Errorf("%s: err = %v, want ErrCompressed", name, err)
		}
	}
	// After failures the same Packet still decodes.
	if err := Decode(compressedPacket(t, base, "zlib", nil), &p); err != nil || string(p.Payload) != sipRequest {
		t.Errorf("after errors: %v, payload %.20q", err, p.Payload)
	}
}

func TestSkipsUnknownAndVendorChunks(t *testing.T) {
	p := fullPacket()
	data, err := AppendEncode(nil, &p)
	if err != nil {
		t.Fatal(err)
	}
	// A vendor chunk that reuses type 0x0f and an unknown vendor-0 type, before the payload.
	extra := []byte{
		0x12, 0x34, 0x00, 0x0f, 0x00, 0x0a, 'f', 'a', 'k', 'e',
		0x00, 0x00, 0x7f, 0xff, 0x00, 0x07, 0x01,
		0x00, 0x00, 0x00, 0x22, 0x00, 0x08, 'g', 'e', // geo location: known, not kept
	}
	data = append(data[:6], append(extra, data[6:]...)...)
	binary.BigEndian.PutUint16(data[4:], uint16(len(data)))
	var got Packet
	if err := Decode(data, &got); err != nil {
		t.Fatal(err)
	}
	if d := diffPackets(&got, &p); d != "" {
		t.Error(d)
	}
}

func TestDecodeMalformed(t *testing.T) {
	good := fullPacket()
	enc, _ := AppendEncode(nil, &good)
	withLen := func(b []byte, n int) []byte {
		b = bytes.Clone(b)
		binary.BigEndian.PutUint16(b[4:], uint16(n))
		return b
	}
	// chunk builds "HEP3", a correct total length, and the given raw chunk bytes.
	chunk := func(raw ...byte) []byte {
		b := append([]byte("HEP3\x00\x00"), raw...)
		binary.BigEndian.PutUint16(b[4:], uint16(len(b)))
		return b
	}
	v2 := buildV12(2, 17, netip.MustParseAddrPort("10.0.0.1:5060"), netip.MustParseAddrPort("10.0.0.2:5060"), "le12", 1700000000, 1, 1, [2]byte{}, sipRequest)
	badFam := bytes.Clone(v2)
	badFam[2] = 7
	badHlen := bytes.Clone(v2)
	badHlen[1] = 40
	tests := []struct {
		name string
		data []byte
		want error
		msg  string // exact message, when given
	}{
		{"empty", nil, ErrTruncated, ""},
		{"three bytes", []byte("HEP"), ErrTruncated, ""},
		{"magic only", []byte("HEP3"), ErrTruncated, ""},
		{"length field cut", []byte("HEP3\x00"), ErrTruncated, ""},
		{"length zero", withLen(enc, 0), ErrLength, ""},
		{"length 5", withLen(enc, 5), ErrLength, "hep: packet length 5 smaller than the 6-byte header"},
		{"length past end", withLen(enc, len(enc)+1), ErrTruncated, ""},
		{"chunk past end", chunk(0, 0, 0, 0x0f, 0, 3+6+1, 'a', 'b', 'c'), ErrTruncated, "hep: chunk 0x0f: length 10 past end of packet"},
		{"zero chunk length", chunk(0, 0, 0, 0x01, 0, 0, 2), ErrLength, "hep: chunk 0x01: length 0 smaller than the 6-byte chunk header"},
		{"chunk length 5", chunk(0, 0, 0, 0x01, 0, 5, 2), ErrLength, ""},
		{"vendor chunk length 0", chunk(0, 9, 1, 0x02, 0, 0), ErrLength, "hep: chunk 0x0102 (vendor 0x0009): length 0 smaller than the 6-byte chunk header"},
		{"partial chunk header", chunk(0, 0, 0, 0x01, 0, 7, 2, 0, 0, 0), ErrTruncated, ""},
		{"family of 2 bytes", chunk(0, 0, 0, 0x01, 0, 8, 0, 2), ErrLength, "hep: chunk 0x01: value of 2 bytes, want 1"},
		{"ipv4 of 16 bytes", chunk(append([]byte{0, 0, 0, 0x03, 0, 22}, make([]byte, 16)...)...), ErrLength, ""},
		{"capture id of 2 bytes", chunk(0, 0, 0, 0x0c, 0, 8, 0, 1), ErrLength, ""},
		{"unknown version", []byte{7, 16, 2, 17, 0, 0, 0, 0}, ErrNotHEP, "hep: unknown version byte 0x07"},
		{"v2 family 7", badFam, ErrHeader, ""},
		{"v2 ipv4 with length 40", badHlen, ErrHeader, ""},
		{"v2 header cut", v2[:15], ErrTruncated, ""},
		{"v2 time header cut", v2[:16+9], ErrTruncated, ""},
		{"v1 ipv6 header cut", []byte{1, 40, 10, 17, 0, 0, 0, 0, 1, 2, 3}, ErrTruncated, ""},
	}
	var p Packet
	for _, tt := range tests {
		err := Decode(tt.data, &p)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
			continue
		}
		if tt.msg != "" && err.Error() != tt.msg {
			t.Errorf("%s: message %q, want %q", tt.name, err, tt.msg)
		}
	}
}

func TestPacketLength(t *testing.T) {
	p := fullPacket()
	enc, _ := AppendEncode(nil, &p)
	eep := append([]byte("EEP3"), enc[4:]...)
	two := append(bytes.Clone(enc), enc...)
	v2 := buildV12(2, 17, netip.MustParseAddrPort("10.0.0.1:5060"), netip.MustParseAddrPort("10.0.0.2:5060"), "le12", 1700000000, 1, 1, [2]byte{}, sipRequest)
	tests := []struct {
		name   string
		stream []byte
		n      int
		err    error
	}{
		{"empty", nil, 0, nil},
		{"one byte", []byte("H"), 0, nil},
		{"magic", []byte("HEP3"), 0, nil},
		{"length cut", []byte("HEP3\x00"), 0, nil},
		{"header only", []byte("HEP3\x00\x06"), 6, nil},
		{"partial packet", enc[:len(enc)-1], 0, nil},
		{"whole packet", enc, len(enc), nil},
		{"EEP3", eep, len(enc), nil},
		{"two packets", two, len(enc), nil},
		{"length 5", []byte("HEP3\x00\x05xx"), 0, ErrLength},
		{"junk", []byte("GET / HTTP/1.1\r\n"), 0, ErrNotHEP},
		{"junk after H", []byte("HX"), 0, ErrNotHEP},
		{"version 2", v2, 0, ErrNotHEP},
	}
	for _, tt := range tests {
		n, err := PacketLength(tt.stream)
		if n != tt.n || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("%s: got %d, %v; want %d, %v", tt.name, n, err, tt.n, tt.err)
		}
	}
}

// A stream of packets arriving in pieces of every size from 1 to 40 bytes frames back into the
// packets that were sent.
func TestPacketLengthStream(t *testing.T) {
	var stream []byte
	var sent []Packet
	for i := range 5 {
		p := fullPacket()
		p.CaptureID = uint32(i)
		p.Payload = bytes.Repeat([]byte{'a' + byte(i)}, 100*i)
		stream, _ = AppendEncode(stream, &p)
		sent = append(sent, p)
	}
	for piece := 1; piece <= 40; piece++ {
		var buf []byte
		var got int
		var p Packet
		for off := 0; off < len(stream); off += piece {
			buf = append(buf, stream[off:min(off+piece, len(stream))]...)
			for {
				n, err := PacketLength(buf)
				if err != nil {
					t.Fatalf("piece %d: %v", piece, err)
				}
				if n == 0 {
					break
				}
				if err := Decode(buf[:n], &p); err != nil {
					t.Fatalf("piece %d packet %d: %v", piece, got, err)
				}
				if d := diffPackets(&p, &sent[got]); d != "" {
					t.Fatalf("piece %d packet %d: %s", piece, got, d)
				}
				got++
				buf = buf[n:]
			}
		}
		if got != len(sent) || len(buf) != 0 {
			t.Errorf("piece %d: %d packets framed, %d bytes left", piece, got, len(buf))
		}
	}
}

func TestLooks(t *testing.T) {
	p := fullPacket()
	enc, _ := AppendEncode(nil, &p)
	tests := []struct {
		name string
		data []byte
		want bool
	}{
		{"HEP3", enc, true},
		{"HEP3 start of a TCP stream", enc[:40], true},
		{"HEP3 header only", []byte("HEP3\x00\x06"), false},
		{"HEP3 chunks overrun", append(bytes.Clone(enc[:6]), 0, 0, 0, 1, 0xff, 0xff), false},
		{"HEP3 trailing bytes", append(bytes.Clone(enc), 0, 0, 0), true},
		{"HEP3 length short of chunks", func() []byte { b := bytes.Clone(enc); binary.BigEndian.PutUint16(b[4:], uint16(len(b)-3)); return b }(), false},
		{"plain SIP", []byte(sipRequest), false},
		{"RTP", []byte{0x80, 0x08, 0x12, 0x34, 0, 0, 0, 160, 0xde, 0xad, 0xbe, 0xef, 0xd5, 0xd5}, false},
		// DNS id 0x0110 with flags TC and CD|rcode 1: the v1 header test alone would pass it.
		{"DNS lookalike", append([]byte{0x01, 0x10, 0x02, 0x11, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w', 'w'}, make([]byte, 16)...), false},
		{"v1 with SIP", buildV12(1, 17, netip.MustParseAddrPort("10.0.0.1:5060"), netip.MustParseAddrPort("10.0.0.2:5060"), "", 0, 0, 0, [2]byte{}, sipACK), true},
		{"v1 with binary", buildV12(1, 17, netip.MustParseAddrPort("10.0.0.1:5060"), netip.MustParseAddrPort("10.0.0.2:5060"), "", 0, 0, 0, [2]byte{}, "\x80\x00binary\n"), false},
		{"v2 implausible time", buildV12(2, 17, netip.MustParseAddrPort("10.0.0.1:5060"), netip.MustParseAddrPort("10.0.0.2:5060"), "be10", 5, 7, 0, [2]byte{}, sipACK), false},
		{"v2 protocol 1", buildV12(2, 1, netip.MustParseAddrPort("10.0.0.1:5060"), netip.MustParseAddrPort("10.0.0.2:5060"), "le12", 1700000000, 7, 0, [2]byte{}, sipACK), false},
		{"short", []byte("HEP3"), false},
	}
	for _, tt := range tests {
		if got := Looks(tt.data); got != tt.want {
			t.Errorf("%s: Looks = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestLooksSIP(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{sipRequest, true},
		{sipResponse, true},
		{"OPTIONS sip:127.0.0.1 SIP/2.0\nCall-ID: x\n", true}, // bare LF, as in hep.pcap
		{"MESSAGE tel:+15551234 SIP/2.0\r\n", true},
		{"SIP/2.0 200\r\n", true},
		{"SIP/2.0 2000 OK\r\n", false},
		{"SIP/2.0 2x0 OK\r\n", false},
		{"GET /index.html HTTP/1.1\r\n", false},
		{"GET http://example.com/ HTTP/1.1\r\n", false},
		{"INVITE sip:a@b SIP/2.0", false}, // no line end in sight
		{"invite sip:a@b SIP/2.0\r\n", false},
		{"INVITE  sip:a@b SIP/2.0\r\n", false},
		{"", false},
	} {
		if got := looksSIP([]byte(tt.in)); got != tt.want {
			t.Errorf("looksSIP(%.30q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestDecodeAllocs(t *testing.T) {
	full := fullPacket()
	v3, _ := AppendEncode(nil, &full)
	v2 := buildV12(2, 17, netip.MustParseAddrPort("10.0.0.1:5060"), netip.MustParseAddrPort("10.0.0.2:5060"), "le12", 1700000000, 1, 1, [2]byte{}, sipRequest)
	zl := compressedPacket(t, full, "zlib", nil)
	gz := compressedPacket(t, full, "gzip", nil)
	var p Packet
	for name, data := range map[string][]byte{"v3": v3, "v2": v2, "v3 zlib (warm)": zl, "v3 gzip (warm)": gz} {
		if err := Decode(data, &p); err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() { Decode(data, &p) }); n != 0 {
			t.Errorf("%s: %v allocations per Decode, want 0", name, n)
		}
	}
	if n := testing.AllocsPerRun(100, func() { Looks(v3); Looks(v2); PacketLength(v3) }); n != 0 {
		t.Errorf("Looks, PacketLength: %v allocations, want 0", n)
	}
	buf := make([]byte, 0, 2048)
	if n := testing.AllocsPerRun(100, func() { AppendEncode(buf[:0], &full) }); n != 0 {
		t.Errorf("AppendEncode into a large enough buffer: %v allocations, want 0", n)
	}
}

func BenchmarkDecode(b *testing.B) {
	full := fullPacket()
	full.AuthKey, full.NodeName, full.SrcMAC, full.DstMAC = nil, nil, nil, nil
	data, _ := AppendEncode(nil, &full)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var p Packet
	for b.Loop() {
		if err := Decode(data, &p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeCompressed(b *testing.B) {
	data := compressedPacket(b, fullPacket(), "zlib", nil)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var p Packet
	for b.Loop() {
		if err := Decode(data, &p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendEncode(b *testing.B) {
	full := fullPacket()
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendEncode(buf[:0], &full)
	}
}
