package epdg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Target is one gateway name to resolve, with the operator it belongs to.
type Target struct {
	PLMN    PLMN
	Name    string // brand or operator from the table, may be ""
	Country string
	FQDN    string
}

// Targets builds the names of kind k for the given networks, naming each from the embedded
// table. Networks whose names coincide ("01" and "001") are resolved once, under the first.
func Targets(k Kind, plmns []PLMN) []Target {
	seen := map[string]bool{}
	var out []Target
	for _, p := range plmns {
		fqdn := p.FQDN(k)
		if seen[fqdn] {
			continue
		}
		seen[fqdn] = true
		t := Target{PLMN: p, FQDN: fqdn}
		if o, ok := LookupOperator(p); ok {
			t.PLMN.MNC = o.MNC // the operator's own digits, not a 1-digit shorthand
			t.Name, t.Country = o.Name(), o.Country()
		}
		out = append(out, t)
	}
	return out
}

// Resolver looks up gateway names. The zero value is not usable: Servers must be set.
type Resolver struct {
	Servers     []string      // host:port of recursive resolvers, tried in turn on failure
	Timeout     time.Duration // for one query to one server; 0 means 2s
	Retries     int           // further tries after the first, each on the next server
	Concurrency int           // queries in flight at once; 0 means 8
	// UDPSize is the EDNS0 buffer size offered; 0 sends no EDNS0, so answers over 512 bytes come
	// back truncated and are asked again over TCP.
	UDPSize uint16
}

// maxChain bounds how many CNAMEs are followed, as resolvers do, so that a loop ends.
const maxChain = 8

// SystemResolvers returns the nameservers of a resolv.conf file as host:port.
func SystemResolvers(path string) ([]string, error) {
	conf, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("epdg: reading resolvers: %w", err)
	}
	if len(conf.Servers) == 0 {
		return nil, fmt.Errorf("epdg: %s lists no nameserver", path)
	}
	out := make([]string, 0, len(conf.Servers))
	for _, s := range conf.Servers {
		out = append(out, net.JoinHostPort(s, conf.Port))
	}
	return out, nil
}

// NormalizeServer checks a resolver address and adds port 53 when it has none.
func NormalizeServer(s string) (string, error) {
	if ip, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return net.JoinHostPort(ip.String(), "53"), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return "", fmt.Errorf("epdg: bad resolver %q: want host:port or an IP address", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("epdg: bad resolver %q: bad port", s)
	}
	return s, nil
}

// Resolve looks up every target's A and AAAA records, at most Concurrency queries at a time,
// and returns one Result per target in the same order. A failing name never stops the others.
func (r *Resolver) Resolve(ctx context.Context, targets []Target) []Result {
	conc := r.Concurrency
	if conc <= 0 {
		conc = 8
	}
	sem := make(chan struct{}, conc)
	type pair struct{ a, aaaa lookup }
	found := make([]pair, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				l := r.lookup(ctx, dns.Fqdn(t.FQDN), qtype)
				if qtype == dns.TypeA {
					found[i].a = l
				} else {
					found[i].aaaa = l
				}
			}()
		}
	}
	wg.Wait()
	out := make([]Result, len(targets))
	for i, t := range targets {
		out[i] = combine(t, found[i].a, found[i].aaaa)
	}
	return out
}

// lookup is the outcome of one name and record type.
type lookup struct {
	status Status
	cnames []string
	addrs  []netip.Addr
	err    string
}

// combine merges the A and AAAA lookups of a target. Addresses make it ok unless the other
// family failed, in which case the failure is its status (the list may be incomplete) and the
// addresses found are kept. Without addresses, NXDOMAIN from either family is conclusive.
func combine(t Target, a, aaaa lookup) Result {
	res := Result{
		PLMN: t.PLMN.String(), MCC: t.PLMN.MCC, MNC: t.PLMN.MNC, Name: t.Name, Country: t.Country,
		FQDN: t.FQDN, CNAMEs: a.cnames, Addresses: []netip.Addr{},
	}
	if len(aaaa.cnames) > len(res.CNAMEs) {
		res.CNAMEs = aaaa.cnames
	}
	if res.CNAMEs == nil {
		res.CNAMEs = []string{}
	}
	res.Addresses = sortAddrs(append(append(res.Addresses, a.addrs...), aaaa.addrs...))
	var errs []string
	for _, l := range []struct {
		name string
		lookup
	}{{"A", a}, {"AAAA", aaaa}} {
		if l.err != "" {
			errs = append(errs, l.name+": "+l.err)
		}
	}
	res.Error = strings.Join(errs, "; ")
	failed := func(s Status) bool { return !s.Conclusive() }
	switch {
	case len(res.Addresses) > 0 && failed(a.status):
		res.Status = a.status
	case len(res.Addresses) > 0 && failed(aaaa.status):
		res.Status = aaaa.status
	case len(res.Addresses) > 0:
		res.Status = StatusOK
	case a.status == StatusNXDomain || aaaa.status == StatusNXDomain:
		res.Status = StatusNXDomain
	case failed(a.status):
		res.Status = a.status
	case failed(aaaa.status):
		res.Status = aaaa.status
	default:
		res.Status = StatusNoData
	}
	return res
}

// lookup resolves one name and type, following CNAMEs. A resolver normally returns the whole
// chain with the addresses; when a chain stops at a name the answer does not cover (an
// authoritative server for another zone), that name is asked for in turn.
func (r *Resolver) lookup(ctx context.Context, qname string, qtype uint16) lookup {
	var l lookup
	seen := map[string]bool{strings.ToLower(qname): true}
	name := qname
	for range maxChain + 1 {
		resp, err := r.exchange(ctx, name, qtype)
		if err != nil {
			l.status, l.err = classify(err), err.Error()
			return l
		}
		switch resp.Rcode {
		case dns.RcodeSuccess:
		case dns.RcodeNameError:
			l.status = StatusNXDomain
			return l
		case dns.RcodeServerFailure:
			l.status, l.err = StatusServFail, "SERVFAIL from "+r.serverList()
			return l
		default:
			rcode, ok := dns.RcodeToString[resp.Rcode]
			if !ok {
				rcode = "rcode " + strconv.Itoa(resp.Rcode)
			}
			l.status, l.err = StatusError, rcode+" from "+r.serverList()
			return l
		}
		asked := name
		if name, err = l.walk(resp, name, qtype, seen); err != nil {
			l.status, l.err = StatusError, err.Error()
			return l
		}
		if len(l.addrs) > 0 || strings.EqualFold(name, asked) {
			if len(l.addrs) > 0 {
				l.status = StatusOK
			} else {
				l.status = StatusNoData
			}
			return l
		}
		// The chain led to a name this answer says nothing more about: ask for it.
	}
	l.status, l.err = StatusError, "CNAME chain longer than "+strconv.Itoa(maxChain)
	return l
}

// walk follows the CNAME chain in an answer from name, adds the chain to l.cnames and the
// addresses of type qtype held by its end to l.addrs, and returns that end. seen holds the names
// already on the chain, lower case, so that a loop is caught.
func (l *lookup) walk(resp *dns.Msg, name string, qtype uint16, seen map[string]bool) (string, error) {
	for {
		next := ""
		for _, rr := range resp.Answer {
			if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Hdr.Name, name) {
				next = c.Target
				break
			}
		}
		if next == "" {
			break
		}
		if seen[strings.ToLower(next)] || len(l.cnames) >= maxChain {
			return name, fmt.Errorf("CNAME loop or chain longer than %d at %s", maxChain, strings.TrimSuffix(next, "."))
		}
		seen[strings.ToLower(next)] = true
		l.cnames = append(l.cnames, strings.TrimSuffix(next, "."))
		name = next
	}
	for _, rr := range resp.Answer {
		if !strings.EqualFold(rr.Header().Name, name) {
			continue
		}
		switch v := rr.(type) {
		case *dns.A:
			if ip, ok := netip.AddrFromSlice(v.A.To4()); ok && qtype == dns.TypeA {
				l.addrs = append(l.addrs, ip)
			}
		case *dns.AAAA:
			if ip, ok := netip.AddrFromSlice(v.AAAA.To16()); ok && qtype == dns.TypeAAAA {
				l.addrs = append(l.addrs, ip)
			}
		}
	}
	return name, nil
}

func (r *Resolver) serverList() string { return strings.Join(r.Servers, ", ") }

// errTruncatedTCP reports an answer still truncated over TCP, which no retry can mend.
var errTruncatedTCP = errors.New("answer truncated even over TCP")

// errNoAnswer marks a query that got no answer in time from any server tried.
var errNoAnswer = errors.New("no answer")

// exchange asks the servers in turn until one gives an answer worth keeping: anything but
// SERVFAIL or REFUSED, which are about that server rather than the name. It returns the last
// answer or error when none does.
func (r *Resolver) exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	if len(r.Servers) == 0 {
		return nil, errors.New("no resolver configured")
	}
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	if r.UDPSize > 0 {
		q.SetEdns0(r.UDPSize, false)
	}
	var (
		resp *dns.Msg
		err  error
	)
	tries := r.Retries + 1
	for i := range tries {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		server := r.Servers[i%len(r.Servers)]
		resp, err = r.exchangeOne(ctx, q, server)
		if err != nil {
			if classify(err) == StatusTimeout {
				tried := r.Servers[:min(tries, len(r.Servers))]
				err = fmt.Errorf("%w within %s from %s (%d tries)", errNoAnswer, r.timeout(), strings.Join(tried, ", "), tries)
			} else {
				err = fmt.Errorf("%s: %w", server, err)
			}
			continue
		}
		if resp.Rcode != dns.RcodeServerFailure && resp.Rcode != dns.RcodeRefused {
			return resp, nil
		}
	}
	return resp, err
}

func (r *Resolver) timeout() time.Duration {
	if r.Timeout <= 0 {
		return 2 * time.Second
	}
	return r.Timeout
}

// exchangeOne sends one query over UDP and asks again over TCP when the answer is truncated.
func (r *Resolver) exchangeOne(ctx context.Context, q *dns.Msg, server string) (*dns.Msg, error) {
	c := &dns.Client{Net: "udp", Timeout: r.timeout(), UDPSize: r.UDPSize}
	resp, _, err := c.ExchangeContext(ctx, q.Copy(), server)
	if err == nil && !resp.Truncated {
		return resp, checkAnswer(q, resp)
	}
	if err != nil {
		return nil, err
	}
	c.Net = "tcp"
	resp, _, err = c.ExchangeContext(ctx, q.Copy(), server)
	if err != nil {
		return nil, fmt.Errorf("over TCP: %w", err)
	}
	if resp.Truncated {
		return nil, errTruncatedTCP
	}
	return resp, checkAnswer(q, resp)
}

// checkAnswer rejects an answer to another question (the ID alone is checked by the client).
func checkAnswer(q, resp *dns.Msg) error {
	if len(resp.Question) != 1 || !strings.EqualFold(resp.Question[0].Name, q.Question[0].Name) || resp.Question[0].Qtype != q.Question[0].Qtype {
		return errors.New("answer does not match the question")
	}
	return nil
}

// classify maps a transport error to a status.
func classify(err error) Status {
	var ne net.Error
	if errors.Is(err, errNoAnswer) || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return StatusTimeout
	}
	return StatusError
}
