// Package hep decodes and encodes HEP (HOMER Encapsulation Protocol) packets: versions 1, 2 and 3
// on input, version 3 on output.
//
// Decode is zero-copy: the byte-slice fields of a Packet point into the data it was given, except a
// compressed payload, which is inflated into a buffer the Packet owns and reuses. Copy what you keep
// past the next Decode into the same Packet.
package hep

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Address families carried in HEP headers (Linux values, as the specification says).
const (
	FamilyIPv4 = 2
	FamilyIPv6 = 10
)

// Protocol types of chunk 0x0b: what the payload is.
const (
	ProtoSIP        = 1
	ProtoRTCP       = 5  // RTCP report as JSON
	ProtoRTPAgent   = 34 // rtpagent
	ProtoRTCPXR     = 35 // RTCP-XR / QoS reports
	ProtoHoraclifix = 38
	ProtoDNS        = 53  // DNS as JSON
	ProtoISUP       = 54  // ISUP as JSON
	ProtoDiameter   = 56  // Diameter as JSON
	ProtoCDR        = 60  // call record
	ProtoLog        = 100 // log line; used by heplify, not in the specification
)

// MaxInflated bounds the size of an inflated compressed payload, so a small packet cannot make the
// decoder allocate without limit.
const MaxInflated = 1 << 20

// Packet is one decoded HEP packet. Fields a packet did not carry are zero.
type Packet struct {
	Version   int   // 1, 2 or 3
	Family    uint8 // FamilyIPv4 or FamilyIPv6
	IPProto   uint8 // 17 UDP, 6 TCP, 132 SCTP
	Src, Dst  netip.AddrPort
	Time      time.Time // capture time, UTC; zero for version 1
	ProtoType uint8     // chunk 0x0b: ProtoSIP, ProtoRTCP, ...
	CaptureID uint32    // capture agent id (a 16-bit field in version 2)

	AuthKey       []byte // chunk 0x0e
	CorrelationID []byte // chunk 0x11
	NodeName      []byte // chunk 0x13

	KeepAlive      uint16           // chunk 0x0d, seconds
	VLAN           uint16           // chunk 0x12
	SrcMAC, DstMAC net.HardwareAddr // chunks 0x14, 0x15
	EtherType      uint16           // chunk 0x16
	TCPFlags       uint8            // chunk 0x17
	TOS            uint8            // chunk 0x18
	MOS            uint16           // chunk 0x20
	RFactor        uint16           // chunk 0x21
	Jitter         uint32           // chunk 0x23

	// Compressed reports that the payload arrived in chunk 0x10 and was inflated.
	Compressed bool
	Payload    []byte

	// Kept across Decode calls so that compressed payloads do not allocate once warm.
	buf []byte
	inf *inflater
}

// Errors. Decode, PacketLength and AppendEncode wrap them with the place of the problem, e.g.
// "hep: chunk 0x0f: length 3 past end of packet"; test with errors.Is.
var (
	// ErrNotHEP: the data does not start like any HEP version.
	ErrNotHEP = errors.New("hep: not a HEP packet")
	// ErrTruncated: a header or a length field reaches past the end of the data.
	ErrTruncated = errors.New("hep: truncated packet")
	// ErrLength: a length field is impossible: smaller than its own header, zero, or the wrong size
	// for a fixed-size value.
	ErrLength = errors.New("hep: bad length")
	// ErrHeader: a version 1/2 header names an unknown family or the wrong header length.
	ErrHeader = errors.New("hep: bad header")
	// ErrCompressed: a compressed payload is neither gzip nor zlib, is corrupt, or inflates past
	// MaxInflated.
	ErrCompressed = errors.New("hep: bad compressed payload")
	// ErrTooLong: the packet to encode would exceed the 65535 bytes a HEPv3 length can say.
	ErrTooLong = errors.New("hep: packet longer than 65535 bytes")
	// ErrRange: a value to encode does not fit its field (time before 1970 or after 2106).
	ErrRange = errors.New("hep: value out of range")
)

// placeError is a sentinel with detail; its text replaces the sentinel's so messages read
// "hep: <where>: <what>".
type placeError struct {
	kind error
	msg  string
}

func (e *placeError) Error() string { return "hep: " + e.msg }
func (e *placeError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &placeError{kind: kind, msg: fmt.Sprintf(format, args...)}
}
