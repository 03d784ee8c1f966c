package synth

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
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
