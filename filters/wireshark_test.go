package filters

import "testing"

func TestTranslate(t *testing.T) {
	tests := []struct{ in, out string }{
		{`sip.Status-Code == 486`, `sip.Status_Code == 486`},
		{`diameter.Result-Code >= 3000 and diameter.Session-Id contains "x-y"`, `diameter.Result_Code >= 3000 and diameter.Session_Id contains "x-y"`},
		{`dns contains 33:67:70`, `dns contains hex("33:67:70")`},
		{`ip.src == 10.0.0.0/8 or ip.dst == 192.0.2.1`, `ip.src == "10.0.0.0/8" or ip.dst == "192.0.2.1"`},
		{`payload contains "10.0.0.1" and payload contains 'a-b 00:11'`, `payload contains "10.0.0.1" and payload contains 'a-b 00:11'`},
		{`sip.status in 400..499`, `sip.status in 400..499`},
		{`port == 5060 and frame.time_epoch > 1.5`, `port == 5060 and frame.time_epoch > 1.5`},
		{`x-y`, `x-y`},
		{`ab:cd`, `ab:cd`},
		{"\"unterminated 00:11", "\"unterminated 00:11"},
	}
	for _, tt := range tests {
		if got, _ := translate(tt.in); got != tt.out {
			t.Errorf("translate(%q) = %q, want %q", tt.in, got, tt.out)
		}
	}
}

// TestWiresharkSpelling compiles filters as Wireshark users type them.
func TestWiresharkSpelling(t *testing.T) {
	inv := sipMessage(t, invite, "10.1.2.3:5060", "192.0.2.7:5060")
	resp := sipMessage(t, busy, "192.0.2.7:5060", "10.1.2.3:5060")
	q := dnsMessage(t, srvQuery)
	tests := []struct {
		expr string
		m    *decodeMessage
		want bool
	}{
		{`(diameter and diameter.cmd.code != 280) or (sip and !(sip.Method == "OPTIONS") and !(sip.CSeq.method == "OPTIONS")) or (dns contains 33:67:70:70:6e:65:74:77:6f:72:6b:03:6f:72:67:00)`, q, true},
		{`sip.Status-Code == 486 && sip.Call-ID == "call-1@10.1.2.3"`, resp, true},
		{`sip.User-Agent contains "Phone" and ip.src == 10.0.0.0/8 and ip.dst == 192.0.2.7`, inv, true},
		{`ip.addr == 192.0.2.0/24 and !(tcp.port == 5061)`, resp, true},
	}
	for _, tt := range tests {
		f, err := Compile(tt.expr)
		if err != nil {
			t.Errorf("%s: %v", tt.expr, err)
			continue
		}
		if got := f.MatchMessage(tt.m); got != tt.want {
			t.Errorf("%s = %v", tt.expr, got)
		}
	}
	// Errors after a rewrite still point at what the user wrote.
	_, err := Compile(`dns contains 33:67 and sip.Statuss-Code == 1`)
	fe, ok := err.(*Error)
	if !ok || fe.Column() != 24 || fe.Msg != `unknown field "sip.Statuss-Code" (did you mean "sip.status"?)` {
		t.Errorf("error %v", err)
	}
	_, err = Compile(`ip.src == 10.0.0.0/40`)
	if fe, ok := err.(*Error); !ok || fe.Column() != 11 {
		t.Errorf("error %v", err)
	}
}
