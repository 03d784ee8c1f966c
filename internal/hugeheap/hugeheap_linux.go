package hugeheap

import (
	"runtime"
	"runtime/debug"
	"unsafe"

	"golang.org/x/sys/unix"
)

func reserve(size int) (start, end uintptr, err error) {
	if size < 2*hugePage {
		return 0, 0, nil
	}
	// The collector is held off while the reserve is live (a collection then would free nothing),
	// so that the one below is the only one it costs.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	// A large object has a span of its own, fresh from the operating system: the runtime knows
	// it is zero and does not clear it, so no page of it is touched here.
	b := make([]byte, size)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	// Only whole huge pages are advised (madvise needs page-aligned bounds anyway).
	start = (p + hugePage - 1) &^ (hugePage - 1)
	end = (p + uintptr(size)) &^ (hugePage - 1)
	if end <= start {
		return 0, 0, nil
	}
	err = unix.Madvise(b[start-p:end-p], unix.MADV_HUGEPAGE)
	runtime.KeepAlive(b)
	if err != nil {
		return 0, 0, err
	}
	// b is garbage from here: a collection now frees it, and the next spans are made in it.
	runtime.GC()
	return start, end, nil
}
