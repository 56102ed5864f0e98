package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const testKey = "test-api-key"

var (
	refreshTokenRE = regexp.MustCompile(`^rt_[A-Za-z0-9_-]{43}$`)
	apiKeyRE       = regexp.MustCompile(`^sandbox-key-[0-9a-f]{32}$`)
)

func newTestServer(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.APIKey == "" {
		opts.APIKey = testKey
	}
	return New(opts)
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

func do(t *testing.T, h http.Handler, method, path, token string) response {
	t.Helper()
	return doCtx(t, context.Background(), h, method, path, token)
}

func doCtx(t *testing.T, ctx context.Context, h http.Handler, method, path, token string) response {
	t.Helper()
	req := httptest.NewRequestWithContext(ctx, method, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return response{code: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

func userPath(id string, rest ...string) string {
	p := "/organizations/users/" + url.PathEscape(id)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// wantError checks the status and the contract's error body shape.
func wantError(t *testing.T, r response, code int, errCode string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status = %d, want %d (body %s)", r.code, code, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	m := r.json(t)
	if len(m) != 2 || m["error"] != errCode {
		t.Errorf("body = %s, want {\"error\": %q, \"message\": ...}", r.body, errCode)
	}
	if msg, _ := m["message"].(string); msg == "" {
		t.Errorf("body %s has no message", r.body)
	}
}

func wantStatus(t *testing.T, r response, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status = %d, want %d (body %s)", r.code, code, r.body)
	}
}

func createUser(t *testing.T, s *Server, id string) string {
	t.Helper()
	r := do(t, s, "POST", userPath(id), testKey)
	wantStatus(t, r, http.StatusOK)
	var body userResponse
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.User.RefreshToken == nil {
		t.Fatalf("created user has no refresh token: %s", r.body)
	}
	return body.User.RefreshToken.Token
}

func issueAccess(t *testing.T, s *Server, id, refresh string) string {
	t.Helper()
	r := do(t, s, "POST", userPath(id, "access_token"), refresh)
	wantStatus(t, r, http.StatusOK)
	var body accessTokenResponse
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	bare, ok := strings.CutPrefix(body.AccessToken.Token, "Bearer ")
	if !ok {
		t.Fatalf("access token %q lacks the Bearer prefix", body.AccessToken.Token)
	}
	return bare
}

func TestNewDefaults(t *testing.T) {
	s := New(Options{})
	if !apiKeyRE.MatchString(s.APIKey()) {
		t.Errorf("generated API key %q does not match %v", s.APIKey(), apiKeyRE)
	}
	if New(Options{}).APIKey() == s.APIKey() {
		t.Error("two servers got the same random API key")
	}
	if got := New(Options{APIKey: "k"}).APIKey(); got != "k" {
		t.Errorf("APIKey() = %q, want k", got)
	}
}

func TestCreateAndGetUser(t *testing.T) {
	s := newTestServer(t, Options{})
	r := do(t, s, "POST", userPath("alice"), testKey)
	wantStatus(t, r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var raw map[string]map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatal(err)
	}
	u := raw["user"]
	wantKeys := []string{"id", "email", "birthday", "height", "weight", "gender", "pronoun", "expectation", "firstName", "timezone", "refreshToken"}
	gotKeys := make([]string, 0, len(u))
	for k := range u {
		gotKeys = append(gotKeys, k)
	}
	slices.Sort(gotKeys)
	slices.Sort(wantKeys)
	if !slices.Equal(gotKeys, wantKeys) {
		t.Errorf("user keys = %v, want %v", gotKeys, wantKeys)
	}
	for _, k := range wantKeys {
		if k != "id" && k != "refreshToken" && string(u[k]) != "null" {
			t.Errorf("%s = %s, want null", k, u[k])
		}
	}
	if string(u["id"]) != `"alice"` {
		t.Errorf("id = %s", u["id"])
	}
	var rt tokenJSON
	if err := json.Unmarshal(u["refreshToken"], &rt); err != nil {
		t.Fatal(err)
	}
	if !refreshTokenRE.MatchString(rt.Token) {
		t.Errorf("refresh token %q does not match %v", rt.Token, refreshTokenRE)
	}
	if cur, ok := s.CurrentRefreshToken("alice"); !ok || cur != rt.Token {
		t.Errorf("CurrentRefreshToken = %q, %v; want %q", cur, ok, rt.Token)
	}

	g := do(t, s, "GET", userPath("alice"), testKey)
	wantStatus(t, g, http.StatusOK)
	if string(g.body) != string(r.body) {
		t.Errorf("GET body %s differs from create body %s", g.body, r.body)
	}
	if h := do(t, s, "HEAD", userPath("alice"), testKey); h.code != http.StatusOK {
		t.Errorf("HEAD status = %d", h.code)
	}
	if n := s.RefreshTokensIssued(); n != 1 {
		t.Errorf("RefreshTokensIssued = %d, want 1", n)
	}
}

func TestCreateExistingUser(t *testing.T) {
	s := newTestServer(t, Options{})
	first := createUser(t, s, "bob")
	wantError(t, do(t, s, "POST", userPath("bob"), testKey), http.StatusConflict, "user_exists")

	s.SetIdempotentCreate(true)
	r := do(t, s, "POST", userPath("bob"), testKey)
	wantStatus(t, r, http.StatusOK)
	var body userResponse
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.User.ID != "bob" || body.User.RefreshToken == nil || body.User.RefreshToken.Token != first {
		t.Errorf("idempotent create returned %s, want the existing user and token", r.body)
	}
	if n := s.RefreshTokensIssued(); n != 1 {
		t.Errorf("RefreshTokensIssued = %d after idempotent create, want 1", n)
	}

	s.SetIdempotentCreate(false)
	wantError(t, do(t, s, "POST", userPath("bob"), testKey), http.StatusConflict, "user_exists")

	s2 := newTestServer(t, Options{IdempotentCreate: true})
	createUser(t, s2, "bob")
	createUser(t, s2, "bob")
}

func TestAuthorization(t *testing.T) {
	s := newTestServer(t, Options{})
	refresh := createUser(t, s, "carol")
	headers := map[string][]string{
		"missing":      nil,
		"basic":        {"Basic " + testKey},
		"no token":     {"Bearer"},
		"empty token":  {"Bearer "},
		"extra space":  {"Bearer  " + testKey},
		"extra field":  {"Bearer " + testKey + " x"},
		"wrong key":    {"Bearer not-the-key"},
		"two headers":  {"Bearer " + testKey, "Bearer " + testKey},
		"refresh only": {"Bearer " + refresh},
	}
	routes := []struct{ method, path string }{
		{"POST", userPath("new")},
		{"GET", userPath("carol")},
		{"POST", userPath("carol", "refresh_token")},
		{"GET", "/_sandbox/state"},
	}
	for name, vals := range headers {
		for _, rt := range routes {
			t.Run(name+" "+rt.method+" "+rt.path, func(t *testing.T) {
				req := httptest.NewRequest(rt.method, rt.path, nil)
				for _, v := range vals {
					req.Header.Add("Authorization", v)
				}
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				r := response{rec.Code, rec.Header(), rec.Body.Bytes()}
				wantError(t, r, http.StatusUnauthorized, "unauthorized")
				if strings.Contains(string(r.body), testKey) || strings.Contains(string(r.body), refresh) {
					t.Errorf("error body echoes a secret: %s", r.body)
				}
			})
		}
	}
	// The scheme is case-insensitive (RFC 9110).
	req := httptest.NewRequest("GET", userPath("carol"), nil)
	req.Header.Set("Authorization", "bearer "+testKey)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("lower-case scheme: status %d", rec.Code)
	}
	if s.HasUser("new") {
		t.Error("unauthorised create made a user")
	}
}

func TestUnknownUser(t *testing.T) {
	s := newTestServer(t, Options{})
	refresh := createUser(t, s, "dave")
	access := issueAccess(t, s, "dave", refresh)
	cases := []struct{ method, path, token string }{
		{"GET", userPath("ghost"), testKey},
		{"POST", userPath("ghost", "access_token"), refresh},
		{"DELETE", userPath("ghost", "access_token", access), access},
		{"POST", userPath("ghost", "refresh_token"), testKey},
		{"DELETE", userPath("ghost", "refresh_token"), refresh},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			wantError(t, do(t, s, c.method, c.path, c.token), http.StatusNotFound, "user_not_found")
		})
	}
	// The token endpoints check the user before the token itself.
	wantError(t, do(t, s, "POST", userPath("ghost", "access_token"), "whatever"), http.StatusNotFound, "user_not_found")
	// A malformed header is refused before anything else.
	wantError(t, do(t, s, "POST", userPath("ghost", "access_token"), ""), http.StatusUnauthorized, "unauthorized")
}

func TestUserIDRules(t *testing.T) {
	s := newTestServer(t, Options{})
	valid := map[string]string{
		"128 ascii":     strings.Repeat("a", 128),
		"128 multibyte": strings.Repeat("é", 128),
		"space":         "a b",
		"punctuation":   "user+1@x?#%",
		"unicode":       "ユーザー",
	}
	for name, id := range valid {
		t.Run("valid "+name, func(t *testing.T) {
			r := do(t, s, "POST", userPath(id), testKey)
			wantStatus(t, r, http.StatusOK)
			var body userResponse
			if err := json.Unmarshal(r.body, &body); err != nil {
				t.Fatal(err)
			}
			if body.User.ID != id {
				t.Errorf("id = %q, want %q", body.User.ID, id)
			}
			if !s.HasUser(id) {
				t.Errorf("HasUser(%q) = false", id)
			}
		})
	}
	invalid := map[string]string{
		"129 ascii":       userPath(strings.Repeat("a", 129)),
		"129 multibyte":   userPath(strings.Repeat("é", 129)),
		"escaped slash":   "/organizations/users/a%2Fb",
		"nul":             "/organizations/users/a%00b",
		"newline":         "/organizations/users/a%0Ab",
		"del":             "/organizations/users/a%7Fb",
		"c1 control":      "/organizations/users/a%C2%85b",
		"invalid utf8":    "/organizations/users/a%FFb",
		"empty":           "/organizations/users/",
		"empty with rest": "/organizations/users//access_token",
		"dot":             "/organizations/users/.",
		"dot dot":         "/organizations/users/../refresh_token",
	}
	for name, path := range invalid {
		t.Run("invalid "+name, func(t *testing.T) {
			wantError(t, do(t, s, "POST", path, testKey), http.StatusBadRequest, "invalid_user_id")
		})
	}
	// Dots are valid once escaped; unescaped, they are path segments.
	wantStatus(t, do(t, s, "POST", "/organizations/users/%2E%2E", testKey), http.StatusOK)
	if !s.HasUser("..") {
		t.Error(`HasUser("..") = false`)
	}
	if ids := s.UserIDs(); len(ids) != len(valid)+1 {
		t.Errorf("UserIDs = %q, want only the %d valid ones", ids, len(valid))
	}
	// Validation applies to every route, before authentication.
	wantError(t, do(t, s, "DELETE", "/organizations/users/a%2Fb/refresh_token", ""), http.StatusBadRequest, "invalid_user_id")
	wantError(t, do(t, s, "DELETE", "/organizations/users/a%00/access_token/x", "x"), http.StatusBadRequest, "invalid_user_id")
}

func TestIssueAccessToken(t *testing.T) {
	clock := NewManualClock(time.Unix(1_700_000_000, 0))
	secret := []byte("test-secret")
	s := newTestServer(t, Options{JWTSecret: secret, Now: clock.Now, AccessTokenTTL: time.Hour})
	refresh := createUser(t, s, "erin")

	r := do(t, s, "POST", userPath("erin", "access_token"), refresh)
	wantStatus(t, r, http.StatusOK)
	var raw map[string]map[string]any
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatal(err)
	}
	if got := raw["accessToken"]["expiresIn"]; got != float64(3600) {
		t.Errorf("expiresIn = %v, want 3600", got)
	}
	tokStr, _ := raw["accessToken"]["token"].(string)
	first := strings.TrimPrefix(tokStr, "Bearer ")
	second := issueAccess(t, s, "erin", refresh)
	if first == second {
		t.Error("two tokens issued in the same second are equal")
	}

	var claims jwt.RegisteredClaims
	tok, err := jwt.ParseWithClaims(first, &claims, func(*jwt.Token) (any, error) { return secret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(clock.Now))
	if err != nil || !tok.Valid {
		t.Fatalf("token does not verify: %v", err)
	}
	if claims.Subject != "point|erin" {
		t.Errorf("sub = %q, want point|erin as in the reference's example token", claims.Subject)
	}
	if !claims.IssuedAt.Equal(clock.Now()) || !claims.ExpiresAt.Equal(clock.Now().Add(time.Hour)) {
		t.Errorf("iat, exp = %v, %v", claims.IssuedAt, claims.ExpiresAt)
	}
	if claims.ID == "" {
		t.Error("jti is empty")
	}
	if _, err := jwt.Parse(first, func(*jwt.Token) (any, error) { return []byte("other"), nil }); err == nil {
		t.Error("token verifies with the wrong secret")
	}

	recs := s.AccessTokens()
	if len(recs) != 2 || recs[0].Token != first || recs[1].Token != second {
		t.Fatalf("AccessTokens = %+v", recs)
	}
	want := AccessTokenRecord{UserID: "erin", Token: first, IssuedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)}
	if recs[0] != want {
		t.Errorf("record = %+v, want %+v", recs[0], want)
	}
	recs[0].Revoked = true
	if s.AccessTokens()[0].Revoked {
		t.Error("AccessTokens does not return a copy")
	}

	wantError(t, do(t, s, "POST", userPath("erin", "access_token"), "rt_wrong"), http.StatusUnauthorized, "unauthorized")
	wantError(t, do(t, s, "POST", userPath("erin", "access_token"), testKey), http.StatusUnauthorized, "unauthorized")

	other := createUser(t, s, "frank")
	wantError(t, do(t, s, "POST", userPath("erin", "access_token"), other), http.StatusUnauthorized, "unauthorized")
}

func TestDefaultTTL(t *testing.T) {
	s := newTestServer(t, Options{})
	refresh := createUser(t, s, "u")
	r := do(t, s, "POST", userPath("u", "access_token"), refresh)
	var body accessTokenResponse
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.AccessToken.ExpiresIn != 86400 {
		t.Errorf("expiresIn = %d, want 86400", body.AccessToken.ExpiresIn)
	}
}

func TestRevokeAccessToken(t *testing.T) {
	clock := NewManualClock(time.Unix(1_700_000_000, 0))
	s := newTestServer(t, Options{Now: clock.Now, AccessTokenTTL: time.Minute})
	refresh := createUser(t, s, "gina")
	access := issueAccess(t, s, "gina", refresh)
	spare := issueAccess(t, s, "gina", refresh)
	path := userPath("gina", "access_token", access)

	wantError(t, do(t, s, "DELETE", path, ""), http.StatusUnauthorized, "unauthorized")
	wantError(t, do(t, s, "DELETE", path, spare), http.StatusUnauthorized, "unauthorized")
	wantError(t, do(t, s, "DELETE", path, refresh), http.StatusUnauthorized, "unauthorized")

	r := do(t, s, "DELETE", path, access)
	wantStatus(t, r, http.StatusNoContent)
	if len(r.body) != 0 {
		t.Errorf("204 with body %q", r.body)
	}
	if !s.AccessTokens()[0].Revoked || s.AccessTokens()[1].Revoked {
		t.Errorf("AccessTokens = %+v, want only the first revoked", s.AccessTokens())
	}
	wantError(t, do(t, s, "DELETE", path, access), http.StatusNotFound, "token_not_found")

	unknown := "eyJhbGciOiJIUzI1NiJ9.e30.bogus"
	wantError(t, do(t, s, "DELETE", userPath("gina", "access_token", unknown), unknown), http.StatusNotFound, "token_not_found")

	hal := createUser(t, s, "hal")
	halAccess := issueAccess(t, s, "hal", hal)
	wantError(t, do(t, s, "DELETE", userPath("gina", "access_token", halAccess), halAccess), http.StatusNotFound, "token_not_found")

	clock.Advance(time.Minute)
	wantError(t, do(t, s, "DELETE", userPath("gina", "access_token", spare), spare), http.StatusNotFound, "token_not_found")

	st := getState(t, s)
	if st.AccessTokensIssued != 3 || st.AccessTokensRevoked != 1 {
		t.Errorf("state access tokens issued/revoked = %d/%d, want 3/1", st.AccessTokensIssued, st.AccessTokensRevoked)
	}
}

func TestIssueRefreshToken(t *testing.T) {
	s := newTestServer(t, Options{})
	old := createUser(t, s, "ivan")
	r := do(t, s, "POST", userPath("ivan", "refresh_token"), testKey)
	wantStatus(t, r, http.StatusOK)
	var raw map[string]map[string]string
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatal(err)
	}
	fresh := raw["refreshToken"]["token"]
	if !refreshTokenRE.MatchString(fresh) || fresh == old {
		t.Fatalf("new refresh token %q (old %q)", fresh, old)
	}
	if len(raw) != 1 || len(raw["refreshToken"]) != 1 {
		t.Errorf("body = %s", r.body)
	}
	if cur, _ := s.CurrentRefreshToken("ivan"); cur != fresh {
		t.Errorf("CurrentRefreshToken = %q, want %q", cur, fresh)
	}
	wantError(t, do(t, s, "POST", userPath("ivan", "access_token"), old), http.StatusUnauthorized, "unauthorized")
	wantError(t, do(t, s, "DELETE", userPath("ivan", "refresh_token"), old), http.StatusUnauthorized, "unauthorized")
	issueAccess(t, s, "ivan", fresh)
	if i, v := s.RefreshTokensIssued(), s.RefreshTokensRevoked(); i != 2 || v != 1 {
		t.Errorf("refresh tokens issued/revoked = %d/%d, want 2/1", i, v)
	}
}

func TestRevokeRefreshToken(t *testing.T) {
	s := newTestServer(t, Options{})
	refresh := createUser(t, s, "judy")

	wantError(t, do(t, s, "DELETE", userPath("judy", "refresh_token"), ""), http.StatusUnauthorized, "unauthorized")
	wantError(t, do(t, s, "DELETE", userPath("judy", "refresh_token"), testKey), http.StatusUnauthorized, "unauthorized")

	r := do(t, s, "DELETE", userPath("judy", "refresh_token"), refresh)
	wantStatus(t, r, http.StatusNoContent)

	g := do(t, s, "GET", userPath("judy"), testKey)
	wantStatus(t, g, http.StatusOK)
	var raw map[string]map[string]json.RawMessage
	if err := json.Unmarshal(g.body, &raw); err != nil {
		t.Fatal(err)
	}
	if rt, ok := raw["user"]["refreshToken"]; !ok || string(rt) != "null" {
		t.Errorf("refreshToken after revocation = %s, want null", rt)
	}
	if _, ok := s.CurrentRefreshToken("judy"); ok {
		t.Error("CurrentRefreshToken still reports a token")
	}
	// The token is no longer current: 401, per the contract.
	wantError(t, do(t, s, "DELETE", userPath("judy", "refresh_token"), refresh), http.StatusUnauthorized, "unauthorized")
	wantError(t, do(t, s, "POST", userPath("judy", "access_token"), refresh), http.StatusUnauthorized, "unauthorized")

	// Issuing after revocation replaces nothing, so nothing more is revoked.
	fresh := do(t, s, "POST", userPath("judy", "refresh_token"), testKey)
	wantStatus(t, fresh, http.StatusOK)
	if i, v := s.RefreshTokensIssued(), s.RefreshTokensRevoked(); i != 2 || v != 1 {
		t.Errorf("refresh tokens issued/revoked = %d/%d, want 2/1", i, v)
	}
}

func TestRouting(t *testing.T) {
	s := newTestServer(t, Options{})
	for _, p := range []string{"/", "/nope", "/organizations", "/organizations/users", "/organizations/users/x/other", "/_sandbox/other"} {
		wantError(t, do(t, s, "GET", p, testKey), http.StatusNotFound, "not_found")
	}
	wantError(t, do(t, s, "GET", "/a//b", testKey), http.StatusNotFound, "not_found")
	cases := []struct{ method, path, allow string }{
		{"PUT", userPath("x"), "GET, HEAD, POST"},
		{"DELETE", userPath("x"), "GET, HEAD, POST"},
		{"GET", userPath("x", "access_token"), "POST"},
		{"POST", userPath("x", "access_token", "t"), "DELETE"},
		{"GET", userPath("x", "refresh_token"), "DELETE, POST"},
		{"POST", "/_sandbox/state", "GET, HEAD"},
	}
	for _, c := range cases {
		r := do(t, s, c.method, c.path, testKey)
		wantError(t, r, http.StatusMethodNotAllowed, "method_not_allowed")
		if got := r.header.Get("Allow"); got != c.allow {
			t.Errorf("%s %s: Allow = %q, want %q", c.method, c.path, got, c.allow)
		}
	}
	// Every API-looking request counts; /_sandbox/ ones do not.
	if got := s.RequestCounts()["unmatched"]; got != 11 {
		t.Errorf("unmatched = %d, want 11 (counts %v)", got, s.RequestCounts())
	}
}

func TestRequestCounts(t *testing.T) {
	s := newTestServer(t, Options{})
	refresh := createUser(t, s, "kim")
	do(t, s, "GET", userPath("kim"), testKey)
	do(t, s, "GET", userPath("kim"), "bad")
	access := issueAccess(t, s, "kim", refresh)
	do(t, s, "DELETE", userPath("kim", "access_token", access), access)
	do(t, s, "POST", userPath("kim", "refresh_token"), testKey)
	refresh, _ = s.CurrentRefreshToken("kim")
	do(t, s, "DELETE", userPath("kim", "refresh_token"), refresh)
	do(t, s, "GET", "/_sandbox/state", testKey)

	want := map[string]int{
		RouteCreateUser:         1,
		RouteGetUser:            2,
		RouteIssueAccessToken:   1,
		RouteRevokeAccessToken:  1,
		RouteIssueRefreshToken:  1,
		RouteRevokeRefreshToken: 1,
	}
	got := s.RequestCounts()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("RequestCounts = %v, want %v", got, want)
	}
	if n := s.Requests(); n != 7 {
		t.Errorf("Requests = %d, want 7", n)
	}
	got["x"] = 1
	if _, ok := s.RequestCounts()["x"]; ok {
		t.Error("RequestCounts does not return a copy")
	}
}

func TestOutOfBand(t *testing.T) {
	s := newTestServer(t, Options{})
	rt := s.AddUser("zed")
	if !refreshTokenRE.MatchString(rt) {
		t.Fatalf("AddUser token %q", rt)
	}
	s.AddUser("amy")
	if ids := s.UserIDs(); !slices.Equal(ids, []string{"amy", "zed"}) {
		t.Errorf("UserIDs = %v", ids)
	}
	if again := s.AddUser("zed"); again != rt {
		t.Errorf("AddUser on existing user returned %q, want unchanged %q", again, rt)
	}
	issueAccess(t, s, "zed", rt)

	rotated, ok := s.RotateRefreshToken("zed")
	if !ok || rotated == rt {
		t.Fatalf("RotateRefreshToken = %q, %v", rotated, ok)
	}
	wantError(t, do(t, s, "POST", userPath("zed", "access_token"), rt), http.StatusUnauthorized, "unauthorized")
	issueAccess(t, s, "zed", rotated)
	if _, ok := s.RotateRefreshToken("nobody"); ok {
		t.Error("RotateRefreshToken on unknown user reported ok")
	}

	if !s.RevokeRefreshToken("zed") {
		t.Error("RevokeRefreshToken = false")
	}
	if s.RevokeRefreshToken("zed") || s.RevokeRefreshToken("nobody") {
		t.Error("RevokeRefreshToken with nothing to revoke reported true")
	}
	if got := s.AddUser("zed"); got != "" {
		t.Errorf("AddUser on user with revoked token = %q, want empty", got)
	}
	wantError(t, do(t, s, "DELETE", userPath("zed", "refresh_token"), rotated), http.StatusUnauthorized, "unauthorized")
	if i, v := s.RefreshTokensIssued(), s.RefreshTokensRevoked(); i != 3 || v != 2 {
		t.Errorf("refresh tokens issued/revoked = %d/%d, want 3/2", i, v)
	}

	s.DeleteUser("zed")
	if s.HasUser("zed") {
		t.Error("HasUser after DeleteUser")
	}
	wantError(t, do(t, s, "GET", userPath("zed"), testKey), http.StatusNotFound, "user_not_found")
	if _, ok := s.CurrentRefreshToken("zed"); ok {
		t.Error("CurrentRefreshToken for deleted user")
	}
	s.DeleteUser("zed")
	createUser(t, s, "zed")
}

func TestSetProfile(t *testing.T) {
	s := newTestServer(t, Options{})
	s.AddUser("pat")
	email, tz, height := "pat@example.com", "Europe/Paris", 180.5
	if !s.SetProfile("pat", Profile{Email: &email, Timezone: &tz, Height: &height}) {
		t.Fatal("SetProfile = false")
	}
	email = "changed@example.com"
	if s.SetProfile("nobody", Profile{Email: &email}) {
		t.Error("SetProfile on unknown user = true")
	}

	r := do(t, s, "GET", userPath("pat"), testKey)
	wantStatus(t, r, http.StatusOK)
	u, _ := r.json(t)["user"].(map[string]any)
	if u["email"] != "pat@example.com" || u["timezone"] != "Europe/Paris" || u["height"] != 180.5 {
		t.Errorf("user = %v", u)
	}
	if u["weight"] != nil || u["firstName"] != nil {
		t.Errorf("unset fields not null: %v", u)
	}

	s.SetProfile("pat", Profile{})
	u, _ = do(t, s, "GET", userPath("pat"), testKey).json(t)["user"].(map[string]any)
	if u["email"] != nil {
		t.Errorf("SetProfile did not replace the profile: %v", u)
	}
}

type state struct {
	Users                int            `json:"users"`
	UserIDs              []string       `json:"userIds"`
	RefreshTokensIssued  int            `json:"refreshTokensIssued"`
	RefreshTokensRevoked int            `json:"refreshTokensRevoked"`
	AccessTokensIssued   int            `json:"accessTokensIssued"`
	AccessTokensRevoked  int            `json:"accessTokensRevoked"`
	Requests             int            `json:"requests"`
	Connections          int            `json:"connections"`
	RequestCounts        map[string]int `json:"requestCounts"`
}

func getState(t *testing.T, s *Server) state {
	t.Helper()
	r := do(t, s, "GET", "/_sandbox/state", testKey)
	wantStatus(t, r, http.StatusOK)
	var st state
	dec := json.NewDecoder(strings.NewReader(string(r.body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestStateEndpoint(t *testing.T) {
	s := newTestServer(t, Options{})
	r := do(t, s, "GET", "/_sandbox/state", testKey)
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(string(r.body), `"userIds":[]`) {
		t.Errorf("empty state body %s lacks \"userIds\":[]", r.body)
	}

	refresh := createUser(t, s, "b")
	createUser(t, s, "a")
	issueAccess(t, s, "b", refresh)
	do(t, s, "DELETE", userPath("b", "refresh_token"), refresh)
	s.SetFaults(Faults{FailureRate: 1})

	st := getState(t, s)
	want := state{
		Users:                2,
		UserIDs:              []string{"a", "b"},
		RefreshTokensIssued:  2,
		RefreshTokensRevoked: 1,
		AccessTokensIssued:   1,
		Requests:             4,
		RequestCounts: map[string]int{
			RouteCreateUser:         2,
			RouteIssueAccessToken:   1,
			RouteRevokeRefreshToken: 1,
		},
	}
	if fmt.Sprintf("%+v", st) != fmt.Sprintf("%+v", want) {
		t.Errorf("state = %+v\nwant    %+v", st, want)
	}
}

func TestFailureRate(t *testing.T) {
	s := newTestServer(t, Options{})
	s.SetFaults(Faults{FailureRate: 1})
	for range 5 {
		wantError(t, do(t, s, "POST", userPath("x"), testKey), http.StatusServiceUnavailable, "unavailable")
	}
	if s.HasUser("x") {
		t.Error("a 503'd create made a user")
	}
	if n := s.RequestCounts()[RouteCreateUser]; n != 5 {
		t.Errorf("count = %d, want 5", n)
	}
	// Faults do not touch the inspection endpoint or unknown routes.
	getState(t, s)
	wantError(t, do(t, s, "GET", "/nope", testKey), http.StatusNotFound, "not_found")

	s.SetFaults(Faults{})
	createUser(t, s, "x")
}

func TestFailureRateSeeded(t *testing.T) {
	pattern := func() string {
		s := newTestServer(t, Options{})
		s.AddUser("u")
		s.SetFaults(Faults{FailureRate: 0.5, Seed: 42})
		var b strings.Builder
		for range 64 {
			if do(t, s, "GET", userPath("u"), testKey).code == http.StatusServiceUnavailable {
				b.WriteByte('x')
			} else {
				b.WriteByte('.')
			}
		}
		return b.String()
	}
	p1, p2 := pattern(), pattern()
	if p1 != p2 {
		t.Errorf("same seed, different patterns:\n%s\n%s", p1, p2)
	}
	if n := strings.Count(p1, "x"); n < 16 || n > 48 {
		t.Errorf("%d of 64 failed at rate 0.5: %s", n, p1)
	}
}

func TestRateLimit(t *testing.T) {
	s := newTestServer(t, Options{})
	s.AddUser("u")
	s.SetFaults(Faults{RateLimitEvery: 2})
	for i := 1; i <= 6; i++ {
		r := do(t, s, "GET", userPath("u"), testKey)
		if i%2 == 1 {
			wantStatus(t, r, http.StatusOK)
			continue
		}
		wantError(t, r, http.StatusTooManyRequests, "rate_limited")
		if got := r.header.Get("Retry-After"); got != "1" {
			t.Errorf("Retry-After = %q, want 1", got)
		}
	}

	s.SetFaults(Faults{RateLimitEvery: 1, RetryAfter: "7"})
	r := do(t, s, "GET", userPath("u"), testKey)
	wantError(t, r, http.StatusTooManyRequests, "rate_limited")
	if got := r.header.Get("Retry-After"); got != "7" {
		t.Errorf("Retry-After = %q, want 7", got)
	}
}

func TestLatency(t *testing.T) {
	s := newTestServer(t, Options{})
	s.AddUser("u")
	s.SetFaults(Faults{Latency: 30 * time.Millisecond})
	start := time.Now()
	wantStatus(t, do(t, s, "GET", userPath("u"), testKey), http.StatusOK)
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("request took %v, want at least 30ms", d)
	}

	s.SetFaults(Faults{Latency: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	start = time.Now()
	r := doCtx(t, ctx, s, "POST", userPath("late"), testKey)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cancelled request took %v", d)
	}
	if len(r.body) != 0 {
		t.Errorf("cancelled request got body %s", r.body)
	}
	if s.HasUser("late") {
		t.Error("cancelled request was handled")
	}
	if n := s.RequestCounts()[RouteCreateUser]; n != 1 {
		t.Errorf("cancelled request count = %d, want 1", n)
	}
}

func TestStartAndConnections(t *testing.T) {
	s := newTestServer(t, Options{})
	base, closeFn := s.Start()
	defer closeFn()
	if !regexp.MustCompile(`^http://127\.0\.0\.1:\d+$`).MatchString(base) {
		t.Fatalf("Start URL = %q", base)
	}
	n := 0
	get := func(c *http.Client) {
		t.Helper()
		n++
		req, _ := http.NewRequest("POST", base+userPath(fmt.Sprint("conn-", n)), nil)
		req.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	keepAlive := &http.Client{Transport: &http.Transport{}}
	for range 3 {
		get(keepAlive)
	}
	if n := s.Connections(); n != 1 {
		t.Errorf("Connections = %d after 3 keep-alive requests, want 1", n)
	}
	noKeepAlive := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for range 2 {
		get(noKeepAlive)
	}
	if n := s.Connections(); n != 3 {
		t.Errorf("Connections = %d, want 3", n)
	}
	if st := getState(t, s); st.Connections != 3 {
		t.Errorf("state connections = %d, want 3", st.Connections)
	}
}

func TestConcurrent(t *testing.T) {
	s := newTestServer(t, Options{})
	base, closeFn := s.Start()
	defer closeFn()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 20}}

	call := func(method, path, token string) (int, []byte, error) {
		req, err := http.NewRequest(method, base+path, nil)
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, body, err
	}

	const workers, rounds = 12, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			id := fmt.Sprintf("user-%02d", w)
			code, body, err := call("POST", userPath(id), testKey)
			if err != nil || code != http.StatusOK {
				errs <- callError("create "+id, code, err)
				return
			}
			var u userResponse
			_ = json.Unmarshal(body, &u)
			refresh := u.User.RefreshToken.Token
			for range rounds {
				code, body, err = call("POST", userPath(id, "access_token"), refresh)
				if err != nil || code != http.StatusOK {
					errs <- callError("access token "+id, code, err)
					return
				}
				var a accessTokenResponse
				_ = json.Unmarshal(body, &a)
				bare := strings.TrimPrefix(a.AccessToken.Token, "Bearer ")
				if code, _, err = call("DELETE", userPath(id, "access_token", bare), bare); err != nil || code != http.StatusNoContent {
					errs <- callError("revoke access "+id, code, err)
					return
				}
				if code, _, err = call("GET", userPath(id), testKey); err != nil || code != http.StatusOK {
					errs <- callError("get "+id, code, err)
					return
				}
			}
			code, body, err = call("POST", userPath(id, "refresh_token"), testKey)
			if err != nil || code != http.StatusOK {
				errs <- callError("rotate "+id, code, err)
				return
			}
			var rt refreshTokenResponse
			_ = json.Unmarshal(body, &rt)
			if code, _, err = call("DELETE", userPath(id, "refresh_token"), rt.RefreshToken.Token); err != nil || code != http.StatusNoContent {
				errs <- callError("revoke refresh "+id, code, err)
			}
		})
	}
	// Inspection and reconfiguration race with the traffic above.
	done := make(chan struct{})
	var side sync.WaitGroup
	side.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			s.SetFaults(Faults{})
			s.SetIdempotentCreate(false)
			_ = s.UserIDs()
			_ = s.AccessTokens()
			_ = s.RequestCounts()
			_ = s.Requests()
			s.AddUser("side")
			s.SetProfile("side", Profile{})
			s.RotateRefreshToken("side")
			s.RevokeRefreshToken("side")
			s.DeleteUser("side")
			if code, _, err := call("GET", "/_sandbox/state", testKey); err != nil || code != http.StatusOK {
				t.Errorf("state: %d %v", code, err)
				return
			}
		}
	})
	wg.Wait()
	close(done)
	side.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	if n := len(s.AccessTokens()); n != workers*rounds {
		t.Errorf("access tokens = %d, want %d", n, workers*rounds)
	}
	wantCounts := map[string]int{
		RouteCreateUser:         workers,
		RouteGetUser:            workers * rounds,
		RouteIssueAccessToken:   workers * rounds,
		RouteRevokeAccessToken:  workers * rounds,
		RouteIssueRefreshToken:  workers,
		RouteRevokeRefreshToken: workers,
	}
	if got := s.RequestCounts(); fmt.Sprint(got) != fmt.Sprint(wantCounts) {
		t.Errorf("RequestCounts = %v, want %v", got, wantCounts)
	}
	for _, rec := range s.AccessTokens() {
		if !rec.Revoked {
			t.Errorf("token for %s not revoked", rec.UserID)
		}
	}
}

func callError(what string, code int, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: status %d", what, code)
}

func TestConcurrentFaults(t *testing.T) {
	s := newTestServer(t, Options{})
	s.AddUser("u")
	s.SetFaults(Faults{RateLimitEvery: 3, FailureRate: 0.2, Seed: 1})
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for range 10 {
		wg.Go(func() {
			for range 30 {
				r := do(t, s, "GET", userPath("u"), testKey)
				mu.Lock()
				codes[r.code]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if codes[200]+codes[429]+codes[503] != 300 || codes[429] == 0 || codes[503] == 0 {
		t.Errorf("status counts = %v", codes)
	}
	if n := s.Requests(); n != 300 {
		t.Errorf("Requests = %d, want 300", n)
	}
}

func BenchmarkIssueAccessToken(b *testing.B) {
	s := New(Options{APIKey: testKey})
	refresh := s.AddUser("bench")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", userPath("bench", "access_token"), nil)
			req.Header.Set("Authorization", "Bearer "+refresh)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatal(rec.Code)
			}
		}
	})
}

func BenchmarkGetUser(b *testing.B) {
	s := New(Options{APIKey: testKey})
	s.AddUser("bench")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("GET", userPath("bench"), nil)
			req.Header.Set("Authorization", "Bearer "+testKey)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatal(rec.Code)
			}
		}
	})
}

func TestValidateUserIDDirect(t *testing.T) {
	if validateUserID("") == "" {
		t.Error("empty id accepted")
	}
	for _, p := range []string{"", "*", "a/b"} {
		if isCleanPath(p) {
			t.Errorf("isCleanPath(%q) = true", p)
		}
	}
	wantError(t, do(t, New(Options{}), "OPTIONS", "*", ""), http.StatusNotFound, "not_found")
}

func TestRouteOf(t *testing.T) {
	for _, tc := range []struct{ method, path, want string }{
		{http.MethodPost, "/organizations/users/u", RouteCreateUser},
		{http.MethodGet, "/organizations/users/u", RouteGetUser},
		{http.MethodPost, "/organizations/users/u/access_token", RouteIssueAccessToken},
		{http.MethodDelete, "/organizations/users/u/access_token/eyJ.x.y", RouteRevokeAccessToken},
		{http.MethodPost, "/organizations/users/u/refresh_token", RouteIssueRefreshToken},
		{http.MethodDelete, "/organizations/users/u/refresh_token", RouteRevokeRefreshToken},
		{http.MethodDelete, "/organizations/users/u", ""},
		{http.MethodGet, "/prefix/organizations/users/u", ""},
		{http.MethodPost, "/organizations/users//access_token", ""},
	} {
		r := httptest.NewRequest(tc.method, tc.path, nil)
		if got := RouteOf(r); got != tc.want {
			t.Errorf("RouteOf(%s %s) = %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
}
