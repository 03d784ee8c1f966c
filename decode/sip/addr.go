package sip

import (
	"bytes"
	"fmt"
	"net/netip"
)

// NameAddr is one From, To, Contact, Route-like value: `"Display" <URI>;params` or the bare
// addr-spec form `URI;params`. All fields point into the parsed value.
type NameAddr struct {
	Display []byte // display name: inside the quotes (escapes kept) or the unquoted tokens; may be empty
	Quoted  bool   // the display name was a quoted string
	URI     []byte // without the <>
	Params  []byte // header parameters after the first ';' following the URI, as on the wire
}

// ParseNameAddr parses one name-addr or addr-spec value (RFC 3261 section 25.1), tolerating folds.
// On error the NameAddr is still filled as far as the value could be read, so that a tag or URI
// can be had from a malformed header.
// In the addr-spec form, parameters after the URI belong to the header, not the URI (RFC 4475
// cparam01). It rejects what RFC 4475 calls invalid: an unterminated quoted display name (quotbal),
// an unquoted display name with non-token characters (baddn), white space inside <> (badaspec), an
// addr-spec with a '?' or ',' that needed <> (regbadct), and empty parameters (badinv01).
func ParseNameAddr(v []byte) (NameAddr, error) {
	var a NameAddr
	v = trimLWS(v)
	if len(v) == 0 {
		return a, fmt.Errorf("%w: empty", ErrBadNameAddr)
	}
	i := 0
	if v[0] == '"' {
		e := quotedEnd(v, 0)
		if e < 0 {
			return a, fmt.Errorf("%w: unterminated quoted string", ErrBadNameAddr)
		}
		a.Display, a.Quoted = v[1:e-1], true
		i = skipLWS(v, e)
		if i >= len(v) || v[i] != '<' {
			return a, fmt.Errorf("%w: no <URI> after display name", ErrBadNameAddr)
		}
	} else if lt := bytes.IndexByte(v, '<'); lt >= 0 {
		a.Display = trimLWS(v[:lt])
		for _, c := range a.Display {
			if !isToken(c) && !isLWS(c) {
				// Keep reading: the URI and tag are still wanted (RFC 4475 baddn).
				a, err := parseAngle(a, v, lt)
				if err == nil {
					err = fmt.Errorf("%w: unquoted display name %q", ErrBadNameAddr, clip(a.Display))
				}
				return a, err
			}
		}
		i = lt
	} else {
		// addr-spec: the URI runs to the first ';'.
		end := bytes.IndexByte(v, ';')
		if end < 0 {
			end = len(v)
		}
		a.URI = trimLWS(v[:end])
		if end < len(v) {
			a.Params = v[end+1:]
		}
		if len(a.URI) == 0 || indexAny(a.URI, &needsAngle) >= 0 {
			return a, fmt.Errorf("%w: %q must be enclosed in <>", ErrBadNameAddr, clip(a.URI))
		}
		if a.Params != nil {
			return a, checkParams(a.Params)
		}
		return a, nil
	}
	return parseAngle(a, v, i)
}

// readNameAddr splits a name-addr or addr-spec as ParseNameAddr does, checking nothing: the
// reader behind ParseUnchecked. Shapes other than the common ones go to ParseNameAddr.
func readNameAddr(v []byte) NameAddr {
	var a NameAddr
	v = trimLWS(v)
	lt := 0
	if len(v) > 0 && v[0] == '"' {
		e := quotedEnd(v, 0)
		if e < 0 {
			a, _ = ParseNameAddr(v)
			return a
		}
		a.Display, a.Quoted = v[1:e-1], true
		lt = skipLWS(v, e)
		if lt >= len(v) || v[lt] != '<' {
			a, _ = ParseNameAddr(v)
			return a
		}
	} else if lt = bytes.IndexByte(v, '<'); lt >= 0 {
		a.Display = trimLWS(v[:lt])
	} else {
		end := bytes.IndexByte(v, ';')
		if end < 0 {
			end = len(v)
		} else {
			a.Params = v[end+1:]
		}
		a.URI = trimLWS(v[:end])
		return a
	}
	gt := bytes.IndexByte(v[lt:], '>')
	if gt < 0 {
		a, _ = ParseNameAddr(v)
		return a
	}
	a.URI = trimLWS(v[lt+1 : lt+gt])
	if i := skipLWS(v, lt+gt+1); i < len(v) && v[i] == ';' {
		a.Params = v[i+1:]
	}
	return a
}

// tagOf returns readNameAddr(v).Param("tag"), finding the parameters as readNameAddr does but
// without cutting out the display name and URI.
func tagOf(v []byte) []byte {
	v = trimLWS(v)
	var params []byte
	lt := 0
	if len(v) > 0 && v[0] == '"' {
		e := quotedEnd(v, 0)
		if e < 0 {
			return readNameAddr(v).Param("tag")
		}
		if lt = skipLWS(v, e); lt >= len(v) || v[lt] != '<' {
			return readNameAddr(v).Param("tag")
		}
	} else if len(v) > 0 && v[0] == '<' {
		lt = 0 // the usual value, <URI>;params: no search
	} else if lt = bytes.IndexByte(v, '<'); lt < 0 {
		semi := bytes.IndexByte(v, ';')
		if semi < 0 {
			return nil
		}
		params = v[semi+1:]
	}
	if lt >= 0 {
		gt := bytes.IndexByte(v[lt:], '>')
		if gt < 0 {
			return readNameAddr(v).Param("tag")
		}
		i := skipLWS(v, lt+gt+1)
		if i == len(v) || v[i] != ';' {
			return nil
		}
		params = v[i+1:]
	}
	// Nearly every tag is the first parameter, in lower case, a plain token: read it directly.
	// Any other spelling (a later parameter, white space, quotes) goes through Param.
	if len(params) > 4 && string(params[:4]) == "tag=" {
		j := 4
		for j < len(params) && isToken(params[j]) {
			j++
		}
		if j == len(params) || params[j] == ';' {
			return params[4:j]
		}
	}
	tag, _ := Param(params, "tag")
	return tag
}

// parseAngle reads "<URI>" at v[i] and the parameters after it.
func parseAngle(a NameAddr, v []byte, i int) (NameAddr, error) {
	gt := bytes.IndexByte(v[i:], '>')
	if gt < 0 {
		return a, fmt.Errorf("%w: no closing >", ErrBadNameAddr)
	}
	a.URI = v[i+1 : i+gt]
	var err error
	if t := trimLWS(a.URI); len(t) != len(a.URI) || len(t) == 0 || indexAny(t, &whiteSpace) >= 0 {
		// RFC 4475 badaspec: invalid, but the URI without the spaces is still usable.
		a.URI = t
		err = fmt.Errorf("%w: white space or nothing inside <>: %q", ErrBadNameAddr, clip(v[i+1:i+gt]))
	}
	i = skipLWS(v, i+gt+1)
	if i == len(v) {
		return a, err
	}
	if v[i] != ';' {
		return a, fmt.Errorf("%w: unexpected %q after >", ErrBadNameAddr, clip(v[i:]))
	}
	a.Params = v[i+1:]
	if err != nil {
		return a, err
	}
	return a, checkParams(a.Params)
}

// Param returns the value of a header parameter (case-insensitive name; empty for a parameter
// without a value, nil when absent).
func (a NameAddr) Param(name string) []byte { v, _ := Param(a.Params, name); return v }

// User returns the user part of the URI.
func (a NameAddr) User() []byte { return URIUser(a.URI) }

// Param finds name in a ';'-separated parameter list (the text after the first ';'), tolerating
// white space and folds around ';' and '='. ok is false when the parameter is absent; a parameter
// without '=' gives an empty, non-nil value.
func Param(params []byte, name string) (value []byte, ok bool) {
	for len(params) > 0 {
		p, rest := nextParam(params)
		n, v := p, p[len(p):]
		if eq := bytes.IndexByte(p, '='); eq >= 0 {
			n, v = trimLWS(p[:eq]), trimLWS(p[eq+1:])
		}
		if equalFold(n, name) {
			return v, true
		}
		params = rest
	}
	return nil, false
}

// nextParam splits at the first ';' outside a quoted string.
func nextParam(b []byte) (first, rest []byte) {
	if bytes.IndexByte(b, '"') < 0 {
		if i := bytes.IndexByte(b, ';'); i >= 0 {
			return trimLWS(b[:i]), b[i+1:]
		}
		return trimLWS(b), nil
	}
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			e := quotedEnd(b, i)
			if e < 0 {
				return trimLWS(b), nil
			}
			i = e - 1
		case ';':
			return trimLWS(b[:i]), b[i+1:]
		}
	}
	return trimLWS(b), nil
}

// checkParams validates generic-param *(SEMI generic-param): each a token, optionally "=" and a
// token, host or quoted string.
func checkParams(params []byte) error {
	for {
		p, rest := nextParam(params)
		n, v := p, []byte(nil)
		if eq := bytes.IndexByte(p, '='); eq >= 0 {
			n, v = trimLWS(p[:eq]), trimLWS(p[eq+1:])
			if len(v) == 0 {
				return fmt.Errorf("%w: parameter %q without value", ErrBadNameAddr, clip(n))
			}
		}
		if !isTokenString(n) {
			return fmt.Errorf("%w: bad parameter %q", ErrBadNameAddr, clip(p))
		}
		if len(v) > 0 && v[0] == '"' {
			if quotedEnd(v, 0) != len(v) {
				return fmt.Errorf("%w: bad quoted parameter %q", ErrBadNameAddr, clip(p))
			}
		} else {
			for _, c := range v {
				if !isToken(c) && c != ':' && c != '[' && c != ']' {
					return fmt.Errorf("%w: bad parameter value %q", ErrBadNameAddr, clip(p))
				}
			}
		}
		if rest == nil {
			return nil
		}
		params = rest
	}
}

// URIUser returns the user part of a URI: for sip/sips/other "scheme:user[:password]@host" URIs
// the text before '@' (without the password), for tel URIs the number. It is still %-escaped and
// may contain ';' (RFC 4475 semiuri: "user;par=u%40example.net"). nil when there is none.
func URIUser(uri []byte) []byte {
	colon := bytes.IndexByte(uri, ':')
	if colon < 0 {
		return nil
	}
	scheme, rest := uri[:colon], uri[colon+1:]
	if equalFold(scheme, "tel") {
		if semi := bytes.IndexByte(rest, ';'); semi >= 0 {
			rest = rest[:semi]
		}
		return rest
	}
	at := bytes.IndexByte(rest, '@')
	if at < 0 {
		return nil
	}
	user := rest[:at]
	if c := bytes.IndexByte(user, ':'); c >= 0 {
		user = user[:c]
	}
	return user
}

// Via is one Via value: sent-protocol sent-by *(;via-params) (RFC 3261 section 20.42).
type Via struct {
	Transport []byte // UDP, TCP, TLS, SCTP, WS, WSS or an extension token
	Host      []byte // sent-by host (an IPv6 reference keeps its brackets)
	Port      int    // 0 when absent
	Params    []byte // text after the first ';', as on the wire
}

// ParseVia parses one Via value (one element of a comma-separated Via header), tolerating white
// space and folds around '/' (RFC 4475 wsinv). On error the Via is filled as far as it could be
// read (Params in particular), so that the branch of a malformed Via can still be had.
func ParseVia(v []byte) (Via, error) {
	var via Via
	v = trimLWS(v)
	i := 0
	for k := 0; k < 3; k++ {
		i = skipLWS(v, i)
		s := i
		for i < len(v) && isToken(v[i]) {
			i++
		}
		if i == s {
			return via, fmt.Errorf("%w: bad sent-protocol in %q", ErrBadVia, clip(v))
		}
		if k == 2 {
			via.Transport = v[s:i]
			break
		}
		i = skipLWS(v, i)
		if i >= len(v) || v[i] != '/' {
			return via, fmt.Errorf("%w: bad sent-protocol in %q", ErrBadVia, clip(v))
		}
		i++
	}
	j := skipLWS(v, i)
	if j == i || j == len(v) {
		return via, fmt.Errorf("%w: no sent-by in %q", ErrBadVia, clip(v))
	}
	end := bytes.IndexByte(v[j:], ';')
	if end < 0 {
		end = len(v)
	} else {
		end += j
		via.Params = v[end+1:]
	}
	sentBy := trimLWS(v[j:end])
	host, port := sentBy, []byte(nil)
	var err error
	switch {
	case len(host) > 0 && host[0] == '[':
		if rb := bytes.IndexByte(host, ']'); rb > 0 {
			host, port = sentBy[:rb+1], sentBy[rb+1:]
		}
	case bytes.Count(host, []byte(":")) > 1:
		// An IPv6 address without brackets (seen in real traffic): invalid, and a trailing
		// ":port" can only be told apart when the rest is a whole address.
		err = fmt.Errorf("%w: IPv6 sent-by without brackets %q", ErrBadVia, clip(sentBy))
		port = nil
		if c := bytes.LastIndexByte(host, ':'); c > 0 {
			if _, perr := netip.ParseAddr(string(host[:c])); perr == nil {
				host, port = sentBy[:c], sentBy[c:]
			}
		}
	default:
		if c := bytes.IndexByte(host, ':'); c >= 0 {
			host, port = sentBy[:c], sentBy[c:]
		}
	}
	host = trimLWS(host)
	if len(host) == 0 || indexAny(host, &badSentBy) >= 0 {
		return via, fmt.Errorf("%w: bad sent-by %q", ErrBadVia, clip(sentBy))
	}
	via.Host = host
	if port = trimLWS(port); len(port) > 0 {
		n, ok := atoi(trimLWS(port[1:]))
		if port[0] != ':' || !ok || n > 65535 {
			return via, fmt.Errorf("%w: bad port in %q", ErrBadVia, clip(sentBy))
		}
		via.Port = n
	}
	if err != nil {
		return via, err
	}
	if via.Params != nil {
		if err := checkParams(via.Params); err != nil {
			return via, fmt.Errorf("%w: %w", ErrBadVia, err)
		}
	}
	return via, nil
}

// Param returns a Via parameter (branch, received, rport...); empty for one without a value.
func (v Via) Param(name string) []byte { p, _ := Param(v.Params, name); return p }
