package synth_test

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/samples/synth"
)

// FuzzGenerate drives the generator with arbitrary configurations: it must either refuse one
// with an error naming synth, or write a capture that reads back cleanly (every frame and every
// SIP message well formed) and one record per call that the capture bears out.
func FuzzGenerate(f *testing.F) {
	demo := synth.DemoConfig()
	f.Add(demo.Seed, uint16(demo.Calls), demo.RTPShare, 1.0, []byte{4, 2, 2, 2, 2, 3, 3, 2, 2, 3}, uint8(2), uint8(2), uint16(20), false)
	f.Add(int64(1), uint16(200), 0.1, 30.0, []byte{}, uint8(6), uint8(4), uint16(2000), true)
	f.Add(int64(-9), uint16(40), 0.5, 500.0, []byte{0, 0, 0, 9, 9}, uint8(1), uint8(1), uint16(2), false)
	f.Fuzz(func(t *testing.T, seed int64, calls uint16, rtp, cps float64, weights []byte, carriers, class5 uint8, phones uint16, ng bool) {
		// Rates from 0.5 to 500 calls/s and RTP shares to one half: slower rates only add hours
		// of keep-alives, larger shares only add RTP, and either makes an input take seconds.
		if cps == cps && cps != 0 {
			cps = 0.5 + math.Mod(math.Abs(cps), 500)
		}
		if rtp > 0.5 && rtp <= 0.95 {
			rtp /= 2
		}
		cfg := synth.Config{Calls: int(calls % 300), Seed: seed, RTPShare: rtp, CPS: cps,
			Carriers: int(carriers), Class5: int(class5), Phones: int(phones),
			MeanTalk: time.Duration(1+seed&63) * time.Second, EachAtLeast: int(calls>>14) % 3}
		for i, w := range weights {
			if i < len(cfg.Mix) {
				cfg.Mix[i] = float64(w)
			}
		}
		if ng {
			cfg.Format = synth.PCAPNG
		}
		var capture, truth bytes.Buffer
		st, err := synth.Generate(cfg, &capture, &truth)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "synth: ") {
				t.Fatalf("error %q does not name synth", err)
			}
			return
		}
		pkts := readCapture(t, capture.Bytes())
		recs, err := synth.ReadTruth(&truth)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(pkts)) != st.Packets || len(recs) != cfg.Calls {
			t.Fatalf("%d packets (Stats %d), %d records for %d calls", len(pkts), st.Packets, len(recs), cfg.Calls)
		}
		checkTruth(t, pkts, recs)
	})
}
