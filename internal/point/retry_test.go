package point_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/areyoupoint/terraform-provider-point/internal/point"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

const unavailableBody = `{"error":"unavailable","message":"try again"}`

// opCall runs one client operation against user "u" for the retry tables.
type opCall struct {
	name  string
	route string
	// safe operations are retried on 502/503/504 and lost connections.
	safe bool
	run  func(ctx context.Context, c *point.Client, refresh, access string) error
}

var allOps = []opCall{
	{"create user", sandbox.RouteCreateUser, true, func(ctx context.Context, c *point.Client, _, _ string) error {
		_, err := c.CreateUser(ctx, "new")
		return err
	}},
	{"get user", sandbox.RouteGetUser, true, func(ctx context.Context, c *point.Client, _, _ string) error {
		_, err := c.GetUser(ctx, "u")
		return err
	}},
	{"issue refresh token", sandbox.RouteIssueRefreshToken, true, func(ctx context.Context, c *point.Client, _, _ string) error {
		_, err := c.IssueRefreshToken(ctx, "u")
		return err
	}},
	{"revoke refresh token", sandbox.RouteRevokeRefreshToken, true, func(ctx context.Context, c *point.Client, refresh, _ string) error {
		return c.RevokeRefreshToken(ctx, "u", refresh)
	}},
	{"issue access token", sandbox.RouteIssueAccessToken, false, func(ctx context.Context, c *point.Client, refresh, _ string) error {
		_, err := c.IssueAccessToken(ctx, "u", refresh)
		return err
	}},
	{"revoke access token", sandbox.RouteRevokeAccessToken, true, func(ctx context.Context, c *point.Client, _, access string) error {
		return c.RevokeAccessToken(ctx, "u", access)
	}},
}

// sandboxWithTokens starts a sandbox with user "u", a live access token,
// and faults applied after the setup.
func sandboxWithTokens(t *testing.T, f sandbox.Faults) (s *sandbox.Server, url, refresh, access string) {
	t.Helper()
	s, url = startSandbox(t, sandbox.Options{})
	refresh = s.AddUser("u")
	tok, err := newClient(t, url, "").IssueAccessToken(context.Background(), "u", refresh)
	if err != nil {
		t.Fatal(err)
	}
	s.SetFaults(f)
	return s, url, refresh, tok.Token
}

func TestRetry_unavailable(t *testing.T) {
	for _, op := range allOps {
		t.Run(op.name, func(t *testing.T) {
			s, url, refresh, access := sandboxWithTokens(t, sandbox.Faults{FailureRate: 1})
			before := s.RequestCounts()[op.route]
			err := op.run(context.Background(), newClient(t, url, s.APIKey(), withMaxRetries(3)), refresh, access)

			var apiErr *point.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable || apiErr.Code != "unavailable" {
				t.Fatalf("error = %#v, want *point.Error with status 503 and Point's code", err)
			}
			if !strings.Contains(err.Error(), "HTTP 503") {
				t.Errorf("error text %q lacks the status", err)
			}
			want := 4
			if !op.safe {
				// Each attempt that reaches Point could issue a token.
				want = 1
			}
			if got := s.RequestCounts()[op.route] - before; got != want {
				t.Errorf("%s sent %d times, want %d", op.route, got, want)
			}
		})
	}
}

func TestRetry_transientThenSuccess(t *testing.T) {
	s, _ := startSandbox(t, sandbox.Options{})
	token := s.AddUser("u")
	rec := newRecorder(t, s,
		respond(http.StatusBadGateway, "<html><body>bad gateway</body></html>", "Content-Type", "text/html"),
		respond(http.StatusServiceUnavailable, unavailableBody),
		respond(http.StatusGatewayTimeout, ""),
		hangUp,
	)
	u, err := newClient(t, rec.URL, s.APIKey(), withMaxRetries(4)).GetUser(context.Background(), "u")
	if err != nil {
		t.Fatalf("GetUser after four transient failures: %v", err)
	}
	if u.CurrentRefreshToken() != token {
		t.Errorf("GetUser refresh token = %q, want %q", u.CurrentRefreshToken(), token)
	}
	if n := len(rec.requests()); n != 5 {
		t.Errorf("sent %d requests, want 5", n)
	}
}

func TestRetry_maxRetries(t *testing.T) {
	for _, tc := range []struct {
		maxRetries, want int
	}{{-1, 1}, {0, 1}, {1, 2}, {5, 6}} {
		t.Run(fmt.Sprint(tc.maxRetries), func(t *testing.T) {
			s, url := startSandbox(t, sandbox.Options{})
			s.SetFaults(sandbox.Faults{FailureRate: 1})
			_, err := newClient(t, url, s.APIKey(), withMaxRetries(tc.maxRetries)).GetUser(context.Background(), "u")
			if got := s.Requests(); got != tc.want {
				t.Errorf("MaxRetries %d: sent %d requests, want %d", tc.maxRetries, got, tc.want)
			}
			var apiErr *point.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("error = %v, want the last 503", err)
			}
		})
	}
}

func TestRetry_notRetried(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict, http.StatusInternalServerError, http.StatusNotImplemented} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			rec := newRecorder(t, nil, respond(status, `{"error":"e","message":"m"}`), respond(status, ""), respond(status, ""))
			_, err := newClient(t, rec.URL, "key").GetUser(context.Background(), "u")
			var apiErr *point.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != status {
				t.Fatalf("error = %v, want status %d", err, status)
			}
			// A 404 with a JSON body is checked by the same request
			// without credentials (notfound.go); that is no retry.
			sent := 0
			for _, r := range rec.requests() {
				if r.Authorization != "" {
					sent++
				}
			}
			if sent != 1 {
				t.Errorf("status %d sent %d times with credentials, want once", status, sent)
			}
		})
	}
}

func TestRetry_rateLimited(t *testing.T) {
	t.Run("every other request from the sandbox", func(t *testing.T) {
		s, url := startSandbox(t, sandbox.Options{})
		refresh := s.AddUser("u")
		s.SetFaults(sandbox.Faults{RateLimitEvery: 2, RetryAfter: "0"})
		c := newClient(t, url, s.APIKey())
		for i := range 5 {
			if _, err := c.GetUser(context.Background(), "u"); err != nil {
				t.Fatalf("GetUser %d: %v", i, err)
			}
		}
		// Issue access token is retried on 429: the request was refused.
		tok, err := c.IssueAccessToken(context.Background(), "u", refresh)
		if err != nil {
			t.Fatalf("IssueAccessToken: %v", err)
		}
		issued := s.AccessTokens()
		if len(issued) != 1 || issued[0].Token != tok.Token {
			t.Errorf("sandbox issued %d tokens, want exactly the one returned", len(issued))
		}
		// Requests 2, 4, ... were answered 429 and each repeated once.
		wantCounts(t, s, map[string]int{sandbox.RouteGetUser: 9, sandbox.RouteIssueAccessToken: 2})
	})

	t.Run("exhausted", func(t *testing.T) {
		s, url := startSandbox(t, sandbox.Options{})
		refresh := s.AddUser("u")
		s.SetFaults(sandbox.Faults{RateLimitEvery: 1, RetryAfter: "0"})
		_, err := newClient(t, url, s.APIKey(), withMaxRetries(2)).IssueAccessToken(context.Background(), "u", refresh)
		if !point.IsRateLimited(err) {
			t.Fatalf("error = %v, want IsRateLimited", err)
		}
		wantCounts(t, s, map[string]int{sandbox.RouteIssueAccessToken: 3})
	})
}

// timedGet runs GetUser against a script answering 429 with retryAfter once,
// and returns how long the call took.
func timedGet(t *testing.T, retryAfter string, afterMax time.Duration) time.Duration {
	t.Helper()
	rec := newRecorder(t, nil,
		respond(http.StatusTooManyRequests, `{"error":"rate_limited","message":"slow down"}`, "Retry-After", retryAfter),
		respond(http.StatusOK, `{"user":{"id":"u"}}`))
	c := newClient(t, rec.URL, "key", func(c *point.Config) { c.RetryAfterMax = afterMax })
	start := time.Now()
	if _, err := c.GetUser(context.Background(), "u"); err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	if n := len(rec.requests()); n != 2 {
		t.Fatalf("sent %d requests, want 2", n)
	}
	return time.Since(start)
}

func TestRetry_retryAfter(t *testing.T) {
	t.Run("seconds", func(t *testing.T) {
		if d := timedGet(t, "1", 5*time.Second); d < 950*time.Millisecond || d > 3*time.Second {
			t.Errorf("Retry-After: 1 waited %v, want about 1s", d)
		}
	})
	t.Run("seconds capped", func(t *testing.T) {
		if d := timedGet(t, "30", 150*time.Millisecond); d < 140*time.Millisecond || d > 2*time.Second {
			t.Errorf("Retry-After: 30 with RetryAfterMax 150ms waited %v", d)
		}
	})
	t.Run("HTTP date", func(t *testing.T) {
		at := time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat)
		if d := timedGet(t, at, 5*time.Second); d < 900*time.Millisecond || d > 3*time.Second {
			t.Errorf("Retry-After: %s (1-2s ahead) waited %v", at, d)
		}
	})
	t.Run("HTTP date capped", func(t *testing.T) {
		at := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
		if d := timedGet(t, at, 150*time.Millisecond); d < 140*time.Millisecond || d > 2*time.Second {
			t.Errorf("Retry-After an hour ahead with RetryAfterMax 150ms waited %v", d)
		}
	})
	t.Run("HTTP date in the past", func(t *testing.T) {
		if d := timedGet(t, "Sun, 06 Nov 1994 08:49:37 GMT", 5*time.Second); d > 500*time.Millisecond {
			t.Errorf("Retry-After in the past waited %v", d)
		}
	})
	for _, garbage := range []string{"soon", "-5", "1.5", "0x10", "Sun, 06 Nov 1994"} {
		t.Run("garbage "+garbage, func(t *testing.T) {
			// Unreadable values fall back to the 1-5ms backoff.
			if d := timedGet(t, garbage, 5*time.Second); d > 500*time.Millisecond {
				t.Errorf("Retry-After %q waited %v", garbage, d)
			}
		})
	}
	t.Run("absent", func(t *testing.T) {
		if d := timedGet(t, "", 5*time.Second); d > 500*time.Millisecond {
			t.Errorf("429 without Retry-After waited %v", d)
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		value  string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"   ", 0, false},
		{"0", 0, true},
		{"7", 7 * time.Second, true},
		{" 7 ", 7 * time.Second, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"99999999999999999999", 0, false},
		{"9223372036854775807", 24 * time.Hour, true},
		{"Sun, 01 Mar 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Sunday, 01-Mar-26 12:01:00 GMT", time.Minute, true},
		{"Sun Mar  1 12:00:05 2026", 5 * time.Second, true},
		{"Sun, 01 Mar 2026 11:00:00 GMT", 0, true},
		{"Fri, 31 Dec 9999 23:59:59 GMT", 24 * time.Hour, true},
		{"Sun, 01 Mar 2026 12:00:30 PST", 0, false},
	} {
		got, ok := point.ParseRetryAfter(tc.value, now)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tc.value, got, ok, tc.want, tc.wantOK)
		}
	}
}

// failFirstDial is a pooled transport whose first dial fails before any
// byte is written, as when the connection is refused.
func failFirstDial() (http.RoundTripper, *atomic.Int32) {
	var dials atomic.Int32
	var d net.Dialer
	tr := &http.Transport{}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) == 1 {
			return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
		}
		return d.DialContext(ctx, network, addr)
	}
	return tr, &dials
}

// loseAnswer sends the request for real, then reports a failure instead of
// the answer: the server acted, the client cannot know how.
type loseAnswer struct {
	next http.RoundTripper
	n    atomic.Int32
}

func (l *loseAnswer) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(req)
	if err != nil || l.n.Add(1) > 1 {
		return resp, err
	}
	_ = resp.Body.Close()
	return nil, errors.New("connection reset by peer")
}

func TestRetry_issueAccessToken(t *testing.T) {
	t.Run("refused before sending", func(t *testing.T) {
		s, url := startSandbox(t, sandbox.Options{})
		refresh := s.AddUser("u")
		tr, dials := failFirstDial()
		c := newClient(t, url, "", func(c *point.Config) { c.Transport = tr })
		tok, err := c.IssueAccessToken(context.Background(), "u", refresh)
		if err != nil {
			t.Fatalf("IssueAccessToken after a refused connection: %v", err)
		}
		if dials.Load() != 2 {
			t.Errorf("dialled %d times, want 2", dials.Load())
		}
		if issued := s.AccessTokens(); len(issued) != 1 || issued[0].Token != tok.Token {
			t.Errorf("sandbox issued %d tokens, want the one returned", len(issued))
		}
		wantCounts(t, s, map[string]int{sandbox.RouteIssueAccessToken: 1})
	})

	t.Run("answer lost after sending", func(t *testing.T) {
		s, url := startSandbox(t, sandbox.Options{})
		refresh := s.AddUser("u")
		lose := &loseAnswer{next: &http.Transport{}}
		c := newClient(t, url, "", func(c *point.Config) { c.Transport = lose })
		_, err := c.IssueAccessToken(context.Background(), "u", refresh)
		var terr *point.TransportError
		if !errors.As(err, &terr) || !strings.Contains(terr.Error(), "(POST /organizations/users/{userId}/access_token)") {
			t.Fatalf("error = %#v, want a *point.TransportError for the route", err)
		}
		// One token was issued and lost; a retry would issue a second.
		if n := len(s.AccessTokens()); n != 1 {
			t.Errorf("sandbox issued %d tokens, want 1", n)
		}
		wantCounts(t, s, map[string]int{sandbox.RouteIssueAccessToken: 1})
	})

	t.Run("connection reset after sending", func(t *testing.T) {
		s, _ := startSandbox(t, sandbox.Options{})
		refresh := s.AddUser("u")
		rec := newRecorder(t, s, applyThenHangUp)
		_, err := newClient(t, rec.URL, "").IssueAccessToken(context.Background(), "u", refresh)
		var terr *point.TransportError
		if !errors.As(err, &terr) {
			t.Fatalf("error = %#v, want *point.TransportError", err)
		}
		if n := len(rec.requests()); n != 1 {
			t.Errorf("sent %d times, want once", n)
		}
		if n := len(s.AccessTokens()); n != 1 {
			t.Errorf("sandbox issued %d tokens, want 1", n)
		}
	})

	t.Run("503 not retried, 429 retried", func(t *testing.T) {
		s, _ := startSandbox(t, sandbox.Options{})
		refresh := s.AddUser("u")
		rec := newRecorder(t, s,
			respond(http.StatusServiceUnavailable, unavailableBody),
			respond(http.StatusTooManyRequests, "", "Retry-After", "0"),
			respond(http.StatusTooManyRequests, ""))
		c := newClient(t, rec.URL, "")
		if _, err := c.IssueAccessToken(context.Background(), "u", refresh); statusOf(err) != http.StatusServiceUnavailable {
			t.Fatalf("first call: error = %v, want the 503", err)
		}
		if n := len(rec.requests()); n != 1 {
			t.Fatalf("503 sent %d times, want once", n)
		}
		if _, err := c.IssueAccessToken(context.Background(), "u", refresh); err != nil {
			t.Fatalf("second call, after two 429s: %v", err)
		}
		if n := len(rec.requests()); n != 4 {
			t.Errorf("sent %d requests in all, want 4", n)
		}
		if n := len(s.AccessTokens()); n != 1 {
			t.Errorf("sandbox issued %d tokens, want 1", n)
		}
	})
}

func statusOf(err error) int {
	var apiErr *point.Error
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode
	}
	return 0
}

func TestRetry_createUserApplied(t *testing.T) {
	for name, first := range map[string]step{
		"503 after creating":             applyThenRespond(http.StatusServiceUnavailable, unavailableBody),
		"502 after creating":             applyThenRespond(http.StatusBadGateway, ""),
		"connection lost after creating": applyThenHangUp,
	} {
		t.Run(name, func(t *testing.T) {
			s, _ := startSandbox(t, sandbox.Options{})
			rec := newRecorder(t, s, first)
			u, err := newClient(t, rec.URL, s.APIKey()).CreateUser(context.Background(), "new")
			// The retry met 409, and whether the first attempt registered the
			// user cannot be known: the user comes back, marked unconfirmed,
			// as it does when the last answer is lost.
			var unconfirmed *point.UnconfirmedCreateError
			if !errors.As(err, &unconfirmed) || u == nil {
				t.Fatalf("CreateUser = %v, %v; want the user with an *point.UnconfirmedCreateError", u, err)
			}
			current, ok := s.CurrentRefreshToken("new")
			if u.ID != "new" || !ok || u.CurrentRefreshToken() != current {
				t.Errorf("CreateUser = {ID %q, refresh %q}, sandbox has %q", u.ID, u.CurrentRefreshToken(), current)
			}
			if s.RefreshTokensIssued() != 1 {
				t.Errorf("refresh tokens issued = %d, want 1", s.RefreshTokensIssued())
			}
			// The retry met 409, and the client read the user it had created.
			if post, get := rec.count(http.MethodPost, "/new"), rec.count(http.MethodGet, "/new"); post != 2 || get != 1 {
				t.Errorf("sent %d POST and %d GET, want 2 and 1", post, get)
			}
		})
	}

	t.Run("429 then conflict is a conflict", func(t *testing.T) {
		s, _ := startSandbox(t, sandbox.Options{})
		s.AddUser("taken")
		rec := newRecorder(t, s, respond(http.StatusTooManyRequests, "", "Retry-After", "0"))
		_, err := newClient(t, rec.URL, s.APIKey()).CreateUser(context.Background(), "taken")
		if !point.IsConflict(err) {
			t.Fatalf("error = %v, want IsConflict: a 429 means nothing was created", err)
		}
		if get := rec.count(http.MethodGet, "/taken"); get != 0 {
			t.Errorf("sent %d GET, want none", get)
		}
	})

	t.Run("503 before creating, then 409, reads the existing user", func(t *testing.T) {
		// The 503 is injected before the sandbox acts, yet the client cannot
		// tell: it reads the user and says that the create is unconfirmed,
		// exactly as when the 503 came after creating.
		s, _ := startSandbox(t, sandbox.Options{})
		token := s.AddUser("taken")
		rec := newRecorder(t, s, respond(http.StatusServiceUnavailable, unavailableBody))
		u, err := newClient(t, rec.URL, s.APIKey()).CreateUser(context.Background(), "taken")
		var unconfirmed *point.UnconfirmedCreateError
		if !errors.As(err, &unconfirmed) || u == nil || u.CurrentRefreshToken() != token {
			t.Fatalf("CreateUser = %v, %v; want the existing user, unconfirmed", u, err)
		}
		if statusOf(unconfirmed.Err) != http.StatusServiceUnavailable {
			t.Errorf("UnconfirmedCreateError.Err = %v, want the 503", unconfirmed.Err)
		}
	})
}

func TestCreateUser_answerLost(t *testing.T) {
	t.Run("after sending, reads the user and says it is unconfirmed", func(t *testing.T) {
		s, _ := startSandbox(t, sandbox.Options{})
		rec := newRecorder(t, s, applyThenHangUp)
		u, err := newClient(t, rec.URL, s.APIKey(), withMaxRetries(0)).CreateUser(context.Background(), "new")
		var unconfirmed *point.UnconfirmedCreateError
		if !errors.As(err, &unconfirmed) {
			t.Fatalf("error = %v, want *point.UnconfirmedCreateError", err)
		}
		if u == nil || u.ID != "new" || !s.HasUser("new") {
			t.Fatalf("CreateUser returned %v; want the user Point registered", u)
		}
		if post, get := rec.count(http.MethodPost, "/new"), rec.count(http.MethodGet, "/new"); post != 1 || get != 1 {
			t.Errorf("sent %d POST and %d GET, want 1 and 1", post, get)
		}
	})

	t.Run("refused before sending, looks for nothing", func(t *testing.T) {
		s, url := startSandbox(t, sandbox.Options{})
		s.AddUser("existing")
		tr, _ := failFirstDial()
		c := newClient(t, url, s.APIKey(), withMaxRetries(0), func(c *point.Config) { c.Transport = tr })
		u, err := c.CreateUser(context.Background(), "existing")
		var terr *point.TransportError
		var unconfirmed *point.UnconfirmedCreateError
		if !errors.As(err, &terr) || errors.As(err, &unconfirmed) || u != nil {
			t.Fatalf("CreateUser = %v, %v; want only a transport error", u, err)
		}
		wantCounts(t, s, map[string]int{})
	})
}

func TestRetry_timeout(t *testing.T) {
	slow := func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}
	short := func(c *point.Config) { c.RequestTimeout = 50 * time.Millisecond; c.MaxRetries = 1 }

	rec := newRecorder(t, nil, slow, slow, slow)
	start := time.Now()
	_, err := newClient(t, rec.URL, "key", short).GetUser(context.Background(), "u")
	var terr *point.TransportError
	if !errors.As(err, &terr) || !strings.Contains(err.Error(), "no answer within 50ms") {
		t.Fatalf("GetUser error = %v, want a *point.TransportError naming the timeout", err)
	}
	if n := len(rec.requests()); n != 2 {
		t.Errorf("GetUser sent %d requests, want 2", n)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("two 50ms timeouts took %v", d)
	}

	rec = newRecorder(t, nil, slow, slow)
	_, err = newClient(t, rec.URL, "key", short).IssueAccessToken(context.Background(), "u", "rt_x")
	if !errors.As(err, &terr) {
		t.Fatalf("IssueAccessToken error = %v, want a *point.TransportError", err)
	}
	if n := len(rec.requests()); n != 1 {
		t.Errorf("IssueAccessToken sent %d requests after a timeout, want 1", n)
	}
}

func TestRetry_connectionReset(t *testing.T) {
	rec := newRecorder(t, nil, hangUp, hangUp, hangUp, hangUp, hangUp)
	_, err := newClient(t, rec.URL, "key", withMaxRetries(2)).GetUser(context.Background(), "u")
	var terr *point.TransportError
	if !errors.As(err, &terr) || terr.Operation != "get user" {
		t.Fatalf("error = %#v, want a *point.TransportError for get user", err)
	}
	if n := len(rec.requests()); n != 3 {
		t.Errorf("sent %d requests, want 3", n)
	}
}

func TestCancel(t *testing.T) {
	t.Run("during a Retry-After wait", func(t *testing.T) {
		rec := newRecorder(t, nil, respond(http.StatusTooManyRequests, "", "Retry-After", "30"))
		c := newClient(t, rec.URL, "key", func(c *point.Config) { c.RetryAfterMax = time.Minute })
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		_, err := c.GetUser(ctx, "u")
		if d := time.Since(start); d > time.Second {
			t.Errorf("GetUser returned %v after the cancel", d)
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error = %v, want one wrapping context.Canceled", err)
		}
		var terr *point.TransportError
		if !errors.As(err, &terr) {
			t.Errorf("error is %T, want *point.TransportError", err)
		}
		if n := len(rec.requests()); n != 1 {
			t.Errorf("sent %d requests, want 1", n)
		}
	})

	t.Run("during a request", func(t *testing.T) {
		block := func(w http.ResponseWriter, r *http.Request, _ http.Handler) { <-r.Context().Done() }
		rec := newRecorder(t, nil, block, block)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		err := newClient(t, rec.URL, "").RevokeRefreshToken(ctx, "u", "rt_x")
		if d := time.Since(start); d > time.Second {
			t.Errorf("returned %v after the cancel", d)
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error = %v, want one wrapping context.Canceled", err)
		}
		if n := len(rec.requests()); n != 1 {
			t.Errorf("sent %d requests, want 1: a cancelled call is not retried", n)
		}
	})

	t.Run("during the backoff after a lost connection", func(t *testing.T) {
		rec := newRecorder(t, nil, hangUp, hangUp)
		c := newClient(t, rec.URL, "key", func(c *point.Config) { c.RetryWaitMin, c.RetryWaitMax = 30*time.Second, 30*time.Second })
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		_, err := c.GetUser(ctx, "u")
		if d := time.Since(start); d > time.Second {
			t.Errorf("returned %v after the cancel", d)
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error = %v, want one wrapping context.Canceled", err)
		}
		if n := len(rec.requests()); n != 1 {
			t.Errorf("sent %d requests, want 1", n)
		}
	})

	t.Run("deadline", func(t *testing.T) {
		s, url := startSandbox(t, sandbox.Options{})
		s.SetFaults(sandbox.Faults{FailureRate: 1})
		c := newClient(t, url, s.APIKey(), func(c *point.Config) {
			c.MaxRetries = 100
			c.RetryWaitMin, c.RetryWaitMax = 20*time.Millisecond, 20*time.Millisecond
		})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := c.GetUser(ctx, "u")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error = %v, want one wrapping context.DeadlineExceeded", err)
		}
		if n := s.Requests(); n < 2 || n > 20 {
			t.Errorf("sent %d requests in 100ms with 10-20ms waits", n)
		}
	})

	t.Run("already cancelled", func(t *testing.T) {
		s, url := startSandbox(t, sandbox.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := newClient(t, url, s.APIKey()).CreateUser(ctx, "u")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error = %v, want context.Canceled", err)
		}
		if s.Requests() != 0 || s.HasUser("u") {
			t.Error("a call with a cancelled context reached the sandbox")
		}
	})
}

// TestCreateUser_answerSlowerThanTimeout: Point registers the user but
// answers after request_timeout on every attempt. The look-up that follows
// has a budget of its own, so it finds the user instead of timing out too.
func TestCreateUser_answerSlowerThanTimeout(t *testing.T) {
	s, url := startSandbox(t, sandbox.Options{})
	s.SetFaults(sandbox.Faults{AnswerDelay: 300 * time.Millisecond})
	c := newClient(t, url, s.APIKey(), withMaxRetries(1), func(c *point.Config) { c.RequestTimeout = 100 * time.Millisecond })
	u, err := c.CreateUser(context.Background(), "slow")
	var unconfirmed *point.UnconfirmedCreateError
	if !errors.As(err, &unconfirmed) || u == nil || u.ID != "slow" {
		t.Fatalf("CreateUser = %v, %v; want the user, unconfirmed", u, err)
	}
	var terr *point.TransportError
	if !errors.As(unconfirmed.Err, &terr) || !strings.Contains(terr.Error(), "no answer within 100ms") {
		t.Errorf("UnconfirmedCreateError.Err = %v, want the timed-out create", unconfirmed.Err)
	}
	wantCounts(t, s, map[string]int{sandbox.RouteCreateUser: 2, sandbox.RouteGetUser: 1})
}

// TestRetry_attemptsCounted: errors say how many attempts were made, so
// that a caller can say that the retries ran out.
func TestRetry_attemptsCounted(t *testing.T) {
	rec := newRecorder(t, nil, respond(http.StatusServiceUnavailable, unavailableBody), respond(http.StatusServiceUnavailable, unavailableBody), respond(http.StatusServiceUnavailable, unavailableBody))
	_, err := newClient(t, rec.URL, "key", withMaxRetries(2)).GetUser(context.Background(), "u")
	var apiErr *point.Error
	if !errors.As(err, &apiErr) || apiErr.Attempts != 3 {
		t.Fatalf("error = %#v, want a 503 after 3 attempts", err)
	}
}

// TestCreateUser_interrupted: the run is interrupted (the context ends)
// after the request was written and Point registered the user. The look-up
// runs on a context of its own and finds the user.
func TestCreateUser_interrupted(t *testing.T) {
	s, _ := startSandbox(t, sandbox.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	rec := newRecorder(t, s, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		next.ServeHTTP(httptest.NewRecorder(), r)
		cancel()
		<-r.Context().Done()
	})
	u, err := newClient(t, rec.URL, s.APIKey()).CreateUser(ctx, "interrupted")
	var unconfirmed *point.UnconfirmedCreateError
	if !errors.As(err, &unconfirmed) || u == nil || u.ID != "interrupted" {
		t.Fatalf("CreateUser = %v, %v; want the user, unconfirmed", u, err)
	}
	if !errors.Is(unconfirmed.Err, context.Canceled) {
		t.Errorf("UnconfirmedCreateError.Err = %v, want the cancellation", unconfirmed.Err)
	}
}
