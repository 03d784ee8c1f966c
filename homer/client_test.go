package homer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/homer/homertest"
)

func newClient(t *testing.T, s *homertest.Server, opts Options) *Client {
	t.Helper()
	if opts.Token == "" && opts.User == "" {
		opts.User, opts.Password = "admin", "sipcapture"
	}
	if opts.RetryWait == 0 {
		opts.RetryWait = time.Millisecond
	}
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Second
	}
	c, err := New(s.URL, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var sbc = Alias{Name: "sbc", IP: "192.0.2.1", Mask: 32, Port: 5060, CaptureID: "0", Status: true}

func TestLogin(t *testing.T) {
	s := homertest.New(t, homertest.Config{Users: []homertest.User{
		{Name: "admin", Password: "sipcapture", Admin: true}, {Name: "viewer", Password: "v"},
	}})
	ctx := context.Background()
	for _, tt := range []struct {
		user, pass string
		admin      bool
		err        error
		hint       string
	}{
		{"admin", "sipcapture", true, nil, ""},
		{"viewer", "v", false, nil, ""},
		{"admin", "wrong", false, ErrUnauthorized, "wrong user or password"},
		{"nobody", "x", false, ErrUnauthorized, "wrong user or password"},
	} {
		admin, err := newClient(t, s, Options{User: tt.user, Password: tt.pass}).Login(ctx)
		if !errors.Is(err, tt.err) || admin != tt.admin {
			t.Errorf("%s/%s: admin %v err %v, want %v %v", tt.user, tt.pass, admin, err, tt.admin, tt.err)
		}
		if err != nil && !strings.Contains(err.Error(), tt.hint) {
			t.Errorf("%s: %v: want a hint %q", tt.user, err, tt.hint)
		}
	}
}

func TestNotHomerApp(t *testing.T) {
	s := homertest.New(t, homertest.Config{})
	c, err := New(s.URL+"/elsewhere", Options{User: "admin", Password: "sipcapture", RetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Aliases(context.Background())
	if err == nil || !strings.Contains(err.Error(), "HOMER 11") {
		t.Errorf("404 on login: %v, want a hint about HOMER 11", err)
	}
}

func TestNewRefuses(t *testing.T) {
	for _, tt := range []struct {
		url  string
		opts Options
		want string
	}{
		{"homer:9080", Options{User: "a", Password: "b"}, "bad URL"},
		{"ftp://homer", Options{User: "a", Password: "b"}, "bad URL"},
		{"http://homer", Options{}, "no credentials"},
		{"http://homer", Options{User: "a"}, "no password"},
		{"http://homer", Options{Token: "t", CAFile: "/nonexistent/ca.pem"}, "CA file"},
	} {
		if _, err := New(tt.url, tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%q): %v, want %q", tt.url, err, tt.want)
		}
	}
}

// TestTraps covers the answers of homer-app that a naive client misreads.
func TestTraps(t *testing.T) {
	ctx := context.Background()
	s := homertest.New(t, homertest.Config{})
	c := newClient(t, s, Options{})

	// A list answers 201, not 200.
	if list, err := c.Aliases(ctx); err != nil || len(list) != 0 {
		t.Fatalf("empty list: %v %v", list, err)
	}

	// A create never sends id or guid, whatever the Alias holds.
	withIDs := sbc
	withIDs.ID, withIDs.GUID = 7, "not-a-guid"
	guid, err := c.CreateAlias(ctx, withIDs)
	if err != nil || guid == "" {
		t.Fatalf("create: %q %v", guid, err)
	}
	for _, w := range s.Writes() {
		if strings.Contains(w.Body, `"id"`) || strings.Contains(w.Body, `"guid"`) {
			t.Errorf("create sent an id or guid: %s", w.Body)
		}
	}
	list, err := c.Aliases(ctx)
	if err != nil || len(list) != 1 || list[0].GUID != guid || list[0].Key() != sbc.Key() {
		t.Fatalf("after create: %+v %v", list, err)
	}

	// A database error answers 201 with an empty body.
	s.Inject(homertest.Injection{Method: "POST", Nth: 1, Fault: homertest.FaultDBError})
	other := sbc
	other.IP = "192.0.2.2"
	if _, err := c.CreateAlias(ctx, other); !errors.Is(err, ErrEmptyReply) || !strings.Contains(err.Error(), "nothing was created") {
		t.Errorf("DB error: %v, want ErrEmptyReply", err)
	}

	// An unknown guid answers 201 with empty data.
	const unknown = "00000000-0000-4000-8000-000000000000"
	if err := c.UpdateAlias(ctx, unknown, sbc); !errors.Is(err, ErrNotFound) {
		t.Errorf("update unknown: %v, want ErrNotFound", err)
	}
	if err := c.DeleteAlias(ctx, unknown); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete unknown: %v, want ErrNotFound", err)
	}
	if err := c.DeleteAlias(ctx, guid); err != nil {
		t.Errorf("delete: %v", err)
	}

	// The server checks neither mask nor port range nor captureID length: the client does.
	n := len(s.Writes())
	for _, bad := range []Alias{
		{Name: "x", IP: "10.0.0.1", Mask: 33, CaptureID: "0"},
		{Name: "x", IP: "2001:db8::1", Mask: 129, CaptureID: "0"},
		{Name: "x", IP: "10.0.0.1", Mask: 32, Port: 70000, CaptureID: "0"},
		{Name: "x", IP: "10.0.0.1", Mask: 32, CaptureID: strings.Repeat("9", 21)},
		{Name: "x", IP: "10.0.0.0/8", Mask: 8, CaptureID: "0"},
		{Name: "", IP: "10.0.0.1", Mask: 32, CaptureID: "0"},
	} {
		if _, err := c.CreateAlias(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("create %+v: %v, want ErrInvalid", bad, err)
		}
		if err := c.UpdateAlias(ctx, unknown, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("update %+v: %v, want ErrInvalid", bad, err)
		}
	}
	if len(s.Writes()) != n {
		t.Errorf("invalid aliases reached the server")
	}
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	off := homertest.New(t, homertest.Config{})
	tok := off.AddToken("ci")
	_, err := newClient(t, off, Options{Token: tok.Token}).Aliases(ctx)
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "enable_token_access") {
		t.Errorf("token access off: %v", err)
	}

	on := homertest.New(t, homertest.Config{TokenAccess: true})
	tok = on.AddToken("ci")
	c := newClient(t, on, Options{Token: tok.Token})
	if _, err := c.Aliases(ctx); err != nil {
		t.Fatalf("reads work with any token: %v", err)
	}
	_, err = c.CreateAlias(ctx, sbc)
	if !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), `usergroup="admin"`) {
		t.Errorf("non-admin token write: %v", err)
	}
	if len(on.Writes()) != 1 {
		t.Errorf("a 403 is not retried: %d writes", len(on.Writes()))
	}
	on.MakeTokenAdmin(tok.Token)
	if _, err := c.CreateAlias(ctx, sbc); err != nil {
		t.Errorf("admin token write: %v", err)
	}
	for _, r := range on.Requests() {
		if r.Auth != "token" {
			t.Errorf("%s %s sent %q auth, want the Auth-Token only", r.Method, r.Path, r.Auth)
		}
	}
}

func TestRelogin(t *testing.T) {
	now := time.Now()
	s := homertest.New(t, homertest.Config{TokenExpire: time.Minute, Now: func() time.Time { return now }})
	c := newClient(t, s, Options{})
	ctx := context.Background()
	if _, err := c.Aliases(ctx); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	if _, err := c.CreateAlias(ctx, sbc); err != nil {
		t.Fatalf("after the JWT expired: %v", err)
	}
	logins := 0
	for _, r := range s.Requests() {
		if r.Path == "/api/v3/auth" {
			logins++
		}
	}
	if logins != 2 || len(s.Aliases()) != 1 {
		t.Errorf("%d logins, %d aliases; want 2 and 1", logins, len(s.Aliases()))
	}
}

func TestRetries(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		fault   homertest.Fault
		times   int
		err     error
		posts   int // POST requests the server saw
		aliases int
	}{
		{"5xx then success", homertest.Fault5xx, 2, nil, 3, 1},
		{"5xx every time", homertest.Fault5xx, 10, ErrServer, 4, 0},
		{"timeout before the write", homertest.FaultHang, 1, nil, 2, 1},
		// The first try was stored but its answer lost: the client finds it and does not create it again.
		{"timeout after the write", homertest.FaultHangAfter, 1, nil, 1, 1},
		{"timeouts after each write", homertest.FaultHangAfter, 10, nil, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := homertest.New(t, homertest.Config{})
			s.Inject(homertest.Injection{Method: "POST", Nth: 1, Times: tt.times, Fault: tt.fault})
			c := newClient(t, s, Options{Timeout: 150 * time.Millisecond})
			guid, err := c.CreateAlias(ctx, sbc)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			got := s.Aliases()
			if err == nil && (len(got) != 1 || got[0].GUID != guid) {
				t.Errorf("guid %q, server %+v", guid, got)
			}
			if len(got) != tt.aliases {
				t.Errorf("%d aliases, want %d", len(got), tt.aliases)
			}
			if n := len(s.Writes()); n != tt.posts {
				t.Errorf("%d POSTs, want %d", n, tt.posts)
			}
		})
	}
}

func TestGetRetriedOnTimeout(t *testing.T) {
	s := homertest.New(t, homertest.Config{})
	s.Seed(homertest.Alias{Alias: "sbc", IP: "192.0.2.1", Port: 5060, Mask: 32, CaptureID: "0", Status: true})
	s.Inject(homertest.Injection{Method: "GET", Nth: 1, Times: 2, Fault: homertest.FaultHang})
	list, err := newClient(t, s, Options{Timeout: 100 * time.Millisecond}).Aliases(context.Background())
	if err != nil || len(list) != 1 {
		t.Fatalf("%v %v", list, err)
	}
}

func TestTLS(t *testing.T) {
	ctx := context.Background()
	s := homertest.New(t, homertest.Config{TLS: true})
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, s.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := newClient(t, s, Options{}).Aliases(ctx)
	if err == nil || !strings.Contains(err.Error(), "--ca-file") || strings.Contains(err.Error(), "attempts") {
		t.Errorf("untrusted certificate: %v, want an unretried error naming --ca-file", err)
	}
	if _, err := newClient(t, s, Options{CAFile: ca}).Aliases(ctx); err != nil {
		t.Errorf("with the CA file: %v", err)
	}
	if _, err := newClient(t, s, Options{Insecure: true}).Aliases(ctx); err != nil {
		t.Errorf("insecure: %v", err)
	}
	notPEM := filepath.Join(t.TempDir(), "x.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	if _, err := New(s.URL, Options{Token: "t", CAFile: notPEM}); err == nil || !strings.Contains(err.Error(), "no PEM") {
		t.Errorf("CA file without PEM: %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	// Nothing listens on port 1 of loopback: every dial is refused.
	c, err := New("http://127.0.0.1:1", Options{User: "a", Password: "b", RetryWait: time.Millisecond, Retries: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Aliases(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot reach 127.0.0.1:1") || !strings.Contains(err.Error(), "after 2 attempts") {
		t.Errorf("unreachable: %v", err)
	}
}
