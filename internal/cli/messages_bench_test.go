package cli

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/sigtrace/sigtrace/samples/synth"
)

// generated writes a synthetic capture of n calls (10 % RTP) to a temporary file.
func generated(b testing.TB, calls int) (string, int64) {
	b.Helper()
	p := filepath.Join(b.TempDir(), "gen.pcap")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	cfg := synth.Config{Calls: calls, Seed: 1, RTPShare: 0.10}
	if _, err := synth.Generate(cfg, f, nil); err != nil {
		b.Fatal(err)
	}
	f.Close()
	fi, _ := os.Stat(p)
	return p, fi.Size()
}

// BenchmarkMessagesJSON measures the whole `messages -o json` path: read, decode, parse, render.
func BenchmarkMessagesJSON(b *testing.B) { benchMessages(b) }

// benchMessages runs `messages -q -o json` with extra flags on a generated capture of 5,000 calls.
func benchMessages(b *testing.B, flags ...string) {
	p, size := generated(b, 5000)
	f := SystemFactory()
	f.Stdout, f.Stderr = io.Discard, io.Discard
	args := append(append([]string{"messages", "-q", "-o", "json"}, flags...), p)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if code := Main(args, f); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}
