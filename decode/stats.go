package decode

// Reason says why a frame produced no message. Reasons are counted, with the first few frame numbers
// of each, and reported at the end of a run; they never stop it.
type Reason uint8

const (
	reasonLinkType Reason = iota
	reasonTruncatedLink
	reasonNotIP
	reasonTruncatedIP
	reasonBadIP
	reasonTooDeep
	reasonNotTransport
	reasonTruncatedTransport
	reasonESP
	reasonNoPayload
	reasonOtherPayload
	reasonMalformedSIP
	reasonMalformedHEP
	reasonHEPPayload
	reasonMalformedDiameter
	reasonMalformedDNS
	reasonMalformedSCTP
	reasonStreamResync
	numReasons
)

var reasonNames = [numReasons]string{
	reasonLinkType:           "unsupported-link-type",
	reasonTruncatedLink:      "truncated-link-header",
	reasonNotIP:              "not-ip",
	reasonTruncatedIP:        "truncated-ip",
	reasonBadIP:              "bad-ip-header",
	reasonTooDeep:            "too-many-encapsulations",
	reasonNotTransport:       "other-ip-protocol",
	reasonTruncatedTransport: "truncated-transport",
	reasonESP:                "esp-encrypted",
	reasonNoPayload:          "no-payload",
	reasonOtherPayload:       "other-payload",
	reasonMalformedSIP:       "malformed-sip",
	reasonMalformedHEP:       "malformed-hep",
	reasonHEPPayload:         "hep-payload-not-decoded",
	reasonMalformedDiameter:  "malformed-diameter",
	reasonMalformedDNS:       "malformed-dns",
	reasonMalformedSCTP:      "malformed-sctp",
	reasonStreamResync:       "stream-bytes-skipped",
}

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Malformed reports whether the reason means broken input rather than traffic sigtrace ignores.
func (r Reason) Malformed() bool {
	switch r {
	case reasonTruncatedLink, reasonTruncatedIP, reasonBadIP, reasonTooDeep, reasonTruncatedTransport,
		reasonMalformedSIP, reasonMalformedHEP, reasonMalformedDiameter, reasonMalformedDNS, reasonMalformedSCTP:
		return true
	}
	return false
}

// firstFramesKept is how many frame numbers are remembered per reason.
const firstFramesKept = 5

// ReasonCount is how often a reason occurred, with its first frames and a sample error.
type ReasonCount struct {
	Reason      Reason
	Count       int
	FirstFrames []FrameRef // the first few
	Example     string     // the first error message, when the reason came with one
}

// FrameRef names a frame in an input.
type FrameRef struct {
	Input string
	Frame int
}

// Stats summarises a run.
type Stats struct {
	Inputs    int
	Frames    int
	Bytes     int64
	Messages  [4]int // by Protocol
	Skipped   [numReasons]int
	first     [numReasons][]FrameRef
	example   [numReasons]string
	Warnings  []*Warning // inputs that ended early
	Fragments struct {
		Expired, Overflow int // IP datagrams never completed
	}
	TCP struct {
		Retransmitted, OutOfOrder, Gaps, Overflows, Leftover int
	}
	SCTPRetransmitted int
	Duplicates        int
}

// Reasons returns the reasons that occurred, in a stable order.
func (s *Stats) Reasons() []ReasonCount {
	var out []ReasonCount
	for r := Reason(0); r < numReasons; r++ {
		if s.Skipped[r] > 0 {
			out = append(out, ReasonCount{Reason: r, Count: s.Skipped[r], FirstFrames: s.first[r], Example: s.example[r]})
		}
	}
	return out
}

// TotalMessages is the number of messages decoded, all protocols.
func (s *Stats) TotalMessages() int {
	n := 0
	for _, m := range s.Messages {
		n += m
	}
	return n
}
