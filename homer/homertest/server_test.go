package homertest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var guidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`)

func do(t *testing.T, s *Server, method, path, body string, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func login(t *testing.T, s *Server, user, pass string) string {
	t.Helper()
	code, body := do(t, s, "POST", "/api/v3/auth", `{"username":"`+user+`","password":"`+pass+`","type":"internal"}`, nil)
	if code != 201 {
		t.Fatalf("login %s: %d %s", user, code, body)
	}
	var r struct{ Token string }
	json.Unmarshal([]byte(body), &r)
	return r.Token
}

// TestContract checks each line of docs/homer-api.md against the server: request -> exact answer.
// "<guid>" in a wanted body stands for any version-4 uuid.
func TestContract(t *testing.T) {
	s := New(t, Config{
		Users:       []User{{Name: "admin", Password: "sipcapture", Admin: true}, {Name: "viewer", Password: "v", Admin: false}},
		TokenAccess: true,
	})
	admin := map[string]string{"Authorization": "Bearer " + login(t, s, "admin", "sipcapture")}
	viewer := map[string]string{"Authorization": "Bearer " + login(t, s, "viewer", "v")}
	tok := s.AddToken("ci")
	token := map[string]string{"Auth-Token": tok.Token}
	seeded := s.Seed(Alias{ID: 7, Alias: "sbc", IP: "192.0.2.1", Port: 5060, Mask: 32, CaptureID: "0", Status: true})[0]
	full := `{"alias":"a","ip":"10.0.0.1","port":0,"mask":32,"captureID":"0","status":false}`

	tests := []struct {
		name               string
		method, path, body string
		hdr                map[string]string
		status             int
		reply              string // exact, or a prefix when it ends in "..."
	}{
		{"login wrong password", "POST", "/api/v3/auth", `{"username":"admin","password":"x","type":"internal"}`, nil,
			401, `{"statuscode":401,"error":"Unauthorized","message":"incorrect password"}`},
		{"login missing field", "POST", "/api/v3/auth", `{"username":"admin"}`, nil, 400, `{"data":{},"message":"Key: 'UserloginDetails.Password'...`},
		{"no token", "GET", "/api/v3/alias", "", nil, 400, `{"message":"missing or malformed jwt"}`},
		{"bad token", "GET", "/api/v3/alias", "", map[string]string{"Authorization": "Bearer x.y.z"}, 401, `{"message":"invalid or expired jwt"}`},
		{"list answers 201", "GET", "/api/v3/alias", "", admin, 201,
			`{"data":[{"id":7,"guid":"` + seeded + `","alias":"sbc","ip":"192.0.2.1","port":5060,"mask":32,"captureID":"0","status":true}]}`},
		{"list with a non-admin token", "GET", "/api/v3/alias", "", token, 201, `{"data":[{"id":7,...`},
		{"create", "POST", "/api/v3/alias", full, admin, 201, `{"data":"<guid>","message":"successfully created alias"}`},
		{"create with a non-admin token", "POST", "/api/v3/alias", full, token, 403, `{"message":"This API requires admin access. The AuthToken in use!"}`},
		{"create as a non-admin user", "POST", "/api/v3/alias", full, viewer, 403, `{"message":"This API requires admin access. The AuthToken in use!"}`},
		{"create with a CIDR ip", "POST", "/api/v3/alias", strings.Replace(full, "10.0.0.1", "10.0.0.0/8", 1), admin, 400,
			`{"data":{},"message":"Key: 'TableAlias.IP' Error:Field validation for 'IP' failed on the 'ip' tag"}`},
		{"create with a hostname", "POST", "/api/v3/alias", strings.Replace(full, "10.0.0.1", "sbc.example", 1), admin, 400,
			`{"data":{},"message":"Key: 'TableAlias.IP' Error:Field validation for 'IP' failed on the 'ip' tag"}`},
		{"create without mask", "POST", "/api/v3/alias", `{"alias":"a","ip":"10.0.0.1","port":0,"captureID":"0","status":true}`, admin, 400,
			`{"data":{},"message":"Key: 'TableAlias.Mask' Error:Field validation for 'Mask' failed on the 'required' tag"}`},
		{"create with port as a string", "POST", "/api/v3/alias", strings.Replace(full, `"port":0`, `"port":"0"`, 1), admin, 400,
			`{"data":{},"message":"request format is not correct"}`},
		{"mask 33 and port 70000 accepted", "POST", "/api/v3/alias", `{"alias":"b","ip":"10.0.0.2","port":70000,"mask":33,"captureID":"0","status":true}`, admin,
			201, `{"data":"<guid>","message":"successfully created alias"}`},
		{"captureID over 20: 201 empty", "POST", "/api/v3/alias", strings.Replace(full, `"captureID":"0"`, `"captureID":"123456789012345678901"`, 1), admin, 201, ``},
		{"client id kept; clash is a DB error", "POST", "/api/v3/alias", `{"id":7,"alias":"c","ip":"10.0.0.3","port":0,"mask":32,"captureID":"0","status":true}`, admin, 201, ``},
		{"update", "PUT", "/api/v3/alias/" + seeded, full, admin, 201, `{"data":"` + seeded + `","message":"successfully updated alias"}`},
		{"update unknown guid", "PUT", "/api/v3/alias/00000000-0000-4000-8000-000000000000", full, admin, 201, `{"data":"","message":"successfully updated alias"}`},
		{"get one alias: no route", "GET", "/api/v3/alias/" + seeded, "", admin, 404, `{"message":"Not Found"}`},
		{"delete", "DELETE", "/api/v3/alias/" + seeded, "", admin, 201, `{"data":"` + seeded + `","message":"successfully deleted alias"}`},
		{"delete unknown guid", "DELETE", "/api/v3/alias/" + seeded, "", admin, 201, `{"data":"","message":"successfully deleted alias"}`},
		{"create token", "POST", "/api/v3/token/auth", `{"name":"x","expire_date":"2099-01-01T00:00:00Z","active":true}`, admin, 201, `{"data":{"token":"...`},
	}
	for _, tt := range tests {
		code, reply := do(t, s, tt.method, tt.path, tt.body, tt.hdr)
		if code != tt.status {
			t.Errorf("%s: status %d, want %d (%s)", tt.name, code, tt.status, reply)
			continue
		}
		want := tt.reply
		got := guidRE.ReplaceAllString(reply, "<guid>")
		if strings.Contains(want, "<guid>") {
			reply = got
		}
		if prefix, ok := strings.CutSuffix(want, "..."); ok {
			if !strings.HasPrefix(reply, prefix) {
				t.Errorf("%s: reply %s, want prefix %s", tt.name, reply, prefix)
			}
		} else if reply != want {
			t.Errorf("%s: reply %s, want %s", tt.name, reply, want)
		}
	}
}

func TestDuplicatesAndClientIDs(t *testing.T) {
	s := New(t, Config{})
	h := map[string]string{"Authorization": "Bearer " + login(t, s, "admin", "sipcapture")}
	body := `{"alias":"a","ip":"10.0.0.1","port":0,"mask":32,"captureID":"0","status":true}`
	for range 2 {
		if code, r := do(t, s, "POST", "/api/v3/alias", body, h); code != 201 || r == "" {
			t.Fatalf("create: %d %q", code, r)
		}
	}
	do(t, s, "POST", "/api/v3/alias", `{"id":99,"guid":"mine","alias":"b","ip":"10.0.0.2","port":0,"mask":32,"captureID":"0","status":true}`, h)
	got := s.Aliases()
	if len(got) != 3 {
		t.Fatalf("no duplicate check: want 3 aliases, got %d", len(got))
	}
	var ids []int
	for _, a := range got {
		if a.GUID == "mine" {
			t.Error("a client-sent guid was kept")
		}
		ids = append(ids, a.ID)
	}
	found := false
	for _, id := range ids {
		found = found || id == 99
	}
	if !found {
		t.Errorf("a client-sent id is stored as given: ids %v", ids)
	}
}

func TestTokens(t *testing.T) {
	body := `{"alias":"a","ip":"10.0.0.1","port":0,"mask":32,"captureID":"0","status":true}`
	off := New(t, Config{})
	tok := off.AddToken("ci")
	if code, r := do(t, off, "GET", "/api/v3/alias", "", map[string]string{"Auth-Token": tok.Token}); code != 400 || r != `{"message":"missing or malformed jwt"}` {
		t.Errorf("token access off: %d %s", code, r)
	}

	on := New(t, Config{TokenAccess: true})
	h := map[string]string{"Authorization": "Bearer " + login(t, on, "admin", "sipcapture")}
	_, r := do(t, on, "POST", "/api/v3/token/auth", `{"name":"ci","expire_date":"2099-01-01T00:00:00Z","active":true}`, h)
	var created struct{ Data struct{ Token string } }
	json.Unmarshal([]byte(r), &created)
	if len(created.Data.Token) != 80 {
		t.Fatalf("token %q: want 80 characters", created.Data.Token)
	}
	th := map[string]string{"Auth-Token": created.Data.Token}
	if code, _ := do(t, on, "POST", "/api/v3/alias", body, th); code != 403 {
		t.Errorf("new token write: %d, want 403", code)
	}
	guid := on.TokenGUID(created.Data.Token)
	if code, _ := do(t, on, "PUT", "/api/v3/token/auth/"+guid, `{"user_object":{"usergroup":"admin"}}`, h); code != 201 {
		t.Fatalf("promote: %d", code)
	}
	if code, r := do(t, on, "POST", "/api/v3/alias", body, th); code != 201 || r == "" {
		t.Errorf("admin token write: %d %s", code, r)
	}
	if code, _ := do(t, on, "GET", "/api/v3/alias", "", map[string]string{"Auth-Token": "nope"}); code != 400 {
		t.Errorf("unknown token: %d, want 400", code)
	}
}

func TestJWTExpires(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := New(t, Config{TokenExpire: time.Minute, Now: func() time.Time { return now }})
	h := map[string]string{"Authorization": "Bearer " + login(t, s, "admin", "sipcapture")}
	if code, _ := do(t, s, "GET", "/api/v3/alias", "", h); code != 201 {
		t.Fatalf("fresh token: %d", code)
	}
	now = now.Add(2 * time.Minute)
	if code, r := do(t, s, "GET", "/api/v3/alias", "", h); code != 401 || r != `{"message":"invalid or expired jwt"}` {
		t.Errorf("expired token: %d %s", code, r)
	}
}

func TestFaults(t *testing.T) {
	s := New(t, Config{})
	h := map[string]string{"Authorization": "Bearer " + login(t, s, "admin", "sipcapture")}
	body := `{"alias":"a","ip":"10.0.0.1","port":0,"mask":32,"captureID":"0","status":true}`

	s.Inject(Injection{Method: "WRITE", Nth: 2, Fault: Fault5xx})
	if code, _ := do(t, s, "POST", "/api/v3/alias", body, h); code != 201 {
		t.Errorf("first write: %d", code)
	}
	if code, r := do(t, s, "POST", "/api/v3/alias", body, h); code != 502 || !strings.Contains(r, "Bad Gateway") {
		t.Errorf("second write: %d %s", code, r)
	}
	if code, _ := do(t, s, "POST", "/api/v3/alias", body, h); code != 201 {
		t.Errorf("third write: %d", code)
	}
	if n := len(s.Aliases()); n != 2 {
		t.Errorf("502 must not create: %d aliases", n)
	}

	s.ClearFaults()
	s.Inject(Injection{Method: "POST", Nth: 1, Fault: FaultDBError})
	if code, r := do(t, s, "POST", "/api/v3/alias", body, h); code != 201 || r != "" {
		t.Errorf("db error: %d %q", code, r)
	}

	for _, f := range []struct {
		fault Fault
		added int
	}{{FaultHang, 0}, {FaultHangAfter, 1}} {
		before := len(s.Aliases())
		s.ClearFaults()
		s.Inject(Injection{Method: "POST", Nth: 1, Fault: f.fault})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		req, _ := http.NewRequestWithContext(ctx, "POST", s.URL+"/api/v3/alias", strings.NewReader(body))
		req.Header.Set("Authorization", h["Authorization"])
		_, err := http.DefaultClient.Do(req)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("fault %d: err %v, want a timeout", f.fault, err)
		}
		if got := len(s.Aliases()) - before; got != f.added {
			t.Errorf("fault %d: %d aliases added, want %d", f.fault, got, f.added)
		}
	}
}
