package diameter

import (
	"bytes"
	"errors"
	"testing"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
)

// sampleMessages are three serialised messages of different sizes: a CER, a Cx UAR and an answer
// with a large AVP.
func sampleMessages(t testing.TB) [][]byte {
	cer := diam.NewRequest(257, 0, nil)
	cer.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity("mme.example"))
	cer.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity("example"))
	uar := diam.NewRequest(300, appCx, nil)
	baseAVPs(uar, appCx)
	uar.NewAVP(601, vM, vendor3GPP, datatype.UTF8String("sip:alice@ims.example"))
	saa := diam.NewMessage(301, avp.Pbit, appCx, 3, 4, nil)
	saa.NewAVP(avp.ResultCode, avp.Mbit, 0, datatype.Unsigned32(2001))
	saa.NewAVP(606, vM, vendor3GPP, datatype.OctetString(bytes.Repeat([]byte("<IMSSubscription/>"), 200)))
	return [][]byte{build(t, cer), build(t, uar), build(t, saa)}
}

// A stream of several messages fed in chunks of every awkward size must frame back into the same
// messages: several in one chunk, one split across many, splits inside the header.
func TestMessageLengthStream(t *testing.T) {
	msgs := sampleMessages(t)
	stream := bytes.Join(msgs, nil)
	for _, size := range []int{1, 2, 3, 4, 5, 7, 19, 20, 21, 64, 1000, len(stream)} {
		var buf []byte
		var got [][]byte
		for off := 0; off < len(stream); off += size {
			buf = append(buf, stream[off:min(off+size, len(stream))]...)
			for {
				n, err := MessageLength(buf)
				if err != nil {
					t.Fatalf("chunk size %d, offset %d: %v", size, off, err)
				}
				if n == 0 {
					break
				}
				got = append(got, buf[:n])
				buf = buf[n:]
			}
		}
		if len(buf) != 0 || len(got) != len(msgs) {
			t.Fatalf("chunk size %d: %d messages and %d bytes left over", size, len(got), len(buf))
		}
		for i := range msgs {
			if !bytes.Equal(got[i], msgs[i]) {
				t.Errorf("chunk size %d: message %d differs", size, i)
			}
		}
	}
}

func TestMessageLength(t *testing.T) {
	hdr := func(length int, flags byte, extra int) []byte {
		b := make([]byte, 20+extra)
		b[0], b[1], b[2], b[3], b[4] = 1, byte(length>>16), byte(length>>8), byte(length), flags
		b[7] = 1 // command code 1: framing does not judge commands
		return b
	}
	for _, tc := range []struct {
		name string
		in   []byte
		n    int
		bad  bool
	}{
		{"empty", nil, 0, false},
		{"version only", []byte{1}, 0, false},
		{"version 2", []byte{2}, 0, true},
		{"SIP text", []byte("INVITE sip:x SIP/2.0\r\n"), 0, true},
		{"length 19", []byte{1, 0, 0, 19}, 0, true},
		{"length known, flags not yet", []byte{1, 0, 0, 20}, 0, false},
		{"reserved flag bits", hdr(20, 0x81, 0), 0, true},
		{"error bit on a request", hdr(20, 0xa0, 0), 0, true},
		{"error bit on an answer", hdr(20, 0x20, 0), 20, false},
		{"header only", hdr(20, 0x80, 0), 20, false},
		{"body missing", hdr(28, 0x80, 0), 0, false},
		{"body complete", hdr(28, 0x80, 8), 28, false},
		{"next message follows", hdr(20, 0x80, 5), 20, false},
		{"24-bit length", hdr(0x010000, 0x40, 0x010000-20), 0x010000, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := MessageLength(tc.in)
			if n != tc.n || (err != nil) != tc.bad {
				t.Fatalf("got %d, %v; want %d, error %v", n, err, tc.n, tc.bad)
			}
			if err != nil && !errors.Is(err, ErrNotDiameter) {
				t.Errorf("error %v does not wrap ErrNotDiameter", err)
			}
		})
	}
}

func TestLooks(t *testing.T) {
	for i, b := range sampleMessages(t) {
		if !Looks(b) {
			t.Errorf("sample %d does not look like Diameter", i)
		}
		if !Looks(b[:HeaderLength+8]) {
			t.Errorf("sample %d: its first 28 bytes do not look like Diameter", i)
		}
	}
	good := sampleMessages(t)[1]
	mutate := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	for name, b := range map[string][]byte{
		"SIP":                 []byte("OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n"),
		"DNS query":           {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w', 'w', 0, 0, 1, 0, 1},
		"short":               good[:19],
		"version 2":           mutate(func(b []byte) { b[0] = 2 }),
		"reserved flags":      mutate(func(b []byte) { b[4] |= 0x01 }),
		"error on request":    mutate(func(b []byte) { b[4] |= flagError }),
		"RADIUS command code": mutate(func(b []byte) { b[5], b[6], b[7] = 0, 0, 1 }),
		"unaligned length":    mutate(func(b []byte) { b[3]++ }),
		"first AVP too long":  mutate(func(b []byte) { b[HeaderLength+5] = 0x7f }),
		"first AVP code 0":    mutate(func(b []byte) { copy(b[HeaderLength:], []byte{0, 0, 0, 0}) }),
		"first AVP flags":     mutate(func(b []byte) { b[HeaderLength+4] |= 0x01 }),
	} {
		if Looks(b) {
			t.Errorf("%s looks like Diameter", name)
		}
	}
}
