//go:build !linux

package hepfeed

import "net"

// tuneUDP sizes the socket's receive buffer; the kernel's drop count is unknown here.
func tuneUDP(c *net.UDPConn, size int) (granted int, dropsKnown bool, err error) {
	return size, false, c.SetReadBuffer(size)
}

func dropCount([]byte) (uint32, bool) { return 0, false }
