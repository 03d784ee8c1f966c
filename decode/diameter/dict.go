package diameter

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"github.com/fiorix/go-diameter/v4/diam/dict"
)

// The XML dictionaries for the applications go-diameter does not ship (Cx, Sh, SGd, SWm, S6b and the
// IETF EAP / Mobile IPv6 AVPs they carry), in go-diameter's format.
//
//go:embed dict/*.xml
var shippedXML embed.FS

// vendor3GPP is the IANA enterprise number of 3GPP, the vendor of nearly every vendor-specific AVP
// seen on mobile-core interfaces.
const vendor3GPP = 10415

type avpKey struct{ code, vendor uint32 }

type appAVPKey struct{ app, code, vendor uint32 }

type cmdKey struct{ app, code uint32 }

// command holds a command's names, the short forms built once rather than per message.
type command struct{ name, request, answer string }

// dictionary indexes go-diameter's default dictionary and the shipped ones for name and type lookups.
// go-diameter's own lookups are scoped by application and give up on applications they do not know, so
// the index adds a global fallback: Diameter AVP codes are allocated per vendor and command codes by
// IANA, so a (code, vendor) pair names the same AVP in every application.
type dictionary struct {
	appAVP map[appAVPKey]*dict.AVP
	avp    map[avpKey]*dict.AVP
	appCmd map[cmdKey]*command
	cmd    map[uint32]*command
	parser *dict.Parser // the shipped dictionaries alone
}

var loadDictionary = sync.OnceValues(func() (*dictionary, error) {
	shipped, err := dict.NewParser()
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(shippedXML, "dict/*.xml")
	if err != nil {
		return nil, err
	}
	for _, name := range files {
		b, err := shippedXML.ReadFile(name)
		if err != nil {
			return nil, err
		}
		if err := shipped.Load(bytes.NewReader(b)); err != nil {
			return nil, fmt.Errorf("diameter: dictionary %s: %w", name, err)
		}
	}
	d := &dictionary{
		appAVP: make(map[appAVPKey]*dict.AVP),
		avp:    make(map[avpKey]*dict.AVP),
		appCmd: make(map[cmdKey]*command),
		cmd:    make(map[uint32]*command),
		parser: shipped,
	}
	// The shipped dictionaries go first so that, where both define an AVP, the one checked against the
	// 3GPP specifications wins the global slot.
	for _, app := range shipped.Apps() {
		d.add(app)
	}
	for _, app := range dict.Default.Apps() {
		d.add(app)
	}
	return d, nil
})

func (d *dictionary) add(app *dict.App) {
	for _, dc := range app.Command {
		c := &command{name: dc.Name}
		if dc.Short != "" {
			c.request, c.answer = dc.Short+"R", dc.Short+"A"
		}
		if _, ok := d.appCmd[cmdKey{app.ID, dc.Code}]; !ok {
			d.appCmd[cmdKey{app.ID, dc.Code}] = c
		}
		if _, ok := d.cmd[dc.Code]; !ok {
			d.cmd[dc.Code] = c
		}
	}
	for _, a := range app.AVP {
		v := effectiveVendor(a)
		if _, ok := d.appAVP[appAVPKey{app.ID, a.Code, v}]; !ok {
			d.appAVP[appAVPKey{app.ID, a.Code, v}] = a
		}
		if _, ok := d.avp[avpKey{a.Code, v}]; !ok {
			d.avp[avpKey{a.Code, v}] = a
		}
	}
}

// effectiveVendor repairs go-diameter dictionary entries whose vendor-id contradicts their own V-bit
// rule (UE-Local-IP-Address says must="V" without a vendor, MIP6-Agent-Info has vendor 10415 with
// must-not="V"): the flag rule is what peers follow on the wire.
func effectiveVendor(a *dict.AVP) uint32 {
	switch {
	case a.VendorID == 0 && strings.Contains(a.Must, "V"):
		return vendor3GPP
	case a.VendorID != 0 && strings.Contains(a.MustNot, "V"):
		return 0
	}
	return a.VendorID
}

// lookupAVP returns the dictionary entry for an AVP, or nil when no dictionary knows it.
func (d *dictionary) lookupAVP(app, code, vendor uint32) *dict.AVP {
	if a := d.appAVP[appAVPKey{app, code, vendor}]; a != nil {
		return a
	}
	return d.avp[avpKey{code, vendor}]
}

func (d *dictionary) lookupCommand(app, code uint32) *command {
	if c := d.appCmd[cmdKey{app, code}]; c != nil {
		return c
	}
	return d.cmd[code]
}

// applicationNames are the names engineers use for the interfaces; go-diameter's dictionary names
// ("TGPP S6A", "Charging Control") are less familiar and missing for most 3GPP applications.
var applicationNames = map[uint32]string{
	0:          "Base",
	1:          "NASREQ",
	2:          "Mobile-IPv4",
	3:          "Base-Accounting",
	4:          "Credit-Control",
	5:          "EAP",
	6:          "SIP",
	16777216:   "Cx",
	16777217:   "Sh",
	16777219:   "Wx",
	16777222:   "Gq",
	16777236:   "Rx",
	16777238:   "Gx",
	16777250:   "STa",
	16777251:   "S6a",
	16777252:   "S13",
	16777264:   "SWm",
	16777265:   "SWx",
	16777267:   "S9",
	16777272:   "S6b",
	16777302:   "Sy",
	16777312:   "S6c",
	16777313:   "SGd",
	0xffffffff: "Relay",
}

// ApplicationName returns the usual name of a Diameter application ("S6a", "Cx", "Gx"), or "" when
// it is not known.
func ApplicationName(id uint32) string {
	return applicationNames[id]
}

// CommandName returns the dictionary name of a command ("Update-Location") and its request or answer
// short form ("ULR", "ULA"); both are "" for a command no dictionary knows.
func CommandName(app, code uint32, request bool) (name, short string) {
	d, err := loadDictionary()
	if err != nil {
		return "", ""
	}
	return commandName(d, app, code, request)
}

func commandName(d *dictionary, app, code uint32, request bool) (name, short string) {
	c := d.lookupCommand(app, code)
	if c == nil {
		return "", ""
	}
	if request {
		return c.name, c.request
	}
	return c.name, c.answer
}
