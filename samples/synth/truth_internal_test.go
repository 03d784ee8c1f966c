package synth

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
	"time"
)

// TestRecordWriterMatchesEncodingJSON holds the hand-written encoder to encoding/json's output
// for the same Record, over generated records and over edge cases generation never makes.
func TestRecordWriterMatchesEncodingJSON(t *testing.T) {
	var truth bytes.Buffer
	if _, err := Generate(Config{Calls: 500, Seed: 4, EachAtLeast: 5}, io.Discard, &truth); err != nil {
		t.Fatal(err)
	}
	recs, err := ReadTruth(&truth)
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return Time{v}
	}
	recs = append(recs,
		Record{},
		Record{CallID: "a\"b\\c\n\r\t\b\f\x01<>&", Outcome: "héllo \u2028", Legs: []Leg{}},
		Record{CallID: "x", BillableSeconds: 1e-7, DurationSeconds: 2.5e21, PDDSeconds: -3.25,
			InviteTime: at("1969-12-31T23:59:59.999999Z"), EndTime: at("2026-12-31T23:59:59.000001+02:00"),
			Legs:   []Leg{{CallID: "y", InviteTime: at("2100-02-28T00:00:00Z")}},
			Events: []Event{{Type: "dtmf", Time: at("2026-01-05T09:00:00Z"), Leg: "y", Digit: "#"}}},
	)
	var w recordWriter
	for i := range recs {
		want, err := json.Marshal(&recs[i])
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, '\n')
		if got := w.appendRecord(nil, &recs[i]); !bytes.Equal(got, want) {
			t.Fatalf("record %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func TestTimeJSON(t *testing.T) {
	for _, tc := range []struct {
		us   int64
		want string
	}{
		{0, `"1970-01-01T00:00:00.000000Z"`},
		{1767603600123456, `"2026-01-05T09:00:00.123456Z"`},
		{-1, `"1969-12-31T23:59:59.999999Z"`},
	} {
		b, err := json.Marshal(usTime(tc.us))
		if err != nil || string(b) != tc.want {
			t.Errorf("%d: got %s, %v; want %s", tc.us, b, err, tc.want)
		}
		var back Time
		if err := json.Unmarshal(b, &back); err != nil || back.UnixMicro() != tc.us {
			t.Errorf("%s read back as %v, %v", b, back, err)
		}
	}
	var bad Time
	if err := json.Unmarshal([]byte(`"yesterday"`), &bad); err == nil {
		t.Error("a bad time parsed")
	}
}
