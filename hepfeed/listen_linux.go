//go:build !386

package hepfeed

import (
	"encoding/binary"
	"net"
	"net/netip"
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

// mmsgBatch is how many datagrams one recvmmsg call may return.
const mmsgBatch = 32

// mmsghdr is struct mmsghdr; Go pads it at the end as C does.
type mmsghdr struct {
	hdr syscall.Msghdr
	n   uint32
}

// mmsgReader reads up to mmsgBatch datagrams per system call (recvmmsg).
type mmsgReader struct {
	rc    syscall.RawConn
	hdrs  [mmsgBatch]mmsghdr
	iovs  [mmsgBatch]syscall.Iovec
	names [mmsgBatch]syscall.RawSockaddrInet6 // large enough for IPv4 too
	bufs  [mmsgBatch][]byte
}

func newBatchReader(c *net.UDPConn) (batchReader, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	r := &mmsgReader{rc: rc}
	for i := range r.hdrs {
		r.bufs[i] = make([]byte, 0xffff)
		r.iovs[i].Base = &r.bufs[i][0]
		r.iovs[i].SetLen(len(r.bufs[i]))
		r.hdrs[i].hdr.Iov = &r.iovs[i]
		r.hdrs[i].hdr.Iovlen = 1
		r.hdrs[i].hdr.Name = (*byte)(unsafe.Pointer(&r.names[i]))
	}
	return r, nil
}

func (r *mmsgReader) read() (int, error) {
	for i := range r.hdrs {
		r.hdrs[i].hdr.Namelen = uint32(unsafe.Sizeof(r.names[i]))
		r.hdrs[i].n = 0
	}
	var n uintptr
	var errno syscall.Errno
	err := r.rc.Read(func(fd uintptr) bool {
		n, _, errno = syscall.Syscall6(syscall.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])), mmsgBatch,
			syscall.MSG_DONTWAIT, 0, 0)
		return errno != syscall.EAGAIN // not ready: wait in the poller, with the deadline
	})
	if err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

func (r *mmsgReader) datagram(i int) ([]byte, netip.AddrPort) {
	data := r.bufs[i][:r.hdrs[i].n]
	sa := &r.names[i]
	port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
	switch sa.Family {
	case syscall.AF_INET:
		sa4 := (*syscall.RawSockaddrInet4)(unsafe.Pointer(sa))
		return data, netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port)
	case syscall.AF_INET6:
		return data, netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), port)
	}
	return data, netip.AddrPort{}
}
