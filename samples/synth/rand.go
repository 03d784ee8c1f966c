package synth

import "math"

// rng is splitmix64: tiny, fast, and fully specified here, so a seed gives the same capture on
// every Go release (math/rand's helper algorithms are not promised to stay the same).
type rng struct{ s uint64 }

func newRNG(seed uint64) rng { return rng{s: mix(seed, 0x5ca1ab1e)} }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a value in [0, n) for 0 < n < 2^32.
func (r *rng) intn(n int) int { return int(((r.next() >> 32) * uint64(n)) >> 32) }

// float returns a value in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

// chance reports true with probability p.
func (r *rng) chance(p float64) bool { return r.float() < p }

// expo returns an exponentially distributed duration (µs) of the given mean.
func (r *rng) expo(mean int64) int64 { return int64(-float64(mean) * math.Log(1-r.float())) }

// span returns lo plus an exponential tail of mean tail, capped at hi (all µs).
func (r *rng) span(lo, tail, hi int64) int64 {
	v := lo + r.expo(tail)
	if v > hi {
		v = hi
	}
	return v
}

// between returns a uniform value in [lo, hi).
func (r *rng) between(lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + int64(r.next()%uint64(hi-lo))
}

// mix hashes two words into one (the splitmix64 finaliser over their combination); it derives
// per-call seeds, tags and branches without consuming generator state.
func mix(a, b uint64) uint64 {
	z := a ^ (b+0x9e3779b97f4a7c15)*0xd6e8feb86659fd93
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
