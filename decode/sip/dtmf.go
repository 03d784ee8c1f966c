package sip

import "bytes"

// eventDigits maps RFC 4733 event codes 0-15 to the DTMF characters they stand for.
var eventDigits = [16]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#", "A", "B", "C", "D"}

// DTMFDigit reads the digit of a SIP INFO DTMF body: application/dtmf-relay ("Signal=5\r\n
// Duration=160"), application/dtmf (the digit, or its event code, alone) or audio/telephone-event
// (an RFC 4733 event payload). Digits are 0-9, *, #, A-D; event codes 10-15 are translated.
func DTMFDigit(contentType, body []byte) (digit string, ok bool) {
	mt := MediaType(contentType)
	switch {
	case equalFold(mt, "application/dtmf-relay"):
		return dtmfRelay(body)
	case equalFold(mt, "application/dtmf"):
		if bytes.IndexByte(body, '=') >= 0 {
			// Some phones send the dtmf-relay format under this type.
			return dtmfRelay(body)
		}
		return dtmfSignal(trimLWS(body))
	case equalFold(mt, "audio/telephone-event"):
		if len(body) >= 4 && body[0] < 16 {
			return eventDigits[body[0]], true
		}
	}
	return "", false
}

func dtmfRelay(body []byte) (string, bool) {
	for p := 0; p < len(body); {
		line, next := nextLine(body, p)
		p = next
		eq := bytes.IndexByte(line, '=')
		if eq >= 0 && equalFold(trimLWS(line[:eq]), "Signal") {
			return dtmfSignal(trimLWS(line[eq+1:]))
		}
	}
	return "", false
}

func dtmfSignal(s []byte) (string, bool) {
	if len(s) == 1 {
		c := s[0]
		switch {
		case isDigit(c):
			return eventDigits[c-'0'], true
		case c == '*':
			return "*", true
		case c == '#':
			return "#", true
		case 'A' <= c && c <= 'D':
			return eventDigits[c-'A'+12], true
		case 'a' <= c && c <= 'd':
			return eventDigits[c-'a'+12], true
		}
		return "", false
	}
	if n, ok := atoi(s); ok && n < 16 {
		return eventDigits[n], true
	}
	return "", false
}
