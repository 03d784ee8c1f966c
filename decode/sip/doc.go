// Package sip parses SIP messages (RFC 3261) without copying: a Message's fields are slices of the
// captured bytes, and parsing into a reused Message allocates nothing. It also frames SIP on stream
// transports (MessageLength), sniffs SIP on any port (LooksLikeSIP), and reads the bodies call
// analysis needs: SDP (ParseSDP), multipart bodies (Parts, Message.SDPBody) and DTMF (DTMFDigit).
//
// The parser is lenient where real traffic needs it and exact about the rest: a message that can be
// read but breaks the grammar is returned with Message.Invalid set, so that a trace tool can both
// analyse it and report it. Its behaviour follows the RFC 4475 torture tests.
package sip
