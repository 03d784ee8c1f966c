package filters

import (
	"net/netip"
	"strings"
	"unicode"
)

// edit is one rewrite made by translate: at rune offset at of the rewritten text, grow runes were
// added.
type edit struct{ at, grow int }

// translate rewrites the Wireshark spellings expr cannot parse, so that filters pasted from
// Wireshark work: hyphens inside field names (sip.Status-Code becomes sip.Status_Code, matched
// case-insensitively as sip.status_code), byte strings (33:67:70 becomes hex("33:67:70")) and
// bare IPv4 and IPv6 addresses and prefixes (ip.src == 10.0.0.0/8 becomes "10.0.0.0/8",
// ip.addr == 2001:db8::/32 becomes "2001:db8::/32"). Quoted text is
// left alone. It returns the rewritten text and the edits, to map error offsets back.
func translate(src string) (string, []edit) {
	r := []rune(src)
	var out []rune
	var edits []edit
	identChar := func(c rune) bool { return c == '_' || unicode.IsLetter(c) || unicode.IsDigit(c) }
	i := 0
	// wrap copies r[i:j] between before and after, recording what it added, and moves on to j.
	wrap := func(j int, before, after string) {
		edits = append(edits, edit{at: len(out), grow: len(before)})
		out = append(out, []rune(before)...)
		out = append(out, r[i:j]...)
		out = append(out, []rune(after)...)
		edits = append(edits, edit{at: len(out) - len(after), grow: len(after)})
		i = j
	}
	for i < len(r) {
		c := r[i]
		// A byte string (33:67:70, ab:cd:ef) or a bare IPv6 address or prefix (2001:db8::1, ::1,
		// fe80::/10, ::ffff:192.0.2.1), tried before names because either may start with a letter.
		// Two bytes starting with a letter (ab:cd) are left alone: they could be the branches of a
		// ?: expression. A spelling that is both (aa:bb:cc:dd:ee:ff:00:11) is a byte string: the
		// field it is compared with is not known here.
		if (isHex(c) || c == ':') && (i == 0 || !identChar(r[i-1]) && r[i-1] != '.') {
			if j := byteString(r, i); j > 0 && (c <= '9' || j-i > len("ab:cd")) && (j == len(r) || !identChar(r[j]) && r[j] != ':') {
				wrap(j, `hex("`, `")`)
				continue
			}
			if j := ipv6(r, i); j > 0 && (j == len(r) || !identChar(r[j])) {
				wrap(j, `"`, `"`)
				continue
			}
		}
		switch {
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for j < len(r) && r[j] != c {
				if r[j] == '\\' && c != '`' {
					j++
				}
				j++
			}
			j = min(j+1, len(r))
			out = append(out, r[i:j]...)
			i = j
			continue
		case i > 0 && (identChar(r[i-1]) || r[i-1] == '.'):
		case unicode.IsLetter(c) || c == '_':
			// A name: letters, digits, _ and dots; a hyphen between letters belongs to it when the
			// name is dotted (a Wireshark field), since filters have no subtraction.
			j := i
			dotted := false
			for j < len(r) {
				switch {
				case identChar(r[j]):
				case r[j] == '.' && j+1 < len(r) && identChar(r[j+1]):
					dotted = true
				case r[j] == '-' && dotted && j+1 < len(r) && unicode.IsLetter(r[j+1]) && unicode.IsLetter(r[j-1]):
				default:
					goto done
				}
				j++
			}
		done:
			for _, x := range r[i:j] {
				if x == '-' {
					x = '_'
				}
				out = append(out, x)
			}
			i = j
			continue
		case isHex(c):
			if j := ipv4(r, i); j > 0 && (j == len(r) || !identChar(r[j]) && r[j] != '.' && r[j] != ':') {
				wrap(j, `"`, `"`)
				continue
			}
		}
		out = append(out, c)
		i++
	}
	if len(edits) == 0 {
		return strings.Clone(string(out)), nil
	}
	return string(out), edits
}

// original maps a rune offset in translated text back to the text the user wrote.
func original(off int, edits []edit) int {
	shift := 0
	for _, e := range edits {
		switch {
		case off >= e.at+e.grow:
			shift += e.grow
		case off >= e.at:
			return e.at - shift // inside added text: point at where it was added
		}
	}
	return off - shift
}

func isHex(c rune) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// byteString returns the end of "hh:hh[:hh...]" at i (at least two bytes), or 0.
func byteString(r []rune, i int) int {
	n := 0
	for {
		if i+2 > len(r) || !isHex(r[i]) || !isHex(r[i+1]) {
			return 0
		}
		i += 2
		n++
		if i < len(r) && r[i] == ':' {
			i++
			continue
		}
		if n < 2 {
			return 0
		}
		return i
	}
}

// ipv6 returns the end of an IPv6 address or prefix at i (hex digits, colons and dots, at least
// two colons, then an optional "/n"), or 0 when the address does not parse as one.
func ipv6(r []rune, i int) int {
	j, colons := i, 0
	for j < len(r) && (isHex(r[j]) || r[j] == ':' || r[j] == '.') {
		if r[j] == ':' {
			colons++
		}
		j++
	}
	if colons < 2 {
		return 0
	}
	if _, err := netip.ParseAddr(string(r[i:j])); err != nil {
		return 0
	}
	// The prefix length is taken whatever its value, as for IPv4: the compiler says what is
	// wrong with it.
	if j < len(r) && r[j] == '/' {
		k := j + 1
		for k < len(r) && r[k] >= '0' && r[k] <= '9' {
			k++
		}
		if k > j+1 {
			return k
		}
	}
	return j
}

// ipv4 returns the end of "d.d.d.d[/n]" at i, or 0.
func ipv4(r []rune, i int) int {
	digits := func() bool {
		n := 0
		for i < len(r) && r[i] >= '0' && r[i] <= '9' && n < 3 {
			i++
			n++
		}
		return n > 0
	}
	for k := 0; k < 4; k++ {
		if k > 0 {
			if i >= len(r) || r[i] != '.' {
				return 0
			}
			i++
		}
		if !digits() {
			return 0
		}
	}
	if i < len(r) && r[i] == '/' {
		i++
		if !digits() {
			return 0
		}
	}
	return i
}
