package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigtrace/sigtrace/samples/synth"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"calls", []string{"-calls", "40", "-seed", "3", "-o", filepath.Join(dir, "a.pcap"), "-truth", filepath.Join(dir, "a.ndjson")}, 0, "gen: 40 calls"},
		{"pcapng", []string{"-calls", "5", "-format", "pcapng", "-o", filepath.Join(dir, "b.pcapng")}, 0, "gen: 5 calls"},
		{"demo", []string{"-demo", "-o", filepath.Join(dir, "demo.pcap"), "-truth", filepath.Join(dir, "demo.ndjson")}, 0, "gen: 50 calls"},
		{"no output", []string{"-calls", "5"}, 2, "usage"},
		{"stray argument", []string{"-o", filepath.Join(dir, "c.pcap"), "extra"}, 2, "usage"},
		{"bad format", []string{"-format", "erf", "-o", filepath.Join(dir, "c.pcap")}, 2, `unknown format "erf"`},
		{"bad flag", []string{"-bogus"}, 2, "flag provided but not defined"},
		{"bad RTP share", []string{"-rtp", "2", "-o", filepath.Join(dir, "c.pcap")}, 1, "gen: synth: RTP share 2"},
		{"unwritable", []string{"-o", filepath.Join(dir, "no", "such", "dir.pcap")}, 1, "no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := run(tc.args, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tc.code, tc.stderr)
			}
		})
	}
	// The command writes exactly what the library does.
	var capture, truth bytes.Buffer
	if _, err := synth.Generate(synth.Config{Calls: 40, Seed: 3, RTPShare: 0.10, CPS: 30, MeanTalk: 60e9, Phones: 2000},
		&capture, &truth); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string][]byte{"a.pcap": capture.Bytes(), "a.ndjson": truth.Bytes()} {
		if got, err := os.ReadFile(filepath.Join(dir, file)); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes (%v), library makes %d", file, len(got), err, len(want))
		}
	}
	demo, _ := os.ReadFile(filepath.Join(dir, "demo.pcap"))
	if bundled, err := os.ReadFile("../demo.pcap"); err != nil || !bytes.Equal(demo, bundled) {
		t.Errorf("gen -demo differs from samples/demo.pcap (%v)", err)
	}
}
