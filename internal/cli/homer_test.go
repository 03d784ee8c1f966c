package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/homer/homertest"
)

// runHomer runs sigtrace in-process with env as the whole environment (so that no real config
// file or credential leaks in) and returns stdout, stderr and the exit code.
func runHomer(t *testing.T, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	if _, ok := env["XDG_CONFIG_HOME"]; !ok {
		env["XDG_CONFIG_HOME"] = t.TempDir()
	}
	var out, errOut bytes.Buffer
	f := &Factory{
		Stdin:  strings.NewReader(env["STDIN"]),
		Stdout: &out,
		Stderr: &errOut,
		Now:    time.Now,
		Getenv: func(k string) string { return env[k] },
	}
	code := run(context.Background(), args, f)
	return out.String(), errOut.String(), code
}

func adminEnv() map[string]string {
	return map[string]string{"HOMER_USER": "admin", "HOMER_PASSWORD": "sipcapture"}
}

func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const labYAML = `aliases:
  - name: sbc-edge
    ip: 192.0.2.10
    port: 5060
  - name: core-net
    ip: 10.20.0.0/16
  - name: pcscf
    ip: 2001:db8::5
    captureID: "2001"
    status: false
`

var guidPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// normal replaces what changes from run to run: guids, the server's port, the input's directory.
func normal(s string, srv *homertest.Server, file string) string {
	s = strings.ReplaceAll(s, srv.URL, "URL")
	s = strings.ReplaceAll(s, file, "aliases.yaml")
	return guidPattern.ReplaceAllString(s, "<guid>")
}

func labServer(t *testing.T, cfg homertest.Config) *homertest.Server {
	s := homertest.New(t, cfg)
	s.Seed(
		homertest.Alias{Alias: "sbc-edge", IP: "192.0.2.10", Port: 5060, Mask: 32, CaptureID: "0", Status: true},
		homertest.Alias{Alias: "sbc-edge", IP: "192.0.2.10", Port: 5060, Mask: 32, CaptureID: "0", Status: true},
		homertest.Alias{Alias: "core", IP: "10.20.0.0", Port: 0, Mask: 16, CaptureID: "0", Status: false},
		homertest.Alias{Alias: "old", IP: "198.51.100.7", Port: 0, Mask: 32, CaptureID: "0", Status: true},
	)
	return s
}

func TestHomerSyncPlanApplyRerun(t *testing.T) {
	s := labServer(t, homertest.Config{})
	file := writeFile(t, "lab.yaml", labYAML)

	out, errOut, code := runHomer(t, adminEnv(), "homer", "sync", "--url", s.URL, "--aliases", file, "--dry-run")
	want := `HOMER URL: 4 aliases; aliases.yaml: 3 aliases

+ create 2001:db8::5/128 port 0 capture 2001 "pcscf" (inactive)
~ update 10.20.0.0/16 port 0 capture 0 name "core" -> "core-net", status false -> true

Plan: 1 to create, 1 to update, 0 to delete, 1 unchanged.
1 alias on the server not in the input, kept; --prune deletes it.
1 duplicate (same ip, mask, port, captureID as another), kept; --prune deletes it:
  192.0.2.10/32 port 5060 capture 0 "sbc-edge" <guid>
Dry run: nothing written.
`
	if got := normal(out, s, file); code != 0 || got != want {
		t.Fatalf("dry run: code %d, stderr %q\n%s\nwant\n%s", code, errOut, got, want)
	}
	if n := len(s.Writes()); n != 0 {
		t.Fatalf("dry run wrote %d times", n)
	}

	out, errOut, code = runHomer(t, adminEnv(), "homer", "sync", "--url", s.URL, "--aliases", file, "--prune")
	want = `HOMER URL: 4 aliases; aliases.yaml: 3 aliases

+ create 2001:db8::5/128 port 0 capture 2001 "pcscf" (inactive)
~ update 10.20.0.0/16 port 0 capture 0 name "core" -> "core-net", status false -> true
- delete 192.0.2.10/32 port 5060 capture 0 "sbc-edge" (duplicate of <guid>)
- delete 198.51.100.7/32 port 0 capture 0 "old" (absent from the input)

Plan: 1 to create, 1 to update, 2 to delete, 1 unchanged.

Applied: 1 created, 1 updated, 1 deleted.
`
	// Two deletes: the count line says so too.
	want = strings.Replace(want, "1 deleted", "2 deleted", 1)
	if got := normal(out, s, file); code != 0 || got != want {
		t.Fatalf("apply: code %d, stderr %q\n%s\nwant\n%s", code, errOut, got, want)
	}
	var names []string
	for _, a := range s.Aliases() {
		names = append(names, a.Alias)
	}
	if len(names) != 3 {
		t.Fatalf("server holds %v", names)
	}

	out, _, code = runHomer(t, adminEnv(), "homer", "sync", "--url", s.URL, "--aliases", file, "--prune")
	writes := len(s.Writes())
	if code != 0 || !strings.HasSuffix(out, "Plan: 0 to create, 0 to update, 0 to delete, 3 unchanged.\nNo changes: HOMER matches the input.\n") {
		t.Errorf("second run: code %d\n%s", code, out)
	}
	if writes != 4 {
		t.Errorf("the second run wrote: %d writes in all, want the first run's 4", writes)
	}
}

func TestHomerSyncJSON(t *testing.T) {
	s := labServer(t, homertest.Config{})
	file := writeFile(t, "lab.yaml", labYAML)
	out, _, code := runHomer(t, adminEnv(), "homer", "sync", "--url", s.URL, "--aliases", file, "-o", "json")
	var got struct {
		URL        string `json:"url"`
		DryRun     bool   `json:"dry_run"`
		Changes    []map[string]any
		Unchanged  int
		Absent     []map[string]any
		Duplicates []map[string]any
		Warnings   []string
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 {
		t.Fatalf("code %d, %v\n%s", code, err, out)
	}
	if got.URL != s.URL || got.DryRun || got.Unchanged != 1 || len(got.Absent) != 1 || len(got.Duplicates) != 1 || got.Warnings == nil {
		t.Errorf("%+v", got)
	}
	if len(got.Changes) != 2 {
		t.Fatalf("changes %v", got.Changes)
	}
	c, u := got.Changes[0], got.Changes[1]
	if c["op"] != "create" || c["name"] != "pcscf" || c["result"] != "applied" || !guidPattern.MatchString(c["guid"].(string)) {
		t.Errorf("create: %v", c)
	}
	if u["op"] != "update" || u["result"] != "applied" || u["old"].(map[string]any)["name"] != "core" {
		t.Errorf("update: %v", u)
	}
}

// TestHomerSyncFailsHalfway: the third of four creates meets a database error (201 with an empty
// body); the run stops, says what was applied and what not, exits 1, and the next run finishes.
func TestHomerSyncFailsHalfway(t *testing.T) {
	for _, fault := range []homertest.Fault{homertest.FaultDBError, homertest.Fault5xx} {
		s := homertest.New(t, homertest.Config{})
		file := writeFile(t, "four.csv", "name,ip\nn1,10.0.0.1\nn2,10.0.0.2\nn3,10.0.0.3\nn4,10.0.0.4\n")
		s.Inject(homertest.Injection{Method: "POST", Nth: 3, Times: 100, Fault: fault})
		out, errOut, code := runHomer(t, adminEnv(), "homer", "sync", "--url", s.URL, "--aliases", file, "--retry-wait", "1ms")
		if code != 1 {
			t.Fatalf("fault %d: code %d\n%s%s", fault, code, out, errOut)
		}
		wantOut := "\nApplied: 2 created, 0 updated, 0 deleted.\nFailed: + create 10.0.0.3/32 port 0 capture 0 \"n3\"\n"
		if !strings.Contains(out, wantOut) || !strings.HasSuffix(out, "Not applied (1):\n  + create 10.0.0.4/32 port 0 capture 0 \"n4\"\n") {
			t.Errorf("fault %d: summary:\n%s", fault, out)
		}
		if !strings.Contains(errOut, "2 of 4 changes applied") {
			t.Errorf("fault %d: stderr %q", fault, errOut)
		}
		if n := len(s.Aliases()); n != 2 {
			t.Errorf("fault %d: server holds %d", fault, n)
		}
		s.ClearFaults()
		out, _, code = runHomer(t, adminEnv(), "homer", "sync", "--url", s.URL, "--aliases", file)
		if code != 0 || !strings.Contains(out, "Plan: 2 to create, 0 to update, 0 to delete, 2 unchanged.") || len(s.Aliases()) != 4 {
			t.Errorf("fault %d: rerun: code %d\n%s", fault, code, out)
		}
	}
}

func TestHomerSyncJSONFailure(t *testing.T) {
	s := homertest.New(t, homertest.Config{})
	file := writeFile(t, "two.csv", "name,ip\nn1,10.0.0.1\nn2,10.0.0.2\n")
	s.Inject(homertest.Injection{Method: "POST", Nth: 1, Fault: homertest.FaultDBError})
	out, _, code := runHomer(t, adminEnv(), "homer", "sync", "--url", s.URL, "--aliases", file, "-o", "json")
	var got struct {
		Error   string
		Changes []struct{ Result, Error string }
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 1 {
		t.Fatalf("code %d %v\n%s", code, err, out)
	}
	if len(got.Changes) != 2 || got.Changes[0].Result != "failed" || !strings.Contains(got.Changes[0].Error, "empty answer") ||
		got.Changes[1].Result != "not_applied" || got.Error == "" {
		t.Errorf("%+v", got)
	}
}

func TestHomerSyncRetries(t *testing.T) {
	s := homertest.New(t, homertest.Config{})
	file := writeFile(t, "two.csv", "name,ip\nn1,10.0.0.1\nn2,10.0.0.2\n")
	s.Inject(homertest.Injection{Method: "POST", Nth: 1, Times: 2, Fault: homertest.Fault5xx})
	s.Inject(homertest.Injection{Method: "POST", Nth: 4, Fault: homertest.FaultHangAfter})
	out, errOut, code := runHomer(t, adminEnv(), "homer", "sync", "--url", s.URL, "--aliases", file, "--retry-wait", "1ms", "--timeout", "200ms")
	if code != 0 || len(s.Aliases()) != 2 {
		t.Errorf("code %d, %d aliases\n%s%s", code, len(s.Aliases()), out, errOut)
	}
}

func TestHomerSyncAuthErrors(t *testing.T) {
	file := writeFile(t, "one.csv", "name,ip\nn1,10.0.0.1\n")
	t.Run("wrong password", func(t *testing.T) {
		s := homertest.New(t, homertest.Config{})
		env := map[string]string{"HOMER_USER": "admin", "HOMER_PASSWORD": "nope"}
		_, errOut, code := runHomer(t, env, "homer", "sync", "--url", s.URL, "--aliases", file)
		if code != 1 || !strings.Contains(errOut, "401 incorrect password: wrong user or password") {
			t.Errorf("code %d, %q", code, errOut)
		}
	})
	t.Run("non-admin token", func(t *testing.T) {
		s := homertest.New(t, homertest.Config{TokenAccess: true})
		tok := s.AddToken("ci")
		env := map[string]string{"HOMER_TOKEN": tok.Token}
		out, errOut, code := runHomer(t, env, "homer", "sync", "--url", s.URL, "--aliases", file, "--dry-run")
		if code != 0 || !strings.Contains(out, "1 to create") {
			t.Errorf("a dry run reads with any token: code %d %q", code, errOut)
		}
		out, errOut, code = runHomer(t, env, "homer", "sync", "--url", s.URL, "--aliases", file)
		if code != 1 || !strings.Contains(errOut, "0 of 1 changes applied") || !strings.Contains(errOut, `usergroup="admin"`) || !strings.Contains(out, "Failed: + create") {
			t.Errorf("code %d\n%s%s", code, out, errOut)
		}
	})
	t.Run("token access off", func(t *testing.T) {
		s := homertest.New(t, homertest.Config{})
		env := map[string]string{"HOMER_TOKEN": s.AddToken("ci").Token}
		_, errOut, code := runHomer(t, env, "homer", "sync", "--url", s.URL, "--aliases", file)
		if code != 1 || !strings.Contains(errOut, "enable_token_access") {
			t.Errorf("code %d %q", code, errOut)
		}
	})
	t.Run("non-admin user", func(t *testing.T) {
		s := homertest.New(t, homertest.Config{Users: []homertest.User{{Name: "viewer", Password: "v"}}})
		env := map[string]string{"HOMER_USER": "viewer", "HOMER_PASSWORD": "v"}
		_, errOut, code := runHomer(t, env, "homer", "sync", "--url", s.URL, "--aliases", file)
		if code != 1 || !strings.Contains(errOut, `user "viewer" is not an admin`) || len(s.Writes()) != 0 {
			t.Errorf("code %d %q", code, errOut)
		}
	})
	t.Run("5xx on every read", func(t *testing.T) {
		s := homertest.New(t, homertest.Config{})
		s.Inject(homertest.Injection{Method: "GET", Nth: 1, Times: 100, Fault: homertest.Fault5xx})
		_, errOut, code := runHomer(t, adminEnv(), "homer", "sync", "--url", s.URL, "--aliases", file, "--retries", "2", "--retry-wait", "1ms")
		if code != 1 || !strings.Contains(errOut, "502 <html><body><h1>502 Bad Gateway</h1></body></html> (after 3 attempts)") {
			t.Errorf("code %d %q", code, errOut)
		}
	})
}

func TestHomerSyncPruneNeedsForce(t *testing.T) {
	s := labServer(t, homertest.Config{})
	file := writeFile(t, "empty.yaml", "aliases: []\n")
	out, errOut, code := runHomer(t, adminEnv(), "homer", "sync", "--url", s.URL, "--aliases", file, "--prune")
	if code != 1 || !strings.Contains(errOut, "deletes 4 of the 4 aliases on the server, more than half") || !strings.Contains(out, "4 to delete") {
		t.Errorf("code %d\n%s%s", code, out, errOut)
	}
	if len(s.Writes()) != 0 {
		t.Fatal("wrote without --force")
	}
	if _, errOut, code := runHomer(t, adminEnv(), "homer", "sync", "--url", s.URL, "--aliases", file, "--prune", "--dry-run"); code != 0 || !strings.Contains(errOut, "--force") {
		t.Errorf("dry run: code %d %q", code, errOut)
	}
	if _, _, code := runHomer(t, adminEnv(), "homer", "sync", "--url", s.URL, "--aliases", file, "--prune", "--force"); code != 0 || len(s.Aliases()) != 0 {
		t.Errorf("--force: code %d, %d left", code, len(s.Aliases()))
	}
}

func TestHomerSyncInvalidInputWritesNothing(t *testing.T) {
	s := homertest.New(t, homertest.Config{})
	file := writeFile(t, "bad.yaml", "- name: a\n  ip: 10.0.0.1\n  mask: 33\n- name: b\n  ip: 10.0.0.2\n  captureID: \"123456789012345678901\"\n- name: c\n  ip: 10.0.0.3\n  port: 70000\n")
	_, errOut, code := runHomer(t, adminEnv(), "homer", "sync", "--url", s.URL, "--aliases", file)
	for _, w := range []string{"3 problem(s)", "line 1: mask 33 out of range 0-32", "line 4: captureID", "line 7: port 70000"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
	if code != 1 || len(s.Requests()) != 0 {
		t.Errorf("code %d, %d requests: the input is checked before the server is asked", code, len(s.Requests()))
	}
}

func TestHomerSyncCredentials(t *testing.T) {
	s := homertest.New(t, homertest.Config{})
	file := writeFile(t, "one.csv", "name,ip\nn1,10.0.0.1\n")
	cfgDir := t.TempDir()
	os.MkdirAll(filepath.Join(cfgDir, "sigtrace"), 0o700)
	writeCfg := func(body string, mode os.FileMode) {
		p := filepath.Join(cfgDir, "sigtrace", "homer.yaml")
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}

	if _, errOut, code := runHomer(t, map[string]string{}, "homer", "sync", "--url", s.URL, "--aliases", file, "--dry-run"); code != 2 || !strings.Contains(errOut, "no credentials") {
		t.Errorf("no credentials: code %d %q", code, errOut)
	}
	if _, errOut, code := runHomer(t, adminEnv(), "homer", "sync", "--aliases", file, "--dry-run"); code != 2 || !strings.Contains(errOut, "no server") {
		t.Errorf("no url: code %d %q", code, errOut)
	}

	writeCfg("url: "+s.URL+"\nuser: admin\npassword: sipcapture\n", 0o600)
	env := map[string]string{"XDG_CONFIG_HOME": cfgDir}
	if out, errOut, code := runHomer(t, env, "homer", "sync", "--aliases", file, "--dry-run"); code != 0 || errOut != "" || !strings.Contains(out, "1 to create") {
		t.Errorf("config file: code %d %q", code, errOut)
	}

	// The environment wins over the file.
	writeCfg("url: "+s.URL+"\nuser: admin\npassword: wrong\n", 0o644)
	env = map[string]string{"XDG_CONFIG_HOME": cfgDir, "HOMER_USER": "admin", "HOMER_PASSWORD": "sipcapture"}
	_, errOut, code := runHomer(t, env, "homer", "sync", "--aliases", file, "--dry-run")
	if code != 0 || !strings.Contains(errOut, "others can read it: chmod 600") {
		t.Errorf("env over config: code %d %q", code, errOut)
	}

	writeCfg("url: "+s.URL+"\nusername: admin\n", 0o600)
	if _, errOut, code := runHomer(t, env, "homer", "sync", "--aliases", file, "--dry-run"); code != 1 || !strings.Contains(errOut, "field username not found") {
		t.Errorf("unknown config key: code %d %q", code, errOut)
	}
	if _, errOut, code := runHomer(t, env, "homer", "sync", "--aliases", file, "--config", "/nonexistent/homer.yaml"); code != 1 || !strings.Contains(errOut, "/nonexistent/homer.yaml") {
		t.Errorf("missing --config: code %d %q", code, errOut)
	}
}

func TestHomerSyncTLS(t *testing.T) {
	s := homertest.New(t, homertest.Config{TLS: true})
	file := writeFile(t, "one.csv", "name,ip\nn1,10.0.0.1\n")
	ca := writeFile(t, "ca.pem", string(s.CertPEM()))

	_, errOut, code := runHomer(t, adminEnv(), "homer", "sync", "--url", s.URL, "--aliases", file, "--dry-run")
	if code != 1 || !strings.Contains(errOut, "--ca-file") {
		t.Errorf("untrusted: code %d %q", code, errOut)
	}
	if out, errOut, code := runHomer(t, adminEnv(), "homer", "sync", "--url", s.URL, "--aliases", file, "--ca-file", ca); code != 0 || errOut != "" || !strings.Contains(out, "1 created") {
		t.Errorf("--ca-file: code %d %q", code, errOut)
	}
	if _, errOut, code := runHomer(t, adminEnv(), "homer", "sync", "--url", s.URL, "--aliases", file, "--insecure", "--dry-run"); code != 0 || !strings.Contains(errOut, "warning: --insecure") {
		t.Errorf("--insecure: code %d %q", code, errOut)
	}
}

func TestHomerSyncEPDG(t *testing.T) {
	s := homertest.New(t, homertest.Config{})
	// Optus's ePDG lookup timed out: its alias stays even with --prune.
	s.Seed(homertest.Alias{Alias: "Optus", IP: "198.51.100.20", Mask: 32, CaptureID: "0", Status: true})
	epdg := `{"resolved_at":"2026-11-23T12:00:00.123456Z","kind":"epdg","resolvers":["127.0.0.1:5353"],
 "operators":[{"plmn":"505-01","mcc":"505","mnc":"01","name":"Telstra","country":"AU",
   "fqdn":"epdg.epc.mnc001.mcc505.pub.3gppnetwork.org","status":"ok",
   "cnames":[],"addresses":["203.0.113.10","2001:db8::10"],"error":""},
  {"plmn":"505-02","mcc":"505","mnc":"02","name":"Optus","country":"AU",
   "fqdn":"epdg.epc.mnc002.mcc505.pub.3gppnetwork.org","status":"timeout","cnames":[],"addresses":[],"error":"no answer"}]}`
	env := adminEnv()
	env["STDIN"] = epdg
	out, errOut, code := runHomer(t, env, "homer", "sync", "--url", s.URL, "--aliases", "-", "--prune", "--force")
	if code != 0 || !strings.Contains(out, `Kept 198.51.100.20/32 port 0 capture 0 "Optus": ePDG lookup of epdg.epc.mnc002.mcc505.pub.3gppnetwork.org failed (timeout): no answer.`) {
		t.Errorf("code %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "its aliases are kept") {
		t.Errorf("stderr %q", errOut)
	}
	got := map[string]string{}
	for _, a := range s.Aliases() {
		got[a.IP] = a.Alias
	}
	if len(got) != 3 || got["203.0.113.10"] != "Telstra" || got["2001:db8::10"] != "Telstra" || got["198.51.100.20"] != "Optus" {
		t.Errorf("server holds %v", got)
	}
}

func TestHomerSyncUsage(t *testing.T) {
	for _, args := range [][]string{
		{"homer", "sync", "--url", "http://127.0.0.1:1"},
		{"homer", "sync", "--aliases", "x.yaml", "--format", "xml"},
		{"homer", "sync", "--aliases", "x.yaml", "--force"},
		{"homer", "sync", "--aliases", "x.yaml", "-o", "table"},
	} {
		if _, errOut, code := runHomer(t, adminEnv(), args...); code != 2 {
			t.Errorf("%v: code %d %q, want 2", args, code, errOut)
		}
	}
}
