package homer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Desired is the state an alias sync aims for.
type Desired struct {
	Aliases []Alias
	// Keep protects aliases by name from a prune, with the reason: their source could not be read
	// this time (an operator whose ePDG lookup timed out), so their absence means nothing.
	Keep map[string]string
	// Warnings are things the reader of the input noticed but did not refuse.
	Warnings []string
}

// Op is what a change does.
type Op string

// The three kinds of change.
const (
	OpCreate Op = "create"
	OpUpdate Op = "update"
	OpDelete Op = "delete"
)

// Change is one write of a plan.
type Change struct {
	Op Op
	// Alias is the alias to create, the new state of an update (with the guid it updates), or the
	// alias to delete.
	Alias Alias
	// Old is an update's current state.
	Old *Alias
	// Reason says why a delete is planned.
	Reason string
}

// Plan is the difference between desired and current aliases, in the order it is applied:
// creates, then updates, then deletes, so that a run cut short loses nothing that was there.
type Plan struct {
	Changes []Change
	// Current is the number of aliases on the server.
	Current   int
	Unchanged int
	// Absent are aliases on the server that the input lacks, left alone because prune is off.
	Absent []Alias
	// Duplicates are extra copies of an alias (same key), left alone because prune is off.
	Duplicates []Alias
	// Kept are aliases a prune would delete but Desired.Keep protects.
	Kept []Alias
	// KeptReason gives the reason for each kept alias's name.
	KeptReason map[string]string
}

// Count returns the number of changes of kind op.
func (p Plan) Count(op Op) int {
	n := 0
	for _, c := range p.Changes {
		if c.Op == op {
			n++
		}
	}
	return n
}

// Diff plans the changes that take the server from current to desired. An alias is identified by
// its Key; a different name or status is an update. Aliases the input lacks, and extra copies of
// one key, are deleted only when prune is set.
func Diff(desired Desired, current []Alias, prune bool) (Plan, error) {
	want := make(map[Key]Alias, len(desired.Aliases))
	for _, a := range desired.Aliases {
		if err := a.Validate(); err != nil {
			return Plan{}, fmt.Errorf("homer: desired alias %q %s: %w", a.Name, a.Key(), err)
		}
		if prev, dup := want[a.Key()]; dup {
			return Plan{}, fmt.Errorf("homer: desired aliases %q and %q have the same ip, mask, port and captureID (%s)", prev.Name, a.Name, a.Key())
		}
		want[a.Key()] = a
	}
	have := map[Key][]Alias{}
	for _, a := range current {
		have[a.Key()] = append(have[a.Key()], a)
	}
	p := Plan{Current: len(current), KeptReason: map[string]string{}}
	for k, w := range want {
		copies := have[k]
		if len(copies) == 0 {
			p.Changes = append(p.Changes, Change{Op: OpCreate, Alias: w})
			continue
		}
		keep := keeper(copies, w)
		for _, extra := range copies {
			if extra.GUID == keep.GUID {
				continue
			}
			if prune {
				p.Changes = append(p.Changes, Change{Op: OpDelete, Alias: extra, Reason: "duplicate of " + keep.GUID})
			} else {
				p.Duplicates = append(p.Duplicates, extra)
			}
		}
		if keep.Name == w.Name && keep.Status == w.Status {
			p.Unchanged++
			continue
		}
		next := w
		next.ID, next.GUID = keep.ID, keep.GUID
		old := keep
		p.Changes = append(p.Changes, Change{Op: OpUpdate, Alias: next, Old: &old})
	}
	for k, copies := range have {
		if _, ok := want[k]; ok {
			continue
		}
		for _, a := range copies {
			switch reason, protected := desired.Keep[a.Name]; {
			case protected:
				p.Kept = append(p.Kept, a)
				p.KeptReason[a.Name] = reason
			case prune:
				p.Changes = append(p.Changes, Change{Op: OpDelete, Alias: a, Reason: "absent from the input"})
			default:
				p.Absent = append(p.Absent, a)
			}
		}
	}
	order := map[Op]int{OpCreate: 0, OpUpdate: 1, OpDelete: 2}
	slices.SortFunc(p.Changes, func(a, b Change) int {
		return cmp.Or(order[a.Op]-order[b.Op], compareKeys(a.Alias.Key(), b.Alias.Key()), strings.Compare(a.Alias.GUID, b.Alias.GUID))
	})
	for _, l := range [][]Alias{p.Absent, p.Duplicates, p.Kept} {
		slices.SortFunc(l, func(a, b Alias) int {
			return cmp.Or(compareKeys(a.Key(), b.Key()), strings.Compare(a.GUID, b.GUID))
		})
	}
	return p, nil
}

// keeper picks the copy of a duplicated alias that stays: one that already matches, else the oldest.
func keeper(copies []Alias, w Alias) Alias {
	best := copies[0]
	score := func(a Alias) int {
		if a.Name == w.Name && a.Status == w.Status {
			return 1
		}
		return 0
	}
	for _, a := range copies[1:] {
		if s, bs := score(a), score(best); s > bs || (s == bs && a.ID < best.ID) {
			best = a
		}
	}
	return best
}

// Outcome is a change that was applied. Note says something the reader should know
// ("already deleted").
type Outcome struct {
	Change
	GUID string
	Note string
}

// Report says what Apply did.
type Report struct {
	Applied []Outcome
	// Failed is the change whose write failed, and Err why; the changes after it are NotApplied.
	Failed     *Change
	Err        error
	NotApplied []Change
}

// Apply writes the plan's changes in order and stops at the first failure. Every alias to be
// written is validated first: an invalid one stops the run before any write.
func (c *Client) Apply(ctx context.Context, p Plan) (Report, error) {
	var rep Report
	var bad []string
	for _, ch := range p.Changes {
		if ch.Op == OpDelete {
			continue
		}
		if err := ch.Alias.Validate(); err != nil {
			bad = append(bad, fmt.Sprintf("%s %q %s: %v", ch.Op, ch.Alias.Name, ch.Alias.Key(), err))
		}
	}
	if admin, known := c.Admin(); known && !admin && len(p.Changes) > 0 {
		bad = append(bad, fmt.Sprintf("user %q is not an admin, and alias writes need one", c.opts.User))
	}
	if len(bad) > 0 {
		rep.NotApplied = p.Changes
		rep.Err = fmt.Errorf("homer: nothing written: %s", strings.Join(bad, "; "))
		return rep, rep.Err
	}
	for i, ch := range p.Changes {
		out := Outcome{Change: ch, GUID: ch.Alias.GUID}
		var err error
		switch ch.Op {
		case OpCreate:
			out.GUID, err = c.CreateAlias(ctx, ch.Alias)
		case OpUpdate:
			err = c.UpdateAlias(ctx, ch.Alias.GUID, ch.Alias)
		case OpDelete:
			err = c.DeleteAlias(ctx, ch.Alias.GUID)
			if errors.Is(err, ErrNotFound) {
				// Gone is what a delete wants; it happens when a retried delete had in fact been done.
				err, out.Note = nil, "already deleted"
			}
		}
		if err != nil {
			failed := ch
			rep.Failed, rep.Err, rep.NotApplied = &failed, err, p.Changes[i+1:]
			return rep, err
		}
		rep.Applied = append(rep.Applied, out)
	}
	return rep, nil
}
