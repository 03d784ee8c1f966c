package sip_test

import (
	"fmt"

	"github.com/sigtrace/sigtrace/decode/sip"
)

func ExampleParse() {
	datagram := []byte("INVITE sip:bob@example.com SIP/2.0\r\n" +
		"v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK74bf9\r\n" +
		"f: \"Alice\" <sip:alice@example.com>;tag=9fxced76sl\r\n" +
		"t: <sip:bob@example.com>\r\n" +
		"i: 3848276298220188511@example.com\r\n" +
		"CSeq: 1 INVITE\r\n" +
		"c: application/sdp\r\n" +
		"l: 62\r\n" +
		"\r\n" +
		"v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 49170 RTP/AVP 0\r\na=sendonly\r\n")
	var m sip.Message // reuse it for every packet: parsing then allocates nothing
	if err := sip.Parse(datagram, &m); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s %s Call-ID %s CSeq %d from %s tag %s branch %s\n",
		m.Method, m.RequestURI, m.CallID, m.CSeq, m.FromUser(), m.FromTag(), m.Branch())
	var s sip.SDP
	if err := sip.ParseSDP(m.SDPBody(), &s); err == nil {
		fmt.Printf("audio to %s:%d %v, on hold: %v\n", s.Connection(0).Address, s.Media[0].Port, s.Direction(0), s.OnHold(0))
	}
	// Output:
	// INVITE sip:bob@example.com Call-ID 3848276298220188511@example.com CSeq 1 from alice tag 9fxced76sl branch z9hG4bK74bf9
	// audio to 192.0.2.1:49170 sendonly, on hold: true
}

func ExampleMessageLength() {
	stream := []byte("\r\n\r\nOPTIONS sip:a@example.com SIP/2.0\r\nContent-Length: 0\r\n\r\nSIP/2.0 200 OK\r\nContent-Le")
	for len(stream) > 0 {
		n, err := sip.MessageLength(stream)
		if err != nil || n == 0 {
			fmt.Printf("wait for more (%d bytes buffered, err %v)\n", len(stream), err)
			return
		}
		fmt.Printf("%d bytes, keep-alive %v\n", n, sip.IsKeepAlive(stream[:n]))
		stream = stream[n:]
	}
	// Output:
	// 4 bytes, keep-alive true
	// 56 bytes, keep-alive false
	// wait for more (26 bytes buffered, err <nil>)
}

func ExampleMessage_Values() {
	var m sip.Message
	_ = sip.Parse([]byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2\r\n"+
		"v: SIP/2.0/TCP c;branch=z9hG4bK3\r\nContact: \"Doe, J\" <sip:j@c>\r\n\r\n"), &m)
	for v := range m.Values("Via") {
		via, _ := sip.ParseVia(v)
		fmt.Println(string(via.Host), string(via.Param("branch")))
	}
	for c := range m.Values("Contact") {
		a, _ := sip.ParseNameAddr(c)
		fmt.Printf("%s <%s>\n", a.Display, a.URI)
	}
	// Output:
	// a z9hG4bK1
	// b z9hG4bK2
	// c z9hG4bK3
	// Doe, J <sip:j@c>
}
