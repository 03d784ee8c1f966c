package correlate

import (
	"hash/maphash"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestRTPTableAgainstMap runs random puts and deletes on a table and on a Go map and compares
// them after every step. Keys come from a small set, so that runs of neighbouring slots form,
// wrap around the end of the table and are cut by deletions, and the table grows several times.
func TestRTPTableAgainstMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	keys := make([]rtpKey, 3000)
	for i := range keys {
		var k rtpKey
		if i%3 == 0 { // IPv6
			for j := range k.addr {
				k.addr[j] = byte(r.IntN(4))
			}
		} else { // IPv4-mapped, as most SDP addresses are
			k.addr[10], k.addr[11] = 0xff, 0xff
			k.addr[12], k.addr[13], k.addr[14], k.addr[15] = 192, 0, 2, byte(i%7)
		}
		k.port = uint16(r.IntN(64))
		keys[i] = k
	}
	legs := make([]legState, 8)
	tab := newRTPTable(maphash.MakeSeed())
	ref := map[rtpKey]rtpSink{}
	for step := range 200000 {
		k := keys[r.IntN(len(keys))]
		if step < 120000 && r.IntN(3) != 0 || step >= 120000 && r.IntN(3) == 0 {
			s := rtpSink{leg: &legs[r.IntN(len(legs))], pt: uint8(r.IntN(128))}
			old, ok := tab.put(k, s)
			want, wantOK := ref[k]
			if ok != wantOK || old != want {
				t.Fatalf("step %d: put replaced %v %v, want %v %v", step, old, ok, want, wantOK)
			}
			ref[k] = s
		} else {
			s, ok := tab.delete(k)
			want, wantOK := ref[k]
			if ok != wantOK || s != want {
				t.Fatalf("step %d: delete gave %v %v, want %v %v", step, s, ok, want, wantOK)
			}
			delete(ref, k)
		}
		if tab.n != len(ref) {
			t.Fatalf("step %d: %d entries, want %d", step, tab.n, len(ref))
		}
		if step%1000 == 0 || step > 199000 {
			for _, k := range keys {
				s, ok := tab.get(k)
				if want, wantOK := ref[k]; ok != wantOK || s != want {
					t.Fatalf("step %d: get %v gave %v %v, want %v %v", step, k, s, ok, want, wantOK)
				}
			}
		}
	}
	if len(tab.slots) < 2*len(ref) || len(tab.slots) < 1024 {
		t.Errorf("%d slots for up to %d entries: the table did not grow as it filled", len(tab.slots), len(ref))
	}
	for k := range ref {
		tab.delete(k)
	}
	for i, s := range tab.slots {
		if s.used {
			t.Fatalf("slot %d still used after every key was deleted", i)
		}
	}
}

func TestRTPSlotSize(t *testing.T) {
	if n := unsafe.Sizeof(rtpSlot{}); n != 32 {
		t.Errorf("rtpSlot is %d bytes, want 32 (two to a cache line)", n)
	}
}
