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
		{`ip.addr == 2001:db8::1 or ip.src in [::1, fe80::/10, ::ffff:192.0.2.1]`, `ip.addr == "2001:db8::1" or ip.src in ["::1", "fe80::/10", "::ffff:192.0.2.1"]`},
		{`ip.dst==2001:DB8:0:0:0:0:0:1&&port==5060`, `ip.dst=="2001:DB8:0:0:0:0:0:1"&&port==5060`},
		{`00:11:22:33:44:55:66:77`, `hex("00:11:22:33:44:55:66:77")`}, // a byte string first
		{`aa:bb:cc:dd:ee:ff:00:11`, `hex("aa:bb:cc:dd:ee:ff:00:11")`},
		{`payload contains ab:cd:ef`, `payload contains hex("ab:cd:ef")`},
		{`x ? a:b`, `x ? a:b`},
		{`ip.src == fe80::1g`, `ip.src == fe80::1g`},
		{`sip.call_id contains "2001:db8::1"`, `sip.call_id contains "2001:db8::1"`},
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
	inv6 := sipMessage(t, invite, "[2001:db8:5::10]:5060", "[fe80::21a:a0ff:fe07:32e0]:5060")
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
		{`ip.src == 2001:db8:5::10 && ip.dst == fe80::/10`, inv6, true},
		{`ip.src in [2001:db8:5::/48, 10.0.0.0/8] and ip.dst == FE80::21A:A0FF:FE07:32E0`, inv6, true},
		{`ip.addr == ::1 or ip.addr == 2001:db8::/32`, resp, false},
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
	for _, expr := range []string{`ip.src == 10.0.0.0/40`, `ip.src == fe80::/129`} {
		_, err = Compile(expr)
		if fe, ok := err.(*Error); !ok || fe.Column() != 11 {
			t.Errorf("%s: error %v", expr, err)
		}
	}
}
