package point_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/areyoupoint/terraform-provider-point/internal/point"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

func wantCounts(t *testing.T, s *sandbox.Server, want map[string]int) {
	t.Helper()
	if got := s.RequestCounts(); !maps.Equal(got, want) {
		t.Errorf("sandbox request counts = %v, want %v", got, want)
	}
}

func TestNew(t *testing.T) {
	if got, want := point.EnvironmentURL("staging"), "https://staging.sdk.areyoupoint.com"; got != want {
		t.Errorf("EnvironmentURL(staging) = %q, want %q", got, want)
	}
	if newClient(t, "http://127.0.0.1:1", "").HasAPIKey() {
		t.Error("HasAPIKey() = true for a client without a key")
	}

	// A Config with only the essentials works on defaults.
	s, url := startSandbox(t, sandbox.Options{})
	s.AddUser("u")
	c := point.New(point.Config{BaseURL: url, APIKey: s.APIKey()})
	if !c.HasAPIKey() {
		t.Error("HasAPIKey() = false for a client with a key")
	}
	if _, err := c.GetUser(context.Background(), "u"); err != nil {
		t.Errorf("GetUser with a default Config: %v", err)
	}
}

func TestCreateAndGetUser(t *testing.T) {
	s, url := startSandbox(t, sandbox.Options{})
	// A trailing slash on the base URL must not double the path's.
	c := newClient(t, url+"/", s.APIKey())
	ctx := context.Background()

	u, err := c.CreateUser(ctx, "alice")
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	current, ok := s.CurrentRefreshToken("alice")
	if !ok || u.ID != "alice" || u.CurrentRefreshToken() != current {
		t.Fatalf("CreateUser = {ID %q, refresh %q}, sandbox has refresh %q (%v)", u.ID, u.CurrentRefreshToken(), current, ok)
	}
	if u.Email != nil || u.Height != nil {
		t.Errorf("new user has profile fields: email %v, height %v", u.Email, u.Height)
	}

	s.SetProfile("alice", sandbox.Profile{Email: ptr("alice@example.com"), Height: ptr(171.5), Timezone: ptr("Europe/Paris")})
	got, err := c.GetUser(ctx, "alice")
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	if got.ID != "alice" || got.CurrentRefreshToken() != current {
		t.Errorf("GetUser = {ID %q, refresh %q}, want alice with %q", got.ID, got.CurrentRefreshToken(), current)
	}
	if got.Email == nil || *got.Email != "alice@example.com" || got.Height == nil || *got.Height != 171.5 ||
		got.Timezone == nil || *got.Timezone != "Europe/Paris" || got.Weight != nil || got.FirstName != nil {
		t.Errorf("GetUser profile = %+v, want the sandbox's profile", got)
	}
	wantCounts(t, s, map[string]int{sandbox.RouteCreateUser: 1, sandbox.RouteGetUser: 1})
}

func TestCreateUser_conflict(t *testing.T) {
	s, url := startSandbox(t, sandbox.Options{})
	s.AddUser("bob")
	c := newClient(t, url, s.APIKey())

	_, err := c.CreateUser(context.Background(), "bob")
	if !point.IsConflict(err) {
		t.Fatalf("CreateUser(existing) error = %v, want IsConflict", err)
	}
	if point.IsNotFound(err) || point.IsUnauthorized(err) {
		t.Errorf("a 409 also matched another predicate: %v", err)
	}
	if !strings.Contains(err.Error(), "HTTP 409") || !strings.Contains(err.Error(), "user_exists") {
		t.Errorf("error %q lacks the status or Point's error code", err)
	}
	// A conflict on the first attempt is the answer: no retry, no read.
	wantCounts(t, s, map[string]int{sandbox.RouteCreateUser: 1})
}

func TestCreateUser_idempotent(t *testing.T) {
	s, url := startSandbox(t, sandbox.Options{IdempotentCreate: true})
	token := s.AddUser("carol")
	c := newClient(t, url, s.APIKey())

	u, err := c.CreateUser(context.Background(), "carol")
	if err != nil {
		t.Fatalf("CreateUser(existing) on an idempotent Point: %v", err)
	}
	if u.ID != "carol" || u.CurrentRefreshToken() != token {
		t.Errorf("CreateUser = {ID %q, refresh %q}, want carol with the existing token %q", u.ID, u.CurrentRefreshToken(), token)
	}
	if s.RefreshTokensIssued() != 1 {
		t.Errorf("refresh tokens issued = %d, want 1", s.RefreshTokensIssued())
	}
	wantCounts(t, s, map[string]int{sandbox.RouteCreateUser: 1})
}

func TestAccessToken_issueAndRevoke(t *testing.T) {
	s, _ := startSandbox(t, sandbox.Options{AccessTokenTTL: time.Hour})
	refresh := s.AddUser("dave")
	rec := newRecorder(t, s)
	c := newClient(t, rec.URL, "")
	ctx := context.Background()

	tok, err := c.IssueAccessToken(ctx, "dave", refresh)
	if err != nil {
		t.Fatalf("IssueAccessToken: %v", err)
	}
	issued := s.AccessTokens()
	if len(issued) != 1 || issued[0].Token != tok.Token {
		t.Fatalf("IssueAccessToken returned %q, sandbox issued %+v", tok.Token, issued)
	}
	if strings.HasPrefix(tok.Token, "Bearer") || strings.ContainsAny(tok.Token, " \t") {
		t.Errorf("token %q is not the bare JWT", tok.Token)
	}
	if _, _, err := jwt.NewParser().ParseUnverified(tok.Token, &jwt.RegisteredClaims{}); err != nil {
		t.Errorf("token %q is not a JWT: %v", tok.Token, err)
	}
	if tok.ExpiresIn != time.Hour {
		t.Errorf("ExpiresIn = %v, want 1h", tok.ExpiresIn)
	}
	if got := tok.AuthorizationHeader(); got != "Bearer "+tok.Token {
		t.Errorf("AuthorizationHeader() = %q", got)
	}

	if err := c.RevokeAccessToken(ctx, "dave", tok.Token); err != nil {
		t.Fatalf("RevokeAccessToken: %v", err)
	}
	if !s.AccessTokens()[0].Revoked {
		t.Error("sandbox did not record the access token as revoked")
	}
	reqs := rec.requests()
	if len(reqs) != 2 {
		t.Fatalf("recorded %d requests, want 2: %+v", len(reqs), reqs)
	}
	if want := "Bearer " + refresh; reqs[0].Method != http.MethodPost || reqs[0].EscapedPath != "/organizations/users/dave/access_token" || reqs[0].Authorization != want {
		t.Errorf("issue request = %+v, want POST .../dave/access_token with the refresh token", reqs[0])
	}
	revoke := reqs[1]
	if revoke.Method != http.MethodDelete || revoke.EscapedPath != "/organizations/users/dave/access_token/"+tok.Token {
		t.Errorf("revoke request = %s %s, want the bare JWT as the last path segment", revoke.Method, revoke.EscapedPath)
	}
	if revoke.Authorization != "Bearer "+tok.Token {
		t.Errorf("revoke Authorization = %q, want \"Bearer <bare JWT>\"", revoke.Authorization)
	}

	// Revoking twice: the sandbox answers 404, which callers treat as gone.
	if err := c.RevokeAccessToken(ctx, "dave", tok.Token); !point.IsNotFound(err) {
		t.Errorf("second RevokeAccessToken error = %v, want IsNotFound", err)
	}
}

func TestIssueAccessToken_staleRefreshToken(t *testing.T) {
	s, url := startSandbox(t, sandbox.Options{})
	old := s.AddUser("erin")
	s.RotateRefreshToken("erin")
	c := newClient(t, url, "")

	_, err := c.IssueAccessToken(context.Background(), "erin", old)
	if !point.IsUnauthorized(err) {
		t.Fatalf("IssueAccessToken(stale) error = %v, want IsUnauthorized", err)
	}
	if len(s.AccessTokens()) != 0 {
		t.Error("sandbox issued an access token for a stale refresh token")
	}
	wantCounts(t, s, map[string]int{sandbox.RouteIssueAccessToken: 1})
}

func TestRefreshToken_issueAndRevoke(t *testing.T) {
	s, url := startSandbox(t, sandbox.Options{})
	old := s.AddUser("frank")
	c := newClient(t, url, s.APIKey())
	ctx := context.Background()

	fresh, err := c.IssueRefreshToken(ctx, "frank")
	if err != nil {
		t.Fatalf("IssueRefreshToken: %v", err)
	}
	if current, _ := s.CurrentRefreshToken("frank"); fresh == old || fresh != current {
		t.Fatalf("IssueRefreshToken = %q, old %q, sandbox current %q", fresh, old, current)
	}

	// The replaced token no longer authorises its own revocation: 401.
	if err := c.RevokeRefreshToken(ctx, "frank", old); !point.IsUnauthorized(err) {
		t.Errorf("RevokeRefreshToken(stale) error = %v, want IsUnauthorized", err)
	}
	if err := c.RevokeRefreshToken(ctx, "frank", fresh); err != nil {
		t.Fatalf("RevokeRefreshToken(current): %v", err)
	}
	if tok, ok := s.CurrentRefreshToken("frank"); ok {
		t.Errorf("sandbox still has refresh token %q after revocation", tok)
	}

	// After revocation the sandbox answers "refreshToken": null.
	u, err := c.GetUser(ctx, "frank")
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	if u.Refresh != nil || u.CurrentRefreshToken() != "" {
		t.Errorf("revoked user: Refresh = %+v, CurrentRefreshToken() = %q, want nil and empty", u.Refresh, u.CurrentRefreshToken())
	}
	wantCounts(t, s, map[string]int{sandbox.RouteIssueRefreshToken: 1, sandbox.RouteRevokeRefreshToken: 2, sandbox.RouteGetUser: 1})
}

func TestGetUser_refreshTokenShapes(t *testing.T) {
	for name, body := range map[string]string{
		"null":         `{"user":{"id":"gina","email":null,"refreshToken":null}}`,
		"absent":       `{"user":{"id":"gina"}}`,
		"empty object": `{"user":{"id":"gina","refreshToken":{}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			rec := newRecorder(t, nil, respond(http.StatusOK, body, "Content-Type", "application/json"))
			u, err := newClient(t, rec.URL, "key").GetUser(context.Background(), "gina")
			if err != nil {
				t.Fatalf("GetUser: %v", err)
			}
			if u.ID != "gina" || u.CurrentRefreshToken() != "" {
				t.Errorf("GetUser = {ID %q, refresh %q}, want gina without a refresh token", u.ID, u.CurrentRefreshToken())
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	s, url := startSandbox(t, sandbox.Options{})
	refresh := s.AddUser("known")
	access, err := newClient(t, url, "").IssueAccessToken(context.Background(), "known", refresh)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, url, s.APIKey())
	calls := map[string]func(context.Context) error{
		"get user": func(ctx context.Context) error {
			_, err := c.GetUser(ctx, "ghost")
			return err
		},
		"issue refresh token": func(ctx context.Context) error {
			_, err := c.IssueRefreshToken(ctx, "ghost")
			return err
		},
		"revoke refresh token": func(ctx context.Context) error {
			return c.RevokeRefreshToken(ctx, "ghost", refresh)
		},
		"issue access token": func(ctx context.Context) error {
			_, err := c.IssueAccessToken(ctx, "ghost", refresh)
			return err
		},
		"revoke access token of another user": func(ctx context.Context) error {
			return c.RevokeAccessToken(ctx, "ghost", access.Token)
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call(context.Background())
			if !point.IsNotFound(err) {
				t.Fatalf("error = %v, want IsNotFound", err)
			}
			// Revocations name a token, the other routes the user alone.
			revoke := strings.HasPrefix(name, "revoke")
			if point.IsUserNotFound(err) == revoke || point.IsTokenNotFound(err) != revoke {
				t.Errorf("IsUserNotFound = %v, IsTokenNotFound = %v for %v; want the sandbox's 404 confirmed as Point's own, for the %s",
					point.IsUserNotFound(err), point.IsTokenNotFound(err), err, map[bool]string{true: "token", false: "user"}[revoke])
			}
		})
	}
	// Nothing was retried (the setup issued one access token), and the known
	// user is untouched. Each 404 was checked by the same request without
	// credentials, and the first one also by a path that is no route
	// ("unmatched"), which the client asks about once.
	wantCounts(t, s, map[string]int{sandbox.RouteGetUser: 2, sandbox.RouteIssueRefreshToken: 2, sandbox.RouteRevokeRefreshToken: 2,
		sandbox.RouteIssueAccessToken: 3, sandbox.RouteRevokeAccessToken: 2, sandbox.RouteUnmatched: 1})
	if cur, _ := s.CurrentRefreshToken("known"); cur != refresh || s.AccessTokens()[0].Revoked {
		t.Error("a failed call changed the known user's tokens")
	}
}

// TestRevoke_toleratedStatuses covers the answers CONTRACT.md says Point may
// give instead of the sandbox's: the predicates callers rely on must match.
func TestRevoke_toleratedStatuses(t *testing.T) {
	ctx := context.Background()
	t.Run("stale refresh token answered 404", func(t *testing.T) {
		rec := newRecorder(t, nil, respond(http.StatusNotFound, `{"error":"not_found","message":"token not found"}`, "Content-Type", "application/json"))
		if err := newClient(t, rec.URL, "").RevokeRefreshToken(ctx, "u", "rt_stale"); !point.IsNotFound(err) {
			t.Errorf("error = %v, want IsNotFound", err)
		}
	})
	t.Run("revoked access token answered 401", func(t *testing.T) {
		rec := newRecorder(t, nil, respond(http.StatusUnauthorized, ""))
		err := newClient(t, rec.URL, "").RevokeAccessToken(ctx, "u", "eyJhbGciOiJIUzI1NiJ9.e30.sig")
		if !point.IsUnauthorized(err) || point.IsNotFound(err) {
			t.Errorf("error = %v, want IsUnauthorized only", err)
		}
		if len(rec.requests()) != 1 {
			t.Errorf("a 401 was sent %d times, want once", len(rec.requests()))
		}
	})
	t.Run("403 and 429 predicates", func(t *testing.T) {
		rec := newRecorder(t, nil,
			respond(http.StatusForbidden, `{"error":"forbidden","message":"no"}`),
			respond(http.StatusTooManyRequests, `{"error":"rate_limited","message":"slow down"}`, "Retry-After", "0"))
		c := newClient(t, rec.URL, "key", withMaxRetries(0))
		if _, err := c.GetUser(ctx, "u"); !point.IsForbidden(err) || point.IsUnauthorized(err) {
			t.Errorf("403: error = %v, want IsForbidden only", err)
		}
		if _, err := c.GetUser(ctx, "u"); !point.IsRateLimited(err) {
			t.Errorf("429: error = %v, want IsRateLimited", err)
		}
	})
}

func TestNoAPIKey(t *testing.T) {
	s, url := startSandbox(t, sandbox.Options{})
	c := newClient(t, url, "")
	ctx := context.Background()
	checks := map[string]error{}
	_, checks["create user"] = c.CreateUser(ctx, "u")
	_, checks["get user"] = c.GetUser(ctx, "u")
	_, checks["issue refresh token"] = c.IssueRefreshToken(ctx, "u")
	for name, err := range checks {
		if !errors.Is(err, point.ErrNoAPIKey) {
			t.Errorf("%s without an API key: error = %v, want ErrNoAPIKey", name, err)
		}
	}
	if n := s.Requests(); n != 0 {
		t.Errorf("%d requests reached the sandbox, want none", n)
	}
}

func TestRequestHeaders(t *testing.T) {
	var got http.Header
	rec := newRecorder(t, nil, func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		got = r.Header.Clone()
		respond(http.StatusOK, `{"user":{"id":"u"}}`)(w, r, nil)
	})
	if _, err := newClient(t, rec.URL, "key").GetUser(context.Background(), "u"); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"Authorization": "Bearer key",
		"Accept":        "application/json",
		"User-Agent":    "point-client-test",
	} {
		if got.Get(name) != want {
			t.Errorf("%s = %q, want %q", name, got.Get(name), want)
		}
	}
}

// TestUserIDEscaping sends ids that the provider's validator forbids in part
// but that the client must still carry intact: each is one escaped path
// segment and reaches the sandbox as the same string.
func TestUserIDEscaping(t *testing.T) {
	s, _ := startSandbox(t, sandbox.Options{})
	rec := newRecorder(t, s)
	c := newClient(t, rec.URL, s.APIKey())
	ids := []string{
		"what?", "a#b", "100%", "50%25", "with space", "semi;colon", "plus+sign",
		"amp&eq=", "émoji-😀", "back\\slash", "quote\"'", "tilde~dot.", ".", "..", "...",
		"access_token", "%2F",
	}
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			before := len(rec.requests())
			u, err := c.CreateUser(context.Background(), id)
			if err != nil {
				t.Fatalf("CreateUser(%q): %v", id, err)
			}
			if u.ID != id || !s.HasUser(id) {
				t.Fatalf("CreateUser(%q) returned id %q; sandbox has it: %v; sandbox users %q", id, u.ID, s.HasUser(id), s.UserIDs())
			}
			got, err := c.GetUser(context.Background(), id)
			if err != nil || got.ID != id {
				t.Fatalf("GetUser(%q) = %v, %v", id, got, err)
			}
			reqs := rec.requests()[before:]
			for _, r := range reqs {
				seg := strings.TrimPrefix(r.EscapedPath, "/organizations/users/")
				decoded, err := url.PathUnescape(seg)
				if strings.ContainsAny(seg, "/?# ") || err != nil || decoded != id {
					t.Errorf("%s %s: path segment %q does not carry the id %q intact", r.Method, r.RequestURI, seg, id)
				}
				if strings.Contains(r.RequestURI, "?") || strings.Contains(r.RequestURI, "#") {
					t.Errorf("request URI %q has a query or fragment", r.RequestURI)
				}
			}
		})
	}
	if n := s.RequestCounts()["unmatched"]; n != 0 {
		t.Errorf("%d requests matched no route", n)
	}
	if len(s.UserIDs()) != len(ids) {
		t.Errorf("sandbox has users %q, want exactly %q", s.UserIDs(), ids)
	}
}
