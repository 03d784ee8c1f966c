package hepfeed

import (
	"net"
	"syscall"
	"unsafe"
)

// Linux socket options the syscall package does not name (linux/socket.h, linux/sock_diag.h).
const (
	soMeminfo      = 55 // SO_MEMINFO: the socket's memory counters, u32 each
	skMeminfoDrops = 8  // SK_MEMINFO_DROPS: datagrams dropped, mostly because the buffer was full
)

// tuneUDP sizes the socket's receive buffer, past net.core.rmem_max when the process may
// (SO_RCVBUFFORCE needs CAP_NET_ADMIN). It returns the buffer granted, in the units asked for.
func tuneUDP(c *net.UDPConn, size int) (granted int, err error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var serr error
	cerr := rc.Control(func(fd uintptr) {
		s := int(fd)
		if syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, size) != nil {
			serr = syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RCVBUF, size)
		}
		if v, err := syscall.GetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RCVBUF); err == nil {
			granted = v / 2 // Linux doubles the figure to account for its bookkeeping
		}
	})
	if cerr != nil {
		return 0, cerr
	}
	return granted, serr
}

// socketDrops returns how many datagrams the kernel dropped on the socket since it was opened.
// Unlike SO_RXQ_OVFL, which stamps the count on the datagrams that get through, this also counts
// drops after the last datagram read.
func socketDrops(c *net.UDPConn) (int64, bool) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, false
	}
	var info [16]uint32 // the kernel fills as many counters as it has
	size := uint32(unsafe.Sizeof(info))
	var errno syscall.Errno
	if rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.SOL_SOCKET, soMeminfo,
			uintptr(unsafe.Pointer(&info[0])), uintptr(unsafe.Pointer(&size)), 0)
	}) != nil || errno != 0 || size <= skMeminfoDrops*4 {
		return 0, false
	}
	return int64(info[skMeminfoDrops]), true
}
