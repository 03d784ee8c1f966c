package sip

import (
	"bytes"
	"fmt"
	"iter"
)

// Message is one parsed SIP message. Every byte slice points into the data given to Parse: copy what
// you keep past the next Parse or past the life of that buffer.
type Message struct {
	Raw        []byte // the whole message: start line to end of body (trailing datagram bytes excluded)
	IsRequest  bool
	Method     []byte // requests
	RequestURI []byte // requests; enclosing <> of a malformed line are removed
	Version    []byte // "SIP/2.0"
	StatusCode int    // responses
	Reason     []byte // responses; may be empty
	Body       []byte

	// The headers every analysis needs, found during Parse (compact forms included). Each is the
	// first occurrence's whole value, except Via: the top (first) value of the first Via header.
	CallID, From, To, CSeqMethod, Via, ContentType, UserAgent []byte
	CSeq                                                      uint32
	ContentLength                                             int // -1 when absent

	// Invalid is set (and Parse returns nil) when the message is readable but breaks the grammar
	// in a way RFC 4475 calls invalid: bad CSeq, mismatched methods, bad version, malformed
	// addresses, a body shorter than Content-Length... The fields above are still filled as well
	// as the bytes allow. Only the first problem found is kept. Of the Via values only the top one
	// is checked: it is the one this hop acts on, and checking every value a proxy chain added
	// would double the cost of parsing proxied traffic.
	Invalid error

	headers []Header // see Headers
	ids     []hdrID  // parallel to headers: each header's classification
	// After ParseUnchecked, headerBlock holds the header lines, listed into headers only when
	// something asks (uncollected until then).
	headerBlock []byte
	uncollected bool
	unchecked   bool // read by ParseUnchecked (Clone reads the copy the same way)

	// From, To and the top Via are parsed once: during Parse, which checks their grammar anyway,
	// or (ParseUnchecked) when an accessor first asks; pending marks the ones not parsed yet.
	fromAddr, toAddr NameAddr
	topVia           Via
	pending          uint8

	// noteNames, when set (NoteHeaders), makes ParseUnchecked note where the lines of those
	// headers start (offsets into headerBlock), so that EachHeaderIn visits just them. nNoted
	// is len(noted)+1 when more lines matched than noted holds: EachHeaderIn then reads them all.
	noteNames *HeaderNames
	noted     [8]uint32
	nNoted    uint8
}

// Bits of Message.pending.
const (
	pendingFrom uint8 = 1 << iota
	pendingTo
	pendingVia
)

// Header is one header field as on the wire. Value has surrounding white space removed but may
// contain line folds (see Unfold).
type Header struct{ Name, Value []byte }

// errEmpty is static so that UDP keep-alives ("\r\n\r\n") sent to a SIP port cost no allocation.
var errEmpty = fmt.Errorf("%w: empty or keep-alive", ErrNotSIP)

// maxStatus bounds a status code (RFC 3261 section 21: classes 1xx to 6xx).
const maxStatus = 699

// Parse parses one SIP message from data into m, reusing m's storage; slices in m point into data.
// It is lenient where real traffic needs it (LF-only line endings, folded headers, CRLF before the
// start line, no Content-Length: the body is then the rest of data, as on UDP), and exact about the
// rest: grammar violations that leave the message readable are reported in m.Invalid. Bytes after
// the body announced by Content-Length are ignored (RFC 3261 section 18.3). Parse returns an error
// only when the start line cannot be read; m's content is then unspecified.
func Parse(data []byte, m *Message) error { return m.parse(data, true) }

// ParseUnchecked reads a message as Parse does but skips the grammar checks, for analyses that
// never report them (call correlation): it costs a little over half as much. m.Invalid then reports
// only what reading comes across anyway: an unterminated header block, a body shorter than
// Content-Length, a CSeq or Content-Length that cannot be read, a CSeq method other than the
// request's, and, among the lines that could start a header it reads (first letter one of those
// headers' initials), a line without a colon or a continuation line without a header. Other
// header lines are skipped unread. From, To and the top
// Via are parsed, and the headers listed, when an accessor first asks for them, so the Message
// must not be read from two goroutines at once.
func ParseUnchecked(data []byte, m *Message) error { return m.parse(data, false) }

// ParseIfSIP parses data as Parse does (ParseUnchecked when unchecked) if LooksLikeSIP(data),
// reading the first line once for both; ok reports the sniff, and m is left alone without it.
func ParseIfSIP(data []byte, m *Message, unchecked bool) (ok bool, err error) {
	line, next, last, ok := sniffStartLineAt(data)
	if !ok {
		return false, nil
	}
	return true, m.parseFrom(data, 0, line, next, last, !unchecked)
}

func (m *Message) parse(data []byte, checked bool) error {
	p := 0
	for p < len(data) && (data[p] == '\r' || data[p] == '\n') {
		p++
	}
	if p == len(data) {
		m.reset()
		m.unchecked = !checked
		return errEmpty
	}
	line, next := nextLine(data, p)
	return m.parseFrom(data, p, line, next, notSniffed, checked)
}

// parseFrom parses the message whose start line, data[start:], is line, and whose headers begin
// at next. sniffed is what startLineAt found when it passed the line: the space before the
// version of a request, -1 for a status line; notSniffed when the line was not sniffed.
// notSniffed tells parseFrom that startLineAt did not look at the start line.
const notSniffed = -2

func (m *Message) parseFrom(data []byte, start int, line []byte, next, sniffed int, checked bool) error {
	m.reset()
	m.unchecked = !checked
	switch {
	case checked:
		if err := m.parseStartLine(line); err != nil {
			return err
		}
	case sniffed != notSniffed && m.readSniffedStartLine(line, sniffed):
	default:
		if err := m.readStartLine(line); err != nil {
			return err
		}
	}
	p := next

	hdrStart := p
	mode := scanChecked
	if !checked {
		mode = scanUnchecked
	}
	p, ended := m.scanHeaders(data, p, mode)
	if !checked {
		// Only the headers behind Message's fields were read: the others are listed when asked
		// for (Headers, Header, Values), which most messages never are.
		m.headerBlock = data[hdrStart:p]
		m.uncollected = true
	}
	if !ended {
		m.invalid(ErrUnterminated, "", nil)
	}

	body := data[p:]
	if m.ContentLength >= 0 {
		if m.ContentLength <= len(body) {
			body = body[:m.ContentLength]
		} else if m.Invalid == nil {
			m.Invalid = fmt.Errorf("%w: Content-Length %d, %d bytes present", ErrTruncated, m.ContentLength, len(body))
		}
	}
	m.Body = body
	m.Raw = data[start : p+len(body)]
	if checked {
		m.checkMandatory()
	}
	return nil
}

// scanMode says what scanHeaders does with each header.
type scanMode uint8

const (
	scanChecked   scanMode = iota // Parse: list it, read the fields, check the grammar
	scanUnchecked                 // ParseUnchecked: read the fields only
	scanCollect                   // after ParseUnchecked: list it only
)

// scanHeaders reads header lines from data[p:] up to the empty line. It returns where the body
// starts and whether the empty line was found.
func (m *Message) scanHeaders(data []byte, p int, mode scanMode) (next int, ended bool) {
	// cur is the header being read: the index into data of its name; -1 when none, -2 when one
	// ParseUnchecked skips (its continuation lines are skipped with it).
	cur := -1
	var nameEnd, valStart, valEnd int
	start := p
	for p < len(data) {
		// nextLine, written out: this loop runs for every header line of every message, and the
		// call would cost about as much as the search for the line end.
		line, next := data[p:], len(data)
		if nl := bytes.IndexByte(line, '\n'); nl >= 0 {
			line, next = line[:nl], p+nl+1
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) == 0 {
			ended = true
			p = next
			break
		}
		if isWSP(line[0]) {
			if cur >= 0 {
				valEnd = p + len(line)
			} else if cur == -1 && mode != scanCollect {
				m.invalid(ErrBadHeader, "continuation line without a header", line)
			}
			p = next
			continue
		}
		if cur >= 0 {
			if mode == scanUnchecked { // the hot mode, without the dispatch
				m.readHeader(data[cur:nameEnd], data[valStart:valEnd])
			} else {
				m.header(mode, data[cur:nameEnd], data[valStart:valEnd])
			}
		}
		cur = -1
		if mode == scanUnchecked && m.noteNames != nil && m.noteNames.initials[line[0]] {
			m.noteLine(p - start)
		}
		if mode == scanUnchecked && !fieldInitial[line[0]] {
			// Not a header ParseUnchecked reads (Max-Forwards, Allow, Route, P-*, X-*...): its
			// colon is not even looked for.
			cur = -2
			p = next
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			if mode != scanCollect {
				m.invalid(ErrBadHeader, "no colon", line)
			}
			p = next
			continue
		}
		cur, nameEnd, valStart, valEnd = p, p+colon, p+colon+1, p+len(line)
		for nameEnd > cur && isWSP(data[nameEnd-1]) {
			nameEnd--
		}
		if mode == scanChecked && !isTokenString(data[cur:nameEnd]) {
			m.invalid(ErrBadHeader, "bad name", data[cur:nameEnd])
			cur = -1
		} else if nameEnd == cur {
			cur = -1 // no name: nothing could find the header
		}
		p = next
	}
	if cur >= 0 {
		m.header(mode, data[cur:nameEnd], data[valStart:valEnd])
	}
	return p, ended
}

// noteLine notes a header line for EachHeaderIn (see NoteHeaders). It is kept out of line so that
// scanHeaders, which calls it for few lines, stays small enough for its own callees to be inlined.
//
//go:noinline
func (m *Message) noteLine(off int) {
	if int(m.nNoted) < len(m.noted) {
		m.noted[m.nNoted] = uint32(off)
		m.nNoted++
	} else {
		m.nNoted = uint8(len(m.noted)) + 1
	}
}

func (m *Message) header(mode scanMode, name, value []byte) {
	switch mode {
	case scanChecked:
		m.addHeader(name, value)
	case scanUnchecked:
		m.readHeader(name, value)
	default:
		m.headers = append(m.headers, Header{Name: name, Value: trimLWS(value)})
		m.ids = append(m.ids, lookupHeader(name))
	}
}

// collect lists the headers ParseUnchecked left unlisted.
func (m *Message) collect() {
	if m.uncollected {
		m.uncollected = false
		m.scanHeaders(m.headerBlock, 0, scanCollect)
	}
}

// Clone returns a copy of m that owns its bytes (one copy of Raw, parsed again as m was: by Parse
// or ParseUnchecked), for a message kept after the capture buffer it came from is reused.
func (m *Message) Clone() *Message {
	c := &Message{}
	if c.parse(bytes.Clone(m.Raw), !m.unchecked) != nil {
		// Raw always parses again; keep the error visible should that ever change.
		c.Invalid = fmt.Errorf("%w: clone does not parse", ErrNotSIP)
	}
	return c
}

func (m *Message) reset() {
	hs, ids, names := m.headers[:0], m.ids[:0], m.noteNames
	// Zeroed in place, then filled: a composite literal would be built on the stack and copied.
	*m = Message{}
	m.headers, m.ids, m.ContentLength, m.noteNames = hs, ids, -1, names
}

// invalid records the first grammar problem; the detail is formatted only then, so that the
// common path does not allocate.
func (m *Message) invalid(err error, what string, detail []byte) {
	if m.Invalid != nil {
		return
	}
	detail = clip(detail)
	switch {
	case what != "" && detail != nil:
		m.Invalid = fmt.Errorf("%w: %s %q", err, what, detail)
	case what != "":
		m.Invalid = fmt.Errorf("%w: %s", err, what)
	case detail != nil:
		m.Invalid = fmt.Errorf("%w %q", err, detail)
	default:
		m.Invalid = err
	}
}

// nextLine returns the line starting at p without its CRLF or LF, and where the next line starts.
func nextLine(data []byte, p int) (line []byte, next int) {
	nl := bytes.IndexByte(data[p:], '\n')
	end := len(data)
	next = len(data)
	if nl >= 0 {
		end = p + nl
		next = end + 1
	}
	if end > p && data[end-1] == '\r' {
		end--
	}
	return data[p:end], next
}

func (m *Message) parseStartLine(line []byte) error {
	if hasPrefixFold(line, "SIP/") {
		return m.parseStatusLine(line)
	}
	return m.parseRequestLine(line)
}

// parseStatusLine reads "SIP/2.0 SP Status-Code SP Reason-Phrase".
func (m *Message) parseStatusLine(line []byte) error {
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		return fmt.Errorf("%w: status line %q", ErrNotSIP, clip(line))
	}
	m.Version = line[:sp]
	rest := line[sp+1:]
	i := 0
	for i < len(rest) && isDigit(rest[i]) {
		i++
	}
	code, ok := atoi(rest[:i])
	if i != 3 || !ok || code < 100 || code > maxStatus || (i < len(rest) && rest[i] != ' ') {
		return fmt.Errorf("%w %q", ErrBadStatus, clip(rest))
	}
	m.StatusCode = code
	if i == len(rest) {
		// RFC 4475 noreason: the SP before an empty reason is required; a liberal reader accepts
		// the line anyway.
		m.Reason = rest[i:]
		m.invalid(ErrBadStartLine, "no space after the status code", nil)
	} else {
		m.Reason = rest[i+1:]
	}
	if !equalFold(m.Version, "SIP/2.0") {
		m.invalid(ErrBadVersion, "", m.Version)
	}
	return nil
}

// parseRequestLine reads "Method SP Request-URI SP SIP-Version", tolerating (but reporting) extra
// spaces and white space inside the URI (RFC 4475 lwsstart, trws, lwsruri).
func (m *Message) parseRequestLine(line []byte) error {
	m.IsRequest = true
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || !isTokenString(line[:sp]) {
		return fmt.Errorf("%w: start line %q", ErrNotSIP, clip(line))
	}
	m.Method = line[:sp]
	end := len(line)
	for end > sp && isWSP(line[end-1]) {
		end--
	}
	if end < len(line) {
		m.invalid(ErrBadStartLine, "white space at the end of the request line", nil)
	}
	last := bytes.LastIndexByte(line[:end], ' ')
	if last <= sp || !hasPrefixFold(line[last+1:end], "SIP/") {
		return fmt.Errorf("%w: request line %q", ErrNotSIP, clip(line))
	}
	m.Version = line[last+1 : end]
	uri := line[sp+1 : last]
	if t := trimLWS(uri); len(t) != len(uri) {
		m.invalid(ErrBadStartLine, "more than one space between elements", nil)
		uri = t
	}
	if len(uri) == 0 {
		return fmt.Errorf("%w: request line %q", ErrNotSIP, clip(line))
	}
	if indexAny(uri, &whiteSpace) >= 0 {
		m.invalid(ErrBadStartLine, "white space in Request-URI", uri)
	}
	if len(uri) > 2 && uri[0] == '<' && uri[len(uri)-1] == '>' {
		uri = uri[1 : len(uri)-1]
		m.invalid(ErrBadURI, "enclosed in <>", uri)
	}
	m.RequestURI = uri
	if !validScheme(uri) {
		m.invalid(ErrBadURI, "", uri)
	} else if isSIPURI(uri) && sipURIHasHeaders(uri) {
		m.invalid(ErrBadURI, "headers in Request-URI", uri)
	}
	if !equalFold(m.Version, "SIP/2.0") {
		m.invalid(ErrBadVersion, "", m.Version)
	}
	return nil
}

// readStartLine reads the start line as far as ParseUnchecked needs: the method, Request-URI and
// version of a request, or the version, status code and reason of a response. It refuses what is
// not SIP as parseStartLine does, but checks nothing else.
func (m *Message) readStartLine(line []byte) error {
	if hasPrefixFold(line, "SIP/") {
		sp := bytes.IndexByte(line, ' ')
		if sp < 0 || len(line) < sp+4 || (len(line) > sp+4 && line[sp+4] != ' ') {
			return fmt.Errorf("%w: status line %q", ErrNotSIP, clip(line))
		}
		code, ok := atoi(line[sp+1 : sp+4])
		if !ok || code < 100 || code > maxStatus {
			return fmt.Errorf("%w %q", ErrBadStatus, clip(line[sp+1:]))
		}
		m.Version, m.StatusCode = line[:sp], code
		m.Reason = line[min(sp+5, len(line)):]
		return nil
	}
	sp := bytes.IndexByte(line, ' ')
	end := len(line)
	for end > 0 && isLWS(line[end-1]) {
		end--
	}
	last := bytes.LastIndexByte(line[:end], ' ')
	if sp <= 0 || last <= sp || !hasPrefixFold(line[last+1:], "SIP/") {
		return fmt.Errorf("%w: start line %q", ErrNotSIP, clip(line))
	}
	if !m.setRequestLine(line, sp, last, end) {
		return fmt.Errorf("%w: request line %q", ErrNotSIP, clip(line))
	}
	return nil
}

// setRequestLine fills the method, Request-URI and version of a request line whose first space
// is at sp and whose version is line[last+1:end]. It reports false when no Request-URI is left
// between them (after white space and enclosing <> are taken off).
func (m *Message) setRequestLine(line []byte, sp, last, end int) bool {
	uri := trimLWS(line[sp+1 : last])
	if len(uri) > 2 && uri[0] == '<' && uri[len(uri)-1] == '>' {
		uri = uri[1 : len(uri)-1]
	}
	if len(uri) == 0 {
		return false
	}
	m.IsRequest = true
	m.Method, m.RequestURI, m.Version = line[:sp], uri, line[last+1:end]
	return true
}

// readSniffedStartLine is readStartLine for a line startLineAt passed, which found where things
// are (last: the space before a request's version, -1 for a status line): it reads the same
// fields without searching for them again. It reports false, reading nothing, for a line
// readStartLine must look at (a request without a Request-URI).
func (m *Message) readSniffedStartLine(line []byte, last int) bool {
	if last < 0 { // "SIP/x.y NNN reason": startLineAt checked the version and the three digits
		m.Version = line[:7]
		m.StatusCode = int(line[8]-'0')*100 + int(line[9]-'0')*10 + int(line[10]-'0')
		m.Reason = line[min(12, len(line)):]
		return true
	}
	sp := bytes.IndexByte(line, ' ')
	return last > sp && m.setRequestLine(line, sp, last, last+8)
}

// clip shortens what an error quotes, so that junk input does not make huge messages.
func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// validScheme reports whether uri starts with scheme ":" (RFC 3986: ALPHA *(ALPHA/DIGIT/+/-/.)).
func validScheme(uri []byte) bool {
	if len(uri) == 0 || !isAlpha(uri[0]) {
		return false
	}
	for i := 1; i < len(uri); i++ {
		switch {
		case uri[i] == ':':
			return true
		case class[uri[i]]&cScheme == 0:
			return false
		}
	}
	return false
}

func isSIPURI(uri []byte) bool { return hasPrefixFold(uri, "sip:") || hasPrefixFold(uri, "sips:") }

// sipURIHasHeaders reports a "?headers" part in a sip/sips URI. The user part may itself contain
// '?' (RFC 4475 intmeth) but never a raw '@', so only a '?' after the userinfo counts.
func sipURIHasHeaders(uri []byte) bool {
	host := uri
	if at := bytes.IndexByte(uri, '@'); at >= 0 {
		host = uri[at+1:]
	}
	return bytes.IndexByte(host, '?') >= 0
}

// addHeader stores one header and reads the ones the Message exposes directly.
func (m *Message) addHeader(name, value []byte) {
	value = trimLWS(value)
	id := lookupHeader(name)
	m.headers = append(m.headers, Header{Name: name, Value: value})
	m.ids = append(m.ids, id)
	switch id {
	case hCallID:
		m.single(&m.CallID, name, value)
	case hFrom:
		if m.single(&m.From, name, value) {
			m.fromAddr = m.checkNameAddr(name, value)
		}
	case hTo:
		if m.single(&m.To, name, value) {
			m.toAddr = m.checkNameAddr(name, value)
		}
	case hContentType:
		m.single(&m.ContentType, name, value)
	case hUserAgent:
		if m.UserAgent == nil {
			m.UserAgent = value
		}
	case hVia:
		m.checkVia(value)
	case hContact:
		m.checkContact(value)
	case hCSeq:
		m.readCSeq(name, value)
	case hContentLength:
		m.readContentLength(name, value)
	case hMaxForwards:
		if n, ok := atoi(value); !ok || n > 255 {
			m.invalid(ErrBadMaxForwards, "", value)
		}
	case hDate:
		// RFC 3261 section 20.17 allows only RFC 1123 dates in GMT (RFC 4475 baddate).
		if !bytes.HasSuffix(value, []byte(" GMT")) {
			m.invalid(ErrBadDate, "", value)
		}
	}
}

// readHeader is addHeader for ParseUnchecked: it keeps the first value of each header the Message
// exposes and leaves From, To and the top Via to be parsed when asked for. It lists nothing.
func (m *Message) readHeader(name, value []byte) {
	id := fieldHeader(name)
	if id == hUnknown {
		return
	}
	value = trimLWS(value)
	switch id {
	case hCallID:
		if m.CallID == nil {
			m.CallID = value
		}
	case hFrom:
		if m.From == nil {
			m.From = value
			m.pending |= pendingFrom
		}
	case hTo:
		if m.To == nil {
			m.To = value
			m.pending |= pendingTo
		}
	case hContentType:
		if m.ContentType == nil {
			m.ContentType = value
		}
	case hUserAgent:
		if m.UserAgent == nil {
			m.UserAgent = value
		}
	case hVia:
		if m.Via == nil {
			m.Via, _ = nextValue(value)
			m.pending |= pendingVia
		}
	case hCSeq:
		if m.CSeqMethod == nil {
			m.readCSeq(name, value)
		}
	case hContentLength:
		if m.ContentLength < 0 {
			m.readContentLength(name, value)
		}
	}
}

// single stores the first value of a header that must appear once and reports a repeat with a
// different value (RFC 4475 multi01). Proxies in the field repeat a header with the same value
// (sngrep ipv6frag.pcap has two identical Content-Type): that is harmless and not reported.
func (m *Message) single(dst *[]byte, name, value []byte) bool {
	if *dst != nil {
		if !bytes.Equal(*dst, value) {
			m.invalid(ErrDuplicateHeader, "", name)
		}
		return false
	}
	*dst = value
	return true
}

// readCSeq reads "1*DIGIT LWS Method"; the number must fit in 32 bits (RFC 3261 section 8.1.1.5;
// RFC 4475 scalar02, scalarlg) and the method must match the request's (mismatch01, mismatch02).
func (m *Message) readCSeq(name, value []byte) {
	if m.CSeqMethod != nil {
		if !bytes.Equal(m.Header("CSeq"), value) {
			m.invalid(ErrDuplicateHeader, "", name)
		}
		return
	}
	i := 0
	for i < len(value) && isDigit(value[i]) {
		i++
	}
	num := value[:i]
	j := skipLWS(value, i)
	method := value[j:]
	if j == i || !isTokenString(method) {
		m.CSeqMethod = trimLWS(method)
		m.invalid(ErrBadCSeq, "", value)
		return
	}
	m.CSeqMethod = method
	n, ok := parseUint32(num)
	if !ok {
		m.invalid(ErrBadCSeq, "sequence number out of range", num)
		return
	}
	m.CSeq = n
	if m.IsRequest && !bytes.Equal(method, m.Method) {
		m.invalid(ErrMethodMismatch, "", method)
	}
}

func (m *Message) readContentLength(name, value []byte) {
	n, ok := atoi(value)
	if !ok {
		m.invalid(ErrBadContentLength, "", value)
		return
	}
	if m.ContentLength >= 0 {
		// RFC 4475 mcl01: conflicting lengths make the framing unknowable.
		if n != m.ContentLength {
			m.invalid(ErrDuplicateHeader, "", name)
		}
		return
	}
	m.ContentLength = n
}

func (m *Message) checkMandatory() {
	if m.Invalid != nil {
		return
	}
	switch {
	case m.CallID == nil:
		m.invalid(ErrMissingHeader, "Call-ID", nil)
	case m.CSeqMethod == nil:
		m.invalid(ErrMissingHeader, "CSeq", nil)
	case m.From == nil:
		m.invalid(ErrMissingHeader, "From", nil)
	case m.To == nil:
		m.invalid(ErrMissingHeader, "To", nil)
	case m.Via == nil:
		m.invalid(ErrMissingHeader, "Via", nil)
	}
}

// checkNameAddr parses a From or To value, records a grammar problem, and returns what it read.
func (m *Message) checkNameAddr(name, value []byte) NameAddr {
	a, err := ParseNameAddr(value)
	if err != nil && m.Invalid == nil {
		m.invalid(ErrBadNameAddr, string(name), value)
	}
	return a
}

func (m *Message) checkContact(value []byte) {
	for v, rest := nextValue(value); ; v, rest = nextValue(rest) {
		if m.Invalid == nil && !(len(v) == 1 && v[0] == '*') {
			if _, err := ParseNameAddr(v); err != nil {
				m.invalid(ErrBadNameAddr, "Contact", v)
			}
		}
		if rest == nil {
			return
		}
	}
}

func (m *Message) checkVia(value []byte) {
	for v, rest := nextValue(value); ; v, rest = nextValue(rest) {
		if m.Via == nil {
			m.Via = v
			via, err := ParseVia(v)
			m.topVia = via
			if err != nil && m.Invalid == nil {
				m.invalid(ErrBadVia, "", v)
			}
		}
		if rest == nil {
			return
		}
	}
}

// Header returns the value of the first header with this name (case-insensitive; a known header
// also matches its compact form, so "Call-ID" finds "i:"), or nil when there is none.
func (m *Message) Header(name string) []byte {
	m.collect()
	if id := lookupHeader(name); id != hUnknown {
		for i, x := range m.ids {
			if x == id {
				return m.headers[i].Value
			}
		}
		return nil
	}
	for _, h := range m.headers {
		if equalFold(h.Name, name) {
			return h.Value
		}
	}
	return nil
}

// Values calls yield for every value of the named header, in wire order, across repeated header
// lines and comma-separated lists ("Via: a, b" and "Via: c" give a, b, c). Commas inside quoted
// strings and <...> do not separate values. Only headers whose grammar is a list are split: Date,
// User-Agent, Authorization and unknown headers give each header line's value whole.
func (m *Message) Values(name string) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		m.collect()
		id := lookupHeader(name)
		for i, h := range m.headers {
			if id != hUnknown && m.ids[i] != id || id == hUnknown && !equalFold(h.Name, name) {
				continue
			}
			if !hdrInfo[id].list {
				if !yield(h.Value) {
					return
				}
				continue
			}
			for v, rest := nextValue(h.Value); ; v, rest = nextValue(rest) {
				if !yield(v) {
					return
				}
				if rest == nil {
					break
				}
			}
		}
	}
}

// Headers returns every header field in wire order. The slice is the Message's: it is valid until
// the next Parse into it.
func (m *Message) Headers() []Header {
	m.collect()
	return m.headers
}

// HeaderNames is a set of header names for EachHeaderIn. A message's other headers are passed
// over by the first letter and the length of their names, without comparing names: most are
// never even split at their colon. Names are told apart case-insensitively, as SIP does; compact
// forms are names of their own.
type HeaderNames struct {
	initials [256]bool
	lengths  uint64 // bit n: a name n bytes long (bit 63: 63 and longer)
}

// Add puts name in the set.
func (s *HeaderNames) Add(name string) {
	if name == "" {
		return
	}
	s.initials[lower(name[0])] = true
	s.initials[upper(name[0])] = true
	s.lengths |= 1 << min(len(name), 63)
}

// NoteHeaders makes ParseUnchecked note, in this and later parses into m, where the lines of
// headers whose names start like one in names begin, so that EachHeaderIn(names) visits just those
// lines instead of reading the header block again. names must not change while it is in use.
func (m *Message) NoteHeaders(names *HeaderNames) { m.noteNames = names }

// mayHold reports whether a name of n bytes starting with c could be in the set.
func (s *HeaderNames) mayHold(c byte, n int) bool {
	return s.initials[c] && s.lengths&(1<<min(n, 63)) != 0
}

// EachHeaderIn calls fn, in wire order, with the value as Headers gives it, for each header whose
// name has the first letter and the length of a name in names. Callers compare the names they
// are given: others of the same initial and length come through too. It is the cheap way to look
// for a few headers in a message read by ParseUnchecked: nothing is listed.
func (m *Message) EachHeaderIn(names *HeaderNames, fn func(name, value []byte)) {
	if !m.uncollected {
		for _, h := range m.headers {
			if names.mayHold(h.Name[0], len(h.Name)) {
				fn(h.Name, h.Value)
			}
		}
		return
	}
	data := m.headerBlock
	if names == m.noteNames && int(m.nNoted) <= len(m.noted) {
		// ParseUnchecked noted the lines that start with one of the initials.
		for _, p := range m.noted[:m.nNoted] {
			if name, value, ok := names.headerAt(data, int(p)); ok {
				fn(name, value)
			}
		}
		return
	}
	for p := 0; p < len(data); {
		line, next := nextLine(data, p)
		if len(line) == 0 {
			break
		}
		if names.initials[line[0]] && !isWSP(line[0]) {
			if name, value, ok := names.headerAt(data, p); ok {
				fn(name, value)
			}
		}
		p = next
	}
}

// headerAt reads the header whose line starts at data[p] when its name has the length of a name
// in s (the initial is the caller's test): the name, and the value with its continuation lines.
func (s *HeaderNames) headerAt(data []byte, p int) (name, value []byte, ok bool) {
	line, next := nextLine(data, p)
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return nil, nil, false
	}
	n := colon
	for n > 0 && isWSP(line[n-1]) {
		n--
	}
	if n == 0 || s.lengths&(1<<min(n, 63)) == 0 {
		return nil, nil, false
	}
	valEnd := p + len(line)
	for next < len(data) && isWSP(data[next]) { // continuation lines
		cont, after := nextLine(data, next)
		valEnd, next = next+len(cont), after
	}
	return data[p : p+n], trimLWS(data[p+colon+1 : valEnd]), true
}

// from, to and via return the parsed From, To and top Via, parsing them first after ParseUnchecked.
func (m *Message) from() *NameAddr {
	if m.pending&pendingFrom != 0 {
		m.pending &^= pendingFrom
		m.fromAddr = readNameAddr(m.From)
	}
	return &m.fromAddr
}

func (m *Message) to() *NameAddr {
	if m.pending&pendingTo != 0 {
		m.pending &^= pendingTo
		m.toAddr = readNameAddr(m.To)
	}
	return &m.toAddr
}

func (m *Message) via() *Via {
	if m.pending&pendingVia != 0 {
		m.pending &^= pendingVia
		m.topVia, _ = ParseVia(m.Via)
	}
	return &m.topVia
}

// FromTag returns the tag parameter of From.
func (m *Message) FromTag() []byte {
	if m.pending&pendingFrom != 0 {
		return tagOf(m.From)
	}
	return m.fromAddr.Param("tag")
}

// ToTag returns the tag parameter of To (empty outside a dialog).
func (m *Message) ToTag() []byte {
	if m.pending&pendingTo != 0 {
		return tagOf(m.To)
	}
	return m.toAddr.Param("tag")
}

// FromUser returns the user part of the From URI, still %-escaped (see AppendUnescaped).
func (m *Message) FromUser() []byte { return URIUser(m.from().URI) }

// ToUser returns the user part of the To URI, still %-escaped.
func (m *Message) ToUser() []byte { return URIUser(m.to().URI) }

// FromAddr returns the parsed From value (read as far as it goes when malformed).
func (m *Message) FromAddr() NameAddr { return *m.from() }

// ToAddr returns the parsed To value.
func (m *Message) ToAddr() NameAddr { return *m.to() }

// TopVia returns the parsed top Via value.
func (m *Message) TopVia() Via { return *m.via() }

// Branch returns the branch parameter of the top Via.
// Like the other accessors it reads malformed values as far as they go.
func (m *Message) Branch() []byte {
	// Only the parameters are needed: they start at the first ';' (no token before them can hold
	// one), so the sent-by is not read, and the answer is the same whether or not the top Via was
	// parsed (a Via too malformed for ParseVia still gives its branch).
	if semi := bytes.IndexByte(m.Via, ';'); semi >= 0 {
		v, _ := Param(m.Via[semi+1:], "branch")
		return v
	}
	return nil
}
