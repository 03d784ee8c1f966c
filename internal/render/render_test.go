package render

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestAppendJSONStringIsValidJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "ctl\x01\x1f\n\r\t", "utf8 é ☎", "bad \xff\xfe utf8", "<sip:a@b>;tag=1"} {
		out := AppendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%q -> %s: %v", s, out, err)
		}
		want, _ := json.Marshal(s) // encoding/json also replaces invalid UTF-8 with U+FFFD
		var w string
		json.Unmarshal(want, &w)
		if got != w {
			t.Errorf("%q: got %q want %q", s, got, w)
		}
		if b := AppendJSONString(nil, []byte(s)); !bytes.Equal(b, out) {
			t.Errorf("bytes and string differ for %q: %s vs %s", s, b, out)
		}
	}
}

func TestAppendTime(t *testing.T) {
	tm := time.Date(2026, 11, 23, 12, 0, 1, 123456789, time.FixedZone("x", 3600))
	if got := string(AppendTime(nil, tm)); got != "2026-11-23T11:00:01.123457Z" {
		t.Fatal(got)
	}
	// Agrees with the standard library across dates, including leap days and year ends (and a
	// rounding that carries into the next second, day and year).
	for _, u := range []int64{0, 951782400, 1709164800, 1735689599, 4102444800, 253402300798} {
		for _, ns := range []int64{0, 499, 500, 999, 1000, 123456499, 999999499, 999999500, 999999999} {
			tm := time.Unix(u, ns)
			if got, want := string(AppendTime(nil, tm)), tm.Round(time.Microsecond).UTC().Format(TimeLayout); got != want {
				t.Errorf("%d.%09d: %s, want %s", u, ns, got, want)
			}
		}
	}
}

func TestTable(t *testing.T) {
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	tb := NewTable(w, true, Column{"a", 4}, Column{"b", 3})
	tb.Row("x", "y")
	w.Flush()
	if got := b.String(); got != "A     B\nx     y\n" {
		t.Fatalf("%q", got)
	}
	b.Reset()
	tb = NewTable(w, false, Column{"a", 4}, Column{"b", 3})
	tb.Row("x\ty", "z")
	w.Flush()
	if got := b.String(); got != "A\tB\nx y\tz\n" {
		t.Fatalf("%q", got)
	}
}

// TestAppendJSONStringEveryByte puts every byte value at every place of a 17-byte string (so that
// each falls in the eight-byte fast path's words and in the tail) and checks the output against
// encoding/json: valid, and the same string once decoded.
func TestAppendJSONStringEveryByte(t *testing.T) {
	for c := 0; c < 256; c++ {
		for p := 0; p < 17; p++ {
			s := []byte("abcdefghijklmnopq")
			s[p] = byte(c)
			out := AppendJSONString(nil, s)
			var got, want string
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("byte %#x at %d -> %s: %v", c, p, out, err)
			}
			w, _ := json.Marshal(string(s))
			json.Unmarshal(w, &want)
			if got != want {
				t.Fatalf("byte %#x at %d: got %q want %q", c, p, got, want)
			}
		}
	}
}

// FuzzAppendJSONString: any bytes give a JSON string that reads back as encoding/json reads the
// same bytes (invalid UTF-8 as U+FFFD), whichever path (eight bytes at a time or one) took them.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"plain-call-id@192.0.2.1", "quote\" back\\slash 12345678", "ctl\x01\x1f\n\r\t", "utf8 é ☎ 0123456789", "bad \xff\xfe utf8", "<sip:+15551234567@192.0.2.1:5060>;tag=1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		out := AppendJSONString([]byte("x"), s)[1:]
		var got, want string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%q -> %s: %v", s, out, err)
		}
		w, _ := json.Marshal(string(s))
		json.Unmarshal(w, &want)
		if got != want {
			t.Fatalf("%q: got %q want %q", s, got, want)
		}
	})
}
