//go:build !linux

package decode

import "io"

// growPipe enlarges a pipe on Linux only (F_SETPIPE_SZ).
func growPipe(io.Reader) {}
