package synth

import "strconv"

// endpoint is one SIP or RTP address on the wire.
type endpoint struct {
	ip    [4]byte
	port  uint16
	ipStr string // "192.0.2.10"
	hp    string // "192.0.2.10:5060"
}

func newEndpoint(a, b, c, d byte, port uint16) endpoint {
	e := endpoint{ip: [4]byte{a, b, c, d}, port: port}
	e.ipStr = strconv.Itoa(int(a)) + "." + strconv.Itoa(int(b)) + "." + strconv.Itoa(int(c)) + "." + strconv.Itoa(int(d))
	e.hp = e.ipStr + ":" + strconv.Itoa(int(port))
	return e
}

// carrier is a trunk peer sending calls in. Its quirks vary by index, as real peers' do.
type carrier struct {
	sig       endpoint
	media     [4]byte // media gateway address (SDP c=)
	mediaS    string
	ua        string
	sdpUser   string // o= user and s= name
	style     int    // Call-ID style
	display   bool   // From carries a display name
	pai       bool   // sends P-Asserted-Identity
	pcmaFirst bool
	cseq0     uint32 // first CSeq of its dialogs (0 = random)
	proxies   []int  // the proxies it sends to
}

type node struct {
	ip     string
	a, b   endpoint // A side (toward the proxy) and B side (toward the phones)
	phones []int
}

type phone struct {
	ep   endpoint
	ext  string
	did  string // E.164 number the carriers dial
	ua   string
	node int
}

type topology struct {
	carriers []carrier
	proxies  []endpoint
	nodes    []node
	phones   []phone
}

const (
	proxyServer = "kamailio (5.7.4 (x86_64/linux))"
	class5UA    = "FreeSWITCH-mod_sofia/1.10.11-release~64bit"
)

var carrierUAs = [...]struct{ ua, sdp string }{
	{"Sonus_UAC", "Sonus_UAC"},
	{"Cisco-SIPGateway/IOS-17.6.1", "CiscoSystemsSIP-GW-UserAgent"},
	{"Ribbon SBC SWe 11.1", "RibbonSBC"},
	{"AudioCodes-Sip-Gateway-Mediant 4000/v.7.40A.250.003", "AudiocodesGW"},
	{"Oracle ESBC 9.0", "-"},
	{"FRAFOS ABC SBC 5.4", "ABC"},
}

var phoneUAs = [...]string{
	"Yealink SIP-T46U 108.86.0.20",
	"Polycom/6.4.3.5018 PolycomVVX-VVX_450-UA/6.4.3.5018",
	"Grandstream GXP2170 1.0.11.10",
	"snom D785/10.1.141.13",
	"Cisco/SPA504G-7.6.2",
}

// newTopology lays out the network. Addresses come from the documentation ranges (RFC 5737)
// for the public side and RFC 1918 for the class-5 side, so no real host is named.
func newTopology(cfg Config) *topology {
	t := &topology{}
	for i := range cfg.Proxies {
		t.proxies = append(t.proxies, newEndpoint(192, 0, 2, byte(10+i), 5060))
	}
	for i := range cfg.Carriers {
		u := carrierUAs[i%len(carrierUAs)]
		c := carrier{
			sig:       newEndpoint(198, 51, 100, byte(10+i), 5060),
			media:     [4]byte{203, 0, 113, byte(10 + i)},
			ua:        u.ua,
			sdpUser:   u.sdp,
			style:     i % 4,
			display:   i%3 != 1,
			pai:       i%3 == 0,
			pcmaFirst: i%4 == 3,
		}
		c.mediaS = newEndpoint(203, 0, 113, byte(10+i), 0).ipStr
		c.cseq0 = 1
		if i%2 == 1 {
			c.cseq0 = 101
		}
		// Every carrier reaches one proxy; even ones load-share over two, as real trunks do.
		c.proxies = []int{i % cfg.Proxies}
		if i%2 == 0 && cfg.Proxies > 1 {
			c.proxies = append(c.proxies, (i+1)%cfg.Proxies)
		}
		t.carriers = append(t.carriers, c)
	}
	for i := range cfg.Class5 {
		a := newEndpoint(10, 20, 0, byte(11+i), 5080)
		b := newEndpoint(10, 20, 0, byte(11+i), 5060)
		t.nodes = append(t.nodes, node{ip: a.ipStr, a: a, b: b})
	}
	for k := range cfg.Phones {
		n := k % cfg.Class5
		p := phone{
			ep:   newEndpoint(10, 30, byte(k/250), byte(k%250+2), 5060),
			ext:  strconv.Itoa(1000 + k),
			did:  "+1555" + strconv.Itoa(2000000+k),
			ua:   phoneUAs[k%len(phoneUAs)],
			node: n,
		}
		t.phones = append(t.phones, p)
		t.nodes[n].phones = append(t.nodes[n].phones, k)
	}
	return t
}
