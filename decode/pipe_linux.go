package decode

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// pipeSize is what a capture read from a pipe asks the kernel for: the default 64 KB makes the
// writer (tcpdump -w -, zcat, a generator) and sigtrace wake each other sixteen times per megabyte.
// 1 MB is the largest an unprivileged process may ask for by default (/proc/sys/fs/pipe-max-size).
const pipeSize = 1 << 20

// growPipe enlarges the pipe r reads from, if it is one; a refusal (a lower pipe-max-size, an old
// kernel) leaves it as it was.
func growPipe(r io.Reader) {
	f, ok := r.(*os.File)
	if !ok {
		return
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		return
	}
	// Through SyscallConn, not Fd: Fd would put the descriptor into blocking mode.
	if sc, err := f.SyscallConn(); err == nil {
		_ = sc.Control(func(fd uintptr) {
			if n, err := unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0); err == nil && n < pipeSize {
				_, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeSize)
			}
		})
	}
}
