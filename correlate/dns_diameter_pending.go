package correlate

import (
	"time"
)

// This file holds what the Diameter and DNS pairers share: the table of requests waiting for their
// answer, the pairing status and the pairing options.

// PairStatus says how a request/answer pair ended.
type PairStatus uint8

const (
	// PairAnswered: a request and its answer.
	PairAnswered PairStatus = iota + 1
	// PairUnanswered: a request whose answer did not come before the timeout, the end of the capture,
	// or its eviction from a full table.
	PairUnanswered
	// PairOrphan: an answer whose request was not seen.
	PairOrphan
)

var pairStatusNames = [...]string{"", "answered", "unanswered", "orphan"}

func (s PairStatus) String() string {
	if int(s) < len(pairStatusNames) {
		return pairStatusNames[s]
	}
	return "unknown"
}

// MarshalText implements encoding.TextMarshaler.
func (s PairStatus) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// PairOptions tune a Diameter or DNS pairer.
type PairOptions struct {
	// Timeout, in capture time, after which a request without answer is reported unanswered and
	// forgotten. Zero means the protocol's default (60 s for Diameter, 30 s for DNS); negative means
	// never (requests wait for Flush or eviction).
	Timeout time.Duration
	// MaxOpen bounds the requests waiting for an answer; past it the oldest is reported unanswered
	// with Evicted set. Zero means 100000.
	MaxOpen int
}

const defaultMaxOpen = 100000

func (o PairOptions) withDefaults(timeout time.Duration) PairOptions {
	if o.Timeout == 0 {
		o.Timeout = timeout
	}
	if o.MaxOpen <= 0 {
		o.MaxOpen = defaultMaxOpen
	}
	return o
}

// pendingTable holds requests waiting for their answer, found by key and expired oldest first.
// Answered entries are only marked in the arrival queue and dropped when they reach its head, so
// answering is O(1).
type pendingTable[K comparable, V any] struct {
	opts   PairOptions
	byKey  map[K]*pendingEntry[K, V]
	queue  []*pendingEntry[K, V] // arrival order, from head
	head   int
	open   int
	latest time.Time // the latest capture time seen
}

type pendingEntry[K comparable, V any] struct {
	since time.Time
	keys  []K // the request's key, and those of retransmissions sent on other connections
	done  bool
	val   V
}

func newPendingTable[K comparable, V any](opts PairOptions) *pendingTable[K, V] {
	return &pendingTable[K, V]{opts: opts, byKey: make(map[K]*pendingEntry[K, V])}
}

func (p *pendingTable[K, V]) get(k K) *pendingEntry[K, V] { return p.byKey[k] }

// add registers a request seen at t under key k. When that makes more than MaxOpen requests wait, it
// evicts the oldest through emit.
func (p *pendingTable[K, V]) add(k K, t time.Time, v V, emit func(v V, evicted bool)) *pendingEntry[K, V] {
	e := &pendingEntry[K, V]{since: t, keys: []K{k}, val: v}
	p.byKey[k] = e
	p.queue = append(p.queue, e)
	p.open++
	if p.open > p.opts.MaxOpen {
		p.expire(p.latest, emit)
	}
	return e
}

// alias makes e findable under another key too.
func (p *pendingTable[K, V]) alias(k K, e *pendingEntry[K, V]) {
	if _, ok := p.byKey[k]; !ok {
		p.byKey[k] = e
		e.keys = append(e.keys, k)
	}
}

// remove takes an answered entry out of the table.
func (p *pendingTable[K, V]) remove(e *pendingEntry[K, V]) {
	for _, k := range e.keys {
		if p.byKey[k] == e {
			delete(p.byKey, k)
		}
	}
	e.done = true
	p.open--
}

// expire advances the capture clock to now and calls emit, oldest first, for every entry past the
// timeout and for the oldest entries beyond MaxOpen (evicted true).
func (p *pendingTable[K, V]) expire(now time.Time, emit func(v V, evicted bool)) {
	if now.After(p.latest) {
		p.latest = now
	}
	for p.head < len(p.queue) {
		e := p.queue[p.head]
		if !e.done {
			timedOut := p.opts.Timeout > 0 && p.latest.Sub(e.since) > p.opts.Timeout
			if !timedOut && p.open <= p.opts.MaxOpen {
				break
			}
			p.remove(e)
			emit(e.val, !timedOut)
		}
		p.queue[p.head] = nil
		p.head++
	}
	p.compact()
}

// drain removes and emits every entry still waiting, oldest first.
func (p *pendingTable[K, V]) drain(emit func(v V)) {
	for _, e := range p.queue[p.head:] {
		if !e.done {
			p.remove(e)
			emit(e.val)
		}
	}
	p.queue, p.head = p.queue[:0], 0
}

// compact reclaims the consumed front of the queue once it is the larger part.
func (p *pendingTable[K, V]) compact() {
	if p.head > 64 && p.head*2 > len(p.queue) {
		n := copy(p.queue, p.queue[p.head:])
		clear(p.queue[n:])
		p.queue, p.head = p.queue[:n], 0
	}
}
