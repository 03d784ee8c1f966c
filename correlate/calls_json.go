package correlate

import (
	"strconv"
	"time"

	"github.com/sigtrace/sigtrace/internal/render"
)

// AppendJSON appends the call record as one JSON object (no newline): call_id, outcome,
// final_status, invite_time, ringing_time, answer_time, end_time, end_reason, ended_by,
// billable_seconds, duration_seconds, pdd_seconds, legs, events, and evicted when set. Times are
// RFC 3339 UTC with microseconds; absent times, zero numbers and empty strings are omitted.
func (c *Call) AppendJSON(b []byte) []byte {
	var tw timeWriter
	b = append(b, `{"call_id":`...)
	b = render.AppendJSONString(b, c.CallID)
	b = jsonStr(b, "outcome", string(c.Outcome))
	b = jsonInt(b, "final_status", c.FinalStatus)
	b = tw.field(b, "invite_time", c.InviteTime)
	b = tw.field(b, "ringing_time", c.RingingTime)
	b = tw.field(b, "answer_time", c.AnswerTime)
	b = tw.field(b, "end_time", c.EndTime)
	b = jsonStr(b, "end_reason", c.EndReason)
	b = jsonStr(b, "ended_by", c.EndedBy)
	b = jsonSeconds(b, "billable_seconds", c.BillableSeconds())
	b = jsonSeconds(b, "duration_seconds", c.DurationSeconds())
	b = jsonSeconds(b, "pdd_seconds", c.PDDSeconds())
	b = append(b, `,"legs":[`...)
	for i := range c.Legs {
		if i > 0 {
			b = append(b, ',')
		}
		b = c.Legs[i].appendJSON(b, &tw)
	}
	b = append(b, ']')
	if len(c.Events) > 0 {
		b = append(b, `,"events":[`...)
		for i := range c.Events {
			if i > 0 {
				b = append(b, ',')
			}
			b = c.Events[i].appendJSON(b, &tw)
		}
		b = append(b, ']')
	}
	if c.Evicted {
		b = append(b, `,"evicted":true`...)
	}
	return append(b, '}')
}

func (l *Leg) appendJSON(b []byte, tw *timeWriter) []byte {
	b = append(b, `{"call_id":`...)
	b = render.AppendJSONString(b, l.CallID)
	b = jsonStr(b, "role", string(l.Role))
	b = jsonStr(b, "parent_call_id", l.ParentCallID)
	b = jsonStr(b, "link", l.Link)
	b = append(b, `,"hops":[`...)
	for i, h := range l.Hops {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"src":"`...)
		b = h.Src.AppendTo(b)
		b = append(b, `","dst":"`...)
		b = h.Dst.AppendTo(b)
		b = append(b, `","transport":"`...)
		b = append(b, h.Transport.String()...)
		b = append(b, `"}`...)
	}
	b = append(b, ']')
	b = jsonStr(b, "from", l.From)
	b = jsonStr(b, "to", l.To)
	b = jsonStr(b, "request_uri", l.RequestURI)
	b = jsonStr(b, "outcome", string(l.Outcome))
	b = jsonInt(b, "final_status", l.FinalStatus)
	b = tw.field(b, "invite_time", l.InviteTime)
	b = tw.field(b, "ringing_time", l.RingingTime)
	b = tw.field(b, "answer_time", l.AnswerTime)
	b = tw.field(b, "end_time", l.EndTime)
	b = jsonStr(b, "end_reason", l.EndReason)
	b = jsonStr(b, "ended_by", l.EndedBy)
	b = jsonInt(b, "messages", l.Messages)
	b = jsonInt(b, "transactions", l.Transactions)
	b = jsonInt(b, "retransmissions", l.Retransmissions)
	if l.EarlyDialogs > 1 {
		b = jsonInt(b, "early_dialogs", l.EarlyDialogs)
	}
	if l.Partial {
		b = append(b, `,"partial":true`...)
	}
	b = jsonInt(b, "frame", l.Frame)
	return append(b, '}')
}

func (e *CallEvent) appendJSON(b []byte, tw *timeWriter) []byte {
	b = append(b, `{"type":`...)
	b = render.AppendJSONString(b, string(e.Type))
	b = tw.field(b, "time", e.Time)
	b = jsonStr(b, "leg", e.Leg)
	b = jsonInt(b, "frame", e.Frame)
	b = jsonStr(b, "digit", e.Digit)
	b = jsonStr(b, "source", e.Source)
	b = jsonStr(b, "target", e.Target)
	b = jsonInt(b, "status", e.Status)
	b = jsonInt(b, "result", e.Result)
	b = jsonStr(b, "from_leg", e.FromLeg)
	return append(b, '}')
}

func jsonStr(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return render.AppendJSONString(b, v)
}

func jsonInt(b []byte, name string, v int) []byte {
	if v == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return strconv.AppendInt(b, int64(v), 10)
}

// timeWriter writes times as render.AppendTime does (RFC 3339 UTC, to the microsecond), working out the
// date only when the day changes: the times of one call fall on one day, or two.
type timeWriter struct {
	day   int64 // Unix day of date
	date  [11]byte
	valid bool // date holds "YYYY-MM-DDT" of day
}

// field appends ,"name":"time", or nothing for the zero time.
func (w *timeWriter) field(b []byte, name string, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, `":"`...)
	b = w.append(b, t)
	return append(b, '"')
}

func (w *timeWriter) append(b []byte, t time.Time) []byte {
	// The correlator's own times are whole microseconds already; a Call built elsewhere may carry
	// nanoseconds, written to the nearest microsecond as render.AppendTime writes them.
	t = roundMicro(t)
	sec := t.Unix()
	day, s := sec/86400, sec%86400
	if s < 0 {
		day, s = day-1, s+86400
	}
	if !w.valid || day != w.day {
		start := len(b)
		b = render.AppendTime(b, t)
		w.day = day
		// Years outside 0-9999 are written another way: nothing to reuse.
		if y := t.UTC().Year(); y >= 0 && y <= 9999 {
			copy(w.date[:], b[start:])
			w.valid = true
		} else {
			w.valid = false
		}
		return b
	}
	b = append(b, w.date[:]...)
	b = append2(b, int(s/3600))
	b = append(b, ':')
	b = append2(b, int(s/60%60))
	b = append(b, ':')
	b = append2(b, int(s%60))
	b = append(b, '.')
	us := t.Nanosecond() / 1000
	b = append(b, byte('0'+us/100000), byte('0'+us/10000%10), byte('0'+us/1000%10),
		byte('0'+us/100%10), byte('0'+us/10%10), byte('0'+us%10))
	return append(b, 'Z')
}

// append2 appends v (0-99) as two digits.
func append2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

// jsonSeconds writes seconds with at most six decimals (times are kept to the microsecond).
func jsonSeconds(b []byte, name string, v float64) []byte {
	if v == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}
