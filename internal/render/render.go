// Package render writes sigtrace's outputs: NDJSON built by hand (the hot path of large captures
// cannot afford reflection), CSV, and tables that stream (aligned on a terminal, tab-separated in a
// pipe).
package render

import (
	"bufio"
	"encoding/binary"
	"encoding/csv"
	"io"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

// TimeLayout is how sigtrace writes times: RFC 3339, UTC, microseconds.
const TimeLayout = "2006-01-02T15:04:05.000000Z07:00"

// AppendTime appends t in TimeLayout, in UTC, to the nearest microsecond: the call records round
// their times so (a nanosecond capture's 01.588048628 is 01.588049 in every output). It is written
// out by hand because it runs once per message and time.AppendFormat spends most of its time
// interpreting the layout.
func AppendTime(dst []byte, t time.Time) []byte {
	if t.Nanosecond()%1000 != 0 {
		t = t.Round(time.Microsecond)
	}
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	if y < 0 || y > 9999 {
		return t.AppendFormat(dst, TimeLayout)
	}
	dst = appendDigits(dst, y, 4)
	dst = append(dst, '-')
	dst = appendDigits(dst, int(mo), 2)
	dst = append(dst, '-')
	dst = appendDigits(dst, d, 2)
	dst = append(dst, 'T')
	dst = appendDigits(dst, h, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, mi, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, s, 2)
	dst = append(dst, '.')
	dst = appendDigits(dst, t.Nanosecond()/1000, 6)
	return append(dst, 'Z')
}

// appendDigits appends v zero-padded to width digits.
func appendDigits(dst []byte, v, width int) []byte {
	var buf [8]byte
	for i := width - 1; i >= 0; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, buf[:width]...)
}

const hexDigits = "0123456789abcdef"

// safe8 reports whether the eight bytes of x all go into a JSON string as they are: none is a
// control character, '"', '\' or a non-ASCII byte (the "has less" and "has zero" bit tricks).
func safe8(x uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	ctl := (x - lo*0x20) &^ x
	q := x ^ lo*'"'
	q = (q - lo) &^ q
	b := x ^ lo*'\\'
	b = (b - lo) &^ b
	return (x|ctl|q|b)&hi == 0
}

// jsonSafe marks the bytes that go into a JSON string as they are.
var jsonSafe = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// AppendJSONString appends s as a JSON string. Invalid UTF-8 (SIP from the wire can hold anything)
// is replaced by U+FFFD so that the output stays valid JSON.
func AppendJSONString[T ~string | ~[]byte](dst []byte, s T) []byte {
	var b []byte
	switch v := any(s).(type) {
	case []byte:
		b = v
	case string:
		// Read-only view of the string's bytes: no copy on the per-message path.
		b = unsafe.Slice(unsafe.StringData(v), len(v))
	default:
		b = []byte(s)
	}
	return appendJSONBytes(dst, b)
}

func appendJSONBytes(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes at a time while none needs escaping (Call-IDs, numbers, URIs: nearly all).
		if i+8 <= len(s) && safe8(binary.LittleEndian.Uint64(s[i:])) {
			i += 8
			continue
		}
		c := s[i]
		if jsonSafe[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// Column describes one column of a streamed table.
type Column struct {
	Name  string
	Width int // display width on a terminal; longer values overflow rather than being cut
}

// Table streams rows: aligned to fixed widths on a terminal, tab-separated otherwise, so that
// nothing is held back waiting for the widest value.
type Table struct {
	w        *bufio.Writer
	cols     []Column
	terminal bool
	line     []byte
}

// NewTable writes a header line and returns the table.
func NewTable(w *bufio.Writer, terminal bool, cols ...Column) *Table {
	t := &Table{w: w, cols: cols, terminal: terminal}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = strings.ToUpper(c.Name)
	}
	t.Row(names...)
	return t
}

// Row writes one row.
func (t *Table) Row(values ...string) {
	t.line = t.line[:0]
	for i, v := range values {
		if i > 0 {
			if t.terminal {
				t.line = append(t.line, ' ', ' ')
			} else {
				t.line = append(t.line, '\t')
			}
		}
		if !t.terminal {
			v = strings.Map(func(r rune) rune {
				if r == '\t' || r == '\n' || r == '\r' {
					return ' '
				}
				return r
			}, v)
		}
		t.line = append(t.line, v...)
		if t.terminal && i < len(values)-1 && i < len(t.cols) {
			for pad := t.cols[i].Width - utf8.RuneCountInString(v); pad > 0; pad-- {
				t.line = append(t.line, ' ')
			}
		}
	}
	t.line = append(t.line, '\n')
	t.w.Write(t.line)
}

// NewCSV returns a CSV writer that has written the header.
func NewCSV(w io.Writer, header ...string) *csv.Writer {
	c := csv.NewWriter(w)
	c.Write(header)
	return c
}
