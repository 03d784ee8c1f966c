//go:build !linux || 386

package hepfeed

import "net"

// tuneUDP sizes the socket's receive buffer.
func tuneUDP(c *net.UDPConn, size int) (granted int, err error) {
	return size, c.SetReadBuffer(size)
}

// socketDrops is unknown here.
func socketDrops(*net.UDPConn) (int64, bool) { return 0, false }

func newBatchReader(c *net.UDPConn) (batchReader, error) {
	return &singleReader{c: c, buf: make([]byte, 0xffff)}, nil
}
