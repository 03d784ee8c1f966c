package stream

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// lineCollector frames newline-terminated records and remembers them with their frames.
type lineCollector struct {
	lines  []string
	frames [][]int
	gaps   int
}

func (c *lineCollector) consume(f *Flow, data []byte) int {
	f.Proto = 1
	if f.Gap {
		c.gaps++
		f.Gap = false
	}
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		return 0
	}
	c.lines = append(c.lines, string(data[:i]))
	c.frames = append(c.frames, f.Frames(i+1, nil))
	return i + 1
}

var (
	testKey = Key{Src: netip.MustParseAddrPort("10.0.0.1:5060"), Dst: netip.MustParseAddrPort("10.0.0.2:5060")}
	t0      = time.Unix(1700000000, 0)
)

type seg struct {
	seq   uint32
	data  string
	frame int
}

func run(segs []seg, syn bool) (*lineCollector, *TCP) {
	c := &lineCollector{}
	a := NewTCP(c.consume)
	if syn {
		a.Segment(testKey, 999, true, false, false, nil, 0, t0)
	}
	for _, s := range segs {
		a.Segment(testKey, s.seq, false, false, false, []byte(s.data), s.frame, t0)
	}
	a.Flush()
	return c, a
}

func TestTCPInOrderSplitAndBundled(t *testing.T) {
	c, _ := run([]seg{
		{1000, "first\nsec", 1},
		{1009, "ond\nthird\nfou", 2},
		{1022, "rth\n", 3},
	}, true)
	want := []string{"first", "second", "third", "fourth"}
	if !slices.Equal(c.lines, want) {
		t.Fatalf("lines %q, want %q", c.lines, want)
	}
	wantFrames := [][]int{{1}, {1, 2}, {2}, {2, 3}}
	for i := range wantFrames {
		if !slices.Equal(c.frames[i], wantFrames[i]) {
			t.Errorf("line %d frames %v, want %v", i, c.frames[i], wantFrames[i])
		}
	}
}

func TestTCPOutOfOrderAndRetransmission(t *testing.T) {
	c, a := run([]seg{
		{1006, "bravo\n", 2},       // ahead of its predecessor
		{1000, "alpha\n", 1},       // fills the hole
		{1000, "alpha\n", 3},       // full retransmission
		{1009, "vo\ncharlie\n", 4}, // overlaps "bravo\n"'s tail
	}, true)
	want := []string{"alpha", "bravo", "charlie"}
	if !slices.Equal(c.lines, want) {
		t.Fatalf("lines %q, want %q", c.lines, want)
	}
	if a.Stats.OutOfOrder != 1 || a.Stats.Retransmitted != 1 {
		t.Fatalf("stats %+v", a.Stats)
	}
}

func TestTCPGapIsSkippedAndFlagged(t *testing.T) {
	segs := []seg{{1000, "one\n", 1}}
	// Lose the segment at 1004 and send more than MaxOutOfOrder segments after it.
	seq := uint32(1004 + 5)
	for i := 0; i <= MaxOutOfOrder; i++ {
		segs = append(segs, seg{seq, "x\n", 2 + i})
		seq += 2
	}
	c, a := run(segs, true)
	if a.Stats.Gaps != 1 {
		t.Fatalf("gaps %d", a.Stats.Gaps)
	}
	if c.gaps != 1 || c.lines[0] != "one" || len(c.lines) != 2+MaxOutOfOrder {
		t.Fatalf("gaps seen %d, %d lines: %q", c.gaps, len(c.lines), c.lines[:3])
	}
}

func TestTCPMidStreamStartIsGap(t *testing.T) {
	c, _ := run([]seg{{5000, "tail of something\nwhole\n", 7}}, false)
	if c.gaps != 1 || !slices.Equal(c.lines, []string{"tail of something", "whole"}) {
		t.Fatalf("gaps %d lines %q", c.gaps, c.lines)
	}
}

func TestTCPSequenceWraparound(t *testing.T) {
	c := &lineCollector{}
	a := NewTCP(c.consume)
	start := uint32(0xfffffffa)
	a.Segment(testKey, start-1, true, false, false, nil, 0, t0)
	a.Segment(testKey, start, false, false, false, []byte("abcdefgh\n"), 1, t0) // crosses 2^32
	a.Segment(testKey, start+9, false, false, false, []byte("next\n"), 2, t0)
	if !slices.Equal(c.lines, []string{"abcdefgh", "next"}) {
		t.Fatalf("%q", c.lines)
	}
}

func TestTCPIncompleteAtEndIsCounted(t *testing.T) {
	_, a := run([]seg{{1000, "no newline", 1}}, true)
	if a.Stats.Leftover != 1 {
		t.Fatalf("%+v", a.Stats)
	}
}

func TestTCPOverflowResets(t *testing.T) {
	big := strings.Repeat("a", MaxBuffered/2)
	c, a := run([]seg{{1000, big, 1}, {1000 + uint32(len(big)), big + "b", 2}, {1000 + uint32(2*len(big)+1), "\nok\n", 3}}, true)
	if a.Stats.Overflows != 1 {
		t.Fatalf("%+v", a.Stats)
	}
	if len(c.lines) == 0 || c.lines[len(c.lines)-1] != "ok" {
		t.Fatalf("%d lines", len(c.lines))
	}
}
