package hep

// Looks reports, cheaply and without allocating, whether data (a UDP payload, or the start of a
// TCP stream) is a HEP packet, so that HEP can be found on any port inside a capture.
//
// HEPv3 must carry its magic and a chain of chunk headers that fits its length field (as far as
// data reaches, since a TCP segment may hold only the start). HEPv1/v2 carry no magic, so they must
// have a consistent header (version, length 16 with family 2 or 40 with 10, protocol UDP, TCP or
// SCTP), for v2 a plausible time, and a payload that starts like SIP: v1/v2 senders only mirror SIP.
func Looks(data []byte) bool {
	if len(data) < 6 {
		return false
	}
	if isMagic(data) {
		return looksV3(data)
	}
	if data[0] == 1 || data[0] == 2 {
		return looksV12(data)
	}
	return false
}

func looksV3(data []byte) bool {
	n := int(be.Uint16(data[4:]))
	if n < 12 { // a header alone carries nothing; real senders always send chunks
		return false
	}
	end := min(n, len(data))
	off := 6
	for n-off >= 6 && end-off >= 6 {
		l := int(be.Uint16(data[off+4:]))
		if l < 6 || l > n-off {
			return false
		}
		off += l
	}
	// Whole packet present: the chunks must fill it exactly.
	return n > len(data) || off == n
}

func looksV12(data []byte) bool {
	hlen, fam, proto := int(data[1]), data[2], data[3]
	if !(fam == FamilyIPv4 && hlen == 16 || fam == FamilyIPv6 && hlen == 40) || len(data) < hlen {
		return false
	}
	if proto != 17 && proto != 6 && proto != 132 {
		return false
	}
	rest := data[hlen:]
	if data[0] == 1 {
		return looksSIP(rest)
	}
	_, ok := pickTime(rest)
	return ok
}

// PacketLength frames HEP on a byte stream (HEP over TCP or TLS): it returns the length of the
// HEPv3 packet at the start of stream, or 0 and no error when more bytes are needed to know or to
// hold it. An error means the stream is not at a HEPv3 packet; versions 1 and 2 have no length
// field and cannot be framed.
func PacketLength(stream []byte) (n int, err error) {
	k := min(len(stream), 4)
	if string(stream[:k]) != "HEP3"[:k] && string(stream[:k]) != "EEP3"[:k] {
		if stream[0] == 1 || stream[0] == 2 {
			return 0, errorf(ErrNotHEP, "stream: version %d has no length field and cannot be framed", stream[0])
		}
		return 0, errorf(ErrNotHEP, "stream: no HEP3 header at % x", stream[:k])
	}
	if len(stream) < 6 {
		return 0, nil
	}
	n = int(be.Uint16(stream[4:]))
	if n < 6 {
		return 0, errorf(ErrLength, "stream: packet length %d smaller than the 6-byte header", n)
	}
	if n > len(stream) {
		return 0, nil
	}
	return n, nil
}
