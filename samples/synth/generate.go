package synth

import (
	"bufio"
	"fmt"
	"io"
	"time"
)

// Stats describes what Generate wrote.
type Stats struct {
	Calls       int // calls written, one truth record each
	Packets     int64
	SIPPackets  int64 // OPTIONS included
	RTPPackets  int64
	Keepalives  int64 // OPTIONS requests
	Bytes       int64 // size of the capture file
	RTPBytes    int64 // bytes of the RTP frames, record headers included
	MaxOpen     int   // most calls open at once
	First, Last time.Time
	Scenarios   map[Scenario]int
}

// RTPShare returns the fraction of the file's bytes that are RTP frames.
func (s Stats) RTPShare() float64 {
	if s.Bytes == 0 {
		return 0
	}
	return float64(s.RTPBytes) / float64(s.Bytes)
}

// Generate writes the capture described by cfg to w, in capture-time order, and, when truth
// is not nil, one NDJSON Record per call to truth as the call ends. Memory is bounded by the
// calls open at once, not by cfg.Calls.
func Generate(cfg Config, w io.Writer, truth io.Writer) (Stats, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Stats{}, err
	}
	g := &gen{
		cfg:      cfg,
		topo:     newTopology(cfg),
		cw:       newCapWriter(w, cfg.Format),
		r:        newRNG(uint64(cfg.Seed)),
		talkMean: cfg.MeanTalk.Microseconds(),
		stats:    Stats{Scenarios: map[Scenario]int{}},
	}
	for _, x := range cfg.Mix {
		g.mixSum += x
	}
	for range cfg.EachAtLeast {
		for s := range numScenarios {
			g.deck = append(g.deck, s)
		}
	}
	deal := newRNG(uint64(cfg.Seed) ^ 0xdec4)
	for i := len(g.deck) - 1; i > 0; i-- {
		j := deal.intn(i + 1)
		g.deck[i], g.deck[j] = g.deck[j], g.deck[i]
	}
	if truth != nil {
		g.tw = bufio.NewWriterSize(truth, 256<<10)
	}
	if cfg.RTPShare > 0 {
		g.rtpRatio = cfg.RTPShare / (1 - cfg.RTPShare)
	}
	g.rtpFrame = int64(g.cw.frameSize(rtpPayload))
	if err := g.run(); err != nil {
		return g.stats, err
	}
	return g.stats, nil
}

type gen struct {
	cfg      Config
	topo     *topology
	cw       *capWriter
	tw       *bufio.Writer
	rw       recordWriter
	line     []byte
	r        rng // arrivals
	h        srcHeap
	free     []*call
	scratch  []byte
	body     []byte
	mixSum   float64
	deck     []Scenario // scenarios of the first calls (Config.EachAtLeast)
	talkMean int64

	arrived  int  // calls started
	open     int  // calls started and not yet ended
	arriving bool // more calls to come

	rtpRatio   float64 // wanted RTP bytes per other byte
	rtpFrame   int64   // bytes of one RTP frame in the file
	rtpPending int64   // bytes of RTP scheduled but not yet written

	stats Stats
	err   error
}

// source is anything that writes packets at times of its own: the call arrival process, a
// call, an RTP stream, a keep-alive pair. fire writes (at most) one packet at the time it was
// scheduled for and says when it next wants to fire.
type source interface {
	fire(g *gen, now int64) (next int64, more bool)
}

type srcItem struct {
	at  int64
	ord uint64 // ties in time go in scheduling order, which keeps output deterministic
	src source
}

// srcHeap is a binary min-heap by (at, ord), hand-written to avoid container/heap's boxing.
type srcHeap struct {
	items []srcItem
	ord   uint64
}

func (h *srcHeap) less(i, j int) bool {
	a, b := &h.items[i], &h.items[j]
	return a.at < b.at || (a.at == b.at && a.ord < b.ord)
}

func (h *srcHeap) push(at int64, s source) {
	h.ord++
	h.items = append(h.items, srcItem{at: at, ord: h.ord, src: s})
	i := len(h.items) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.items[i], h.items[p] = h.items[p], h.items[i]
		i = p
	}
}

// replaceTop gives the first source a new time and restores the order.
func (h *srcHeap) replaceTop(at int64, s source) {
	h.ord++
	h.items[0] = srcItem{at: at, ord: h.ord, src: s}
	h.down(0)
}

func (h *srcHeap) pop() srcItem {
	top := h.items[0]
	n := len(h.items) - 1
	h.items[0] = h.items[n]
	h.items[n] = srcItem{}
	h.items = h.items[:n]
	h.down(0)
	return top
}

func (h *srcHeap) down(i int) {
	n := len(h.items)
	for {
		l, m := 2*i+1, i
		if l < n && h.less(l, m) {
			m = l
		}
		if l+1 < n && h.less(l+1, m) {
			m = l + 1
		}
		if m == i {
			break
		}
		h.items[i], h.items[m] = h.items[m], h.items[i]
		i = m
	}
}

func (g *gen) run() error {
	g.cw.header()
	start := g.cfg.Start.UnixMicro()
	g.arriving = g.cfg.Calls > 0
	if g.arriving {
		g.h.push(start, &arrivals{})
	}
	g.addKeepalives(start)
	for len(g.h.items) > 0 && g.err == nil {
		top := &g.h.items[0]
		src, at := top.src, top.at
		next, more := src.fire(g, at)
		// A source that is still first fires again at once; the order is the heap's
		// all the same, since a re-queued source would go after any equal time.
		for more && g.err == nil && (len(g.h.items) == 1 || next < g.h.items[1].at && (len(g.h.items) == 2 || next < g.h.items[2].at)) {
			at = next
			next, more = src.fire(g, at)
		}
		if more {
			g.h.replaceTop(next, src)
		} else {
			g.h.pop()
		}
	}
	if g.err != nil {
		return g.err
	}
	if err := g.cw.flush(); err != nil {
		return fmt.Errorf("synth: write: %w", err)
	}
	if g.tw != nil {
		if err := g.tw.Flush(); err != nil {
			return fmt.Errorf("synth: truth: %w", err)
		}
	}
	g.stats.Bytes = g.cw.n
	return nil
}

// write sends one frame (payload already appended to b) and counts it.
func (g *gen) write(b []byte, us int64, src, dst *endpoint, sport, dport uint16, tos byte) int {
	n, err := g.cw.packet(b, us, src.ip, dst.ip, sport, dport, tos)
	if err != nil && g.err == nil {
		g.err = fmt.Errorf("synth: write: %w", err)
	}
	s := &g.stats
	if s.Packets == 0 {
		s.First = time.UnixMicro(us).UTC()
	}
	s.Last = time.UnixMicro(us).UTC()
	s.Packets++
	return n
}

// DSCP marks: CS3 for signalling, EF for voice, as carriers' networks mark them.
const (
	tosSIP = 0x60
	tosRTP = 0xb8
)

// arrivals starts calls by a Poisson process.
type arrivals struct{}

func (a *arrivals) fire(g *gen, now int64) (int64, bool) {
	c := g.newCall(uint64(g.arrived), now)
	g.arrived++
	g.open++
	g.stats.Scenarios[c.scen]++
	if g.open > g.stats.MaxOpen {
		g.stats.MaxOpen = g.open
	}
	g.h.push(c.steps[0].at, c)
	if g.arrived >= g.cfg.Calls {
		g.arriving = false
		return 0, false
	}
	gap := g.r.expo(int64(1e6 / g.cfg.CPS))
	if gap < 1 {
		gap = 1
	}
	return now + gap, true
}

// fire writes the call's next message; after the last it writes the call's record.
func (c *call) fire(g *gen, now int64) (int64, bool) {
	s := &c.steps[c.pos]
	caller, callee := c.ends(s.leg, s.hop)
	src, dst := caller, callee
	if !s.callerSends() {
		src, dst = callee, caller
	}
	b := g.cw.payload()
	b, g.body = c.render(b, g.body, s)
	g.write(b, now, src, dst, src.port, dst.port, tosSIP)
	g.stats.SIPPackets++
	if s.flags&fAnswer != 0 {
		g.startRTP(c, now)
	}
	c.pos++
	if c.pos < len(c.steps) {
		return c.steps[c.pos].at, true
	}
	g.open--
	g.stats.Calls++
	if g.tw != nil {
		g.line = g.rw.appendRecord(g.line[:0], &c.rec)
		if _, err := g.tw.Write(g.line); err != nil && g.err == nil {
			g.err = fmt.Errorf("synth: truth: %w", err)
		}
	}
	g.free = append(g.free, c)
	return 0, false
}

// startRTP decides how much media the call just answered carries. It keeps the RTP share of
// the bytes written so far near the configured one, giving streams of at least RTPBurst, so
// RTP comes as real streams on some calls rather than a packet or two on every call.
func (g *gen) startRTP(c *call, now int64) {
	if g.rtpRatio == 0 {
		return
	}
	other := g.cw.n - g.stats.RTPBytes
	deficit := int64(g.rtpRatio*float64(other)) - g.stats.RTPBytes - g.rtpPending
	k := deficit / (4 * g.rtpFrame)
	if least := int64(g.cfg.RTPBurst / (20 * time.Millisecond)); k < least {
		// Too little owed for a stream: grant one with the chance that keeps the share
		// right on average, so small captures get some RTP too.
		if deficit <= 0 || c.rtpDraw >= float64(deficit)/float64(4*least*g.rtpFrame) {
			return
		}
		k = least
	}
	window := (c.rtpTo - c.rtpFrom - rtpPtime) / rtpPtime
	if k > window {
		k = window
	}
	if k <= 0 || c.rtpFrom < now {
		return
	}
	s := newRTP(c, c.rtpFrom, int(k))
	g.rtpPending += 4 * k * g.rtpFrame
	g.h.push(s.at(0), s)
}

func (s *rtpStream) fire(g *gen, now int64) (int64, bool) {
	d := s.i & 3
	b := s.appendPacket(g.cw.payload(), s.i)
	n := g.write(b, now, s.src[d], s.dst[d], s.sport[d], s.dport[d], tosRTP)
	g.stats.RTPPackets++
	g.stats.RTPBytes += int64(n)
	g.rtpPending -= int64(n)
	s.i++
	if s.i < s.n {
		return s.at(s.i), true
	}
	return 0, false
}

// keepalive is one peer pinging another with OPTIONS: carrier -> proxy, proxy -> class-5 node.
type keepalive struct {
	from, to   *endpoint
	ua, server string
	id         uint64
	cseq       uint32
	interval   int64
	sent       int64 // time of the pending request, 0 when none
}

func (g *gen) addKeepalives(start int64) {
	iv := g.cfg.Keepalive.Microseconds()
	n := uint64(0)
	add := func(from, to *endpoint, ua, server string) {
		n++
		k := &keepalive{from: from, to: to, ua: ua, server: server, interval: iv,
			id: mix(uint64(g.cfg.Seed), 1<<40+n), cseq: uint32(1 + n%7*100)}
		g.h.push(start+int64(k.id%uint64(iv)), k)
	}
	for i := range g.topo.carriers {
		c := &g.topo.carriers[i]
		for _, p := range c.proxies {
			add(&c.sig, &g.topo.proxies[p], c.ua, proxyServer)
		}
	}
	for p := range g.topo.proxies {
		for n := range g.topo.nodes {
			add(&g.topo.proxies[p], &g.topo.nodes[n].a, proxyServer, class5UA)
		}
	}
}

func (k *keepalive) fire(g *gen, now int64) (int64, bool) {
	if k.sent == 0 {
		if !g.arriving && g.open == 0 {
			return 0, false // the capture ends with the last call
		}
		b := appendOptions(g.cw.payload(), k.from, k.to, mix(k.id, uint64(k.cseq)), k.cseq, false, k.ua)
		g.write(b, now, k.from, k.to, k.from.port, k.to.port, tosSIP)
		g.stats.SIPPackets++
		g.stats.Keepalives++
		k.sent = now
		return now + 300 + int64(mix(k.id, uint64(k.cseq))%3000), true
	}
	b := appendOptions(g.cw.payload(), k.from, k.to, mix(k.id, uint64(k.cseq)), k.cseq, true, k.server)
	g.write(b, now, k.to, k.from, k.to.port, k.from.port, tosSIP)
	g.stats.SIPPackets++
	next := k.sent + k.interval
	k.sent = 0
	k.cseq++
	return next, true
}
