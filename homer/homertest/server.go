// Package homertest runs an in-process homer-app (API v3) on loopback that keeps to the contract
// in docs/homer-api.md, traps included, so that the HOMER client is tested against the server's
// observed behaviour rather than against what a client author hopes it does.
//
// Where the contract is silent, the server follows homer-app's source and says so in a comment
// marked "inferred".
package homertest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// Alias is an alias row as homer-app stores and lists it.
type Alias struct {
	ID        int    `json:"id"`
	GUID      string `json:"guid"`
	Alias     string `json:"alias"`
	IP        string `json:"ip"`
	Port      int    `json:"port"`
	Mask      int    `json:"mask"`
	CaptureID string `json:"captureID"`
	Status    bool   `json:"status"`
}

// User is a HOMER UI user.
type User struct {
	Name     string
	Password string
	Admin    bool
}

// Config sets up a Server. The zero value is homer-app's default: user admin/sipcapture (admin),
// API tokens off, JWTs valid for 1200 minutes.
type Config struct {
	Users []User
	// TokenAccess is api_settings.enable_token_access (off by default).
	TokenAccess bool
	// TokenExpire is auth_settings.token_expire.
	TokenExpire time.Duration
	// TLS serves HTTPS with a self-signed certificate (see Server.CertPEM).
	TLS bool
	// Now is the server's clock, for expiring JWTs in tests.
	Now func() time.Time
	// HangLimit bounds how long a hanging fault holds a request when the client never gives up.
	HangLimit time.Duration
}

// Fault is a failure the server can be told to produce.
type Fault int

const (
	// Fault5xx answers 502 with an HTML body, as a reverse proxy in front of homer-app does.
	Fault5xx Fault = iota + 1
	// FaultHang holds the request without doing it until the client gives up.
	FaultHang
	// FaultHangAfter does the request, then holds the answer until the client gives up: the worst
	// case for a client that retries a create.
	FaultHangAfter
	// FaultDBError makes the database refuse the write: homer-app answers a create with 201 and an
	// empty body, and an update or delete with its usual 201.
	FaultDBError
)

// Injection makes requests fail: the Nth matching request from now (1-based), and the Times-1
// matching requests after it, get Fault.
type Injection struct {
	// Method is GET, POST, PUT or DELETE on an alias path; "WRITE" matches any of the last three.
	Method string
	Nth    int
	Times  int
	Fault  Fault
}

// Request is one request the server answered, for tests to inspect.
type Request struct {
	Method string
	Path   string
	// Auth is "bearer", "token" or "" (neither header).
	Auth   string
	Body   string
	Status int
	Reply  string
}

// Token is an API token (Auth-Token header).
type Token struct {
	GUID   string
	Name   string
	Token  string
	Admin  bool // user_object.usergroup == "admin"
	Active bool
	Expire time.Time
}

// Server is a running fake homer-app.
type Server struct {
	URL string

	srv    *httptest.Server
	cfg    Config
	secret []byte

	mu         sync.Mutex
	aliases    map[string]Alias // by guid
	serial     int
	tokens     map[string]*Token // by token string
	injections []*injection
	log        []Request
}

type injection struct {
	Injection
	seen, fired int
}

// New starts a Server on loopback and stops it when the test ends.
func New(t testing.TB, cfg Config) *Server {
	t.Helper()
	if len(cfg.Users) == 0 {
		cfg.Users = []User{{Name: "admin", Password: "sipcapture", Admin: true}}
	}
	if cfg.TokenExpire == 0 {
		cfg.TokenExpire = 1200 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HangLimit == 0 {
		cfg.HangLimit = 10 * time.Second
	}
	s := &Server{cfg: cfg, secret: randomBytes(32), aliases: map[string]Alias{}, tokens: map[string]*Token{}}
	s.srv = httptest.NewUnstartedServer(s)
	// Refused handshakes are what TLS tests provoke; they are not worth a log line.
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if cfg.TLS {
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// CertPEM returns the TLS server's certificate in PEM, for a client's CA file.
func (s *Server) CertPEM() []byte {
	c := s.srv.Certificate()
	if c == nil {
		return nil
	}
	var b bytes.Buffer
	b.WriteString("-----BEGIN CERTIFICATE-----\n")
	enc := base64.StdEncoding.EncodeToString(c.Raw)
	for len(enc) > 64 {
		b.WriteString(enc[:64] + "\n")
		enc = enc[64:]
	}
	b.WriteString(enc + "\n-----END CERTIFICATE-----\n")
	return b.Bytes()
}

// Seed stores aliases as they are given (id and guid included; empty ones are assigned), as if
// they had been created earlier, and returns their guids.
func (s *Server) Seed(aliases ...Alias) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	guids := make([]string, len(aliases))
	for i, a := range aliases {
		if a.GUID == "" {
			a.GUID = newGUID()
		}
		if a.ID == 0 {
			s.serial++
			a.ID = s.serial
		}
		s.aliases[a.GUID] = a
		guids[i] = a.GUID
	}
	return guids
}

// Aliases returns the stored aliases sorted by guid, as GET /api/v3/alias lists them.
func (s *Server) Aliases() []Alias {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sortedLocked()
}

func (s *Server) sortedLocked() []Alias {
	out := make([]Alias, 0, len(s.aliases))
	for _, a := range s.aliases {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b Alias) int { return strings.Compare(a.GUID, b.GUID) })
	return out
}

// AddToken creates an API token as an admin would (new tokens are not admin) and returns it.
func (s *Server) AddToken(name string) *Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addTokenLocked(name, s.cfg.Now().Add(365*24*time.Hour))
}

func (s *Server) addTokenLocked(name string, expire time.Time) *Token {
	tok := &Token{GUID: newGUID(), Name: name, Token: hex.EncodeToString(randomBytes(40)), Active: true, Expire: expire}
	s.tokens[tok.Token] = tok
	return tok
}

// MakeTokenAdmin does what PUT /api/v3/token/auth/{guid} with user_object.usergroup="admin" does.
func (s *Server) MakeTokenAdmin(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok := s.tokens[token]; tok != nil {
		tok.Admin = true
	}
}

// Inject arms a fault.
func (s *Server) Inject(in Injection) {
	if in.Times == 0 {
		in.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.injections = append(s.injections, &injection{Injection: in})
}

// ClearFaults disarms every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.injections = nil
}

// Requests returns the requests answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// Writes returns the alias writes (POST, PUT, DELETE) answered so far.
func (s *Server) Writes() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Method != http.MethodGet && strings.HasPrefix(r.Path, "/api/v3/alias") {
			out = append(out, r)
		}
	}
	return out
}

// recorder captures the answer for the request log.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rec := &recorder{ResponseWriter: w}
	s.route(rec, r, body)
	auth := ""
	switch {
	case r.Header.Get("Authorization") != "":
		auth = "bearer"
	case r.Header.Get("Auth-Token") != "":
		auth = "token"
	}
	s.mu.Lock()
	s.log = append(s.log, Request{Method: r.Method, Path: r.URL.Path, Auth: auth, Body: string(body), Status: rec.status, Reply: rec.body.String()})
	s.mu.Unlock()
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, body []byte) {
	p := r.URL.Path
	switch {
	case p == "/api/v3/auth" && r.Method == http.MethodPost:
		s.login(w, body)
	case p == "/api/v3/alias" && (r.Method == http.MethodGet || r.Method == http.MethodPost),
		strings.HasPrefix(p, "/api/v3/alias/") && (r.Method == http.MethodPut || r.Method == http.MethodDelete):
		s.alias(w, r, body)
	case p == "/api/v3/token/auth" && r.Method == http.MethodPost,
		strings.HasPrefix(p, "/api/v3/token/auth/") && r.Method == http.MethodPut:
		s.token(w, r, body)
	default:
		// echo's answer for a route it does not have; GET /api/v3/alias/{guid} is one of them.
		writeJSON(w, http.StatusNotFound, `{"message":"Not Found"}`)
	}
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// login is POST /api/v3/auth.
func (s *Server) login(w http.ResponseWriter, body []byte) {
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, `{"data":{},"message":"request format is not correct"}`)
		return
	}
	if req.Username == "" || req.Password == "" {
		field := "Username"
		if req.Username != "" {
			field = "Password"
		}
		writeJSON(w, http.StatusBadRequest, fmt.Sprintf(`{"data":{},"message":"Key: 'UserloginDetails.%s' Error:Field validation for '%s' failed on the 'required' tag"}`, field, field))
		return
	}
	for i, u := range s.cfg.Users {
		if u.Name == req.Username && u.Password == req.Password {
			claims, _ := json.Marshal(map[string]any{
				"username": u.Name, "admin": u.Admin, "exp": s.cfg.Now().Add(s.cfg.TokenExpire).Unix(),
			})
			scope := fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1)
			writeJSON(w, http.StatusCreated, fmt.Sprintf(`{"token":%s,"scope":%q,"user":{"admin":%t}}`, jsonString(s.signJWT(claims)), scope, u.Admin))
			return
		}
	}
	// Inferred: homer-app answers an unknown user like a wrong password.
	writeJSON(w, http.StatusUnauthorized, `{"statuscode":401,"error":"Unauthorized","message":"incorrect password"}`)
}

func (s *Server) signJWT(claims []byte) string {
	head := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	msg := head + "." + base64.RawURLEncoding.EncodeToString(claims)
	mac := hmac.New(sha256.New, s.secret)
	mac.Write([]byte(msg))
	return msg + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// principal is who a request authenticated as.
type principal struct{ admin bool }

// authenticate applies homer-app's middleware: an Auth-Token when token access is on, else the JWT.
// It writes the refusal and returns false when the request may not proceed.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (principal, bool) {
	if t := r.Header.Get("Auth-Token"); t != "" && s.cfg.TokenAccess {
		s.mu.Lock()
		tok := s.tokens[t]
		ok := tok != nil && tok.Active && s.cfg.Now().Before(tok.Expire)
		var admin bool
		if ok {
			admin = tok.Admin
		}
		s.mu.Unlock()
		if ok {
			return principal{admin: admin}, true
		}
		// Inferred: an unknown token falls through to the JWT check, which finds no bearer.
	}
	h := r.Header.Get("Authorization")
	raw, found := strings.CutPrefix(h, "Bearer ")
	if !found || raw == "" {
		writeJSON(w, http.StatusBadRequest, `{"message":"missing or malformed jwt"}`)
		return principal{}, false
	}
	claims, ok := s.verifyJWT(raw)
	if !ok {
		writeJSON(w, http.StatusUnauthorized, `{"message":"invalid or expired jwt"}`)
		return principal{}, false
	}
	return principal{admin: claims.Admin}, true
}

type jwtClaims struct {
	Username string `json:"username"`
	Admin    bool   `json:"admin"`
	Exp      int64  `json:"exp"`
}

func (s *Server) verifyJWT(raw string) (jwtClaims, bool) {
	var c jwtClaims
	i := strings.LastIndexByte(raw, '.')
	if i < 0 {
		return c, false
	}
	sig, err := base64.RawURLEncoding.DecodeString(raw[i+1:])
	if err != nil {
		return c, false
	}
	mac := hmac.New(sha256.New, s.secret)
	mac.Write([]byte(raw[:i]))
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return c, false
	}
	parts := strings.Split(raw[:i], ".")
	if len(parts) != 2 {
		return c, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(payload, &c) != nil {
		return c, false
	}
	return c, s.cfg.Now().Unix() < c.Exp
}

const adminRefusal = `{"message":"This API requires admin access. The AuthToken in use!"}`

// fault returns the armed fault for this request, if any.
func (s *Server) fault(method string) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, in := range s.injections {
		if in.Method != method && !(in.Method == "WRITE" && method != http.MethodGet) {
			continue
		}
		in.seen++
		if in.seen >= in.Nth && in.fired < in.Times {
			in.fired++
			return in.Fault
		}
	}
	return 0
}

// hang holds a request until the client goes away (or HangLimit passes).
func (s *Server) hang(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(s.cfg.HangLimit):
	}
}

// aliasBody is homer-app's model.TableAlias as bound from JSON: pointers for the fields whose zero
// value is valid, so that "required" means "present".
type aliasBody struct {
	ID        int    `json:"id"`
	GUID      string `json:"guid"`
	Alias     string `json:"alias"`
	IP        string `json:"ip"`
	Port      *int   `json:"port"`
	Mask      *int   `json:"mask"`
	CaptureID string `json:"captureID"`
	Status    *bool  `json:"status"`
}

// validate reproduces go-playground/validator's message for model.TableAlias.
func (b *aliasBody) validate() string {
	var errs []string
	fail := func(field, tag string) {
		errs = append(errs, fmt.Sprintf("Key: 'TableAlias.%s' Error:Field validation for '%s' failed on the '%s' tag", field, field, tag))
	}
	if b.Alias == "" {
		fail("Alias", "required")
	}
	switch {
	case b.IP == "":
		fail("IP", "required")
	case net.ParseIP(b.IP) == nil:
		fail("IP", "ip")
	}
	if b.Port == nil {
		fail("Port", "required")
	}
	if b.Mask == nil {
		fail("Mask", "required")
	}
	if b.CaptureID == "" {
		fail("CaptureID", "required")
	}
	if b.Status == nil {
		fail("Status", "required")
	}
	return strings.Join(errs, "\n")
}

func (s *Server) alias(w http.ResponseWriter, r *http.Request, body []byte) {
	who, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	if r.Method != http.MethodGet && !who.admin {
		writeJSON(w, http.StatusForbidden, adminRefusal)
		return
	}
	f := s.fault(r.Method)
	switch f {
	case Fault5xx:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1></body></html>\n")
		return
	case FaultHang:
		s.hang(r)
		return
	}
	var status int
	var reply string
	if r.Method == http.MethodGet {
		s.mu.Lock()
		list := s.sortedLocked()
		s.mu.Unlock()
		data, _ := json.Marshal(map[string]any{"data": list})
		// The trap: a read answers 201 Created.
		status, reply = http.StatusCreated, string(data)
	} else {
		status, reply = s.aliasWrite(r, body, f == FaultDBError)
	}
	if f == FaultHangAfter {
		s.hang(r)
		return
	}
	writeJSON(w, status, reply)
}

func (s *Server) aliasWrite(r *http.Request, body []byte, dbError bool) (int, string) {
	guid := strings.TrimPrefix(r.URL.Path, "/api/v3/alias/")
	if r.Method == http.MethodDelete {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.aliases[guid]; !ok || dbError {
			// The trap: an unknown guid still answers 201, with empty data.
			return http.StatusCreated, `{"data":"","message":"successfully deleted alias"}`
		}
		delete(s.aliases, guid)
		return http.StatusCreated, fmt.Sprintf(`{"data":%q,"message":"successfully deleted alias"}`, guid)
	}
	var b aliasBody
	if err := json.Unmarshal(body, &b); err != nil {
		return http.StatusBadRequest, `{"data":{},"message":"request format is not correct"}`
	}
	if msg := b.validate(); msg != "" {
		return http.StatusBadRequest, `{"data":{},"message":` + jsonString(msg) + `}`
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	row := Alias{ID: b.ID, Alias: b.Alias, IP: b.IP, Port: *b.Port, Mask: *b.Mask, CaptureID: b.CaptureID, Status: *b.Status}
	// The database's own limits (varchar(20) captureID, varchar(60) ip) are the only length checks.
	tooLong := utf8.RuneCountInString(b.CaptureID) > 20 || utf8.RuneCountInString(b.IP) > 60
	if r.Method == http.MethodPost {
		if row.ID == 0 {
			// A serial advances even when the insert then fails, as in PostgreSQL.
			s.serial++
			row.ID = s.serial
		}
		if dbError || tooLong || s.idTakenLocked(row.ID) {
			// The trap: a database error on create answers 201 with an empty body.
			return http.StatusCreated, ""
		}
		// A client-sent guid is replaced; a client-sent id is kept as given.
		row.GUID = newGUID()
		s.aliases[row.GUID] = row
		return http.StatusCreated, fmt.Sprintf(`{"data":%q,"message":"successfully created alias"}`, row.GUID)
	}
	old, ok := s.aliases[guid]
	if !ok {
		return http.StatusCreated, `{"data":"","message":"successfully updated alias"}`
	}
	if dbError || tooLong {
		// Inferred from homer-app's source: an update error is logged and the usual answer sent.
		return http.StatusCreated, fmt.Sprintf(`{"data":%q,"message":"successfully updated alias"}`, guid)
	}
	row.ID, row.GUID = old.ID, old.GUID
	s.aliases[guid] = row
	return http.StatusCreated, fmt.Sprintf(`{"data":%q,"message":"successfully updated alias"}`, guid)
}

func (s *Server) idTakenLocked(id int) bool {
	for _, a := range s.aliases {
		if a.ID == id {
			return true
		}
	}
	return false
}

// token serves POST /api/v3/token/auth and PUT /api/v3/token/auth/{guid} for admins.
func (s *Server) token(w http.ResponseWriter, r *http.Request, body []byte) {
	who, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	if !who.admin {
		writeJSON(w, http.StatusForbidden, adminRefusal)
		return
	}
	if r.Method == http.MethodPost {
		var req struct {
			Name       string    `json:"name"`
			ExpireDate time.Time `json:"expire_date"`
			Active     *bool     `json:"active"`
		}
		if err := json.Unmarshal(body, &req); err != nil || req.Name == "" {
			writeJSON(w, http.StatusBadRequest, `{"data":{},"message":"request format is not correct"}`)
			return
		}
		s.mu.Lock()
		tok := s.addTokenLocked(req.Name, req.ExpireDate)
		tok.Active = req.Active == nil || *req.Active
		s.mu.Unlock()
		writeJSON(w, http.StatusCreated, fmt.Sprintf(`{"data":{"token":%q}}`, tok.Token))
		return
	}
	var req struct {
		UserObject struct {
			UserGroup string `json:"usergroup"`
		} `json:"user_object"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, `{"data":{},"message":"request format is not correct"}`)
		return
	}
	guid := strings.TrimPrefix(r.URL.Path, "/api/v3/token/auth/")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tok := range s.tokens {
		if tok.GUID == guid {
			tok.Admin = req.UserObject.UserGroup == "admin"
			// Inferred: the same answer shape as the alias update.
			writeJSON(w, http.StatusCreated, fmt.Sprintf(`{"data":%q,"message":"successfully updated authToken"}`, guid))
			return
		}
	}
	writeJSON(w, http.StatusCreated, `{"data":"","message":"successfully updated authToken"}`)
}

// TokenGUID returns the guid of an API token, for PUT /api/v3/token/auth/{guid}.
func (s *Server) TokenGUID(token string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok := s.tokens[token]; tok != nil {
		return tok.GUID
	}
	return ""
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func newGUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
