package homer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/homer/homertest"
)

func al(name, ip string, mask, port int, status bool) Alias {
	return Alias{Name: name, IP: ip, Mask: mask, Port: port, CaptureID: "0", Status: status}
}

func withGUID(a Alias, id int) Alias {
	a.ID, a.GUID = id, fmt.Sprintf("g%02d", id)
	return a
}

// summary renders a plan as one line per change, for exact comparison.
func summary(p Plan) []string {
	var out []string
	for _, c := range p.Changes {
		s := fmt.Sprintf("%s %s %q", c.Op, c.Alias.Key(), c.Alias.Name)
		if c.Alias.GUID != "" {
			s += " " + c.Alias.GUID
		}
		if c.Reason != "" {
			s += " (" + c.Reason + ")"
		}
		out = append(out, s)
	}
	return out
}

func TestDiff(t *testing.T) {
	a := al("a", "10.0.0.1", 32, 0, true)
	b := al("b", "10.0.0.2", 32, 5060, true)
	v6 := al("v6", "2001:db8::10", 128, 0, true)
	tests := []struct {
		name     string
		desired  []Alias
		keep     map[string]string
		current  []Alias
		prune    bool
		want     []string
		absent   int
		dups     int
		kept     int
		unchange int
	}{
		{name: "empty to two", desired: []Alias{b, a},
			want: []string{`create 10.0.0.1/32 port 0 capture 0 "a"`, `create 10.0.0.2/32 port 5060 capture 0 "b"`}},
		{name: "same is unchanged", desired: []Alias{a, v6}, current: []Alias{withGUID(a, 1), withGUID(al("v6", "2001:DB8:0::10", 128, 0, true), 2)}, unchange: 2},
		{name: "rename and disable are updates", desired: []Alias{al("a2", "10.0.0.1", 32, 0, true), al("b", "10.0.0.2", 32, 5060, false)},
			current: []Alias{withGUID(a, 1), withGUID(b, 2)},
			want:    []string{`update 10.0.0.1/32 port 0 capture 0 "a2" g01`, `update 10.0.0.2/32 port 5060 capture 0 "b" g02`}},
		{name: "another port is another alias", desired: []Alias{al("b", "10.0.0.2", 32, 5061, true)}, current: []Alias{withGUID(b, 1)},
			want: []string{`create 10.0.0.2/32 port 5061 capture 0 "b"`}, absent: 1},
		{name: "prune deletes the absent", desired: []Alias{a}, current: []Alias{withGUID(a, 1), withGUID(b, 2)}, prune: true,
			want: []string{`delete 10.0.0.2/32 port 5060 capture 0 "b" g02 (absent from the input)`}, unchange: 1},
		{name: "duplicates kept without prune", desired: []Alias{a}, current: []Alias{withGUID(al("x", "10.0.0.1", 32, 0, true), 1), withGUID(a, 2), withGUID(a, 3)},
			dups: 2, unchange: 1},
		{name: "prune deletes duplicates, keeps the matching copy", desired: []Alias{a},
			current: []Alias{withGUID(al("x", "10.0.0.1", 32, 0, true), 1), withGUID(a, 3), withGUID(a, 2)}, prune: true,
			want: []string{`delete 10.0.0.1/32 port 0 capture 0 "x" g01 (duplicate of g02)`, `delete 10.0.0.1/32 port 0 capture 0 "a" g03 (duplicate of g02)`}, unchange: 1},
		{name: "duplicates without a match: the oldest is updated", desired: []Alias{a},
			current: []Alias{withGUID(al("y", "10.0.0.1", 32, 0, true), 5), withGUID(al("x", "10.0.0.1", 32, 0, true), 4)}, prune: true,
			want: []string{`update 10.0.0.1/32 port 0 capture 0 "a" g04`, `delete 10.0.0.1/32 port 0 capture 0 "y" g05 (duplicate of g04)`}},
		{name: "keep protects from prune", desired: nil, keep: map[string]string{"b": "lookup timed out"},
			current: []Alias{withGUID(a, 1), withGUID(b, 2)}, prune: true,
			want: []string{`delete 10.0.0.1/32 port 0 capture 0 "a" g01 (absent from the input)`}, kept: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Diff(Desired{Aliases: tt.desired, Keep: tt.keep}, tt.current, tt.prune)
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(p); !slices.Equal(got, tt.want) {
				t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if len(p.Absent) != tt.absent || len(p.Duplicates) != tt.dups || len(p.Kept) != tt.kept || p.Unchanged != tt.unchange {
				t.Errorf("absent %d dups %d kept %d unchanged %d; want %d %d %d %d",
					len(p.Absent), len(p.Duplicates), len(p.Kept), p.Unchanged, tt.absent, tt.dups, tt.kept, tt.unchange)
			}
			if p.Current != len(tt.current) {
				t.Errorf("current %d", p.Current)
			}
		})
	}
}

func TestDiffRefuses(t *testing.T) {
	for _, d := range [][]Alias{
		{al("a", "10.0.0.1", 32, 0, true), al("b", "10.0.0.1", 32, 0, true)},
		{al("a", "10.0.0.1", 33, 0, true)},
	} {
		if _, err := Diff(Desired{Aliases: d}, nil, false); err == nil {
			t.Errorf("Diff(%v) accepted", d)
		}
	}
}

func seed(aliases ...Alias) []homertest.Alias {
	out := make([]homertest.Alias, len(aliases))
	for i, a := range aliases {
		out[i] = homertest.Alias{Alias: a.Name, IP: a.IP, Port: a.Port, Mask: a.Mask, CaptureID: a.CaptureID, Status: a.Status}
	}
	return out
}

// runSync runs one plan and apply against s.
func runSync(t *testing.T, c *Client, d Desired, prune bool) (Plan, Report, error) {
	t.Helper()
	ctx := context.Background()
	cur, err := c.Aliases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Diff(d, cur, prune)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := c.Apply(ctx, p)
	return p, rep, err
}

func TestApplyConverges(t *testing.T) {
	s := homertest.New(t, homertest.Config{})
	old := al("old", "198.51.100.7", 32, 0, true)
	s.Seed(seed(al("a-old-name", "10.0.0.1", 32, 0, true), old, old)...)
	c := newClient(t, s, Options{})
	d := Desired{Aliases: []Alias{al("a", "10.0.0.1", 32, 0, true), al("b", "10.0.0.2", 32, 5060, false), al("v6", "2001:db8::10", 128, 0, true)}}
	p, rep, err := runSync(t, c, d, true)
	if err != nil {
		t.Fatal(err)
	}
	if p.Count(OpCreate) != 2 || p.Count(OpUpdate) != 1 || p.Count(OpDelete) != 2 || len(rep.Applied) != 5 {
		t.Fatalf("plan %v, applied %d", summary(p), len(rep.Applied))
	}
	got := s.Aliases()
	if len(got) != 3 {
		t.Fatalf("server holds %+v", got)
	}
	p, rep, err = runSync(t, c, d, true)
	if err != nil || len(p.Changes) != 0 || p.Unchanged != 3 || len(rep.Applied) != 0 {
		t.Errorf("second run: %v %v %v", summary(p), rep, err)
	}
}

func TestApplyStopsAtFailure(t *testing.T) {
	s := homertest.New(t, homertest.Config{})
	c := newClient(t, s, Options{})
	var d Desired
	for i := 1; i <= 4; i++ {
		d.Aliases = append(d.Aliases, al(fmt.Sprint("n", i), fmt.Sprint("10.0.0.", i), 32, 0, true))
	}
	s.Inject(homertest.Injection{Method: "POST", Nth: 3, Fault: homertest.FaultDBError})
	_, rep, err := runSync(t, c, d, false)
	if !errors.Is(err, ErrEmptyReply) {
		t.Fatalf("err %v", err)
	}
	if len(rep.Applied) != 2 || rep.Failed == nil || rep.Failed.Alias.IP != "10.0.0.3" || len(rep.NotApplied) != 1 || rep.NotApplied[0].Alias.IP != "10.0.0.4" {
		t.Fatalf("report %+v", rep)
	}
	if len(s.Aliases()) != 2 {
		t.Fatalf("server holds %d", len(s.Aliases()))
	}
	s.ClearFaults()
	p, _, err := runSync(t, c, d, false)
	if err != nil || p.Count(OpCreate) != 2 || p.Unchanged != 2 {
		t.Errorf("rerun: %v %v", summary(p), err)
	}
}

func TestApplyDeleteAfterLostAnswer(t *testing.T) {
	s := homertest.New(t, homertest.Config{})
	s.Seed(seed(al("a", "10.0.0.1", 32, 0, true))...)
	s.Inject(homertest.Injection{Method: "DELETE", Nth: 1, Fault: homertest.FaultHangAfter})
	c := newClient(t, s, Options{Timeout: 150 * time.Millisecond})
	_, rep, err := runSync(t, c, Desired{}, true)
	if err != nil || len(rep.Applied) != 1 || rep.Applied[0].Note != "already deleted" || len(s.Aliases()) != 0 {
		t.Errorf("%+v %v", rep, err)
	}
}

func TestApplyValidatesFirst(t *testing.T) {
	s := homertest.New(t, homertest.Config{})
	c := newClient(t, s, Options{})
	p := Plan{Changes: []Change{
		{Op: OpCreate, Alias: al("ok", "10.0.0.1", 32, 0, true)},
		{Op: OpCreate, Alias: al("bad", "10.0.0.2", 40, 0, true)},
	}}
	rep, err := c.Apply(context.Background(), p)
	if !strings.Contains(fmt.Sprint(err), "nothing written") || len(rep.NotApplied) != 2 || len(s.Writes()) != 0 {
		t.Errorf("%v %+v, %d writes", err, rep, len(s.Writes()))
	}
}

func TestApplyNonAdminUser(t *testing.T) {
	s := homertest.New(t, homertest.Config{Users: []homertest.User{{Name: "viewer", Password: "v"}}})
	c := newClient(t, s, Options{User: "viewer", Password: "v"})
	_, rep, err := runSync(t, c, Desired{Aliases: []Alias{al("a", "10.0.0.1", 32, 0, true)}}, false)
	if !strings.Contains(fmt.Sprint(err), "not an admin") || len(rep.NotApplied) != 1 || len(s.Writes()) != 0 {
		t.Errorf("%v %+v", err, rep)
	}
}

func TestApplyNonAdminToken(t *testing.T) {
	s := homertest.New(t, homertest.Config{TokenAccess: true})
	tok := s.AddToken("ci")
	c := newClient(t, s, Options{Token: tok.Token})
	_, rep, err := runSync(t, c, Desired{Aliases: []Alias{al("a", "10.0.0.1", 32, 0, true), al("b", "10.0.0.2", 32, 0, true)}}, false)
	if !errors.Is(err, ErrForbidden) || len(rep.Applied) != 0 || rep.Failed == nil || len(rep.NotApplied) != 1 {
		t.Errorf("%v %+v", err, rep)
	}
}
