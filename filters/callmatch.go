package filters

import (
	"errors"

	"github.com/sigtrace/sigtrace/correlate"
	"github.com/sigtrace/sigtrace/decode"
)

// CallMatcher decides calls by their messages without keeping the messages: feed it every SIP
// message as it is decoded, then ask about each call when correlate emits it. A call matches when
// one of its messages matched (for an expression of message fields), or when its fields match
// (for an expression of call fields).
type CallMatcher struct {
	f   *Filter
	ids map[string]struct{} // Call-IDs of the messages that matched, until their call is asked about
}

// ErrMixedFields is returned by NewCallMatcher for an expression that reads both call and message
// fields: it needs the call's messages at hand (MatchCall).
var ErrMixedFields = errors.New("filters: an expression mixing call fields (call.*) and message fields needs the messages of each call")

// NewCallMatcher returns a CallMatcher for f (nil matches every call).
func NewCallMatcher(f *Filter) (*CallMatcher, error) {
	if f.UsesCallFields() && f.UsesMessageFields() {
		return nil, ErrMixedFields
	}
	return &CallMatcher{f: f, ids: map[string]struct{}{}}, nil
}

// Message notes m's Call-ID when the expression, which reads message fields, matches it.
func (cm *CallMatcher) Message(m *decode.Message) {
	if !cm.f.UsesMessageFields() || m.Protocol != decode.ProtoSIP || m.SIP == nil {
		return
	}
	if _, ok := cm.ids[string(m.SIP.CallID)]; ok {
		return
	}
	if cm.f.MatchMessage(m) {
		cm.ids[string(m.SIP.CallID)] = struct{}{}
	}
}

// Call reports whether c matches, and forgets the Call-IDs of its legs.
func (cm *CallMatcher) Call(c *correlate.Call) bool {
	if !cm.f.UsesMessageFields() {
		return cm.f.MatchCall(c)
	}
	match := false
	for i := range c.Legs {
		if _, ok := cm.ids[c.Legs[i].CallID]; ok {
			match = true
			delete(cm.ids, c.Legs[i].CallID)
		}
	}
	return match
}
