package decode

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOpenReaderGrowsPipe: a capture read from a pipe gets a 1 MB pipe, and its frames still come
// through whole.
func TestOpenReaderGrowsPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	capture := zeroFramesPcap(3000) // 264 KB: more than the default pipe holds
	go func() {
		w.Write(capture)
		w.Close()
	}()
	c, err := OpenReader("-", r, nil)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := r.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var size int
	var serr error
	sc.Control(func(fd uintptr) { size, serr = unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0) })
	if serr != nil || size != pipeSize {
		t.Errorf("pipe size %d (%v), want %d", size, serr, pipeSize)
	}
	var f Frame
	n := 0
	for c.Next(&f) == nil {
		n++
	}
	if n != 3000 {
		t.Errorf("%d frames read, want 3000", n)
	}
}
