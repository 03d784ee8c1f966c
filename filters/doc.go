// Package filters compiles display-filter expressions over decoded SIP, Diameter and DNS messages
// and over call records, and evaluates them per message or per call.
//
// The syntax is expr-lang/expr's (https://expr-lang.org): the expression is parsed by expr, then
// compiled once into typed Go closures that run without allocating. Field names follow
// Wireshark's where one exists, in lower case: sip.method, diameter.cmd.code, dns.qry.name,
// ip.src... (see Fields). Operators: == != < > <= >= and or not (&& || !), in (lists, ranges
// 400..499, CIDR prefixes), contains, startsWith, endsWith, matches (RE2).
//
// Semantics follow Wireshark's display filters:
//   - A bare protocol name (sip, diameter, dns) tests that the message is of that protocol; any
//     other bare field tests that the field is present (a bool field tests its value).
//   - A comparison on an absent field is false, whatever the operator: sip.status != 200 is false
//     for a request or a DNS message. not negates the result: not (sip.status == 200) is true there.
//   - Fields with two values (ip.addr, port: source and destination) match a comparison when either
//     value does, except != which needs every value to differ (Wireshark's "all not equal").
//   - proto contains X (dns contains hex("03:6f:72:67")) searches the message's bytes.
//   - Filters pasted from Wireshark work where sigtrace has the fields: hyphenated names
//     (sip.Status-Code), byte strings (dns contains 33:67:70) and bare IPv4 addresses and
//     prefixes (ip.src == 10.0.0.0/8) are rewritten before parsing; names are case-insensitive.
//
// A Filter is compiled once and is not safe for concurrent use (it keeps per-evaluation scratch
// space); compile one per goroutine.
package filters
