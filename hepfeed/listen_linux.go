package hepfeed

import (
	"encoding/binary"
	"net"
	"syscall"
	"unsafe"
)

// tuneUDP sizes the socket's receive buffer, past net.core.rmem_max when the process may
// (SO_RCVBUFFORCE needs CAP_NET_ADMIN), and asks the kernel to report its drop count with every
// datagram (SO_RXQ_OVFL). It returns the buffer granted, in the units asked for.
func tuneUDP(c *net.UDPConn, size int) (granted int, dropsKnown bool, err error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, false, err
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
		dropsKnown = syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RXQ_OVFL, 1) == nil
	})
	if cerr != nil {
		return 0, false, cerr
	}
	return granted, dropsKnown, serr
}

// cmsgHeader is the size of struct cmsghdr on this platform.
const cmsgHeader = int(unsafe.Sizeof(syscall.Cmsghdr{}))

// dropCount finds the SO_RXQ_OVFL counter in a control message buffer, without allocating.
func dropCount(oob []byte) (uint32, bool) {
	for len(oob) >= cmsgHeader {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < cmsgHeader || l > len(oob) {
			return 0, false
		}
		if h.Level == syscall.SOL_SOCKET && h.Type == syscall.SO_RXQ_OVFL && l >= cmsgHeader+4 {
			return binary.NativeEndian.Uint32(oob[cmsgHeader:]), true
		}
		const align = int(unsafe.Sizeof(uintptr(0)))
		step := (l + align - 1) &^ (align - 1)
		if step >= len(oob) {
			break
		}
		oob = oob[step:]
	}
	return 0, false
}
