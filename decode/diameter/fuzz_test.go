package diameter

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/sigtrace/sigtrace/internal/corpus"
)

// addSeeds seeds a fuzz target with hand-built messages and, from the sample captures, real ones
// (S6a and Gx over SCTP, Cx and Rx over TCP, DCCA).
func addSeeds(f *testing.F) {
	for _, b := range sampleMessages(f) {
		f.Add(b)
	}
	unknown := diam.NewRequest(8388999, 16777999, nil)
	unknown.NewAVP(4242, avp.Vbit, 99999, &diam.GroupedAVP{AVP: []*diam.AVP{
		diam.NewAVP(avp.SessionID, avp.Mbit, 0, datatype.UTF8String("x")),
	}})
	f.Add(build(f, unknown))
	for _, name := range []string{"third_party/open5gs/testattach.pcapng", "third_party/open5gs/nonipsec_reg.pcapng",
		"third_party/ndpi/diameter.pcap", "third_party/arkime/diameter_synthetic.pcap"} {
		seen := map[uint32]bool{}
		for _, c := range diameterMessages(f, corpus.Path(f, name)) {
			// One message per command and direction keeps the seed corpus small.
			key := uint32(c.data[5])<<16 | uint32(c.data[6])<<8 | uint32(c.data[7]) | uint32(c.data[4]&flagRequest)<<24
			if !seen[key] {
				seen[key] = true
				f.Add(c.data)
			}
		}
	}
}

func FuzzDecode(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if errors.Is(err, ErrNotDiameter) != (m == nil) {
			t.Fatalf("message %v with error %v", m != nil, err)
		}
		if err != nil && !errors.Is(err, ErrNotDiameter) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrBadAVP) {
			t.Fatalf("unexpected error %v", err)
		}
		if Looks(b) && errors.Is(err, ErrNotDiameter) {
			t.Fatalf("Looks accepts what Decode rejects: %v", err)
		}
		if m == nil {
			return
		}
		if n := uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]); m.Length != n {
			t.Fatalf("length %d, header says %d", m.Length, n)
		}
		if _, err := json.Marshal(m); err != nil {
			t.Fatalf("JSON: %v", err)
		}
	})
}

func FuzzMessageLength(f *testing.F) {
	addSeeds(f)
	f.Add([]byte{1, 0, 0, 20, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := MessageLength(b)
		if err != nil {
			if n != 0 {
				t.Fatalf("length %d with error %v", n, err)
			}
			// The verdict depends only on bytes already seen: more data cannot repair a bad header.
			if _, err2 := MessageLength(append(b[:len(b):len(b)], make([]byte, 64)...)); err2 == nil {
				t.Fatalf("error %v went away with more bytes", err)
			}
			return
		}
		if n == 0 {
			return
		}
		if n < HeaderLength || n > len(b) {
			t.Fatalf("length %d of %d bytes", n, len(b))
		}
		if n2, err := MessageLength(b[:n]); n2 != n || err != nil {
			t.Fatalf("the message alone gives %d, %v; with what follows %d", n2, err, n)
		}
		if n2, err := MessageLength(b[:n-1]); n2 != 0 || err != nil {
			t.Fatalf("one byte short gives %d, %v", n2, err)
		}
		if _, err := Decode(b[:n]); errors.Is(err, ErrNotDiameter) || errors.Is(err, ErrTruncated) {
			t.Fatalf("framed message does not decode: %v", err)
		}
	})
}
