package diameter

import (
	"encoding/binary"
	"fmt"
)

// MessageLength returns the length of the Diameter message at the start of a TCP or SCTP stream buffer
// once all of it is in the buffer, and 0, nil while more bytes are needed. It returns an error wrapping
// ErrNotDiameter as soon as the bytes it has cannot start a Diameter header (version not 1, length
// below 20, reserved flag bits set, the error bit on a request), so the caller can resynchronise.
func MessageLength(stream []byte) (int, error) {
	if len(stream) == 0 {
		return 0, nil
	}
	if stream[0] != 1 {
		return 0, fmt.Errorf("%w: version %d", ErrNotDiameter, stream[0])
	}
	if len(stream) < 4 {
		return 0, nil
	}
	n := int(stream[1])<<16 | int(stream[2])<<8 | int(stream[3])
	if n < HeaderLength {
		return 0, fmt.Errorf("%w: message length %d", ErrNotDiameter, n)
	}
	if len(stream) < 5 {
		return 0, nil
	}
	if f := stream[4]; f&flagsReserved != 0 {
		return 0, fmt.Errorf("%w: reserved flag bits 0x%02x", ErrNotDiameter, f&flagsReserved)
	} else if f&flagRequest != 0 && f&flagError != 0 {
		return 0, fmt.Errorf("%w: error bit set on a request", ErrNotDiameter)
	}
	if len(stream) < n {
		return 0, nil
	}
	return n, nil
}

// Looks reports whether b plausibly starts a Diameter message: version 1, a sane length and flags, a
// command code outside the range RADIUS keeps (0-255), and, when the bytes are there, a first AVP
// whose header fits the message. It is a cheap sniff for unknown ports; it does not decode.
func Looks(b []byte) bool {
	if len(b) < HeaderLength || b[0] != 1 {
		return false
	}
	n := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
	f := b[4]
	if n < HeaderLength || n%4 != 0 || f&flagsReserved != 0 || f&flagRequest != 0 && f&flagError != 0 {
		return false
	}
	if code := int(b[5])<<16 | int(b[6])<<8 | int(b[7]); code < 256 {
		return false
	}
	if n == HeaderLength || len(b) < HeaderLength+8 {
		return true
	}
	avp := b[HeaderLength:]
	length := int(avp[5])<<16 | int(avp[6])<<8 | int(avp[7])
	hdr := 8
	if avp[4]&avpFlagVendor != 0 {
		hdr = 12
	}
	return avp[4]&avpFlagsReserved == 0 && length >= hdr && length <= n-HeaderLength &&
		binary.BigEndian.Uint32(avp) != 0
}
