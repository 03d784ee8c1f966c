package sip

import "encoding/binary"

// hdrID names the headers the parser knows. Parse classifies each header once, so lookups by a
// known name (in either its long or its compact form) compare small integers, not strings.
type hdrID uint8

const (
	hUnknown hdrID = iota
	hCallID
	hFrom
	hTo
	hVia
	hCSeq
	hContentLength
	hContentType
	hContact
	hUserAgent
	hMaxForwards
	hDate
	hSupported
	hSubject
	hContentEncoding
	hEvent
	hReferTo
	hReferredBy
	hAllowEvents
	hSessionExpires
	hIdentity
	hAcceptContact
	hRejectContact
	hRequestDisposition
	hIdentityInfo
	hRoute
	hRecordRoute
	hPath
	hServiceRoute
	hAllow
	hRequire
	hProxyRequire
	hUnsupported
	hAccept
	hAcceptEncoding
	hAcceptLanguage
	hContentLanguage
	hInReplyTo
	hAlertInfo
	hCallInfo
	hErrorInfo
	hWarning
	hPAssertedIdentity
	hPPreferredIdentity
	hDiversion
	hHistoryInfo
	hReason
	hSecurityClient
	hSecurityServer
	hSecurityVerify
	hPAssociatedURI
	hPVisitedNetworkID
	hServer
	hAuthorization
	hProxyAuthorization
	hWWWAuthenticate
	hProxyAuthenticate
	hExpires
	hPrivacy
	hRSeq
	hRAck
	hReplaces
	hTimestamp
	numHdr
)

// hdrInfo: the long name, the compact form (RFC 3261 section 7.3.3 and the IANA registry; 0 when
// none), and whether the header's grammar is a comma-separated list (only those are split by
// Values; Date, Authorization, User-Agent and the like contain commas that separate nothing).
var hdrInfo = [numHdr]struct {
	name    string
	compact byte
	list    bool
}{
	hCallID:             {"Call-ID", 'i', false},
	hFrom:               {"From", 'f', false},
	hTo:                 {"To", 't', false},
	hVia:                {"Via", 'v', true},
	hCSeq:               {"CSeq", 0, false},
	hContentLength:      {"Content-Length", 'l', false},
	hContentType:        {"Content-Type", 'c', false},
	hContact:            {"Contact", 'm', true},
	hUserAgent:          {"User-Agent", 0, false},
	hMaxForwards:        {"Max-Forwards", 0, false},
	hDate:               {"Date", 0, false},
	hSupported:          {"Supported", 'k', true},
	hSubject:            {"Subject", 's', false},
	hContentEncoding:    {"Content-Encoding", 'e', true},
	hEvent:              {"Event", 'o', false},
	hReferTo:            {"Refer-To", 'r', false},
	hReferredBy:         {"Referred-By", 'b', false},
	hAllowEvents:        {"Allow-Events", 'u', true},
	hSessionExpires:     {"Session-Expires", 'x', false},
	hIdentity:           {"Identity", 'y', false},
	hAcceptContact:      {"Accept-Contact", 'a', true},
	hRejectContact:      {"Reject-Contact", 'j', true},
	hRequestDisposition: {"Request-Disposition", 'd', true},
	hIdentityInfo:       {"Identity-Info", 'n', false},
	hRoute:              {"Route", 0, true},
	hRecordRoute:        {"Record-Route", 0, true},
	hPath:               {"Path", 0, true},
	hServiceRoute:       {"Service-Route", 0, true},
	hAllow:              {"Allow", 0, true},
	hRequire:            {"Require", 0, true},
	hProxyRequire:       {"Proxy-Require", 0, true},
	hUnsupported:        {"Unsupported", 0, true},
	hAccept:             {"Accept", 0, true},
	hAcceptEncoding:     {"Accept-Encoding", 0, true},
	hAcceptLanguage:     {"Accept-Language", 0, true},
	hContentLanguage:    {"Content-Language", 0, true},
	hInReplyTo:          {"In-Reply-To", 0, true},
	hAlertInfo:          {"Alert-Info", 0, true},
	hCallInfo:           {"Call-Info", 0, true},
	hErrorInfo:          {"Error-Info", 0, true},
	hWarning:            {"Warning", 0, true},
	hPAssertedIdentity:  {"P-Asserted-Identity", 0, true},
	hPPreferredIdentity: {"P-Preferred-Identity", 0, true},
	hDiversion:          {"Diversion", 0, true},
	hHistoryInfo:        {"History-Info", 0, true},
	hReason:             {"Reason", 0, true},
	hSecurityClient:     {"Security-Client", 0, true},
	hSecurityServer:     {"Security-Server", 0, true},
	hSecurityVerify:     {"Security-Verify", 0, true},
	hPAssociatedURI:     {"P-Associated-URI", 0, true},
	hPVisitedNetworkID:  {"P-Visited-Network-ID", 0, true},
	hServer:             {"Server", 0, false},
	hAuthorization:      {"Authorization", 0, false},
	hProxyAuthorization: {"Proxy-Authorization", 0, false},
	hWWWAuthenticate:    {"WWW-Authenticate", 0, false},
	hProxyAuthenticate:  {"Proxy-Authenticate", 0, false},
	hExpires:            {"Expires", 0, false},
	hPrivacy:            {"Privacy", 0, false},
	hRSeq:               {"RSeq", 0, false},
	hRAck:               {"RAck", 0, false},
	hReplaces:           {"Replaces", 0, false},
	hTimestamp:          {"Timestamp", 0, false},
}

// byLen indexes the long names by length, and byCompact the compact letters, so that classifying
// a header costs a few comparisons.
var (
	byLen     [32][]hdrID
	byCompact [256]hdrID
)

func init() {
	for id := hdrID(1); id < numHdr; id++ {
		n := hdrInfo[id].name
		byLen[len(n)] = append(byLen[len(n)], id)
		if c := hdrInfo[id].compact; c != 0 {
			byCompact[c] = id
			byCompact[c-'a'+'A'] = id
		}
	}
}

// lookupHeader classifies a header name (long or compact form, any case).
func lookupHeader[T ~string | ~[]byte](name T) hdrID {
	if len(name) == 1 {
		return byCompact[name[0]]
	}
	if len(name) >= len(byLen) {
		return hUnknown
	}
	// Most senders write names in their canonical case: try an exact match first.
	for _, id := range byLen[len(name)] {
		if string(name) == hdrInfo[id].name {
			return id
		}
	}
	for _, id := range byLen[len(name)] {
		if equalFold(name, hdrInfo[id].name) {
			return id
		}
	}
	return hUnknown
}

// fieldInitial marks the first letters of the headers fieldHeader knows (long and compact forms,
// either case): a header line starting otherwise is none of them.
var fieldInitial = func() (t [256]bool) {
	for _, c := range "tvfciulTVFCIUL" {
		t[c] = true
	}
	return t
}()

// fieldHeader classifies only the headers that fill Message fields (Call-ID, From, To, Via, CSeq,
// Content-Type, Content-Length, User-Agent, and their compact forms); every other is hUnknown.
// ParseUnchecked reads nothing else, so it need not tell the others apart.
//
// Names are compared a word at a time, case-insensitively: ORing 0x20 into a byte lower-cases a
// letter and leaves a dash alone, but it also turns CR (0x0d) into a dash, so dashes are compared
// exactly besides.
func fieldHeader(name []byte) hdrID {
	const fold16, fold32, fold64 = 0x2020, 0x20202020, 0x2020202020202020
	switch len(name) {
	case 1:
		switch lower(name[0]) {
		case 'i', 'f', 't', 'v', 'c', 'l':
			return byCompact[name[0]]
		}
	case 2:
		if binary.LittleEndian.Uint16(name)|fold16 == wTo {
			return hTo
		}
	case 3:
		if binary.LittleEndian.Uint16(name)|fold16 == wVi && name[2]|0x20 == 'a' {
			return hVia
		}
	case 4:
		switch binary.LittleEndian.Uint32(name) | fold32 {
		case wFrom:
			return hFrom
		case wCSeq:
			return hCSeq
		}
	case 7:
		if binary.LittleEndian.Uint32(name)|fold32 == wCall && binary.LittleEndian.Uint32(name[3:])|fold32 == wLID &&
			name[4] == '-' {
			return hCallID
		}
	case 10:
		if binary.LittleEndian.Uint64(name)|fold64 == wUserAge && binary.LittleEndian.Uint16(name[8:])|fold16 == wNt &&
			name[4] == '-' {
			return hUserAgent
		}
	case 12:
		if binary.LittleEndian.Uint64(name)|fold64 == wContent && binary.LittleEndian.Uint32(name[8:])|fold32 == wType &&
			name[7] == '-' {
			return hContentType
		}
	case 14:
		if binary.LittleEndian.Uint64(name)|fold64 == wContent && binary.LittleEndian.Uint64(name[6:])|fold64 == wTLength &&
			name[7] == '-' {
			return hContentLength
		}
	}
	return hUnknown
}

// The words fieldHeader compares names with: lower-case pieces of them, as little-endian loads
// read them.
var (
	wTo, wVi, wNt             = uint16(le("to")), uint16(le("vi")), uint16(le("nt"))
	wFrom, wCSeq, wCall, wLID = uint32(le("from")), uint32(le("cseq")), uint32(le("call")), uint32(le("l-id"))
	wType                     = uint32(le("type"))
	wUserAge, wContent        = le("user-age"), le("content-")
	wTLength                  = le("t-length")
)

func le(s string) (w uint64) {
	for i := range len(s) {
		w |= uint64(s[i]) << (8 * i)
	}
	return w
}

// CanonicalName returns the long, canonically cased form of a known header name ("i" and "call-id"
// both give "Call-ID"), or name unchanged when the header is not one the parser knows.
func CanonicalName(name []byte) string {
	if id := lookupHeader(name); id != hUnknown {
		return hdrInfo[id].name
	}
	return string(name)
}
