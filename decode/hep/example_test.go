package hep_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/sigtrace/sigtrace/decode/hep"
)

func ExampleAppendEncode() {
	out := hep.Packet{
		IPProto:   17,
		Src:       netip.MustParseAddrPort("127.0.0.11:5060"),
		Dst:       netip.MustParseAddrPort("127.0.0.20:5060"),
		Time:      time.Date(2026, 11, 23, 2, 28, 59, 544655000, time.UTC),
		ProtoType: hep.ProtoSIP,
		CaptureID: 2001,
		NodeName:  []byte("proxy-1"),
		Payload:   []byte("OPTIONS sip:127.0.0.20 SIP/2.0\r\n\r\n"),
	}
	data, err := hep.AppendEncode(nil, &out)
	if err != nil {
		fmt.Println(err)
		return
	}
	var in hep.Packet
	if err := hep.Decode(data, &in); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(data), hep.Looks(data))
	fmt.Println(in.Version, in.Family, in.Src, "->", in.Dst, in.Time.Format(time.RFC3339Nano))
	fmt.Printf("capture %d node %s: %q\n", in.CaptureID, in.NodeName, in.Payload)
	// Output:
	// 146 true
	// 3 2 127.0.0.11:5060 -> 127.0.0.20:5060 2026-11-23T02:28:59.544655Z
	// capture 2001 node proxy-1: "OPTIONS sip:127.0.0.20 SIP/2.0\r\n\r\n"
}

// Framing a TCP stream: take packets off the front while PacketLength says one is complete.
func ExamplePacketLength() {
	var stream []byte
	for _, body := range []string{"first", "second"} {
		stream, _ = hep.AppendEncode(stream, &hep.Packet{ProtoType: hep.ProtoLog, Payload: []byte(body)})
	}
	stream = stream[:len(stream)-3] // the second packet has not fully arrived
	var p hep.Packet
	for {
		n, err := hep.PacketLength(stream)
		if err != nil || n == 0 {
			fmt.Println("wait for more:", len(stream), "bytes held, error", err)
			return
		}
		hep.Decode(stream[:n], &p)
		fmt.Printf("%d bytes: %s\n", n, p.Payload)
		stream = stream[n:]
	}
	// Output:
	// 64 bytes: first
	// wait for more: 62 bytes held, error <nil>
}
