package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestDialectNamed(t *testing.T) {
	d, err := DialectNamed("")
	if err != nil || d.Name != DefaultDialect {
		t.Fatalf(`DialectNamed("") = %q, %v; want the default, %q`, d.Name, err, DefaultDialect)
	}
	seen := map[string]bool{}
	for _, want := range Dialects {
		if seen[want.Name] {
			t.Errorf("two dialects are called %q", want.Name)
		}
		seen[want.Name] = true
		if want.Summary == "" {
			t.Errorf("dialect %q has no summary", want.Name)
		}
		if got, err := DialectNamed(want.Name); err != nil || got != want {
			t.Errorf("DialectNamed(%q) = %+v, %v", want.Name, got, err)
		}
	}
	if len(Dialects) < 3 {
		t.Errorf("%d dialects, want at least 3", len(Dialects))
	}
	_, err = DialectNamed("klingon")
	if err == nil || !strings.Contains(err.Error(), strings.Join(DialectNames(), ", ")) {
		t.Errorf(`DialectNamed("klingon") = %v, want an error that lists the dialects`, err)
	}
	// The zero Dialect, which New gets from Options{}, is the default one.
	zero, def := Dialect{}, Dialects[0]
	def.Name, def.Summary = "", ""
	if Dialects[0].Name != DefaultDialect || zero != def {
		t.Errorf("the zero Dialect differs from the default %q: %+v", DefaultDialect, Dialects[0])
	}
}

// dialectAnswers is what a server in one dialect answered to the same
// sequence of requests.
type dialectAnswers struct {
	created, createdAgain, got, gotAfterRevoke response
	claims                                     map[string]any
	userNotFound, tokenNotFound, routeNotFound response
	unauthorized                               response
	revokedAccess, revokedRefresh              response
	staleAccess, staleRefresh                  response
	nonRouteNoCredential, routeNoCredential    response
	injected503                                response
}

func askDialect(t *testing.T, d Dialect) dialectAnswers {
	t.Helper()
	clock := NewManualClock(time.Unix(1_700_000_000, 0))
	s := newTestServer(t, Options{Dialect: d, Now: clock.Now})
	var a dialectAnswers
	a.created = do(t, s, "POST", userPath("ann"), testKey)
	wantStatus(t, a.created, http.StatusOK)
	refresh := s.AddUser("ann")
	a.createdAgain = do(t, s, "POST", userPath("ann"), testKey)
	a.got = do(t, s, "GET", userPath("ann"), testKey)

	access := issueAccess(t, s, "ann", refresh)
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(access, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(payload, &a.claims); err != nil {
		t.Fatal(err)
	}
	a.revokedAccess = do(t, s, "DELETE", userPath("ann", "access_token", access), access)
	a.staleAccess = do(t, s, "DELETE", userPath("ann", "access_token", access), access)
	a.tokenNotFound = do(t, s, "DELETE", userPath("ann", "access_token", access), access)

	stale := refresh
	if _, ok := s.RotateRefreshToken("ann"); !ok {
		t.Fatal("rotate failed")
	}
	a.staleRefresh = do(t, s, "DELETE", userPath("ann", "refresh_token"), stale)
	current, _ := s.CurrentRefreshToken("ann")
	a.revokedRefresh = do(t, s, "DELETE", userPath("ann", "refresh_token"), current)
	a.gotAfterRevoke = do(t, s, "GET", userPath("ann"), testKey)

	a.userNotFound = do(t, s, "GET", userPath("nobody"), testKey)
	a.routeNotFound = do(t, s, "GET", "/v2/organizations/users/ann", testKey)
	a.unauthorized = do(t, s, "GET", userPath("ann"), "wrong-key")
	a.nonRouteNoCredential = do(t, s, "GET", "/v2/organizations/users/ann", "")
	a.routeNoCredential = do(t, s, "GET", userPath("ann"), "")

	s.SetFaults(Faults{FailureRate: 1})
	a.injected503 = do(t, s, "GET", userPath("ann"), testKey)
	return a
}

// TestDialects checks every switch of every dialect against the same
// sequence of requests.
func TestDialects(t *testing.T) {
	for _, d := range Dialects {
		t.Run(d.Name, func(t *testing.T) {
			a := askDialect(t, d)

			wantType := d.contentType()
			for name, r := range map[string]response{"create": a.created, "get": a.got, "user not found": a.userNotFound, "no route": a.routeNotFound, "503": a.injected503} {
				if got := r.header.Get("Content-Type"); got != wantType {
					t.Errorf("%s: Content-Type = %q, want %q", name, got, wantType)
				}
			}

			// Errors: shape, and a code for each problem.
			code := func(r response) string {
				t.Helper()
				m := r.json(t)
				switch d.Errors {
				case ErrorsNested:
					inner, _ := m["error"].(map[string]any)
					if m["status"] != float64(r.code) {
						t.Errorf("nested error body %s lacks status %d", r.body, r.code)
					}
					c, _ := inner["code"].(string)
					return c
				default:
					c, _ := m["error"].(string)
					if msg, _ := m["message"].(string); msg == "" {
						t.Errorf("error body %s has no message", r.body)
					}
					return c
				}
			}
			wantStatus(t, a.userNotFound, http.StatusNotFound)
			wantStatus(t, a.routeNotFound, http.StatusNotFound)
			wantStatus(t, a.unauthorized, http.StatusUnauthorized)
			wantStatus(t, a.injected503, http.StatusServiceUnavailable)
			userCode, tokenCode, routeCode := code(a.userNotFound), code(a.tokenNotFound), code(a.routeNotFound)
			if userCode == "" || !strings.Contains(strings.ToLower(userCode), "user") {
				t.Errorf("user not found: code %q does not name the user (body %s)", userCode, a.userNotFound.body)
			}
			if a.tokenNotFound.code == http.StatusNotFound && !strings.Contains(strings.ToLower(tokenCode), "token") {
				t.Errorf("token not found: code %q does not name the token (body %s)", tokenCode, a.tokenNotFound.body)
			}
			// No client could tell a wrong path prefix from a missing user
			// or token if these were alike.
			if routeCode == userCode || routeCode == tokenCode || string(a.routeNotFound.body) == string(a.userNotFound.body) {
				t.Errorf("an unknown route (%s) answers like an unknown user (%s) or token (%s)", a.routeNotFound.body, a.userNotFound.body, a.tokenNotFound.body)
			}
			switch d.Errors {
			case ErrorsGateway:
				if routeCode != "" || code(a.injected503) != "" {
					t.Errorf("the gateway's own refusals carry a code: %s, %s", a.routeNotFound.body, a.injected503.body)
				}
			case ErrorsNested:
				nested, _ := a.routeNotFound.json(t)["error"].(map[string]any)
				if msg := nested["message"]; msg != "Cannot GET /v2/organizations/users/ann" {
					t.Errorf("no route: message %q, want the request quoted as a web framework does", msg)
				}
			default:
				wantError(t, a.userNotFound, http.StatusNotFound, "user_not_found")
				wantError(t, a.routeNotFound, http.StatusNotFound, "not_found")
			}

			// JWT claims.
			wantSub := map[SubjectStyle]string{SubjectPointPrefixed: "point|ann", SubjectUserID: "ann"}[d.Subject]
			sub, _ := a.claims["sub"].(string)
			switch {
			case d.Subject == SubjectOpaque:
				if !strings.HasPrefix(sub, "point|") || strings.Contains(sub, "ann") || len(sub) < len("point|")+16 {
					t.Errorf("sub = %q, want point| and an opaque id", sub)
				}
			case sub != wantSub:
				t.Errorf("sub = %q, want %q", sub, wantSub)
			}
			if _, has := a.claims["iat"]; has == d.OmitIssuedAt {
				t.Errorf("claims %v: iat present = %t, want %t", a.claims, has, !d.OmitIssuedAt)
			}
			if exp, has := a.claims["exp"]; has == d.OmitExpiry || (has && exp != float64(1_700_000_000+86400)) {
				t.Errorf("claims %v: exp present = %t, want %t, at iat + 24h", a.claims, has, !d.OmitExpiry)
			}
			if jti, _ := a.claims["jti"].(string); jti == "" {
				t.Errorf("claims %v have no jti", a.claims)
			}

			// Fields beyond and short of the reference's.
			created := a.created.json(t)
			user, _ := created["user"].(map[string]any)
			_, hasCreatedAt := user["createdAt"]
			_, hasRequestID := created["requestId"]
			if hasCreatedAt != d.ExtraFields || hasRequestID != d.ExtraFields {
				t.Errorf("create: createdAt shown = %t, requestId shown = %t, want %t: %s", hasCreatedAt, hasRequestID, d.ExtraFields, a.created.body)
			}
			if d.ExtraFields && user["createdAt"] != "2023-11-14T22:13:20Z" {
				t.Errorf("createdAt = %v, want the sandbox clock's time", user["createdAt"])
			}
			if _, hasEmail := user["email"]; hasEmail == d.OmitNulls {
				t.Errorf("create: null email shown = %t, want %t: %s", hasEmail, !d.OmitNulls, a.created.body)
			}
			afterRevoke, _ := a.gotAfterRevoke.json(t)["user"].(map[string]any)
			if rt, has := afterRevoke["refreshToken"]; has == d.OmitNulls || rt != nil {
				t.Errorf("get after revoke: refreshToken %v shown = %t, want null shown = %t", rt, has, !d.OmitNulls)
			}

			// Edge cases.
			wantCreateAgain := http.StatusConflict
			if d.IdempotentCreate {
				wantCreateAgain = http.StatusOK
			}
			wantStatus(t, a.createdAgain, wantCreateAgain)
			wantStatus(t, a.staleRefresh, d.staleRefreshTokenStatus())
			wantStatus(t, a.staleAccess, d.staleAccessTokenStatus())
			for name, r := range map[string]response{"revoke access token": a.revokedAccess, "revoke refresh token": a.revokedRefresh} {
				switch d.Revoked {
				case RevokedNoContent:
					if r.code != http.StatusNoContent || len(r.body) != 0 {
						t.Errorf("%s: %d %q, want 204 without a body", name, r.code, r.body)
					}
				case RevokedJSON:
					if r.code != http.StatusOK || r.json(t)["revoked"] != true {
						t.Errorf("%s: %d %q, want 200 {\"revoked\": true}", name, r.code, r.body)
					}
				case RevokedEmpty:
					if r.code != http.StatusOK || len(r.body) != 0 {
						t.Errorf("%s: %d %q, want 200 without a body", name, r.code, r.body)
					}
				}
			}

			// Credentials before routing.
			wantStatus(t, a.routeNoCredential, http.StatusUnauthorized)
			wantNonRoute := http.StatusNotFound
			if d.CredentialsFirst {
				wantNonRoute = http.StatusUnauthorized
			}
			wantStatus(t, a.nonRouteNoCredential, wantNonRoute)
		})
	}
}

// TestCredentialsFirstCounts checks that a request refused before routing
// is counted under the route it was for.
func TestCredentialsFirstCounts(t *testing.T) {
	d, _ := DialectNamed("gateway")
	s := newTestServer(t, Options{Dialect: d})
	wantStatus(t, do(t, s, "POST", userPath("ann"), ""), http.StatusUnauthorized)
	wantStatus(t, do(t, s, "GET", "/nope", ""), http.StatusUnauthorized)
	wantStatus(t, do(t, s, "GET", "/_sandbox/state", ""), http.StatusUnauthorized)
	got := s.RequestCounts()
	if len(got) != 2 || got[RouteCreateUser] != 1 || got[RouteUnmatched] != 1 {
		t.Errorf("RequestCounts = %v, want one create user and one unmatched", got)
	}
	if s.HasUser("ann") {
		t.Error("a request refused before routing created the user")
	}
}

// TestIdempotentCreateOption checks that Options.IdempotentCreate and
// SetIdempotentCreate override the dialect.
func TestIdempotentCreateOption(t *testing.T) {
	gateway, _ := DialectNamed("gateway")
	if s := New(Options{Dialect: gateway}); !s.IdempotentCreate() {
		t.Error("the gateway dialect does not create idempotently")
	}
	if s := New(Options{IdempotentCreate: true}); !s.IdempotentCreate() {
		t.Error("Options.IdempotentCreate is ignored")
	}
	s := New(Options{Dialect: gateway})
	s.SetIdempotentCreate(false)
	if s.IdempotentCreate() {
		t.Error("SetIdempotentCreate(false) is ignored")
	}
	if s.Dialect().Name != "gateway" {
		t.Errorf("Dialect() = %q", s.Dialect().Name)
	}
}

// TestSetDialect checks that a server switched to another dialect answers
// in it from then on, with its users kept.
func TestSetDialect(t *testing.T) {
	s := newTestServer(t, Options{})
	s.AddUser("ann")
	gateway, _ := DialectNamed("gateway")
	s.SetDialect(gateway)
	if s.Dialect().Name != "gateway" || !s.IdempotentCreate() {
		t.Errorf("after SetDialect(gateway): Dialect() = %q, IdempotentCreate() = %v", s.Dialect().Name, s.IdempotentCreate())
	}
	wantStatus(t, do(t, s, "GET", "/nope", ""), http.StatusUnauthorized)
	s.SetDialect(Dialects[0])
	wantStatus(t, do(t, s, "GET", "/nope", ""), http.StatusNotFound)
	if !s.HasUser("ann") || s.IdempotentCreate() {
		t.Errorf("after switching back: HasUser = %v, IdempotentCreate() = %v", s.HasUser("ann"), s.IdempotentCreate())
	}
}
