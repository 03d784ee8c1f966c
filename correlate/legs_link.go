package correlate

import (
	"bytes"
	"strings"
	"time"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/sip"
)

// heuristicWindow: a B2BUA places its outgoing leg within moments of the incoming INVITE; a leg
// that already has children (forward, transfer) may get more later.
const heuristicWindow = 10 * time.Second

// link looks for the leg's parent: first in the linking headers of its INVITE, then, when asked,
// by numbers and timing.
func (c *Calls) link(l *legState, m *decode.Message) {
	if l.parent != nil || l.waitingFor != "" {
		return
	}
	hs := c.inviteHeaders(m.SIP)
	for i, name := range c.headers {
		id := callIDValue(hs.vals[i])
		// The class-4 proxy puts the leg's own Call-ID there on its outgoing hop: that names the
		// leg for the class-5 node, it does not link it.
		if len(id) == 0 || string(id) == l.CallID {
			continue
		}
		if p := c.legs[string(id)]; p != nil && !c.isTomb(p) {
			if c.attach(l, p, name) {
				return
			}
			continue
		}
		// The parent has not been seen (a HEP feed can deliver the child first): wait for it.
		l.waitingFor, l.waitLink = string(id), name
		c.waiting[l.waitingFor] = append(c.waiting[l.waitingFor], l)
		return
	}
	if hs.session != nil {
		if k := sessionKey(hs.session); k != "" && c.share(l, "sid:"+k, "Session-ID") {
			return
		}
	}
	if hs.pcv != nil {
		if icid, ok := sip.Param(hs.pcv, "icid-value"); ok && len(icid) > 0 {
			if c.share(l, "icid:"+string(unquote(icid)), "P-Charging-Vector") {
				return
			}
		}
	}
	if c.opts.Heuristic && l.num == "" {
		c.heuristic(l, m)
		c.indexNumber(l)
	}
}

// share links legs that carry the same session identifier: the one whose INVITE came first is
// the parent.
func (c *Calls) share(l *legState, key, how string) bool {
	p := c.shared[key]
	switch {
	case p == nil:
		c.shared[key] = l
		l.sharedKeys = append(l.sharedKeys, key)
		return false
	case p == l || p.call == l.call:
		return false
	case p.parent == nil && l.InviteTime.Before(p.InviteTime):
		// Seen out of order: the earlier leg becomes the holder and the parent.
		c.shared[key] = l
		l.sharedKeys = append(l.sharedKeys, key)
		return c.attach(p, l, how)
	}
	return c.attach(l, p, how)
}

// attach makes p the parent of k, merging their calls.
func (c *Calls) attach(k, p *legState, how string) bool {
	if k == p || k.parent != nil {
		return false
	}
	for a := p; a != nil; a = a.parent {
		if a == k {
			return false // would make a cycle
		}
	}
	k.parent = p
	k.Link = how
	p.children = append(p.children, k)
	if k.call != p.call {
		c.merge(p.call, k.call)
	}
	if !k.Partial {
		c.childEvents(k)
	}
	return true
}

// merge moves every leg and event of src into dst and forgets src.
func (c *Calls) merge(dst, src *callState) {
	offEv, offRef := int32(len(dst.events)), int32(len(dst.refers))
	for _, l := range src.legs {
		l.call = dst
		for i := range l.txns {
			if l.txns[i].event > 0 {
				l.txns[i].event += offEv
			}
			if l.txns[i].refer > 0 {
				l.txns[i].refer += offRef
			}
		}
	}
	for _, r := range src.refers {
		r.event += int(offEv)
		dst.refers = append(dst.refers, r)
	}
	dst.legs = append(dst.legs, src.legs...)
	dst.events = append(dst.events, src.events...)
	dst.evPrimary = append(dst.evPrimary, src.evPrimary...)
	if src.first.Before(dst.first) {
		dst.first = src.first
	}
	if src.last.After(dst.last) {
		dst.last = src.last
	}
	c.unlinkOpen(src)
	c.timers.remove(src)
	// Nothing refers to src any more (its legs point to dst): its memory serves the next call.
	c.freeCall(src)
	c.schedule(dst)
}

// heuristic pairs a leg no header links with the most recent open leg that has the same calling
// number and whose INVITE went to the host sending this one.
func (c *Calls) heuristic(l *legState, m *decode.Message) {
	num := numberKey(l.From)
	if num == "" {
		return
	}
	var best *legState
	for _, p := range c.byNum[num] {
		if p == l || p.Partial || p.ended() || p.InviteTime.After(l.InviteTime) {
			continue
		}
		if l.InviteTime.Sub(p.InviteTime) > heuristicWindow && len(p.children) == 0 {
			continue
		}
		to := false
		for _, h := range p.hops {
			if h.Dst.Addr() == m.Src.Addr() {
				to = true
				break
			}
		}
		if to && (best == nil || p.InviteTime.After(best.InviteTime)) {
			best = p
		}
	}
	if best != nil {
		c.attach(l, best, LinkHeuristic)
	}
}

func (c *Calls) indexNumber(l *legState) {
	num := numberKey(l.From)
	if num == "" {
		return
	}
	l.num = num
	c.byNum[num] = append(c.byNum[num], l)
}

func (c *Calls) unindexNumber(l *legState) {
	list := c.byNum[l.num]
	for i, x := range list {
		if x == l {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(c.byNum, l.num)
	} else {
		c.byNum[l.num] = list
	}
}

// numberKey normalises a calling number for comparison: its last nine digits when it has six
// or more (so +1 555 0100 and 15550100 agree), else the user part in lower case.
func numberKey(user string) string {
	var d []byte
	for i := 0; i < len(user); i++ {
		if c := user[i]; c >= '0' && c <= '9' {
			d = append(d, c)
		}
	}
	if len(d) >= 6 {
		if len(d) > 9 {
			d = d[len(d)-9:]
		}
		return string(d)
	}
	// A copy, lower case or not: the key outlives the leg whose From it came from.
	return strings.ToLower(strings.Clone(user))
}

// callIDValue reads a Call-ID carried in another header: white space, parameters and enclosing
// <> or quotes removed.
func callIDValue(v []byte) []byte {
	v = bytes.TrimSpace(v)
	if i := bytes.IndexByte(v, ';'); i >= 0 {
		v = bytes.TrimSpace(v[:i])
	}
	if len(v) >= 2 && (v[0] == '<' && v[len(v)-1] == '>' || v[0] == '"' && v[len(v)-1] == '"') {
		v = v[1 : len(v)-1]
	}
	return v
}

// sessionKey reads the local UUID of an RFC 7989 Session-ID, lower case; "" for the null UUID.
func sessionKey(v []byte) string {
	v = callIDValue(v)
	if len(v) == 0 || bytes.Count(v, []byte("0")) == len(v) {
		return ""
	}
	return strings.ToLower(string(v))
}

func unquote(v []byte) []byte {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}
