// Package check turns sigtrace's analysis into assertions: it reads rules (YAML) that bound counts,
// ratios and statistics over a capture's messages, calls, Diameter and DNS transactions, evaluates
// them in one streaming pass, and reports each rule's outcome with evidence (Call-IDs, input:frame)
// as text, JSON, JUnit XML or GitHub Actions annotations.
//
// A rules file:
//
//	rules:
//	  - name: no-server-errors
//	    over: messages            # or calls, diameter, dns
//	    match: 'sip.status >= 500'
//	    max: 0                    # at most this many matches
//	  - name: answer-seizure-ratio
//	    over: calls
//	    where: 'call.outcome != "in-progress"'
//	    match: 'call.outcome == "answered"'
//	    min_ratio: 0.5            # share of the population (where) that matches
//	  - name: post-dial-delay
//	    over: calls
//	    value: call.pdd           # a statistic over a numeric value
//	    p95_max: 3s
//
// Expressions are the filters package's language. A rule over calls may use message fields: a
// call matches when any of its SIP messages matches, with the call's fields visible (as
// filters.Filter.MatchCall). Rules over diameter and dns see Diameter request/answer and DNS
// query/response pairs: a pair matches when its request or its answer does, and status
// (answered, unanswered, orphan) restricts it further.
package check
