package diameter

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/sigtrace/sigtrace/internal/corpus"
)

// TestDecodeCaptures decodes every Diameter message of the sample captures. Every one must decode
// without error, with a known command and the identifiers the header and AVPs carry; where tshark is
// installed, each message must agree with its dissection field by field, down to the depth-first list
// of AVP codes (which checks the AVP framing and which AVPs are grouped).
func TestDecodeCaptures(t *testing.T) {
	for _, name := range diameterCaptures {
		t.Run(name[strings.LastIndex(name, "/")+1:], func(t *testing.T) {
			t.Parallel() // tshark spends a second starting up for each capture
			path := corpus.Path(t, name)
			captured := diameterMessages(t, path)
			if len(captured) == 0 {
				t.Fatal("no Diameter message found")
			}
			decoded := make([]*Message, len(captured))
			for i, c := range captured {
				if !Looks(c.data) {
					t.Errorf("frame %d does not look like Diameter", c.frame)
				}
				m, err := Decode(c.data)
				if err != nil {
					t.Fatalf("frame %d: %v", c.frame, err)
				}
				if m.Command == "" || m.CommandShort == "" {
					t.Errorf("frame %d: command %d of application %d has no name", c.frame, m.CommandCode, m.ApplicationID)
				}
				if m.OriginHost == "" {
					t.Errorf("frame %d: %s without Origin-Host", c.frame, m.Name())
				}
				if !m.Flags.Request && m.Result() == 0 {
					t.Errorf("frame %d: %s without a result", c.frame, m.Name())
				}
				decoded[i] = m
			}
			compareTshark(t, path, captured, decoded)
		})
	}
}

func compareTshark(t *testing.T, path string, captured []capturedMessage, decoded []*Message) {
	if testing.Short() {
		return
	}
	want := runTshark(t, path)
	if len(want) != len(decoded) {
		t.Fatalf("tshark finds %d Diameter messages, the extraction %d", len(want), len(decoded))
	}
	for i, w := range want {
		m := decoded[i]
		got := tsharkDiameter{
			frame:     captured[i].frame,
			cmd:       strconv.FormatUint(uint64(m.CommandCode), 10),
			request:   map[bool]string{true: "1", false: "0"}[m.Flags.Request],
			app:       strconv.FormatUint(uint64(m.ApplicationID), 10),
			hbh:       fmt.Sprintf("0x%08x", m.HopByHop),
			e2e:       fmt.Sprintf("0x%08x", m.EndToEnd),
			session:   m.SessionID,
			origin:    m.OriginHost,
			avpCodes:  strings.Join(avpCodes(m.AVPs, nil), tsharkAggregator),
			result:    uintField(m.ResultCode),
			expResult: uintField(m.ExperimentalResultCode),
		}
		if got != w {
			t.Errorf("message %d:\n got %+v\nwant %+v (tshark)", i, got, w)
		}
	}
}

func uintField(v uint32) string {
	if v == 0 {
		return ""
	}
	return strconv.FormatUint(uint64(v), 10)
}
