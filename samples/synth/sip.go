package synth

import "strconv"

// The text of the messages is written by hand with append: a capture of a gigabyte holds two
// million of them, and fmt would be the generator's bottleneck.

const crlf = "\r\n"

func reason(status uint16) string {
	switch status {
	case 100:
		return "Trying"
	case 180:
		return "Ringing"
	case 183:
		return "Session Progress"
	case 200:
		return "OK"
	case 202:
		return "Accepted"
	case 404:
		return "Not Found"
	case 408:
		return "Request Timeout"
	case 480:
		return "Temporarily Unavailable"
	case 486:
		return "Busy Here"
	case 487:
		return "Request Terminated"
	case 503:
		return "Service Unavailable"
	}
	return "Unknown"
}

const (
	allowCarrier = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REFER, NOTIFY"
	allowClass5  = "INVITE, ACK, BYE, CANCEL, OPTIONS, MESSAGE, INFO, UPDATE, REFER, NOTIFY"
	allowPhone   = "INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, OPTIONS, INFO, SUBSCRIBE, UPDATE"
)

// ends returns the caller-side and callee-side endpoints of a leg on a hop.
func (c *call) ends(leg, hop uint8) (caller, callee *endpoint) {
	if leg == legA {
		if hop == 0 {
			return &c.car.sig, c.proxy
		}
		return c.proxy, &c.node.a
	}
	return &c.node.b, &c.ph[leg].ep
}

// callerSends reports whether the caller side of the dialog sends this message: its own
// requests, and responses to the callee's requests.
func (s *step) callerSends() bool { return (s.flags&fCallee != 0) == (s.flags&fResp != 0) }

// firstHop reports whether an A-leg request is on the hop its author sends it on.
func (s *step) firstHop() bool { return (s.flags&fCallee == 0) == (s.hop == 0) }

// appendVia writes one Via of the transaction: who 0 is the authoring UA, 1 the proxy.
func (c *call) appendVia(b []byte, s *step, callerSide bool, who int) []byte {
	b = append(b, "Via: SIP/2.0/UDP "...)
	h := mix(c.seed, uint64(s.leg)<<16|uint64(s.txn)<<8|uint64(who))
	switch {
	case who == 1: // Kamailio
		b = append(b, c.proxy.ipStr...)
		b = append(b, ";branch=z9hG4bK"...)
		b = appendHex(b, h, 12)
		b = append(b, ".0"...)
	case s.leg == legA && callerSide: // the carrier
		b = append(b, c.car.sig.hp...)
		b = append(b, ";branch=z9hG4bK"...)
		b = appendHex(b, h, 10)
	case s.leg != legA && !callerSide: // a phone
		b = append(b, c.ph[s.leg].ep.hp...)
		b = append(b, ";branch=z9hG4bK"...)
		b = strconv.AppendUint(b, h%1e10, 10)
	default: // FreeSWITCH, on its A side or its B side
		if s.leg == legA {
			b = append(b, c.node.a.hp...)
		} else {
			b = append(b, c.node.b.hp...)
		}
		b = append(b, ";rport;branch=z9hG4bK"...)
		b = appendB62(b, h, 13)
	}
	return append(b, crlf...)
}

// appendParty writes a From or To value for one side of a leg.
func (c *call) appendParty(b []byte, leg uint8, callerSide, tag bool) []byte {
	switch {
	case leg == legA && callerSide:
		if c.car.display {
			b = append(b, '"')
			b = append(b, c.cli...)
			b = append(b, `" `...)
		}
		b = append(b, "<sip:"...)
		b = append(b, c.cli...)
		b = append(b, '@')
		b = append(b, c.car.sig.ipStr...)
	case leg == legA:
		b = append(b, "<sip:"...)
		b = append(b, c.dnis...)
		b = append(b, '@')
		b = append(b, c.proxy.ipStr...)
	case callerSide:
		b = append(b, '"')
		b = append(b, c.cli...)
		b = append(b, `" <sip:`...)
		b = append(b, c.cli...)
		b = append(b, '@')
		b = append(b, c.node.ip...)
	default:
		b = append(b, "<sip:"...)
		b = append(b, c.ph[leg].ext...)
		b = append(b, '@')
		b = append(b, c.ph[leg].ep.hp...)
	}
	b = append(b, '>')
	if tag {
		b = append(b, ";tag="...)
		if callerSide {
			b = append(b, c.ftag[leg]...)
		} else {
			b = append(b, c.ttag[leg]...)
		}
	}
	return b
}

// appendContact writes the Contact URI of one side of a leg.
func (c *call) appendContact(b []byte, leg uint8, callerSide bool) []byte {
	b = append(b, "<sip:"...)
	switch {
	case leg == legA && callerSide:
		b = append(b, c.cli...)
		b = append(b, '@')
		b = append(b, c.car.sig.hp...)
	case leg == legA:
		b = append(b, c.dnis...)
		b = append(b, '@')
		b = append(b, c.node.a.hp...)
	case callerSide:
		b = append(b, "mod_sofia@"...)
		b = append(b, c.node.b.hp...)
	default:
		b = append(b, c.ph[leg].ext...)
		b = append(b, '@')
		b = append(b, c.ph[leg].ep.hp...)
	}
	return append(b, '>')
}

// appendRequestURI writes the Request-URI of a request on its hop.
func (c *call) appendRequestURI(b []byte, s *step) []byte {
	b = append(b, "sip:"...)
	switch {
	case s.leg == legA && s.flags&fInitial != 0:
		b = append(b, c.dnis...)
		b = append(b, '@')
		if s.hop == 0 {
			return append(b, c.proxy.hp...)
		}
		return append(b, c.node.a.hp...)
	case s.leg == legA && s.flags&fCallee == 0:
		b = append(b, c.dnis...)
		b = append(b, '@')
		return append(b, c.node.a.hp...)
	case s.leg == legA:
		b = append(b, c.cli...)
		b = append(b, '@')
		return append(b, c.car.sig.hp...)
	case s.flags&(fInitial|fCallee) != fCallee:
		b = append(b, c.ph[s.leg].ext...)
		b = append(b, '@')
		return append(b, c.ph[s.leg].ep.hp...)
	}
	b = append(b, "mod_sofia@"...)
	return append(b, c.node.b.hp...)
}

func (c *call) appendRoute(b []byte, name string) []byte {
	b = append(b, name...)
	b = append(b, ": <sip:"...)
	b = append(b, c.proxy.ipStr...)
	b = append(b, ";lr;ftag="...)
	b = append(b, c.ftag[legA]...)
	return append(b, ">\r\n"...)
}

// render appends the SIP message of step s to b, using body as scratch for its body.
func (c *call) render(b, body []byte, s *step) ([]byte, []byte) {
	resp := s.flags&fResp != 0
	callerSide := s.callerSends()
	reqCaller := s.flags&fCallee == 0 // the transaction's requester is the caller side
	method := methodNames[s.method]

	if resp {
		b = append(b, "SIP/2.0 "...)
		b = strconv.AppendUint(b, uint64(s.status), 10)
		b = append(b, ' ')
		b = append(b, reason(s.status)...)
	} else {
		b = append(b, method...)
		b = append(b, ' ')
		b = c.appendRequestURI(b, s)
		b = append(b, " SIP/2.0"...)
	}
	b = append(b, crlf...)

	// Via: the requester's, under the proxy's where the request crossed it.
	switch {
	case s.leg != legA:
		b = c.appendVia(b, s, reqCaller, 0)
	case s.flags&fLocal != 0:
		b = c.appendVia(b, s, reqCaller, 1)
	case s.firstHop():
		b = c.appendVia(b, s, reqCaller, 0)
	default:
		b = c.appendVia(b, s, reqCaller, 1)
		b = c.appendVia(b, s, reqCaller, 0)
	}
	if s.leg == legA {
		switch {
		case s.flags&fInitial != 0 && s.method == mINVITE && s.flags&fLocal == 0 &&
			((!resp && s.hop == 1) || (resp && s.status >= 180 && s.status < 300)):
			b = c.appendRoute(b, "Record-Route")
		case !resp && s.flags&fInitial == 0 && s.firstHop():
			b = c.appendRoute(b, "Route")
		}
	}
	if !resp {
		b = append(b, "Max-Forwards: "...)
		switch {
		case s.leg == legA && !s.firstHop() && s.flags&fLocal == 0,
			s.leg != legA && s.method == mINVITE && s.flags&fInitial != 0:
			b = append(b, "69"...)
		default:
			b = append(b, "70"...)
		}
		b = append(b, crlf...)
	}
	b = append(b, "From: "...)
	b = c.appendParty(b, s.leg, reqCaller, true)
	b = append(b, "\r\nTo: "...)
	b = c.appendParty(b, s.leg, !reqCaller, !reqCaller || s.flags&fToTag != 0)
	b = append(b, "\r\nCall-ID: "...)
	b = append(b, c.id[s.leg]...)
	b = append(b, "\r\nCSeq: "...)
	b = strconv.AppendUint(b, uint64(s.cseq), 10)
	b = append(b, ' ')
	b = append(b, method...)
	b = append(b, crlf...)

	own := s.flags&(fProxy|fLocal) == 0
	if own && ((!resp && (s.method == mINVITE || s.method == mREFER || s.method == mNOTIFY)) ||
		(resp && s.method == mINVITE && s.status >= 180 && s.status < 300) || (resp && s.method == mREFER)) {
		b = append(b, "Contact: "...)
		b = c.appendContact(b, s.leg, callerSide)
		b = append(b, crlf...)
	}
	switch {
	case s.flags&fProxy != 0:
		b = append(b, "Server: "+proxyServer+crlf...)
	case own && (!resp && s.method != mACK && s.method != mCANCEL || resp && s.method == mINVITE && s.status == 200):
		// Requests and answers name the agent; provisional, error and in-dialog replies go
		// without, as many stacks send them, which keeps the average call near 8 KB.
		b = append(b, "User-Agent: "...)
		switch {
		case s.leg == legA && callerSide:
			b = append(b, c.car.ua...)
		case s.leg != legA && !callerSide:
			b = append(b, c.ph[s.leg].ua...)
		default:
			b = append(b, class5UA...)
		}
		b = append(b, crlf...)
	}
	initialInvite := !resp && s.method == mINVITE && s.flags&fInitial != 0
	if own && s.method == mINVITE && s.flags&fInitial != 0 && !resp {
		b = append(b, "Allow: "...)
		switch {
		case s.leg == legA && callerSide:
			b = append(b, allowCarrier...)
		case s.leg != legA && !callerSide:
			b = append(b, allowPhone...)
		default:
			b = append(b, allowClass5...)
		}
		b = append(b, crlf...)
	}
	if initialInvite {
		if s.leg == legA && c.car.pai {
			b = append(b, "P-Asserted-Identity: <sip:"...)
			b = append(b, c.cli...)
			b = append(b, '@')
			b = append(b, c.car.sig.ipStr...)
			b = append(b, ">\r\n"...)
		}
		if s.leg == legB2 {
			if c.scen == Forward {
				b = append(b, "Diversion: <sip:"...)
				b = append(b, c.ph[legB1].ext...)
				b = append(b, '@')
				b = append(b, c.node.ip...)
				b = append(b, ">;reason=user-busy;counter=1\r\n"...)
			} else {
				b = append(b, "Referred-By: <sip:"...)
				b = append(b, c.ph[legB1].ext...)
				b = append(b, '@')
				b = append(b, c.node.ip...)
				b = append(b, ">\r\n"...)
			}
		}
		if s.leg != legA || s.hop == 1 {
			b = append(b, "X-ORIGINAL-CALLID: "...)
			b = append(b, c.id[legA]...)
			b = append(b, crlf...)
		}
	}

	// Bodies and the headers that describe them.
	body = body[:0]
	ctype := ""
	switch {
	case s.sdp != 0:
		body = c.appendSDP(body, s, callerSide)
		ctype = "application/sdp"
	case resp:
	case s.method == mREFER:
		b = append(b, "Refer-To: <sip:"...)
		b = append(b, c.ph[legB2].ext...)
		b = append(b, '@')
		b = append(b, c.node.ip...)
		b = append(b, ">\r\nReferred-By: <sip:"...)
		b = append(b, c.ph[legB1].ext...)
		b = append(b, '@')
		b = append(b, c.ph[legB1].ep.hp...)
		b = append(b, ">\r\n"...)
	case s.method == mNOTIFY:
		b = append(b, "Event: refer\r\nSubscription-State: "...)
		if s.arg == 0 {
			b = append(b, "active;expires=60\r\n"...)
			body = append(body, "SIP/2.0 100 Trying\r\n"...)
		} else {
			b = append(b, "terminated;reason=noresource\r\n"...)
			body = append(body, "SIP/2.0 200 OK\r\n"...)
		}
		ctype = "message/sipfrag;version=2.0"
	case s.method == mINFO:
		body = append(body, "Signal="...)
		body = append(body, dtmfDigits[s.arg])
		body = append(body, "\r\nDuration=160\r\n"...)
		ctype = "application/dtmf-relay"
	}
	if ctype != "" {
		b = append(b, "Content-Type: "...)
		b = append(b, ctype...)
		b = append(b, crlf...)
	}
	b = append(b, "Content-Length: "...)
	b = strconv.AppendUint(b, uint64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	return append(b, body...), body
}

// appendSDP writes the session description the authoring side sends.
func (c *call) appendSDP(b []byte, s *step, callerSide bool) []byte {
	side := 1
	if callerSide {
		side = 0
	}
	var ip, user string
	switch {
	case s.leg == legA && callerSide:
		ip, user = c.car.mediaS, c.car.sdpUser
	case s.leg != legA && !callerSide:
		ip, user = c.ph[s.leg].ep.ipStr, "-"
	default:
		ip, user = c.node.ip, "FreeSWITCH"
	}
	kind, dir, ver := s.sdp&3, s.sdp&0xc, s.sdp>>4
	b = append(b, "v=0\r\no="...)
	b = append(b, user...)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(c.sess[s.leg][side]), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(c.sess[s.leg][side])+uint64(ver), 10)
	b = append(b, " IN IP4 "...)
	b = append(b, ip...)
	b = append(b, "\r\ns="...)
	b = append(b, user...)
	b = append(b, "\r\nc=IN IP4 "...)
	b = append(b, ip...)
	b = append(b, "\r\nt=0 0\r\nm=audio "...)
	b = strconv.AppendUint(b, uint64(c.port[s.leg][side]), 10)
	b = append(b, " RTP/AVP "...)
	if kind == sdpOffer && ver == 1 {
		if s.leg == legA && c.car.pcmaFirst {
			b = append(b, "8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n"...)
		} else {
			b = append(b, "0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"...)
		}
	} else if c.pt == 8 {
		b = append(b, "8 101\r\na=rtpmap:8 PCMA/8000\r\n"...)
	} else {
		b = append(b, "0 101\r\na=rtpmap:0 PCMU/8000\r\n"...)
	}
	b = append(b, "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\n"...)
	switch dir {
	case dirSendonly:
		b = append(b, "a=sendonly\r\n"...)
	case dirRecvonly:
		b = append(b, "a=recvonly\r\n"...)
	default:
		b = append(b, "a=sendrecv\r\n"...)
	}
	return b
}

// appendOptions writes an OPTIONS keep-alive from one peer to another, or the 200 answering it;
// agent is the User-Agent of the requester or the Server of the responder.
func appendOptions(b []byte, from, to *endpoint, id uint64, cseq uint32, resp bool, agent string) []byte {
	if resp {
		b = append(b, "SIP/2.0 200 OK\r\n"...)
	} else {
		b = append(b, "OPTIONS sip:"...)
		b = append(b, to.hp...)
		b = append(b, " SIP/2.0\r\n"...)
	}
	b = append(b, "Via: SIP/2.0/UDP "...)
	b = append(b, from.hp...)
	b = append(b, ";branch=z9hG4bK"...)
	b = appendHex(b, mix(id, uint64(cseq)), 12)
	b = append(b, crlf...)
	if !resp {
		b = append(b, "Max-Forwards: 70\r\n"...)
	}
	b = append(b, "From: <sip:ping@"...)
	b = append(b, from.ipStr...)
	b = append(b, ">;tag="...)
	b = appendHex(b, mix(id, 1), 8)
	b = append(b, "\r\nTo: <sip:"...)
	b = append(b, to.hp...)
	b = append(b, '>')
	if resp {
		b = append(b, ";tag="...)
		b = appendHex(b, mix(id, 2), 8)
	}
	b = append(b, "\r\nCall-ID: "...)
	b = appendHex(b, mix(id, 3), 16)
	b = append(b, '@')
	b = append(b, from.ipStr...)
	b = append(b, "\r\nCSeq: "...)
	b = strconv.AppendUint(b, uint64(cseq), 10)
	b = append(b, " OPTIONS\r\n"...)
	if resp {
		b = append(b, "Server: "...)
		b = append(b, agent...)
		b = append(b, crlf...)
	} else {
		b = append(b, "User-Agent: "...)
		b = append(b, agent...)
		b = append(b, "\r\nAccept: application/sdp\r\n"...)
	}
	return append(b, "Content-Length: 0\r\n\r\n"...)
}
