// Package homer talks to HOMER's homer-app API v3: login, API tokens and aliases, and the plan and
// apply of an alias sync. It keeps to the contract in docs/homer-api.md, traps included.
package homer

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// Sentinel errors; an *APIError wraps one of them.
var (
	// ErrUnauthorized: the credentials or the token were refused (401, or 400 without a usable token).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: the user or token is not an admin (403).
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: the alias does not exist (homer-app answers 201 with empty data).
	ErrNotFound = errors.New("not found")
	// ErrEmptyReply: the server answered 201 with an empty body, its way of reporting a database error.
	ErrEmptyReply = errors.New("empty reply")
	// ErrServer: a 5xx answer (after every retry when the request may be repeated).
	ErrServer = errors.New("server error")
	// ErrRequest: the server refused the request itself (another 4xx).
	ErrRequest = errors.New("request refused")
)

// APIError is an answer the client could not use. Hint, when set, says what to do about it.
type APIError struct {
	Method, Path string
	Status       int
	Message      string
	Hint         string
	Kind         error
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "homer: %s %s: ", e.Method, e.Path)
	if e.Status != 0 {
		fmt.Fprintf(&b, "%d ", e.Status)
	}
	b.WriteString(e.Message)
	if e.Hint != "" {
		b.WriteString(": " + e.Hint)
	}
	return b.String()
}

func (e *APIError) Unwrap() error { return e.Kind }

// Options configure a Client. Exactly one of Token or User (with Password) should be set.
type Options struct {
	User, Password string
	// Token is an API token, sent as Auth-Token.
	Token string
	// HTTPClient is used as given when set (its Transport carries the TLS settings); otherwise the
	// client builds one from CAFile and Insecure.
	HTTPClient *http.Client
	// CAFile adds PEM certificates to the system roots.
	CAFile string
	// Insecure skips certificate verification. The caller is expected to warn.
	Insecure bool
	// Timeout bounds each attempt of each request (default 30 s).
	Timeout time.Duration
	// Retries is how many times a request is tried again after a timeout, a broken connection or a
	// 5xx (default 3; negative for none). RetryWait is the first wait, doubled each time (default 1 s).
	Retries   int
	RetryWait time.Duration
}

// Client is a homer-app API v3 client. It is safe for use by one goroutine at a time.
type Client struct {
	base *url.URL
	opts Options
	http *http.Client

	mu    sync.Mutex
	jwt   string
	admin *bool // known after a login
}

// New returns a client for the homer-app at rawURL (for example https://homer.example:9080; an
// /api/v3 suffix is accepted).
func New(rawURL string, opts Options) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("homer: bad URL %q: want http(s)://host[:port]", rawURL)
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v3")
	u.RawQuery, u.Fragment = "", ""
	if opts.Token == "" && opts.User == "" {
		return nil, errors.New("homer: no credentials: set a user and password, or an API token")
	}
	if opts.Token == "" && opts.Password == "" {
		return nil, fmt.Errorf("homer: user %q has no password", opts.User)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Retries == 0 {
		opts.Retries = 3
	} else if opts.Retries < 0 {
		opts.Retries = 0
	}
	if opts.RetryWait <= 0 {
		opts.RetryWait = time.Second
	}
	hc := opts.HTTPClient
	if hc == nil {
		tr, err := Transport(opts.CAFile, opts.Insecure)
		if err != nil {
			return nil, err
		}
		hc = &http.Client{Transport: tr}
	}
	return &Client{base: u, opts: opts, http: hc}, nil
}

// Transport returns an HTTP transport that trusts the system roots plus the PEM certificates in
// caFile, or nothing at all when insecure.
func Transport(caFile string, insecure bool) (*http.Transport, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("homer: CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("homer: CA file %s: no PEM certificate in it", caFile)
		}
		cfg.RootCAs = pool
	}
	tr.TLSClientConfig = cfg
	return tr, nil
}

// URL returns the server's base URL.
func (c *Client) URL() string { return c.base.String() }

// UsesToken reports whether the client authenticates with an API token.
func (c *Client) UsesToken() bool { return c.opts.Token != "" }

// Login logs in with the user and password and returns whether the user is an admin. Other calls
// log in by themselves when needed; with an API token Login does nothing and reports false, ok.
func (c *Client) Login(ctx context.Context) (admin bool, err error) {
	if c.opts.Token != "" {
		return false, nil
	}
	body, _ := json.Marshal(map[string]string{"username": c.opts.User, "password": c.opts.Password, "type": "internal"})
	status, reply, err := c.send(ctx, http.MethodPost, "/api/v3/auth", body, false)
	if err != nil {
		return false, err
	}
	fail := func(kind error, msg, hint string) error {
		return &APIError{Method: http.MethodPost, Path: "/api/v3/auth", Status: status, Message: msg, Hint: hint, Kind: kind}
	}
	switch {
	case status == http.StatusUnauthorized:
		return false, fail(ErrUnauthorized, serverMessage(reply), fmt.Sprintf("wrong user or password for %q (check HOMER_USER and HOMER_PASSWORD)", c.opts.User))
	case status == http.StatusNotFound:
		return false, fail(ErrRequest, "no such route", "is this homer-app (HOMER 7 or 10)? HOMER 11's API v4 is not supported")
	case status != http.StatusCreated && status != http.StatusOK:
		return false, c.statusError(http.MethodPost, "/api/v3/auth", status, reply)
	}
	var r struct {
		Token string `json:"token"`
		User  struct {
			Admin bool `json:"admin"`
		} `json:"user"`
	}
	if err := json.Unmarshal(reply, &r); err != nil || r.Token == "" {
		return false, fail(ErrRequest, fmt.Sprintf("login answer without a token: %.80q", reply), "")
	}
	c.mu.Lock()
	c.jwt, c.admin = r.Token, &r.User.Admin
	c.mu.Unlock()
	return r.User.Admin, nil
}

// Admin reports whether the logged-in user is an admin; known is false with an API token (its
// rights show only when a write is refused) or before a login.
func (c *Client) Admin() (admin, known bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.admin == nil {
		return false, false
	}
	return *c.admin, true
}

// Aliases lists every alias on the server.
func (c *Client) Aliases(ctx context.Context) ([]Alias, error) {
	reply, err := c.call(ctx, http.MethodGet, "/api/v3/alias", nil, true)
	if err != nil {
		return nil, err
	}
	var r struct {
		Data []Alias `json:"data"`
	}
	if err := json.Unmarshal(reply, &r); err != nil {
		return nil, &APIError{Method: http.MethodGet, Path: "/api/v3/alias", Status: http.StatusCreated, Message: fmt.Sprintf("unreadable alias list: %v", err), Kind: ErrRequest}
	}
	return r.Data, nil
}

// CreateAlias creates a and returns its guid. homer-app has no duplicate check, so a create is
// never blindly repeated: after a timeout or a 5xx the client lists the aliases and adopts an
// alias equal to a (the first try may have been stored) before it tries again.
func (c *Client) CreateAlias(ctx context.Context, a Alias) (string, error) {
	if err := a.Validate(); err != nil {
		return "", fmt.Errorf("homer: create %s: %w", a.Key(), err)
	}
	body, _ := json.Marshal(a.wire())
	const path = "/api/v3/alias"
	var reply []byte
	err := c.retry(ctx, func(attempt int) (bool, error) {
		if attempt > 0 {
			list, err := c.Aliases(ctx)
			if err != nil {
				return false, err
			}
			for _, cur := range list {
				if cur.Key() == a.Key() && cur.Name == a.Name && cur.Status == a.Status {
					reply, _ = json.Marshal(map[string]string{"data": cur.GUID})
					return false, nil
				}
			}
		}
		var err error
		reply, err = c.callOnce(ctx, http.MethodPost, path, body)
		return retryable(err), err
	})
	if err != nil {
		return "", err
	}
	if len(bytes.TrimSpace(reply)) == 0 {
		return "", &APIError{Method: http.MethodPost, Path: path, Status: http.StatusCreated, Message: "empty answer",
			Hint: "homer-app answers so when its database refuses the row (a captureID over 20 characters, a clashing id, a name too long for homer-app before 1.4.54); nothing was created", Kind: ErrEmptyReply}
	}
	guid, err := dataGUID(reply)
	if err != nil || guid == "" {
		return "", &APIError{Method: http.MethodPost, Path: path, Status: http.StatusCreated, Message: fmt.Sprintf("answer without a guid: %.120q", reply), Kind: ErrRequest}
	}
	return guid, nil
}

// UpdateAlias replaces the alias guid with a (all fields). An unknown guid is ErrNotFound.
func (c *Client) UpdateAlias(ctx context.Context, guid string, a Alias) error {
	if err := a.Validate(); err != nil {
		return fmt.Errorf("homer: update %s: %w", a.Key(), err)
	}
	body, _ := json.Marshal(a.wire())
	return c.writeGUID(ctx, http.MethodPut, guid, body)
}

// DeleteAlias deletes the alias guid. An unknown guid is ErrNotFound: after a retry, that is how
// a delete the server did but could not confirm comes back.
func (c *Client) DeleteAlias(ctx context.Context, guid string) error {
	return c.writeGUID(ctx, http.MethodDelete, guid, nil)
}

func (c *Client) writeGUID(ctx context.Context, method, guid string, body []byte) error {
	if guid == "" || strings.ContainsAny(guid, "/?#") {
		return fmt.Errorf("homer: %s alias: bad guid %q", method, guid)
	}
	path := "/api/v3/alias/" + guid
	reply, err := c.call(ctx, method, path, body, true)
	if err != nil {
		return err
	}
	got, err := dataGUID(reply)
	switch {
	case err != nil:
		return &APIError{Method: method, Path: path, Status: http.StatusCreated, Message: fmt.Sprintf("unreadable answer %.120q", reply), Kind: ErrRequest}
	case got == "":
		return &APIError{Method: method, Path: path, Status: http.StatusCreated, Message: "no such alias (201 with empty data)", Kind: ErrNotFound}
	}
	return nil
}

func dataGUID(reply []byte) (string, error) {
	var r struct {
		Data string `json:"data"`
	}
	err := json.Unmarshal(reply, &r)
	return r.Data, err
}

// call sends an authenticated request, retrying it when idempotent, and returns the body of a
// 2xx answer.
func (c *Client) call(ctx context.Context, method, path string, body []byte, idempotent bool) ([]byte, error) {
	var reply []byte
	err := c.retry(ctx, func(int) (bool, error) {
		var err error
		reply, err = c.callOnce(ctx, method, path, body)
		return idempotent && retryable(err), err
	})
	return reply, err
}

// callOnce sends one authenticated request, logging in first if needed and once more if the JWT
// has expired (a 401 means the request was not done, so repeating it is safe).
func (c *Client) callOnce(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	for relogin := false; ; relogin = true {
		if c.opts.Token == "" {
			c.mu.Lock()
			have := c.jwt != ""
			c.mu.Unlock()
			if !have {
				if _, err := c.Login(ctx); err != nil {
					return nil, err
				}
			}
		}
		status, reply, err := c.send(ctx, method, path, body, true)
		if err != nil {
			return nil, err
		}
		if status == http.StatusUnauthorized && c.opts.Token == "" && !relogin {
			c.mu.Lock()
			c.jwt = ""
			c.mu.Unlock()
			continue
		}
		if status/100 != 2 {
			return nil, c.statusError(method, path, status, reply)
		}
		return reply, nil
	}
}

// statusError turns a non-2xx answer into an error that says what to do.
func (c *Client) statusError(method, path string, status int, reply []byte) error {
	e := &APIError{Method: method, Path: path, Status: status, Message: serverMessage(reply)}
	token := c.opts.Token != ""
	switch {
	case status == http.StatusUnauthorized && token:
		e.Kind, e.Hint = ErrUnauthorized, "the API token was refused: it is unknown, inactive or expired"
	case status == http.StatusUnauthorized:
		e.Kind, e.Hint = ErrUnauthorized, fmt.Sprintf("the login of %q was refused after a fresh login; check HOMER_USER and HOMER_PASSWORD", c.opts.User)
	case status == http.StatusBadRequest && token && strings.Contains(e.Message, "jwt"):
		// homer-app ignores Auth-Token unless token access is on, and then finds no JWT either.
		e.Kind, e.Hint = ErrUnauthorized, "the server did not accept the Auth-Token: the token is unknown, inactive or expired, or the server has api_settings.enable_token_access=false (the default); enable it, or use HOMER_USER and HOMER_PASSWORD"
	case status == http.StatusForbidden && token:
		e.Kind, e.Hint = ErrForbidden, `the API token is not an admin token, and alias writes need one: an admin must set user_object.usergroup="admin" on it (PUT /api/v3/token/auth/{guid}), or use HOMER_USER and HOMER_PASSWORD of an admin user; reads work with any token`
	case status == http.StatusForbidden:
		e.Kind, e.Hint = ErrForbidden, fmt.Sprintf("user %q is not an admin, and alias writes need one", c.opts.User)
	case status >= 500:
		e.Kind = ErrServer
	default:
		e.Kind = ErrRequest
	}
	return e
}

// serverMessage picks homer-app's "message" out of an answer, or a short piece of a foreign one
// (a proxy's HTML page).
func serverMessage(reply []byte) string {
	var r struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(reply, &r) == nil && r.Message != "" {
		return r.Message
	}
	s := strings.Join(strings.Fields(string(reply)), " ")
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	if s == "" {
		return "(empty answer)"
	}
	return s
}

// send does one HTTP exchange within the per-attempt timeout.
func (c *Client) send(ctx context.Context, method, path string, body []byte, auth bool) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	u := *c.base
	u.Path += path
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return 0, nil, fmt.Errorf("homer: %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth {
		if c.opts.Token != "" {
			req.Header.Set("Auth-Token", c.opts.Token)
		} else {
			c.mu.Lock()
			req.Header.Set("Authorization", "Bearer "+c.jwt)
			c.mu.Unlock()
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, c.transportError(method, path, err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, nil, c.transportError(method, path, err)
	}
	return resp.StatusCode, reply, nil
}

// netError is a failure to exchange at all; Temporary ones are retried.
type netError struct {
	op        string
	err       error
	temporary bool
	hint      string
}

func (e *netError) Error() string {
	s := fmt.Sprintf("homer: %s: %v", e.op, e.err)
	if e.hint != "" {
		s += ": " + e.hint
	}
	return s
}
func (e *netError) Unwrap() error { return e.err }

func (c *Client) transportError(method, path string, err error) error {
	e := &netError{op: method + " " + path, err: err, temporary: true}
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var certErr *tls.CertificateVerificationError
	switch {
	case errors.As(err, &unknownCA) || errors.As(err, &certErr):
		e.temporary, e.hint = false, "the server's certificate is not trusted: give its CA with --ca-file (or ca_file in the config), or, knowing the risk, --insecure"
	case errors.As(err, &hostErr):
		e.temporary, e.hint = false, "the certificate does not name this host: use the name it was issued for"
	case errors.Is(err, context.Canceled):
		e.temporary = false
	case errors.Is(err, context.DeadlineExceeded):
		e.hint = fmt.Sprintf("no answer within %s", c.opts.Timeout)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		e.hint = "cannot reach " + c.base.Host
	}
	return e
}

// retryable tells whether another attempt may succeed.
func retryable(err error) bool {
	var ne *netError
	if errors.As(err, &ne) {
		return ne.temporary
	}
	var ae *APIError
	return errors.As(err, &ae) && ae.Status >= 500
}

// retry runs try until it succeeds, says not to retry, or the retries are spent, waiting with
// exponential backoff and jitter between attempts.
func (c *Client) retry(ctx context.Context, try func(attempt int) (again bool, err error)) error {
	wait := c.opts.RetryWait
	for attempt := 0; ; attempt++ {
		again, err := try(attempt)
		if err == nil || !again || ctx.Err() != nil {
			return err
		}
		if attempt >= c.opts.Retries {
			if attempt > 0 {
				return fmt.Errorf("%w (after %d attempts)", err, attempt+1)
			}
			return err
		}
		d := wait/2 + rand.N(wait/2+1)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(wait*2, 30*time.Second)
	}
}
