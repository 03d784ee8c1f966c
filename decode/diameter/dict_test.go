package diameter

import (
	"testing"

	"github.com/fiorix/go-diameter/v4/diam/dict"
)

// The shipped dictionaries must load, and every AVP their command and grouped rules name must exist in
// some dictionary: a misspelt rule is how a hand-written dictionary usually goes wrong.
func TestShippedDictionaries(t *testing.T) {
	d := loadDictionary()
	shipped := shippedParser(t)
	names := map[string]bool{}
	for _, app := range append(shipped.Apps(), dict.Default.Apps()...) {
		for _, a := range app.AVP {
			names[a.Name] = true
		}
	}
	check := func(app *dict.App, where string, rules []*dict.Rule) {
		for _, r := range rules {
			if !names[r.AVP] {
				t.Errorf("application %d (%s): %s names AVP %q, which no dictionary defines", app.ID, app.Name, where, r.AVP)
			}
		}
	}
	seen := map[avpKey]string{}
	for _, app := range shipped.Apps() {
		if len(app.Command) == 0 && len(app.AVP) == 0 {
			t.Errorf("application %d is empty", app.ID)
		}
		for _, c := range app.Command {
			check(app, c.Name+" request", c.Request.Rule)
			check(app, c.Name+" answer", c.Answer.Rule)
			if c.Short == "" {
				t.Errorf("application %d: command %d has no short name", app.ID, c.Code)
			}
		}
		for _, a := range app.AVP {
			check(app, a.Name, a.Data.Rule)
			k := avpKey{a.Code, a.VendorID}
			if prev, ok := seen[k]; ok && prev != a.Name {
				t.Errorf("AVP %d/%d is both %q and %q", a.Code, a.VendorID, prev, a.Name)
			}
			seen[k] = a.Name
			if got := d.lookupAVP(app.ID, a.Code, a.VendorID); got == nil || got.name != a.Name || got.typ != a.Data.Type || len(got.enum) != len(a.Data.Enum) {
				t.Errorf("AVP %s (%d/%d) resolves to %+v", a.Name, a.Code, a.VendorID, got)
			}
		}
	}
	for _, app := range []uint32{16777216, 16777217, 16777264, 16777272, 16777313} {
		if ApplicationName(app) == "" {
			t.Errorf("application %d has no name", app)
		}
	}
}
