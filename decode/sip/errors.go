package sip

import "errors"

// Errors returned by Parse and MessageLength, or set in Message.Invalid. They are wrapped with the
// offending detail (`sip: bad Content-Length "x"`); test with errors.Is.
var (
	// ErrNotSIP: the bytes do not start with a SIP request line or status line.
	ErrNotSIP = errors.New("sip: not a SIP message")
	// ErrBadStatus: a status line whose code is not three digits from 100 to 699.
	ErrBadStatus = errors.New("sip: bad status code")
	// ErrBadStartLine: a readable start line that breaks the grammar (extra or missing spaces,
	// white space inside the Request-URI).
	ErrBadStartLine = errors.New("sip: bad start line")
	// ErrBadVersion: a SIP version other than 2.0.
	ErrBadVersion = errors.New("sip: unsupported SIP version")
	// ErrBadURI: a Request-URI that is not an absolute URI, or a SIP URI carrying headers there.
	ErrBadURI = errors.New("sip: bad Request-URI")
	// ErrBadHeader: a header line without a colon, with a non-token name, or a fold with nothing
	// to continue.
	ErrBadHeader = errors.New("sip: bad header line")
	// ErrUnterminated: the header section does not end with an empty line.
	ErrUnterminated = errors.New("sip: header section not terminated by an empty line")
	// ErrBadContentLength: a Content-Length that is not a non-negative decimal.
	ErrBadContentLength = errors.New("sip: bad Content-Length")
	// ErrTruncated: fewer body bytes than Content-Length announces.
	ErrTruncated = errors.New("sip: body shorter than Content-Length")
	// ErrDuplicateHeader: a header that may appear once (Call-ID, CSeq, From, To, Content-Length,
	// Content-Type) appears again with a different value.
	ErrDuplicateHeader = errors.New("sip: repeated single-valued header")
	// ErrMissingHeader: a mandatory header (Call-ID, CSeq, From, To, Via) is absent.
	ErrMissingHeader = errors.New("sip: missing mandatory header")
	// ErrBadCSeq: a CSeq that is not a 32-bit number followed by a method.
	ErrBadCSeq = errors.New("sip: bad CSeq")
	// ErrMethodMismatch: the CSeq method differs from the request method.
	ErrMethodMismatch = errors.New("sip: CSeq method does not match the request method")
	// ErrBadNameAddr: a From, To or Contact value that is not a valid name-addr or addr-spec.
	ErrBadNameAddr = errors.New("sip: bad address")
	// ErrBadVia: a Via value that is not sent-protocol sent-by *(;param).
	ErrBadVia = errors.New("sip: bad Via")
	// ErrBadMaxForwards: a Max-Forwards that is not a number from 0 to 255.
	ErrBadMaxForwards = errors.New("sip: bad Max-Forwards")
	// ErrBadDate: a Date not in the RFC 1123 form with the GMT zone that RFC 3261 requires.
	ErrBadDate = errors.New("sip: bad Date")
	// ErrTooLong: a stream holds a header section or body beyond the limits MessageLength accepts.
	ErrTooLong = errors.New("sip: message too long")
	// ErrBadSDP: a session description that cannot be read.
	ErrBadSDP = errors.New("sip: bad SDP")
	// ErrBadMultipart: a multipart body without a usable boundary or delimiter.
	ErrBadMultipart = errors.New("sip: bad multipart body")
)
