package hugeheap

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestReserveAdvisesWithoutTouching: the range Reserve returns is marked for huge pages (VmFlags
// "hg" in /proc/self/smaps), and reserving 64 MB does not make the process 64 MB bigger.
func TestReserveAdvisesWithoutTouching(t *testing.T) {
	before := residentBytes(t)
	start, end, err := Reserve(64 << 20)
	if errors.Is(err, unix.EINVAL) {
		t.Skip("this kernel has no transparent huge pages")
	}
	if err != nil {
		t.Fatal(err)
	}
	if end-start < 60<<20 || start%hugePage != 0 || end%hugePage != 0 {
		t.Fatalf("advised %#x-%#x: want at least 60 MB in whole huge pages", start, end)
	}
	if grew := residentBytes(t) - before; grew > 16<<20 {
		t.Errorf("resident memory grew by %d MB: the reserve was touched", grew>>20)
	}
	covered := uintptr(0)
	for _, v := range mappings(t) {
		lo, hi := max(v.start, start), min(v.end, end)
		if lo >= hi {
			continue
		}
		if !v.huge {
			t.Errorf("%#x-%#x is not advised for huge pages (VmFlags %q)", v.start, v.end, v.flags)
		}
		covered += hi - lo
	}
	if covered != end-start {
		t.Errorf("mappings cover %d of the %d bytes advised", covered, end-start)
	}
}

func TestReserveSmall(t *testing.T) {
	if start, end, err := Reserve(hugePage); start != end || err != nil {
		t.Errorf("Reserve(2 MB) = %#x, %#x, %v: want nothing done", start, end, err)
	}
}

func residentBytes(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip(err)
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.Atoi(f[1])
	return pages * os.Getpagesize()
}

type mapping struct {
	start, end uintptr
	flags      string
	huge       bool
}

func mappings(t *testing.T) []mapping {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	var ms []mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if flags, ok := strings.CutPrefix(line, "VmFlags:"); ok && len(ms) > 0 {
			m := &ms[len(ms)-1]
			m.flags = strings.TrimSpace(flags)
			m.huge = strings.Contains(" "+m.flags+" ", " hg ")
			continue
		}
		r, _, ok := strings.Cut(line, " ")
		lo, hi, ok2 := strings.Cut(r, "-")
		if !ok || !ok2 {
			continue
		}
		a, err1 := strconv.ParseUint(lo, 16, 64)
		b, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 == nil && err2 == nil {
			ms = append(ms, mapping{start: uintptr(a), end: uintptr(b)})
		}
	}
	return ms
}
