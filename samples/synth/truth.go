package synth

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// Record is one call as `sigtrace calls -o json` reports it; Generate writes one per line.
type Record struct {
	CallID          string  `json:"call_id"`
	Outcome         string  `json:"outcome"`
	FinalStatus     int     `json:"final_status"`
	InviteTime      Time    `json:"invite_time,omitzero"`
	RingingTime     Time    `json:"ringing_time,omitzero"`
	AnswerTime      Time    `json:"answer_time,omitzero"`
	EndTime         Time    `json:"end_time,omitzero"`
	EndReason       string  `json:"end_reason,omitempty"`
	EndedBy         string  `json:"ended_by,omitempty"`
	BillableSeconds float64 `json:"billable_seconds,omitzero"`
	DurationSeconds float64 `json:"duration_seconds,omitzero"`
	PDDSeconds      float64 `json:"pdd_seconds,omitzero"`
	Legs            []Leg   `json:"legs"`
	Events          []Event `json:"events,omitempty"`
}

// Leg is one dialog of a call: the A-leg (role class4) or a class-5 B-leg.
type Leg struct {
	CallID       string `json:"call_id"`
	Role         string `json:"role"`
	ParentCallID string `json:"parent_call_id"`
	From         string `json:"from"`
	To           string `json:"to"`
	Outcome      string `json:"outcome"`
	FinalStatus  int    `json:"final_status"`
	InviteTime   Time   `json:"invite_time,omitzero"`
	AnswerTime   Time   `json:"answer_time,omitzero"`
	EndTime      Time   `json:"end_time,omitzero"`
}

// Event is one mid-call SIP event: dtmf, hold, unhold, refer, transfer or forward.
type Event struct {
	Type   string `json:"type"`
	Time   Time   `json:"time"`
	Leg    string `json:"leg"`
	Digit  string `json:"digit,omitempty"`
	Target string `json:"target,omitempty"`
}

// Time is a capture time that marshals as RFC 3339 in UTC with exactly six fractional digits.
type Time struct{ time.Time }

// TimeLayout is how Time is written.
const TimeLayout = "2006-01-02T15:04:05.000000Z07:00"

func usTime(us int64) Time { return Time{time.UnixMicro(us).UTC()} }

// MarshalJSON writes the time in TimeLayout.
func (t Time) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(TimeLayout)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, TimeLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON reads any RFC 3339 time.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("synth: time: %w", err)
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("synth: time: %w", err)
	}
	t.Time = v
	return nil
}

// ReadTruth reads the NDJSON records Generate wrote.
func ReadTruth(r io.Reader) ([]Record, error) {
	var out []Record
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return out, fmt.Errorf("synth: truth line %d: %w", n, err)
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("synth: truth: %w", err)
	}
	return out, nil
}

// recordWriter appends records as JSON by hand: byte for byte what encoding/json makes of a
// Record (a test holds it to that), at a fraction of the cost, which matters at a million calls.
type recordWriter struct {
	dayStart int64 // µs of the cached day's midnight
	day      []byte
}

func (w *recordWriter) appendRecord(b []byte, r *Record) []byte {
	b = append(b, `{"call_id":`...)
	b = appendString(b, r.CallID)
	b = append(b, `,"outcome":`...)
	b = appendString(b, r.Outcome)
	b = append(b, `,"final_status":`...)
	b = strconv.AppendInt(b, int64(r.FinalStatus), 10)
	b = w.appendTime(b, `,"invite_time":`, r.InviteTime)
	b = w.appendTime(b, `,"ringing_time":`, r.RingingTime)
	b = w.appendTime(b, `,"answer_time":`, r.AnswerTime)
	b = w.appendTime(b, `,"end_time":`, r.EndTime)
	if r.EndReason != "" {
		b = append(b, `,"end_reason":`...)
		b = appendString(b, r.EndReason)
	}
	if r.EndedBy != "" {
		b = append(b, `,"ended_by":`...)
		b = appendString(b, r.EndedBy)
	}
	b = appendFloat(b, `,"billable_seconds":`, r.BillableSeconds)
	b = appendFloat(b, `,"duration_seconds":`, r.DurationSeconds)
	b = appendFloat(b, `,"pdd_seconds":`, r.PDDSeconds)
	b = append(b, `,"legs":`...)
	if r.Legs == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range r.Legs {
			l := &r.Legs[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"call_id":`...)
			b = appendString(b, l.CallID)
			b = append(b, `,"role":`...)
			b = appendString(b, l.Role)
			b = append(b, `,"parent_call_id":`...)
			b = appendString(b, l.ParentCallID)
			b = append(b, `,"from":`...)
			b = appendString(b, l.From)
			b = append(b, `,"to":`...)
			b = appendString(b, l.To)
			b = append(b, `,"outcome":`...)
			b = appendString(b, l.Outcome)
			b = append(b, `,"final_status":`...)
			b = strconv.AppendInt(b, int64(l.FinalStatus), 10)
			b = w.appendTime(b, `,"invite_time":`, l.InviteTime)
			b = w.appendTime(b, `,"answer_time":`, l.AnswerTime)
			b = w.appendTime(b, `,"end_time":`, l.EndTime)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(r.Events) > 0 {
		b = append(b, `,"events":[`...)
		for i := range r.Events {
			e := &r.Events[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"type":`...)
			b = appendString(b, e.Type)
			b = append(b, `,"time":`...)
			b = w.appendTimeValue(b, e.Time)
			b = append(b, `,"leg":`...)
			b = appendString(b, e.Leg)
			if e.Digit != "" {
				b = append(b, `,"digit":`...)
				b = appendString(b, e.Digit)
			}
			if e.Target != "" {
				b = append(b, `,"target":`...)
				b = appendString(b, e.Target)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, "}\n"...)
}

func (w *recordWriter) appendTime(b []byte, key string, t Time) []byte {
	if t.IsZero() {
		return b
	}
	b = append(b, key...)
	return w.appendTimeValue(b, t)
}

// appendTimeValue writes t in TimeLayout, formatting the date only when the day changes.
func (w *recordWriter) appendTimeValue(b []byte, t Time) []byte {
	us := t.UnixMicro()
	if w.day == nil || us < w.dayStart || us >= w.dayStart+86400e6 {
		d := t.UTC()
		mid := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
		w.dayStart = mid.UnixMicro()
		w.day = mid.AppendFormat(w.day[:0], "2006-01-02T")
	}
	b = append(b, '"')
	b = append(b, w.day...)
	s := us - w.dayStart
	b = append2(b, s/3600e6)
	b = append(b, ':')
	b = append2(b, s/60e6%60)
	b = append(b, ':')
	b = append2(b, s/1e6%60)
	b = append(b, '.')
	f := s % 1e6
	for div := int64(100000); div > 0; div /= 10 {
		b = append(b, byte('0'+f/div%10))
	}
	return append(b, `Z"`...)
}

func append2(b []byte, v int64) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

// appendFloat writes key and v as encoding/json does, unless v is zero (omitzero).
func appendFloat(b []byte, key string, v float64) []byte {
	if v == 0 {
		return b
	}
	b = append(b, key...)
	if abs := math.Abs(v); abs < 1e-6 || abs >= 1e21 {
		// encoding/json's exponent form, with a one-digit negative exponent unpadded.
		b = strconv.AppendFloat(b, v, 'e', -1, 64)
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
		return b
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

// appendString writes s as a JSON string with encoding/json's escaping, HTML characters
// included. Non-ASCII strings (never made here, but Record is public) go to encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			j, _ := json.Marshal(s)
			return append(b, j...)
		}
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		default:
			if c < 0x20 || c == '<' || c == '>' || c == '&' {
				b = append(b, `\u00`...)
				b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
			} else {
				b = append(b, c)
			}
		}
	}
	return append(b, '"')
}
