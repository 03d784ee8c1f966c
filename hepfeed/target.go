package hepfeed

import (
	"fmt"
	"net"
	"strings"
)

// Target is a network endpoint written as udp://HOST:PORT or tcp://HOST:PORT.
type Target struct {
	Network string // "udp" or "tcp"
	Addr    string // host:port
}

func (t Target) String() string { return t.Network + "://" + t.Addr }

// ParseTarget parses udp://HOST:PORT or tcp://HOST:PORT; without a scheme, network is assumed. The
// port is required: HEP's usual 9060 is a convention, not something to guess on the user's behalf.
func ParseTarget(s, network string) (Target, error) {
	addr := s
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		network, addr = strings.ToLower(scheme), rest
	}
	if network != "udp" && network != "tcp" {
		return Target{}, fmt.Errorf("hepfeed: %q: unknown network %q (want udp:// or tcp://)", s, network)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return Target{}, fmt.Errorf("hepfeed: %q: %w", s, err)
	}
	if port == "" {
		return Target{}, fmt.Errorf("hepfeed: %q: missing port", s)
	}
	return Target{Network: network, Addr: net.JoinHostPort(host, port)}, nil
}
