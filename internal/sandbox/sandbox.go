// Package sandbox is an in-memory fake of the Point API as described in
// internal/point/CONTRACT.md, with switches for the behaviours the contract
// leaves open, fault injection, and inspection for tests. It keeps its own
// copy of the routes and shapes, apart from the client's, so that a mistake
// in one is caught by the tests of the other.
package sandbox

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// Options configures a Server. The zero value is usable.
type Options struct {
	// APIKey is the organisation API key; New generates a random one when empty.
	APIKey string
	// JWTSecret is the HS256 secret for access tokens; random when nil.
	JWTSecret []byte
	// AccessTokenTTL defaults to 24h; expiresIn in responses is this in seconds.
	AccessTokenTTL time.Duration
	// IdempotentCreate makes POST on an existing user return 200 with the
	// existing user instead of 409, whatever the dialect says.
	IdempotentCreate bool
	// Dialect answers the questions the reference leaves open; the zero
	// value is the reference dialect.
	Dialect Dialect
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Server is the fake Point API. It is an http.Handler and safe for
// concurrent use.
type Server struct {
	apiKey string
	secret []byte
	ttl    time.Duration
	now    func() time.Time
	// dialect changes only with SetDialect.
	dialect atomic.Pointer[Dialect]

	idempotentCreate atomic.Bool
	mux              *http.ServeMux
	store            store
	faults           faultInjector

	// counts is indexed by route; the last slot holds requests that matched
	// no API route.
	counts      [numRoutes + 1]atomic.Int64
	connections atomic.Int64
}

type route int

const (
	routeCreateUser route = iota
	routeGetUser
	routeIssueAccessToken
	routeRevokeAccessToken
	routeIssueRefreshToken
	routeRevokeRefreshToken
	numRoutes
	routeUnmatched = numRoutes
)

// The routes the sandbox serves, as ServeMux patterns. They name the keys
// of RequestCounts, and every test takes its route names from here. The
// client keeps its own copy (internal/point/users.go) on purpose: a mistake
// in one is caught by the tests of the other.
const (
	RouteCreateUser         = "POST /organizations/users/{userId}"
	RouteGetUser            = "GET /organizations/users/{userId}"
	RouteIssueAccessToken   = "POST /organizations/users/{userId}/access_token"
	RouteRevokeAccessToken  = "DELETE /organizations/users/{userId}/access_token/{accessToken}"
	RouteIssueRefreshToken  = "POST /organizations/users/{userId}/refresh_token"
	RouteRevokeRefreshToken = "DELETE /organizations/users/{userId}/refresh_token"
	// RouteUnmatched counts requests that matched no route.
	RouteUnmatched = "unmatched"
)

var routeNames = [numRoutes + 1]string{
	routeCreateUser:         RouteCreateUser,
	routeGetUser:            RouteGetUser,
	routeIssueAccessToken:   RouteIssueAccessToken,
	routeRevokeAccessToken:  RouteRevokeAccessToken,
	routeIssueRefreshToken:  RouteIssueRefreshToken,
	routeRevokeRefreshToken: RouteRevokeRefreshToken,
	routeUnmatched:          RouteUnmatched,
}

// routeMatcher tells which route a request is for, without serving it.
var routeMatcher = func() *http.ServeMux {
	mux := http.NewServeMux()
	for _, name := range routeNames[:numRoutes] {
		mux.Handle(name, http.NotFoundHandler())
	}
	return mux
}()

// RouteOf returns the route a request is for, such as RouteCreateUser, or
// "" when it is for none: for fronts that tests put before Point.
func RouteOf(r *http.Request) string {
	if !isCleanPath(r.URL.EscapedPath()) {
		return ""
	}
	_, pattern := routeMatcher.Handler(r)
	return pattern
}

const (
	maxUserIDLen = 128
	usersPrefix  = "/organizations/users/"
	statePath    = "/_sandbox/state"
)

// New returns a Server configured by opts.
func New(opts Options) *Server {
	s := &Server{
		apiKey: opts.APIKey,
		secret: opts.JWTSecret,
		ttl:    opts.AccessTokenTTL,
		now:    opts.Now,
		mux:    http.NewServeMux(),
	}
	if s.apiKey == "" {
		s.apiKey = "sandbox-key-" + hex.EncodeToString(randomBytes(16))
	}
	if s.secret == nil {
		s.secret = randomBytes(32)
	}
	if s.ttl <= 0 {
		s.ttl = 24 * time.Hour
	}
	if s.now == nil {
		s.now = time.Now
	}
	dialect := opts.Dialect
	s.dialect.Store(&dialect)
	s.idempotentCreate.Store(opts.IdempotentCreate || opts.Dialect.IdempotentCreate)
	s.store.init()
	s.faults.writeError = s.writeError
	s.faults.set(Faults{})
	s.routes()
	return s
}

func (s *Server) routes() {
	s.handle(routeCreateUser, s.createUser)
	s.handle(routeGetUser, s.getUser)
	s.handle(routeIssueAccessToken, s.issueAccessToken)
	s.handle(routeRevokeAccessToken, s.revokeAccessToken)
	s.handle(routeIssueRefreshToken, s.issueRefreshToken)
	s.handle(routeRevokeRefreshToken, s.revokeRefreshToken)

	// Method-less patterns are less specific than the ones above, so they
	// only catch wrong methods; ServeMux's own 405 is not JSON.
	s.methodNotAllowed("/organizations/users/{userId}", "GET, HEAD, POST")
	s.methodNotAllowed("/organizations/users/{userId}/access_token", "POST")
	s.methodNotAllowed("/organizations/users/{userId}/access_token/{accessToken}", "DELETE")
	s.methodNotAllowed("/organizations/users/{userId}/refresh_token", "DELETE, POST")
	s.mux.HandleFunc(usersPrefix+"{$}", func(w http.ResponseWriter, r *http.Request) {
		s.counts[routeUnmatched].Add(1)
		s.writeError(w, r, http.StatusBadRequest, problemInvalidUserID, "user id must not be empty")
	})

	s.mux.HandleFunc("GET "+statePath, s.serveState)
	s.mux.HandleFunc(statePath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, HEAD")
		s.writeError(w, r, http.StatusMethodNotAllowed, problemMethodNotAllowed, "")
	})

	// Registered exactly so that ServeMux does not redirect it to the
	// pattern above.
	s.mux.HandleFunc(strings.TrimSuffix(usersPrefix, "/"), s.notFound)
	s.mux.HandleFunc("/", s.notFound)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/_sandbox/") {
		s.counts[routeUnmatched].Add(1)
	}
	s.writeError(w, r, http.StatusNotFound, problemRouteNotFound, "")
}

type apiHandler func(w http.ResponseWriter, r *http.Request, userID string)

// handle registers h for rt behind request counting, fault injection and
// user id validation, in that order.
func (s *Server) handle(rt route, h apiHandler) {
	s.mux.HandleFunc(routeNames[rt], func(w http.ResponseWriter, r *http.Request) {
		s.counts[rt].Add(1)
		s.faults.serve(w, r, func(w http.ResponseWriter) {
			id := r.PathValue("userId")
			if msg := validateUserID(id); msg != "" {
				s.writeError(w, r, http.StatusBadRequest, problemInvalidUserID, msg)
				return
			}
			h(w, r, id)
		})
	})
}

func (s *Server) methodNotAllowed(pattern, allow string) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		s.counts[routeUnmatched].Add(1)
		w.Header().Set("Allow", allow)
		s.writeError(w, r, http.StatusMethodNotAllowed, problemMethodNotAllowed, "")
	})
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A gateway that checks credentials first refuses a request without one
	// before it knows whether the path is a route at all.
	if s.dialect.Load().CredentialsFirst && !hasBearer(r) {
		s.countRoute(r)
		s.writeUnauthorized(w, r)
		return
	}
	// ServeMux answers unclean paths with a redirect that keeps the method,
	// so a client that builds ".../users//access_token" from an empty id
	// would silently create a user called "access_token". Reject instead.
	if p := r.URL.EscapedPath(); !isCleanPath(p) {
		s.counts[routeUnmatched].Add(1)
		if strings.HasPrefix(p, usersPrefix) {
			s.writeError(w, r, http.StatusBadRequest, problemInvalidUserID, "user id must not be empty, \".\" or \"..\"")
			return
		}
		s.writeError(w, r, http.StatusNotFound, problemRouteNotFound, "")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// countRoute counts a request answered before routing under the route it
// is for, or as unmatched.
func (s *Server) countRoute(r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sandbox/") {
		return
	}
	i := slices.Index(routeNames[:numRoutes], RouteOf(r))
	if i < 0 {
		i = int(routeUnmatched)
	}
	s.counts[i].Add(1)
}

// APIKey returns the organisation API key the server accepts.
func (s *Server) APIKey() string { return s.apiKey }

// SetIdempotentCreate switches between 409 and 200 for creating an existing user.
func (s *Server) SetIdempotentCreate(on bool) { s.idempotentCreate.Store(on) }

// IdempotentCreate reports whether creating an existing user answers 200
// with that user rather than 409.
func (s *Server) IdempotentCreate() bool { return s.idempotentCreate.Load() }

// Dialect returns the dialect the server speaks.
func (s *Server) Dialect() Dialect { return *s.dialect.Load() }

// SetDialect makes the server speak d from its next answer on, as when
// what stands before Point changes (a gateway put in front of it, or taken
// away), and answer the creation of an existing user as d says. Users and
// tokens stay as they are.
func (s *Server) SetDialect(d Dialect) {
	s.dialect.Store(&d)
	s.idempotentCreate.Store(d.IdempotentCreate)
}

// ConnState counts new connections; set it as http.Server.ConnState.
func (s *Server) ConnState(_ net.Conn, st http.ConnState) {
	if st == http.StateNew {
		s.connections.Add(1)
	}
}

// Start serves s on a loopback port and returns its base URL and a function
// that stops the server.
func (s *Server) Start() (url string, closeFn func()) {
	ts := httptest.NewUnstartedServer(s)
	ts.Config.ConnState = s.ConnState
	ts.Start()
	return ts.URL, ts.Close
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, id string) {
	if !s.checkAPIKey(w, r) {
		return
	}
	idempotent := s.idempotentCreate.Load()
	u, created := s.store.createUser(id, s.now())
	if !created && !idempotent {
		s.writeError(w, r, http.StatusConflict, problemUserExists, "")
		return
	}
	s.writeUser(w, u)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, id string) {
	if !s.checkAPIKey(w, r) {
		return
	}
	u, ok := s.store.user(id)
	if !ok {
		s.writeError(w, r, http.StatusNotFound, problemUserNotFound, "")
		return
	}
	s.writeUser(w, u)
}

func (s *Server) issueAccessToken(w http.ResponseWriter, r *http.Request, id string) {
	tok, ok := bearer(r)
	if !ok {
		s.writeUnauthorized(w, r)
		return
	}
	jwt, err := s.store.issueAccessToken(id, tok, s.now(), s.ttl, s.secret, s.dialect.Load())
	if err != nil {
		s.writeStoreError(w, r, err)
		return
	}
	s.writeSuccess(w, "accessToken", accessTokenJSON{
		Token:     "Bearer " + jwt,
		ExpiresIn: int64(s.ttl / time.Second),
	})
}

func (s *Server) revokeAccessToken(w http.ResponseWriter, r *http.Request, id string) {
	tok, ok := bearer(r)
	if !ok {
		s.writeUnauthorized(w, r)
		return
	}
	pathTok := r.PathValue("accessToken")
	if err := s.store.revokeAccessToken(id, pathTok, tok, s.now()); err != nil {
		if errors.Is(err, errTokenNotFound) && s.dialect.Load().staleAccessTokenStatus() == http.StatusUnauthorized {
			err = errUnauthorized
		}
		s.writeStoreError(w, r, err)
		return
	}
	s.writeRevoked(w)
}

func (s *Server) issueRefreshToken(w http.ResponseWriter, r *http.Request, id string) {
	if !s.checkAPIKey(w, r) {
		return
	}
	tok, ok := s.store.rotateRefreshToken(id)
	if !ok {
		s.writeError(w, r, http.StatusNotFound, problemUserNotFound, "")
		return
	}
	s.writeSuccess(w, "refreshToken", tokenJSON{tok})
}

func (s *Server) revokeRefreshToken(w http.ResponseWriter, r *http.Request, id string) {
	tok, ok := bearer(r)
	if !ok {
		s.writeUnauthorized(w, r)
		return
	}
	if err := s.store.revokeRefreshToken(id, tok); err != nil {
		if errors.Is(err, errUnauthorized) && s.dialect.Load().staleRefreshTokenStatus() == http.StatusNotFound {
			err = errTokenNotFound
		}
		s.writeStoreError(w, r, err)
		return
	}
	s.writeRevoked(w)
}

func (s *Server) checkAPIKey(w http.ResponseWriter, r *http.Request) bool {
	tok, ok := bearer(r)
	if !ok || !secretEqual(tok, s.apiKey) {
		s.writeUnauthorized(w, r)
		return false
	}
	return true
}

func (s *Server) writeStoreError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errUserNotFound):
		s.writeError(w, r, http.StatusNotFound, problemUserNotFound, "")
	case errors.Is(err, errUnauthorized):
		s.writeUnauthorized(w, r)
	case errors.Is(err, errTokenNotFound):
		s.writeError(w, r, http.StatusNotFound, problemTokenNotFound, "")
	default:
		s.writeError(w, r, http.StatusInternalServerError, problemInternal, "")
	}
}

// hasBearer reports whether the request carries a well-formed bearer credential.
func hasBearer(r *http.Request) bool {
	_, ok := bearer(r)
	return ok
}

// bearer returns the credential of a well-formed "Authorization: Bearer x" header.
func bearer(r *http.Request) (string, bool) {
	vals := r.Header.Values("Authorization")
	if len(vals) != 1 {
		return "", false
	}
	scheme, tok, ok := strings.Cut(vals[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" || strings.ContainsAny(tok, " \t") {
		return "", false
	}
	return tok, true
}

func secretEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// validateUserID applies the contract's user id rules and returns a message
// for the first one broken, or "". The id itself is never echoed.
func validateUserID(id string) string {
	switch {
	case id == "":
		return "user id must not be empty"
	case !utf8.ValidString(id):
		return "user id must be valid UTF-8"
	case utf8.RuneCountInString(id) > maxUserIDLen:
		return "user id must be at most " + strconv.Itoa(maxUserIDLen) + " characters"
	}
	for _, c := range id {
		if c == '/' {
			return "user id must not contain '/'"
		}
		if unicode.IsControl(c) {
			return "user id must not contain control characters"
		}
	}
	return ""
}

// isCleanPath reports whether ServeMux would route p without redirecting.
func isCleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	return !strings.Contains(p, "//") &&
		!strings.Contains(p, "/./") && !strings.Contains(p, "/../") &&
		!strings.HasSuffix(p, "/.") && !strings.HasSuffix(p, "/..")
}

type tokenJSON struct {
	Token string `json:"token"`
}

type userJSON struct {
	ID           string     `json:"id"`
	Email        *string    `json:"email"`
	Birthday     *string    `json:"birthday"`
	Height       *float64   `json:"height"`
	Weight       *float64   `json:"weight"`
	Gender       *string    `json:"gender"`
	Pronoun      *string    `json:"pronoun"`
	Expectation  *string    `json:"expectation"`
	FirstName    *string    `json:"firstName"`
	Timezone     *string    `json:"timezone"`
	RefreshToken *tokenJSON `json:"refreshToken"`

	// createdAt is shown only by dialects with ExtraFields.
	createdAt time.Time
}

type userResponse struct {
	User userJSON `json:"user"`
}

type accessTokenJSON struct {
	Token     string `json:"token"`
	ExpiresIn int64  `json:"expiresIn"`
}

type accessTokenResponse struct {
	AccessToken accessTokenJSON `json:"accessToken"`
}

type refreshTokenResponse struct {
	RefreshToken tokenJSON `json:"refreshToken"`
}

type errorJSON struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// writeJSON answers v as JSON in the dialect's content type.
func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"internal","message":"internal error"}`)
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", s.dialect.Load().contentType())
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeSuccess answers 200 with {key: v}, and the dialect's extra fields.
func (s *Server) writeSuccess(w http.ResponseWriter, key string, v any) {
	body := map[string]any{key: v}
	if s.dialect.Load().ExtraFields {
		body["requestId"] = "req_" + hex.EncodeToString(randomBytes(8))
	}
	s.writeJSON(w, http.StatusOK, body)
}

func (s *Server) writeUser(w http.ResponseWriter, u userJSON) {
	s.writeSuccess(w, "user", s.dialect.Load().userObject(u))
}

func (s *Server) writeRevoked(w http.ResponseWriter) {
	switch s.dialect.Load().Revoked {
	case RevokedJSON:
		s.writeJSON(w, http.StatusOK, map[string]bool{"revoked": true})
	case RevokedEmpty:
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// writeError answers p in the dialect's spelling; detail, when not empty,
// replaces its message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, status int, p problem, detail string) {
	s.writeJSON(w, status, s.dialect.Load().Errors.body(p, status, r, detail))
}

func (s *Server) writeUnauthorized(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, http.StatusUnauthorized, problemUnauthorized, "")
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return b
}
