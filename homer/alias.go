package homer

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// Alias is a HOMER alias: a name for an address, a prefix or an address and port.
type Alias struct {
	ID        int    `json:"id,omitempty"`
	GUID      string `json:"guid,omitempty"`
	Name      string `json:"alias"`
	IP        string `json:"ip"`
	Port      int    `json:"port"`
	Mask      int    `json:"mask"`
	CaptureID string `json:"captureID"`
	Status    bool   `json:"status"`
}

// Key identifies an alias for sync: two aliases with the same key are the same alias, whatever
// their names, statuses or guids.
type Key struct {
	IP        string `json:"ip"`
	Mask      int    `json:"mask"`
	Port      int    `json:"port"`
	CaptureID string `json:"captureID"`
}

// Key returns a's identity, with the address in canonical form so that "2001:DB8::1" and
// "2001:db8:0::1" are one alias.
func (a Alias) Key() Key {
	ip := a.IP
	if addr, err := netip.ParseAddr(ip); err == nil {
		ip = addr.String()
	}
	return Key{IP: ip, Mask: a.Mask, Port: a.Port, CaptureID: a.CaptureID}
}

func (k Key) String() string {
	return fmt.Sprintf("%s/%d port %d capture %s", k.IP, k.Mask, k.Port, k.CaptureID)
}

func compareKeys(a, b Key) int {
	if c := strings.Compare(a.IP, b.IP); c != 0 {
		return c
	}
	if a.Mask != b.Mask {
		return a.Mask - b.Mask
	}
	if a.Port != b.Port {
		return a.Port - b.Port
	}
	return strings.Compare(a.CaptureID, b.CaptureID)
}

// Limits the server does not check (homer-app accepts mask 33 and port 70000) or checks only in its
// database (captureID is varchar(20): a longer one fails the insert).
const (
	MaxCaptureID = 20
	// LegacyMaxName is the name limit of homer-app before 1.4.54; longer names only get a warning.
	LegacyMaxName = 40
)

// ErrInvalid marks an alias the client refuses to send.
var ErrInvalid = errors.New("invalid alias")

// Validate checks what homer-app leaves unchecked or fails on obscurely, so that a bad alias is
// refused before any write.
func (a Alias) Validate() error {
	var problems []string
	if strings.TrimSpace(a.Name) == "" {
		problems = append(problems, "empty name")
	}
	addr, err := netip.ParseAddr(a.IP)
	switch {
	case a.IP == "":
		problems = append(problems, "empty ip")
	case err != nil:
		problems = append(problems, fmt.Sprintf("ip %q is not an IPv4 or IPv6 address", a.IP))
	case addr.Zone() != "":
		problems = append(problems, fmt.Sprintf("ip %q has a zone", a.IP))
	default:
		if a.Mask < 0 || a.Mask > addr.BitLen() {
			problems = append(problems, fmt.Sprintf("mask %d out of range 0-%d", a.Mask, addr.BitLen()))
		}
	}
	if a.Port < 0 || a.Port > 65535 {
		problems = append(problems, fmt.Sprintf("port %d out of range 0-65535", a.Port))
	}
	switch n := utf8.RuneCountInString(a.CaptureID); {
	case n == 0:
		problems = append(problems, "empty captureID")
	case n > MaxCaptureID:
		problems = append(problems, fmt.Sprintf("captureID %q longer than %d characters", a.CaptureID, MaxCaptureID))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, ", "))
	}
	return nil
}

// wire is the body of a create or update: never an id (homer-app stores a client's id as given,
// and a clash is a database error) nor a guid.
type wire struct {
	Name      string `json:"alias"`
	IP        string `json:"ip"`
	Port      int    `json:"port"`
	Mask      int    `json:"mask"`
	CaptureID string `json:"captureID"`
	Status    bool   `json:"status"`
}

func (a Alias) wire() wire {
	return wire{Name: a.Name, IP: a.IP, Port: a.Port, Mask: a.Mask, CaptureID: a.CaptureID, Status: a.Status}
}
