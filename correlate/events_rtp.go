package correlate

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/sip"
)

// rtpSink is a media address an open leg's SDP announced with telephone-event.
type rtpSink struct {
	leg *legState
	pt  uint8 // the telephone-event payload type
}

// eventDigits: RFC 4733 section 3.2, events 0-15.
const eventDigits = "0123456789*#ABCD"

// watchRTP registers the media addresses of an SDP that negotiates telephone-event, so that RTP
// DTMF sent to them is reported on the leg.
func (c *Calls) watchRTP(l *legState, body []byte) {
	if !bytes.Contains(body, []byte("telephone-event")) || sip.ParseSDP(body, &c.sdp) != nil {
		return
	}
	for i := range c.sdp.Media {
		md := &c.sdp.Media[i]
		pt, ok := md.TelephoneEvent()
		if !ok || md.Port <= 0 || md.Port > 0xffff || pt > 127 {
			continue
		}
		addr, err := netip.ParseAddr(string(c.sdp.Connection(i).Address))
		if err != nil || addr.IsUnspecified() {
			continue
		}
		ap := netip.AddrPortFrom(addr.Unmap(), uint16(md.Port))
		if s, ok := c.rtp[ap]; ok && s.leg == l && s.pt == uint8(pt) {
			continue
		}
		c.rtp[ap] = rtpSink{leg: l, pt: uint8(pt)}
		known := false
		for _, a := range l.rtpAddrs {
			if a == ap {
				known = true
				break
			}
		}
		if !known {
			l.rtpAddrs = append(l.rtpAddrs, ap)
		}
	}
}

// AddRTP looks for an RFC 4733 telephone-event (a DTMF digit) in a UDP payload sent to dst, and
// reports it on the leg whose SDP announced dst. Each digit is reported once, when its first
// packet is seen (the sender repeats them).
func (c *Calls) AddRTP(t time.Time, dst netip.AddrPort, payload []byte, frame int, input string) {
	sink, ok := c.rtp[dst]
	if !ok || len(payload) < 16 || payload[0]>>6 != 2 || payload[1]&0x7f != sink.pt {
		return
	}
	off := 12 + 4*int(payload[0]&0x0f)
	if payload[0]&0x10 != 0 { // header extension
		if len(payload) < off+4 {
			return
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(payload[off+2:]))
	}
	if len(payload) < off+4 || payload[off] >= 16 {
		return
	}
	l := sink.leg
	key := uint64(binary.BigEndian.Uint32(payload[8:]))<<32 | uint64(binary.BigEndian.Uint32(payload[4:]))
	for _, k := range l.rtpSeen {
		if k == key {
			return
		}
	}
	l.rtpSeen[l.rtpNext] = key
	l.rtpNext = (l.rtpNext + 1) % len(l.rtpSeen)
	t = t.Round(time.Microsecond)
	ev := CallEvent{Type: EventDTMF, Time: t, Leg: l.CallID, Frame: frame, Input: input,
		Digit: eventDigits[payload[off] : payload[off]+1], Source: "RTP"}
	l.call.addEvent(ev, true)
	c.stats.RTPEvents++
}

// WantsRTP reports whether any open call announced telephone-event media, so that a caller can
// skip looking at RTP altogether.
func (c *Calls) WantsRTP() bool { return len(c.rtp) > 0 }

// Frame looks at one captured frame for RTP DTMF of an open call. The decoder hands over only
// signalling, so this reads the few link and IP layers that carry media in practice: Ethernet
// (with VLAN tags), Linux cooked, raw IP; IPv4 (unfragmented) and IPv6; UDP.
func (c *Calls) Frame(f *decode.Frame) {
	if len(c.rtp) == 0 {
		return
	}
	data := f.Data
	var et uint16
	switch f.LinkType {
	case layers.LinkTypeEthernet:
		if len(data) < 14 {
			return
		}
		et, data = binary.BigEndian.Uint16(data[12:]), data[14:]
		for (et == 0x8100 || et == 0x88a8) && len(data) >= 4 {
			et, data = binary.BigEndian.Uint16(data[2:]), data[4:]
		}
	case layers.LinkTypeLinuxSLL:
		if len(data) < 16 {
			return
		}
		et, data = binary.BigEndian.Uint16(data[14:]), data[16:]
	case layers.LinkTypeRaw, 12, 14:
		if len(data) == 0 {
			return
		}
		et = 0x0800
		if data[0]>>4 == 6 {
			et = 0x86dd
		}
	default:
		return
	}
	var dst netip.Addr
	switch et {
	case 0x0800:
		if len(data) < 20 || data[0]>>4 != 4 || data[9] != 17 {
			return
		}
		if binary.BigEndian.Uint16(data[6:])&0x3fff != 0 {
			return // a fragment: RTP is never fragmented in practice
		}
		ihl := int(data[0]&0x0f) * 4
		if ihl < 20 || len(data) < ihl {
			return
		}
		dst = netip.AddrFrom4([4]byte(data[16:20]))
		data = data[ihl:]
	case 0x86dd:
		if len(data) < 40 || data[6] != 17 {
			return
		}
		dst = netip.AddrFrom16([16]byte(data[24:40]))
		data = data[40:]
	default:
		return
	}
	if len(data) < 8 {
		return
	}
	ap := netip.AddrPortFrom(dst, binary.BigEndian.Uint16(data[2:]))
	c.AddRTP(f.Time, ap, data[8:], f.Number, f.Input)
}
