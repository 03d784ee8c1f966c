// Package synth generates synthetic SIP captures of a class-4 / class-5 network, with the call
// records a correct analysis must find in them.
//
// The network: carriers send calls to class-4 proxies (Kamailio role: record-route, same
// Call-ID on both of its hops, adds X-ORIGINAL-CALLID), which dispatch them to class-5 feature
// servers (FreeSWITCH role: a back-to-back user agent that opens a new dialog, with a new
// Call-ID, tags, CSeq and SDP, for each leg towards the phones, and copies X-ORIGINAL-CALLID
// into it). Calls arrive by a Poisson process and overlap; each follows a scenario drawn from
// Config.Mix. OPTIONS keep-alives run between carriers and proxies and between proxies and
// class-5 nodes; a share of the bytes is G.711 RTP between the SDP-negotiated addresses.
//
// Generate writes a pcap or pcapng stream in capture-time order with memory bounded by the
// calls open at once, and, as each call ends, one NDJSON Record: the call record `sigtrace
// calls -o json` must produce for it. The record's conventions:
//
//   - Call times are taken on the carrier -> class-4 hop, where the A-leg INVITE is first
//     seen; a leg's times on the hop where its INVITE is first seen. Absent times are omitted.
//   - billable = end - answer (answered calls only), duration = end - invite, pdd = first 18x
//     (or the final response when there is none) - invite.
//   - Outcome from the final status of the A-leg on the carrier hop, which is the best the
//     caller saw (a call forwarded and answered on its second B-leg is answered): 200
//     answered; 486 and 600 busy; 487 cancelled; 480 and 408 no-answer; other 3xx-6xx
//     rejected, except 5xx, which is failed.
//   - end_reason is "BYE", "CANCEL" or "final response"; ended_by is "calling-side" or
//     "called-side".
//   - Each event is one SIP message (INFO dtmf-relay, hold or unhold re-INVITE, REFER, the
//     INVITE of a forwarded or transferred leg); leg is its Call-ID and time the instant it is
//     first seen on the wire. target is the Refer-To URI for refer, the new leg's
//     Request-URI for forward and transfer.
package synth
