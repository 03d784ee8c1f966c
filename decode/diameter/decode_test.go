package diameter

import (
	"encoding/json"
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
)

const (
	appCx  = 16777216
	appSh  = 16777217
	appSGd = 16777313
	vM     = avp.Mbit | avp.Vbit
)

// build serialises a message made with go-diameter, the way a peer would send it.
func build(t testing.TB, m *diam.Message) []byte {
	t.Helper()
	b, err := m.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func baseAVPs(m *diam.Message, app uint32) {
	m.NewAVP(avp.SessionID, avp.Mbit, 0, datatype.UTF8String("icscf.ims.example;1;42"))
	m.NewAVP(avp.VendorSpecificApplicationID, avp.Mbit, 0, &diam.GroupedAVP{AVP: []*diam.AVP{
		diam.NewAVP(avp.VendorID, avp.Mbit, 0, datatype.Unsigned32(vendor3GPP)),
		diam.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(app)),
	}})
	m.NewAVP(avp.AuthSessionState, avp.Mbit, 0, datatype.Enumerated(1))
	m.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity("icscf.ims.example"))
	m.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity("ims.example"))
}

func decodeOK(t *testing.T, b []byte) *Message {
	t.Helper()
	m, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// wantAVP checks name, value and enum name of the first AVP with this code and vendor.
func wantAVP(t *testing.T, m *Message, code, vendor uint32, name, value, enum string) {
	t.Helper()
	a := m.Find(code, vendor)
	if a == nil {
		t.Fatalf("%s: AVP %d/%d missing", m.Name(), code, vendor)
	}
	if a.Name != name || a.Value != value || a.Enum != enum || a.Error != "" {
		t.Errorf("%s: AVP %d/%d = %q %q %q (error %q), want %q %q %q", m.Name(), code, vendor,
			a.Name, a.Value, a.Enum, a.Error, name, value, enum)
	}
}

func TestCxUserAuthorization(t *testing.T) {
	req := diam.NewRequest(300, appCx, nil)
	baseAVPs(req, appCx)
	req.NewAVP(avp.DestinationRealm, avp.Mbit, 0, datatype.DiameterIdentity("ims.example"))
	req.NewAVP(avp.UserName, avp.Mbit, 0, datatype.UTF8String("alice@ims.example"))
	req.NewAVP(601, vM, vendor3GPP, datatype.UTF8String("sip:alice@ims.example"))
	req.NewAVP(600, vM, vendor3GPP, datatype.OctetString("ims.example"))
	req.NewAVP(623, vM, vendor3GPP, datatype.Enumerated(2))

	m := decodeOK(t, build(t, req))
	if m.Command != "User-Authorization" || m.CommandShort != "UAR" || m.Application != "Cx" || !m.Flags.Request {
		t.Errorf("got %q %q %q request=%v", m.Command, m.CommandShort, m.Application, m.Flags.Request)
	}
	if m.PublicIdentity != "sip:alice@ims.example" || m.UserName != "alice@ims.example" ||
		m.SessionID != "icscf.ims.example;1;42" || m.DestinationRealm != "ims.example" {
		t.Errorf("identifiers: %+v", m)
	}
	wantAVP(t, m, 601, vendor3GPP, "Public-Identity", "sip:alice@ims.example", "")
	wantAVP(t, m, 600, vendor3GPP, "Visited-Network-Identifier", "ims.example", "")
	wantAVP(t, m, 623, vendor3GPP, "User-Authorization-Type", "2", "REGISTRATION_AND_CAPABILITIES")
	wantAVP(t, m, 258, 0, "Auth-Application-Id", "16777216", "")
	if vsa := m.Find(260, 0); vsa == nil || vsa.Name != "Vendor-Specific-Application-Id" || len(vsa.AVPs) != 2 {
		t.Errorf("Vendor-Specific-Application-Id: %+v", vsa)
	}

	ans := req.Answer(0)
	ans.NewAVP(avp.SessionID, avp.Mbit, 0, datatype.UTF8String("icscf.ims.example;1;42"))
	ans.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity("hss.ims.example"))
	ans.NewAVP(avp.ExperimentalResult, avp.Mbit, 0, &diam.GroupedAVP{AVP: []*diam.AVP{
		diam.NewAVP(avp.VendorID, avp.Mbit, 0, datatype.Unsigned32(vendor3GPP)),
		diam.NewAVP(avp.ExperimentalResultCode, avp.Mbit, 0, datatype.Unsigned32(2001)),
	}})
	ans.NewAVP(602, vM, vendor3GPP, datatype.UTF8String("sip:scscf.ims.example:6060"))
	a := decodeOK(t, build(t, ans))
	if a.CommandShort != "UAA" || a.Flags.Request || a.HopByHop != m.HopByHop || a.EndToEnd != m.EndToEnd {
		t.Errorf("answer: %q request=%v ids %x/%x, request ids %x/%x", a.CommandShort, a.Flags.Request,
			a.HopByHop, a.EndToEnd, m.HopByHop, m.EndToEnd)
	}
	if a.ResultCode != 0 || a.ExperimentalResultCode != 2001 || a.ExperimentalResultVendorID != vendor3GPP || a.Result() != 2001 {
		t.Errorf("result %d, experimental %d vendor %d", a.ResultCode, a.ExperimentalResultCode, a.ExperimentalResultVendorID)
	}
	wantAVP(t, a, 602, vendor3GPP, "Server-Name", "sip:scscf.ims.example:6060", "")
	wantAVP(t, a, 298, 0, "Experimental-Result-Code", "2001", "")
}

func TestShUserData(t *testing.T) {
	req := diam.NewRequest(306, appSh, nil)
	baseAVPs(req, appSh)
	req.NewAVP(700, vM, vendor3GPP, &diam.GroupedAVP{AVP: []*diam.AVP{
		diam.NewAVP(601, vM, vendor3GPP, datatype.UTF8String("sip:bob@ims.example")),
	}})
	req.NewAVP(703, vM, vendor3GPP, datatype.Enumerated(0))
	req.NewAVP(704, vM, vendor3GPP, datatype.OctetString("mmtel"))
	m := decodeOK(t, build(t, req))
	if m.Command != "User-Data" || m.CommandShort != "UDR" || m.Application != "Sh" {
		t.Errorf("got %q %q %q", m.Command, m.CommandShort, m.Application)
	}
	if m.PublicIdentity != "sip:bob@ims.example" {
		t.Errorf("Public-Identity inside User-Identity: got %q", m.PublicIdentity)
	}
	if ui := m.Find(700, vendor3GPP); ui == nil || ui.Name != "User-Identity" || ui.Type != "Grouped" || len(ui.AVPs) != 1 {
		t.Errorf("User-Identity: %+v", ui)
	}
	wantAVP(t, m, 703, vendor3GPP, "Data-Reference", "0", "RepositoryData")
	wantAVP(t, m, 704, vendor3GPP, "Service-Indication", "mmtel", "")

	ans := req.Answer(2001)
	const shData = "<?xml version=\"1.0\"?>\n<Sh-Data><RepositoryData/></Sh-Data>"
	ans.NewAVP(702, vM, vendor3GPP, datatype.OctetString(shData))
	a := decodeOK(t, build(t, ans))
	if a.CommandShort != "UDA" || a.ResultCode != 2001 {
		t.Errorf("answer %q result %d", a.CommandShort, a.ResultCode)
	}
	wantAVP(t, a, 702, vendor3GPP, "User-Data", shData, "")
}

func TestSGdMTForwardShortMessage(t *testing.T) {
	req := diam.NewRequest(8388646, appSGd, nil)
	baseAVPs(req, appSGd)
	req.NewAVP(avp.UserName, avp.Mbit, 0, datatype.UTF8String("001010123456789"))
	// SC-Address 4477009001234 in TBCD, the odd digit count filled with 0xf.
	req.NewAVP(3300, vM, vendor3GPP, datatype.OctetString([]byte{0x44, 0x77, 0x00, 0x09, 0x10, 0x32, 0xf4}))
	req.NewAVP(3301, vM, vendor3GPP, datatype.OctetString([]byte{0x04, 0x0b, 0x91, 0x44, 0x77}))
	req.NewAVP(3306, vM, vendor3GPP, datatype.Unsigned32(300))
	start := time.Date(2024, 5, 17, 10, 20, 30, 0, time.UTC)
	req.NewAVP(3307, vM, vendor3GPP, datatype.Time(start))
	req.NewAVP(3302, avp.Vbit, vendor3GPP, datatype.Unsigned32(1))

	m := decodeOK(t, build(t, req))
	if m.Command != "MT-Forward-Short-Message" || m.CommandShort != "TFR" || m.Application != "SGd" {
		t.Errorf("got %q %q %q", m.Command, m.CommandShort, m.Application)
	}
	wantAVP(t, m, 3300, vendor3GPP, "SC-Address", "4477009001234", "")
	wantAVP(t, m, 3301, vendor3GPP, "SM-RP-UI", "0x040b914477", "")
	wantAVP(t, m, 3306, vendor3GPP, "SM-Delivery-Timer", "300", "")
	wantAVP(t, m, 3307, vendor3GPP, "SM-Delivery-Start-Time", "2024-05-17T10:20:30Z", "")
	wantAVP(t, m, 3302, vendor3GPP, "TFR-Flags", "1", "")
	if f := m.Find(3302, vendor3GPP).Flags; !f.Vendor() || f.Mandatory() || f.String() != "V" {
		t.Errorf("TFR-Flags flags %v", f)
	}

	ofa := diam.NewMessage(8388645, 0, appSGd, 7, 8, nil)
	ofa.NewAVP(avp.ResultCode, avp.Mbit, 0, datatype.Unsigned32(5001))
	a := decodeOK(t, build(t, ofa))
	if a.Command != "MO-Forward-Short-Message" || a.CommandShort != "OFA" || a.ResultCode != 5001 {
		t.Errorf("OFA: %q %q %d", a.Command, a.CommandShort, a.ResultCode)
	}
}

// An application and AVPs no dictionary knows must still decode, generically.
func TestUnknownApplicationAndAVPs(t *testing.T) {
	const app, code = 16777999, 8388999
	m := diam.NewRequest(code, app, nil)
	m.NewAVP(avp.SessionID, avp.Mbit, 0, datatype.UTF8String("x;1"))
	m.NewAVP(4242, avp.Vbit|avp.Mbit, 99999, datatype.OctetString([]byte{0xde, 0xad, 0xbe, 0xef, 0x01}))
	m.NewAVP(65000, 0, 0, datatype.OctetString("text"))
	m.NewAVP(4243, avp.Vbit, 99999, &diam.GroupedAVP{AVP: []*diam.AVP{
		diam.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity("inner")),
	}})
	got := decodeOK(t, build(t, m))
	if got.Command != "" || got.CommandShort != "" || got.Application != "" || got.Name() != "8388999R" {
		t.Errorf("unknown command: %q %q %q %q", got.Command, got.CommandShort, got.Application, got.Name())
	}
	if got.SessionID != "x;1" || got.AVPs[0].Name != "Session-Id" {
		t.Errorf("base AVPs in an unknown application lose their names: %+v", got.AVPs[0])
	}
	want := []AVP{
		{Code: 263, Flags: avp.Mbit, Name: "Session-Id", Type: "UTF8String", Value: "x;1"},
		{Code: 4242, VendorID: 99999, Flags: avp.Vbit | avp.Mbit, Type: "Unknown", Value: "0xdeadbeef01"},
		{Code: 65000, Type: "Unknown", Value: "0x74657874"},
		// An unknown AVP is opaque even when it happens to be grouped.
		{Code: 4243, VendorID: 99999, Flags: avp.Vbit, Type: "Unknown", Value: "0x000001084000000d696e6e6572000000"},
	}
	if !reflect.DeepEqual(got.AVPs, want) {
		t.Errorf("AVPs:\n got %+v\nwant %+v", got.AVPs, want)
	}

	// A known command under an unknown application keeps its IANA name.
	ulr := decodeOK(t, build(t, diam.NewRequest(316, app, nil)))
	if ulr.CommandShort != "ULR" {
		t.Errorf("command 316 in application %d: %q", app, ulr.CommandShort)
	}
}

func TestValues(t *testing.T) {
	m := diam.NewMessage(257, 0, 0, 1, 2, nil)
	m.NewAVP(avp.HostIPAddress, avp.Mbit, 0, datatype.Address(net.ParseIP("192.0.2.7")))
	m.NewAVP(avp.HostIPAddress, avp.Mbit, 0, datatype.Address(net.ParseIP("2001:db8::1")))
	m.NewAVP(avp.EventTimestamp, avp.Mbit, 0, datatype.Time(time.Date(2036, 2, 8, 6, 28, 17, 0, time.UTC)))
	m.NewAVP(avp.CCRequestType, avp.Mbit, 0, datatype.Enumerated(9))
	m.NewAVP(avp.ResultCode, avp.Mbit, 0, datatype.OctetString([]byte{1, 2, 3}))   // 3 bytes for an Unsigned32
	m.NewAVP(avp.OriginStateID, avp.Mbit, 0, datatype.Unsigned32(4294967295))      // Unsigned32 max
	m.NewAVP(567, avp.Vbit, vendor3GPP, datatype.Float32(0.25))                    // Desired-Max-Latency
	m.NewAVP(1407, vM, vendor3GPP, datatype.OctetString([]byte{0x00, 0xf1, 0x10})) // Visited-PLMN-Id
	m.NewAVP(701, vM, vendor3GPP, datatype.OctetString([]byte{0x94, 0x71, 0x21, 0x43, 0xf5}))
	m.NewAVP(2805, avp.Vbit, vendor3GPP, datatype.Address(net.ParseIP("198.51.100.1"))) // vendor-id missing in go-diameter's dictionary
	got := decodeOK(t, build(t, m))
	want := []struct{ name, value, enum, err string }{
		{"Host-IP-Address", "192.0.2.7", "", ""},
		{"Host-IP-Address", "2001:db8::1", "", ""},
		{"Event-Timestamp", "2036-02-08T06:28:17Z", "", ""},
		{"CC-Request-Type", "9", "", ""},
		{"Result-Code", "0x010203", "", "3 bytes, want 4"},
		{"Origin-State-Id", "4294967295", "", ""},
		{"Desired-Max-Latency", "0.25", "", ""},
		{"Visited-PLMN-Id", "001-01", "", ""},
		{"MSISDN", "491712345", "", ""},
		{"UE-Local-IP-Address", "198.51.100.1", "", ""},
	}
	if len(got.AVPs) != len(want) {
		t.Fatalf("%d AVPs, want %d", len(got.AVPs), len(want))
	}
	for i, w := range want {
		a := got.AVPs[i]
		if a.Name != w.name || a.Value != w.value || a.Enum != w.enum || a.Error != w.err {
			t.Errorf("AVP %d: got %q %q %q %q, want %+v", i, a.Name, a.Value, a.Enum, a.Error, w)
		}
	}
	if got.ResultCode != 0 {
		t.Errorf("a malformed Result-Code gave %d", got.ResultCode)
	}
}

func TestDecodeErrors(t *testing.T) {
	good := diam.NewRequest(272, 4, nil)
	good.NewAVP(avp.SessionID, avp.Mbit, 0, datatype.UTF8String("s;1"))
	good.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity("pcef"))
	good.NewAVP(avp.CCRequestNumber, avp.Mbit, 0, datatype.Unsigned32(0))
	b := build(t, good)

	badAVP := append([]byte(nil), b...)
	badAVP[HeaderLength+7] = 0xff // Session-Id claims 255 bytes
	v2 := append([]byte(nil), b...)
	v2[0] = 2
	short := append([]byte(nil), b...)
	short[3] = 12

	for _, tc := range []struct {
		name    string
		in      []byte
		wantErr error
		avps    int // decoded AVPs, -1 when no message comes back
	}{
		{"whole", b, nil, 3},
		{"trailing bytes ignored", append(append([]byte(nil), b...), 1, 2, 3), nil, 3},
		{"truncated", b[:len(b)-6], ErrTruncated, 3},
		{"truncated in an AVP header", b[:HeaderLength+4], ErrTruncated, 1},
		{"AVP overruns", badAVP, ErrBadAVP, 1},
		{"version 2", v2, ErrNotDiameter, -1},
		{"length below header", short, ErrNotDiameter, -1},
		{"too short", b[:19], ErrNotDiameter, -1},
		{"empty", nil, ErrNotDiameter, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(tc.in)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "diameter: ") {
				t.Errorf("error %q does not name its place", err)
			}
			if tc.avps < 0 {
				if m != nil {
					t.Errorf("message returned with %v", err)
				}
				return
			}
			if m == nil || len(m.AVPs) != tc.avps {
				t.Fatalf("got %v, want %d AVPs", m, tc.avps)
			}
			if m.CommandShort != "CCR" || m.HopByHop != good.Header.HopByHopID {
				t.Errorf("header: %q %x", m.CommandShort, m.HopByHop)
			}
			if err != nil && m.AVPs[len(m.AVPs)-1].Error == "" && !errors.Is(err, ErrTruncated) {
				t.Errorf("the undecodable rest carries no error: %+v", m.AVPs[len(m.AVPs)-1])
			}
		})
	}

	m := decodeOK(t, b)
	if m.CCRequestNumber == nil || *m.CCRequestNumber != 0 {
		t.Errorf("CC-Request-Number 0 lost: %v", m.CCRequestNumber)
	}
}

// Grouped AVPs whose payload does not frame as AVPs keep their bytes and say so, without failing the
// message (a dictionary may call grouped what a vendor encodes otherwise).
func TestGroupedThatIsNot(t *testing.T) {
	m := diam.NewMessage(280, 0, 0, 1, 2, nil)
	m.NewAVP(avp.ProxyInfo, avp.Mbit, 0, datatype.OctetString("not AVPs at all"))
	got := decodeOK(t, build(t, m))
	a := got.AVPs[0]
	if a.Name != "Proxy-Info" || a.Type != "Grouped" || a.Error == "" || a.Value != hexValue([]byte("not AVPs at all")) {
		t.Errorf("got %+v", a)
	}
}

func TestNestingLimit(t *testing.T) {
	inner := diam.NewAVP(avp.ProxyHost, avp.Mbit, 0, datatype.DiameterIdentity("p"))
	for i := 0; i < maxDepth+4; i++ {
		inner = diam.NewAVP(avp.ProxyInfo, avp.Mbit, 0, &diam.GroupedAVP{AVP: []*diam.AVP{inner}})
	}
	m := diam.NewMessage(280, 0, 0, 1, 2, nil)
	m.AddAVP(inner)
	got := decodeOK(t, build(t, m))
	depth, a := 0, &got.AVPs[0]
	for len(a.AVPs) == 1 {
		a, depth = &a.AVPs[0], depth+1
	}
	if depth != maxDepth-1 || a.Error == "" || a.Value == "" {
		t.Errorf("stopped at depth %d with %+v", depth, *a)
	}
}

func TestJSON(t *testing.T) {
	req := diam.NewRequest(300, appCx, nil)
	baseAVPs(req, appCx)
	req.NewAVP(601, vM, vendor3GPP, datatype.UTF8String("sip:alice@ims.example"))
	req.NewAVP(4242, avp.Vbit, 99999, datatype.OctetString([]byte{0xca, 0xfe}))
	m := decodeOK(t, build(t, req))
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	if generic["command_short"] != "UAR" || generic["public_identity"] != "sip:alice@ims.example" {
		t.Errorf("JSON fields: %s", b)
	}
	avps := generic["avps"].([]any)
	vsa := avps[1].(map[string]any)
	if vsa["name"] != "Vendor-Specific-Application-Id" || vsa["flags"] != "M" || len(vsa["avps"].([]any)) != 2 {
		t.Errorf("grouped AVP in JSON: %v", vsa)
	}
	unknown := avps[len(avps)-1].(map[string]any)
	if unknown["flags"] != "V" || unknown["vendor_id"] != float64(99999) || unknown["value"] != "0xcafe" || unknown["type"] != "Unknown" {
		t.Errorf("unknown AVP in JSON: %v", unknown)
	}
	var back Message
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, m) {
		t.Errorf("JSON round trip changed the message:\n%+v\n%+v", back, *m)
	}
}

func TestAVPFlagsText(t *testing.T) {
	for _, f := range []AVPFlags{0, 0x80, 0x40, 0xe0, 0xc3} {
		b, _ := f.MarshalText()
		var back AVPFlags
		if err := back.UnmarshalText(b); err != nil || back != f {
			t.Errorf("%#x -> %q -> %#x, %v", uint8(f), b, uint8(back), err)
		}
	}
	var f AVPFlags
	if err := f.UnmarshalText([]byte("X")); err == nil {
		t.Error("bad flag letter accepted")
	}
}

func BenchmarkDecode(b *testing.B) {
	msgs := sampleMessages(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, m := range msgs {
			if _, err := Decode(m); err != nil {
				b.Fatal(err)
			}
		}
	}
}
