package diameter

import (
	"sync"

	"github.com/fiorix/go-diameter/v4/diam/datatype"
)

// The dictionaries are go-diameter's default one and, for the applications it does not ship (Cx, Sh,
// SGd, SWm, S6b and the IETF EAP / Mobile IPv6 AVPs they carry), dict/*.xml in go-diameter's format.
// Both are compiled into dict_table.go by a test (TestDictionaryTable), so that sigtrace does not
// link go-diameter's dict package: its init parses the whole XML dictionary (about 60 ms and 9 MB)
// at every start of every command, even one that never sees Diameter.

//go:generate go test -run TestDictionaryTable -update-dict

// vendor3GPP is the IANA enterprise number of 3GPP, the vendor of nearly every vendor-specific AVP
// seen on mobile-core interfaces.
const vendor3GPP = 10415

type avpKey struct{ code, vendor uint32 }

type appAVPKey struct{ app, code, vendor uint32 }

type cmdKey struct{ app, code uint32 }

// commandDef is a command of dict_table.go.
type commandDef struct {
	app, code   uint32
	name, short string
}

// avpDef is an AVP of dict_table.go (its vendor repaired by the generator's effectiveVendor).
type avpDef struct {
	app, code, vendor uint32
	name, typeName    string
	typ               datatype.TypeID
	enum              []enumItem
}

type enumItem struct {
	code int32
	name string
}

// command holds a command's names, the short forms built once rather than per message.
type command struct{ name, request, answer string }

// dictionary indexes the dictionaries for name and type lookups. Lookups are scoped by application
// first, with a global fallback: Diameter AVP codes are allocated per vendor and command codes by
// IANA, so a (code, vendor) pair names the same AVP in every application.
type dictionary struct {
	appAVP map[appAVPKey]*avpDef
	avp    map[avpKey]*avpDef
	appCmd map[cmdKey]*command
	cmd    map[uint32]*command
}

// loadDictionary indexes the tables on first use. The tables hold each (application, code[, vendor])
// once, in precedence order (the shipped dictionaries first, checked against the 3GPP
// specifications): for the global fallbacks the first entry wins.
var loadDictionary = sync.OnceValue(func() *dictionary {
	d := &dictionary{
		appAVP: make(map[appAVPKey]*avpDef, len(dictAVPs)),
		avp:    make(map[avpKey]*avpDef, len(dictAVPs)),
		appCmd: make(map[cmdKey]*command, len(dictCommands)),
		cmd:    make(map[uint32]*command),
	}
	for i := range dictCommands {
		dc := &dictCommands[i]
		c := &command{name: dc.name}
		if dc.short != "" {
			c.request, c.answer = dc.short+"R", dc.short+"A"
		}
		d.appCmd[cmdKey{dc.app, dc.code}] = c
		if _, ok := d.cmd[dc.code]; !ok {
			d.cmd[dc.code] = c
		}
	}
	for i := range dictAVPs {
		a := &dictAVPs[i]
		d.appAVP[appAVPKey{a.app, a.code, a.vendor}] = a
		if _, ok := d.avp[avpKey{a.code, a.vendor}]; !ok {
			d.avp[avpKey{a.code, a.vendor}] = a
		}
	}
	return d
})

// lookupAVP returns the dictionary entry for an AVP, or nil when no dictionary knows it.
func (d *dictionary) lookupAVP(app, code, vendor uint32) *avpDef {
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
	return commandName(loadDictionary(), app, code, request)
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
