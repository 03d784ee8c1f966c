package decode

import (
	"net/netip"
	"time"
)

// Transport is the transport a message travelled on.
type Transport uint8

const (
	TransportUnknown Transport = iota
	UDP
	TCP
	SCTP
	TLS
	WS // SIP over WebSocket
)

var transportNames = [...]string{"unknown", "udp", "tcp", "sctp", "tls", "ws"}

func (t Transport) String() string {
	if int(t) < len(transportNames) {
		return transportNames[t]
	}
	return "unknown"
}

// Protocol is the application protocol of a decoded message.
type Protocol uint8

const (
	ProtoUnknown Protocol = iota
	ProtoSIP
	ProtoDiameter
	ProtoDNS
)

var protocolNames = [...]string{"unknown", "sip", "diameter", "dns"}

func (p Protocol) String() string {
	if int(p) < len(protocolNames) {
		return protocolNames[p]
	}
	return "unknown"
}

// Envelope is what every message carries besides its own content: where and when it was seen, so
// that any output line leads back to the frame in the capture.
type Envelope struct {
	Time      time.Time
	Src, Dst  netip.AddrPort
	Transport Transport
	// Frame is the 1-based number, in its input, of the frame that completed the message.
	Frame int
	// Frames lists every frame that carried part of the message (IP fragments, TCP segments),
	// in order, when there was more than one; nil otherwise.
	Frames []int
	// Input is the file name ("-" for standard input) or the HEP listener that delivered the message.
	Input string
	// HEP describes the HEP encapsulation when the message arrived inside HEP.
	HEP *HEPInfo
}

// HEPInfo is what a HEP header adds to a message. The envelope's Time, Src and Dst are then HEP's.
type HEPInfo struct {
	Version       int    // 1, 2 or 3
	CaptureID     uint32 // capture agent id
	Node          string // capture node name, when sent
	CorrelationID string // correlation id chunk, when sent
}
