package sip

import "bytes"

// Character classes and small scanners shared by the parsers. Header values are kept zero-copy, so
// they may still contain line folds (CRLF followed by white space); every scanner here treats CR and
// LF inside a value as linear white space, which is what a fold means (RFC 3261 section 7.3.1).

const (
	cToken  = 1 << iota // RFC 3261 token
	cLWS                // SP, HTAB, CR, LF
	cDigit              // 0-9
	cAlpha              // A-Z a-z
	cScheme             // characters allowed after the first letter of a URI scheme
)

var class [256]uint8

func init() {
	for c := '0'; c <= '9'; c++ {
		class[c] |= cToken | cDigit | cScheme
	}
	for c := 'a'; c <= 'z'; c++ {
		class[c] |= cToken | cAlpha | cScheme
		class[c-'a'+'A'] |= cToken | cAlpha | cScheme
	}
	for _, c := range "-.!%*_+`'~" {
		class[c] |= cToken
	}
	for _, c := range "+-." {
		class[c] |= cScheme
	}
	for _, c := range " \t\r\n" {
		class[c] |= cLWS
	}
}

func isToken(c byte) bool { return class[c]&cToken != 0 }
func isLWS(c byte) bool   { return class[c]&cLWS != 0 }
func isDigit(c byte) bool { return class[c]&cDigit != 0 }
func isAlpha(c byte) bool { return class[c]&cAlpha != 0 }
func isWSP(c byte) bool   { return c == ' ' || c == '\t' }

// isTokenString reports whether b is a non-empty RFC 3261 token.
func isTokenString(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !isToken(c) {
			return false
		}
	}
	return true
}

// trimLWS removes linear white space (including folds) from both ends.
func trimLWS(b []byte) []byte {
	i, j := 0, len(b)
	if j > 0 && b[0] > ' ' && b[j-1] > ' ' { // the usual value: nothing to trim (LWS is <= ' ')
		return b
	}
	for i < j && isLWS(b[i]) {
		i++
	}
	for j > i && isLWS(b[j-1]) {
		j--
	}
	return b[i:j]
}

func skipLWS(b []byte, i int) int {
	for i < len(b) && isLWS(b[i]) {
		i++
	}
	return i
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// equalFold compares ASCII case-insensitively without allocating; it works on either strings or
// byte slices so that lookups by a string name need no conversion.
func equalFold[A, B ~string | ~[]byte](a A, b B) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if a[i] != b[i] && lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func hasPrefixFold[A, B ~string | ~[]byte](s A, prefix B) bool {
	return len(s) >= len(prefix) && equalFold(s[:len(prefix)], prefix)
}

// atoi parses an unsigned decimal of at most 9 digits (so it cannot overflow an int).
func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// parseUint32 parses a decimal that must fit in 32 bits; leading zeros are allowed (RFC 4475 wsinv
// has "CSeq: 0009").
func parseUint32(b []byte) (uint32, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
		if n > 1<<32-1 {
			return 0, false
		}
	}
	return uint32(n), true
}

// quotedEnd returns the index just past the closing quote of the quoted string starting at b[i]
// (which must be '"'), honouring backslash escapes, or -1 when it is unterminated.
func quotedEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// nextValue splits a header value at the first comma that separates list elements: commas inside
// quoted strings and inside <...> are part of the element. It returns the trimmed first element and
// the rest after the comma (nil when there is none).
func nextValue(v []byte) (first, rest []byte) {
	if bytes.IndexByte(v, ',') < 0 {
		return trimLWS(v), nil // the common case, found with a vectorised search
	}
	angle := false
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			e := quotedEnd(v, i)
			if e < 0 {
				return trimLWS(v), nil
			}
			i = e - 1
		case '<':
			angle = true
		case '>':
			angle = false
		case ',':
			if !angle {
				return trimLWS(v[:i]), v[i+1:]
			}
		}
	}
	return trimLWS(v), nil
}

// Unfold appends v to dst with every line fold (CRLF and the white space around it) replaced by a
// single space, as RFC 3261 section 7.3.1 makes them equivalent. Use it to print or store a value.
func Unfold(dst, v []byte) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\r' && c != '\n' {
			dst = append(dst, c)
			continue
		}
		for len(dst) > 0 && isWSP(dst[len(dst)-1]) {
			dst = dst[:len(dst)-1]
		}
		for i+1 < len(v) && isLWS(v[i+1]) {
			i++
		}
		dst = append(dst, ' ')
	}
	return dst
}

// AppendUnescaped appends s to dst with %HH escapes decoded once (RFC 3986: never recursively, so
// "%2541" becomes "%41"). A '%' not followed by two hex digits is copied as is (RFC 4475 esc02).
func AppendUnescaped(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			h, ok1 := unhex(s[i+1])
			l, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				dst = append(dst, h<<4|l)
				i += 2
				continue
			}
		}
		dst = append(dst, s[i])
	}
	return dst
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// byteSet is a set of bytes for indexAny; bytes.IndexAny rebuilds its set on every call, which shows
// in profiles of the per-message path.
type byteSet [256]bool

func makeByteSet(chars string) (s byteSet) {
	for i := 0; i < len(chars); i++ {
		s[chars[i]] = true
	}
	return s
}

var (
	whiteSpace = makeByteSet(" \t\r\n")
	badSentBy  = makeByteSet(" \t\r\n,")
	needsAngle = makeByteSet("?, \t\r\n<>\"")
)

// indexAny returns the index of the first byte of b in set, or -1.
func indexAny(b []byte, set *byteSet) int {
	for i, c := range b {
		if set[c] {
			return i
		}
	}
	return -1
}
