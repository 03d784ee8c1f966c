package hepfeed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigtrace/sigtrace/decode/hep"
)

// Defaults of ListenOptions.
const (
	// DefaultReadBuffer is the UDP receive buffer asked for: about half a second of a 50,000
	// packets/s feed of typical SIP, counting the kernel's per-datagram overhead.
	DefaultReadBuffer = 64 << 20
	// DefaultQueueBytes bounds the memory of packets received and not yet handled.
	DefaultQueueBytes = 16 << 20
)

// drainTime is how long, once asked to stop, the listener keeps reading what the kernel already
// holds, so that packets sent before the stop are not lost.
const drainTime = 200 * time.Millisecond

// flushInterval is how often, under a feed that never lets the queue run empty, the handler is
// asked to flush.
const flushInterval = 200 * time.Millisecond

// tickInterval is how often a Handler that implements Ticker hears the time.
const tickInterval = 250 * time.Millisecond

// Ticker is implemented by a Handler that wants to know that time passes even when no packet it
// can use arrives (to end calls whose time has come on a quiet feed, or on one that carries only
// other traffic): Run calls Tick about every 250 ms of wall-clock time, from its own goroutine.
type Ticker interface {
	Tick(now time.Time)
}

// ListenOptions tune a Listener.
type ListenOptions struct {
	// AuthKey, when set, must equal a packet's authentication key (chunk 0x0e); other packets,
	// including HEP versions 1 and 2 and packets too broken to read, are dropped and counted.
	AuthKey string
	// ReadBuffer is the UDP receive buffer (SO_RCVBUF) to ask for; 0 means DefaultReadBuffer. On
	// Linux the kernel caps it at net.core.rmem_max unless the process may override that.
	ReadBuffer int
	// QueueBytes bounds the memory of packets waiting for the handler; 0 means DefaultQueueBytes.
	// When it is full, reading stops and the kernel's buffer takes the rest.
	QueueBytes int
}

// Packet is one received HEP packet. It and what it points to are valid only during HandlePacket.
type Packet struct {
	Data []byte      // the packet as received
	HEP  *hep.Packet // decoded; nil when Err is set
	Err  error       // why Data could not be decoded (only without an AuthKey: see ListenOptions)
	From netip.AddrPort
	Via  int       // index in Listener.Addrs of the endpoint that received it
	Time time.Time // when it was received

	room []byte // Data with datagramHeaderMax bytes of headroom before it
}

// Handler receives packets from Listener.Run, one at a time, from one goroutine.
type Handler interface {
	HandlePacket(p *Packet)
	// Flush is called when no packet is waiting, at least every 200 ms under a sustained feed, and
	// before Run returns: the moments to flush buffered output.
	Flush()
}

// ListenStats counts what a Listener received.
type ListenStats struct {
	Packets      int64 // packets read, whatever became of them
	Received     int64 // packets handed to the handler
	Bytes        int64 // their bytes
	AuthRejected int64 // dropped: authentication key missing or wrong
	Malformed    int64 // not HEP, or broken HEP
	// KernelDrops counts datagrams the kernel dropped on the UDP sockets, almost always because the
	// receive buffer was full (Linux SO_MEMINFO); -1 where unknown.
	KernelDrops int64
	Connections int64 // TCP connections accepted
	// Resyncs counts the times a TCP stream was not at a HEP packet and bytes were skipped.
	Resyncs int64
}

// Listener receives HEP on UDP and TCP endpoints.
type Listener struct {
	opts    ListenOptions
	authKey []byte
	udp     []*net.UDPConn
	tcp     []*net.TCPListener
	addrs   []Target
	// readBuffer is the effective receive buffer of each UDP socket (0 for TCP endpoints).
	readBuffer []int

	queue  chan *batch
	budget budget

	packets, received, bytes, authRejected, malformed atomic.Int64
	connections, resyncs                              atomic.Int64
	dropsKnown                                        bool
	finalDrops                                        atomic.Int64 // kernel drops, counted when the sockets close
	closed                                            atomic.Bool

	mu    sync.Mutex
	conns map[*net.TCPConn]struct{}
	done  bool
}

// item is a packet in the queue, in a pooled buffer with headroom.
type item struct {
	buf  []byte // headroom + data
	n    int
	from netip.AddrPort
	via  int
	t    time.Time
}

// Listen opens the endpoints. They receive from then on; Run hands the packets on.
func Listen(targets []Target, opts ListenOptions) (*Listener, error) {
	if len(targets) == 0 {
		return nil, errors.New("hepfeed: listen: no endpoint")
	}
	if opts.ReadBuffer <= 0 {
		opts.ReadBuffer = DefaultReadBuffer
	}
	if opts.QueueBytes <= 0 {
		opts.QueueBytes = DefaultQueueBytes
	}
	l := &Listener{opts: opts, authKey: []byte(opts.AuthKey), conns: make(map[*net.TCPConn]struct{})}
	l.budget.init(max(opts.QueueBytes, 2*maxItem))
	l.queue = make(chan *batch, 1<<12)
	ok := false
	defer func() {
		if !ok {
			l.closeAll()
		}
	}()
	for _, t := range targets {
		switch t.Network {
		case "udp":
			a, err := net.ResolveUDPAddr("udp", t.Addr)
			if err != nil {
				return nil, fmt.Errorf("hepfeed: listen %s: %w", t, err)
			}
			c, err := net.ListenUDP("udp", a)
			if err != nil {
				return nil, fmt.Errorf("hepfeed: listen %s: %w", t, err)
			}
			l.udp = append(l.udp, c)
			eff, err := tuneUDP(c, opts.ReadBuffer)
			if err != nil {
				return nil, fmt.Errorf("hepfeed: listen %s: %w", t, err)
			}
			l.readBuffer = append(l.readBuffer, eff)
			l.addrs = append(l.addrs, Target{Network: "udp", Addr: c.LocalAddr().String()})
		case "tcp":
			a, err := net.ResolveTCPAddr("tcp", t.Addr)
			if err != nil {
				return nil, fmt.Errorf("hepfeed: listen %s: %w", t, err)
			}
			ln, err := net.ListenTCP("tcp", a)
			if err != nil {
				return nil, fmt.Errorf("hepfeed: listen %s: %w", t, err)
			}
			l.tcp = append(l.tcp, ln)
			l.readBuffer = append(l.readBuffer, 0)
			l.addrs = append(l.addrs, Target{Network: "tcp", Addr: ln.Addr().String()})
		default:
			return nil, fmt.Errorf("hepfeed: listen %s: unknown network", t)
		}
	}
	l.dropsKnown = true
	for _, c := range l.udp {
		_, known := socketDrops(c)
		l.dropsKnown = l.dropsKnown && known
	}
	ok = true
	return l, nil
}

// Addrs returns the endpoints as bound (a port 0 resolved), UDP ones first, each network in the
// order given.
func (l *Listener) Addrs() []Target { return l.addrs }

// ReadBuffer returns the receive buffer the kernel granted the UDP socket at Addrs()[i], in bytes
// as asked for (Linux reports twice the figure, counting its overhead; this is half that).
func (l *Listener) ReadBuffer(i int) int { return l.readBuffer[i] }

// Stats returns the counts so far. It may be called while Run runs.
func (l *Listener) Stats() ListenStats {
	s := ListenStats{
		Packets: l.packets.Load(), Received: l.received.Load(), Bytes: l.bytes.Load(), AuthRejected: l.authRejected.Load(),
		Malformed: l.malformed.Load(), Connections: l.connections.Load(), Resyncs: l.resyncs.Load(),
		KernelDrops: -1,
	}
	if l.dropsKnown {
		s.KernelDrops = l.kernelDrops()
	}
	return s
}

// Run hands every received packet to h until ctx is done, then reads for a moment more what the
// kernel already holds, hands on everything queued, calls h.Flush, closes the endpoints and
// returns. Run may be called once.
func (l *Listener) Run(ctx context.Context, h Handler) error {
	var producers sync.WaitGroup
	for i, c := range l.udp {
		producers.Add(1)
		go func() {
			defer producers.Done()
			l.readUDP(c, i)
		}()
	}
	for i, ln := range l.tcp {
		producers.Add(1)
		go func() {
			defer producers.Done()
			l.acceptTCP(ln, len(l.udp)+i, &producers)
		}()
	}
	stop := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stop:
			return
		}
		l.shutdown()
	}()
	go func() {
		producers.Wait()
		close(l.queue)
	}()

	var p Packet
	var pkt hep.Packet
	ticker, _ := h.(Ticker)
	var tick <-chan time.Time // nil (never ready) without a Ticker
	if ticker != nil {
		t := time.NewTicker(tickInterval)
		defer t.Stop()
		tick = t.C
	}
	lastFlush := time.Now()
	for {
		var b *batch
		select {
		case b = <-l.queue:
		default:
			h.Flush()
			lastFlush = time.Now()
			b = l.wait(tick, ticker)
		}
		if b == nil {
			break
		}
		select {
		case now := <-tick: // time passes under a steady feed too
			ticker.Tick(now)
		default:
		}
		if time.Since(lastFlush) > flushInterval {
			h.Flush()
			lastFlush = time.Now()
		}
		for _, it := range b.items {
			if l.packet(it, &p, &pkt) {
				h.HandlePacket(&p)
			}
			l.budget.give(len(it.buf))
			putBuf(it)
		}
		putBatch(b)
	}
	close(stop)
	h.Flush()
	l.closeAll()
	return nil
}

// wait returns the next batch (nil once the queue is closed), telling the ticker the time meanwhile.
func (l *Listener) wait(tick <-chan time.Time, ticker Ticker) *batch {
	for {
		select {
		case b := <-l.queue:
			return b
		case now := <-tick:
			ticker.Tick(now)
		}
	}
}

// packet decodes a queued item into p and decides whether it is handed on.
func (l *Listener) packet(it *item, p *Packet, pkt *hep.Packet) bool {
	l.packets.Add(1)
	*p = Packet{Data: it.buf[datagramHeaderMax : datagramHeaderMax+it.n], From: it.from, Via: it.via, Time: it.t, room: it.buf}
	if err := hep.Decode(p.Data, pkt); err != nil {
		l.malformed.Add(1)
		if len(l.authKey) > 0 {
			return false
		}
		p.Err = err
	} else {
		if len(l.authKey) > 0 && !bytes.Equal(pkt.AuthKey, l.authKey) {
			l.authRejected.Add(1)
			return false
		}
		p.HEP = pkt
	}
	l.received.Add(1)
	l.bytes.Add(int64(it.n))
	return true
}

// readUDP reads datagrams, as many at a time as the platform allows, and queues them in batches:
// one channel operation and one wake-up for all the datagrams one system call returned.
func (l *Listener) readUDP(c *net.UDPConn, via int) {
	r, err := newBatchReader(c)
	if err != nil {
		return
	}
	for {
		n, err := r.read()
		if err != nil {
			if l.stopping() {
				return
			}
			// ECONNREFUSED and the like, left over from ICMP: the socket still works.
			continue
		}
		now := time.Now()
		b := getBatch()
		for i := range n {
			data, from := r.datagram(i)
			it := l.newItem(len(data))
			copy(it.buf[datagramHeaderMax:], data)
			it.from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
			it.via = via
			it.t = now
			b.items = append(b.items, it)
		}
		l.queue <- b
	}
}

// batchReader reads datagrams from a UDP socket, several per call where the platform can.
type batchReader interface {
	// read waits for datagrams and returns how many it read.
	read() (int, error)
	// datagram returns the i-th datagram of the last read and its sender; valid until the next read.
	datagram(i int) ([]byte, netip.AddrPort)
}

// singleReader reads one datagram per call: the portable batchReader.
type singleReader struct {
	c    *net.UDPConn
	buf  []byte
	n    int
	from netip.AddrPort
}

func (r *singleReader) read() (int, error) {
	n, from, err := r.c.ReadFromUDPAddrPort(r.buf)
	if err != nil {
		return 0, err
	}
	r.n, r.from = n, from
	return 1, nil
}

func (r *singleReader) datagram(int) ([]byte, netip.AddrPort) { return r.buf[:r.n], r.from }

// batch is a run of items queued together.
type batch struct{ items []*item }

var batchPool = sync.Pool{New: func() any { return &batch{items: make([]*item, 0, 64)} }}

func getBatch() *batch { return batchPool.Get().(*batch) }

func putBatch(b *batch) {
	clear(b.items)
	b.items = b.items[:0]
	batchPool.Put(b)
}

func (l *Listener) acceptTCP(ln *net.TCPListener, via int, producers *sync.WaitGroup) {
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			if l.stopping() {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			time.Sleep(10 * time.Millisecond) // out of descriptors, say: do not spin
			continue
		}
		l.mu.Lock()
		if l.done {
			l.mu.Unlock()
			c.Close()
			return
		}
		l.conns[c] = struct{}{}
		producers.Add(1)
		l.mu.Unlock()
		l.connections.Add(1)
		go func() {
			defer producers.Done()
			l.readTCP(c, via)
		}()
	}
}

// readTCP frames a stream of HEPv3 packets from a connection and queues them.
func (l *Listener) readTCP(c *net.TCPConn, via int) {
	defer func() {
		l.mu.Lock()
		delete(l.conns, c)
		l.mu.Unlock()
		c.Close()
	}()
	from := c.RemoteAddr().(*net.TCPAddr).AddrPort()
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	buf := make([]byte, 256<<10) // past the largest packet, so that a whole one always fits
	have := 0
	var fr framer
	var b *batch
	var now time.Time
	emit := func(pkt []byte) {
		it := l.newItem(len(pkt))
		copy(it.buf[datagramHeaderMax:], pkt)
		it.from, it.via, it.t = from, via, now
		b.items = append(b.items, it)
	}
	for {
		n, err := c.Read(buf[have:])
		have += n
		b, now = getBatch(), time.Now()
		used, resyncs := fr.frame(buf[:have], emit)
		if len(b.items) > 0 {
			l.queue <- b
		} else {
			putBatch(b)
		}
		l.resyncs.Add(int64(resyncs))
		l.malformed.Add(int64(resyncs))
		have = copy(buf, buf[used:have])
		if err != nil {
			return // EOF, a reset, or the deadline set by shutdown
		}
	}
}

// framer splits a byte stream into HEPv3 packets. Bytes that do not start a packet are skipped up
// to the next "HEP3" (or "EEP3") magic.
type framer struct {
	lost bool // skipping bytes
}

// frame calls emit for every whole packet at the start of b and returns the bytes it used (packets
// and skipped bytes; the rest must be offered again with more) and how many times it lost the
// packet boundaries.
func (f *framer) frame(b []byte, emit func(pkt []byte)) (used, resyncs int) {
	for used < len(b) {
		rest := b[used:]
		size, err := hep.PacketLength(rest)
		if err != nil {
			if !f.lost {
				resyncs++
				f.lost = true
			}
			next := indexMagic(rest[1:])
			if next < 0 {
				// Keep a tail that may be the start of a magic.
				return max(used+1, len(b)-3), resyncs
			}
			used += 1 + next
			continue
		}
		if size == 0 {
			break
		}
		f.lost = false
		emit(rest[:size])
		used += size
	}
	return used, resyncs
}

// indexMagic returns the index of the first "HEP3" or "EEP3" in b, or -1.
func indexMagic(b []byte) int {
	for off := 0; ; {
		i := bytes.Index(b[off:], []byte("EP3"))
		if i < 0 {
			return -1
		}
		at := off + i - 1
		if at >= 0 && (b[at] == 'H' || b[at] == 'E') {
			return at
		}
		off += i + 1
	}
}

// shutdown makes the readers stop: UDP and TCP reads end after drainTime, which lets them take
// what the kernel already holds; no new connection is accepted.
func (l *Listener) shutdown() {
	l.mu.Lock()
	l.done = true
	conns := make([]*net.TCPConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	deadline := time.Now().Add(drainTime)
	for _, ln := range l.tcp {
		ln.Close()
	}
	for _, c := range l.udp {
		c.SetReadDeadline(deadline)
	}
	for _, c := range conns {
		c.SetReadDeadline(deadline)
	}
}

func (l *Listener) stopping() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.done
}

// kernelDrops sums the drops of the UDP sockets, or returns the sum taken when they closed.
func (l *Listener) kernelDrops() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return l.finalDrops.Load()
	}
	var n int64
	for _, c := range l.udp {
		d, _ := socketDrops(c)
		n += d
	}
	return n
}

// Close closes the endpoints of a Listener whose Run will not be called.
func (l *Listener) Close() { l.closeAll() }

func (l *Listener) closeAll() {
	if l.dropsKnown {
		l.finalDrops.Store(l.kernelDrops())
	}
	l.mu.Lock()
	l.closed.Store(true)
	l.mu.Unlock()
	for _, c := range l.udp {
		c.Close()
	}
	for _, ln := range l.tcp {
		ln.Close()
	}
}

// Buffers come in a few sizes so that the queue's memory follows the packets' sizes.
var bufClasses = [...]int{2 << 10, 8 << 10, 0x10000 + datagramHeaderMax}

// maxItem is the largest buffer an item uses.
const maxItem = 0x10000 + datagramHeaderMax

var bufPools [len(bufClasses)]sync.Pool

// newItem returns an item with room for n bytes after the headroom, waiting for the queue's
// memory budget.
func (l *Listener) newItem(n int) *item {
	c := 0
	for n+datagramHeaderMax > bufClasses[c] {
		c++
	}
	l.budget.take(bufClasses[c])
	it, _ := bufPools[c].Get().(*item)
	if it == nil {
		it = &item{buf: make([]byte, bufClasses[c])}
	}
	it.n = n
	return it
}

func putBuf(it *item) {
	for c, size := range bufClasses {
		if len(it.buf) == size {
			bufPools[c].Put(it)
			return
		}
	}
}

// budget is a counting semaphore over bytes.
type budget struct {
	mu   sync.Mutex
	cond sync.Cond
	free int
}

func (b *budget) init(n int) {
	b.free = n
	b.cond.L = &b.mu
}

func (b *budget) take(n int) {
	b.mu.Lock()
	for b.free < n {
		b.cond.Wait()
	}
	b.free -= n
	b.mu.Unlock()
}

func (b *budget) give(n int) {
	b.mu.Lock()
	b.free += n
	b.mu.Unlock()
	b.cond.Broadcast() // waiters need different sizes: wake them all
}
