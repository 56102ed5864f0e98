package provider

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/areyoupoint/terraform-provider-point/internal/devenv"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// Helpers that tests throughout the package share.

// Configurations: provider blocks and the resources under test.

// providerBlockWith writes a provider block from HCL expressions by
// attribute name; an empty expression leaves the attribute out.
func providerBlockWith(settings map[string]string) string {
	var b strings.Builder
	b.WriteString("provider \"point\" {\n")
	for _, name := range slices.Sorted(maps.Keys(settings)) {
		if settings[name] != "" {
			fmt.Fprintf(&b, "  %s = %s\n", name, settings[name])
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// providerBlockFor configures the provider for endpoint with env's key and
// the given max_retries.
func providerBlockFor(env *testEnv, endpoint string, maxRetries int) string {
	return fmt.Sprintf("provider \"point\" {\n  endpoint    = %q\n  api_key     = %q\n  max_retries = %d\n}\n", endpoint, env.APIKey, maxRetries)
}

// deadEndpoint returns a loopback URL where nothing listens.
func deadEndpoint(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// refreshTokenConfig is a point_user and a point_refresh_token for it,
// with args added to the token's block.
func refreshTokenConfig(env *testEnv, userID, args string) string {
	return env.ProviderBlock() + fmt.Sprintf(`
resource "point_user" "test" {
  user_id = %[1]q
}

resource "point_refresh_token" "test" {
  user_id = point_user.test.user_id
%[2]s}
`, userID, args)
}

// refreshTokenOnlyConfig manages the token of a user that Terraform does
// not manage.
func refreshTokenOnlyConfig(providerBlock, userID, args string) string {
	return providerBlock + fmt.Sprintf(`
resource "point_refresh_token" "test" {
  user_id = %[1]q
%[2]s}
`, userID, args)
}

// pointUserConfig is a point_user alone, with its deletion_policy.
func pointUserConfig(env *testEnv, userID, deletionPolicy string) string {
	return env.ProviderBlock() + fmt.Sprintf(`
resource "point_user" "test" {
  user_id         = %[1]q
  deletion_policy = %[2]q
}
`, userID, deletionPolicy)
}

// pointUsersConfig is a point_users alone.
func pointUsersConfig(providerBlock string, ids []string, args string) string {
	return providerBlock + fmt.Sprintf(`
resource "point_users" "test" {
  user_ids = %s
%s}
`, hclList(ids), args)
}

// bulkConfig is a point_users for ids and a point_refresh_tokens for
// the same users, with extra arguments for each.
func bulkConfig(providerBlock string, ids []string, usersArgs, tokensArgs string) string {
	return providerBlock + fmt.Sprintf(`
resource "point_users" "test" {
  user_ids = %s
%s}

resource "point_refresh_tokens" "test" {
  user_ids = point_users.test.user_ids
%s}
`, hclList(ids), usersArgs, tokensArgs)
}

// incidentTriggerConfig is the emergency revoke of the docs' incident
// runbook: the action point_revoke_refresh_token for point_user.test, run
// when terraform_data.incident's input changes from one apply to the next.
func incidentTriggerConfig(incident string) string {
	return fmt.Sprintf(`
action "point_revoke_refresh_token" "incident" {
  config {
    user_id = point_user.test.user_id
  }
}

resource "terraform_data" "incident" {
  input = %q

  lifecycle {
    action_trigger {
      events  = [after_update]
      actions = [action.point_revoke_refresh_token.incident]
    }
  }
}
`, incident)
}

// Addresses of the resources in these configurations.
const (
	refreshTokenAddr  = "point_refresh_token.test"
	usersAddr         = "point_users.test"
	refreshTokensAddr = "point_refresh_tokens.test"
)

// hclList writes ids as an HCL list.
func hclList(ids []string) string {
	quoted := make([]string, len(ids))
	for i, id := range ids {
		quoted[i] = fmt.Sprintf("%q", id)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// numberedUserIDs returns n user ids for this run: name-000, name-001, and
// so on, with the run's prefix against real Point.
func numberedUserIDs(env *testEnv, name string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = env.UserID(fmt.Sprintf("%s-%03d", name, i))
	}
	return ids
}

// CLI versions a test needs.

// ephemeralVersionChecks skips a test on Terraform before 1.10, which has
// no ephemeral resources.
var ephemeralVersionChecks = []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_10_0)}

// actionsVersionChecks skips a terraform-plugin-testing test on a CLI
// without actions.
var actionsVersionChecks = []tfversion.TerraformVersionCheck{
	skipOnOpenTofu("it has no actions"),
	tfversion.SkipBelow(tfversion.Version1_14_0),
}

// Fronts: handlers before Point that inject faults or record what passes.

// startFront serves handle before Point and returns its base URL.
func startFront(t *testing.T, env *testEnv, handle func(w http.ResponseWriter, r *http.Request, next http.Handler)) string {
	t.Helper()
	next := env.Upstream()
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handle(w, r, next) }))
	t.Cleanup(server.Close)
	return server.URL
}

// startRevocationCounter serves a front before Point that counts the
// refresh token revocations that present a token, and returns its base URL
// and the count. Against a 404 the client may ask the same route again
// without a credential, to tell whether the answer is Point's own; those
// requests are not revocations and are not counted.
func startRevocationCounter(t *testing.T, env *testEnv) (string, *atomic.Int32) {
	t.Helper()
	var revocations atomic.Int32
	url := startFront(t, env, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if sandbox.RouteOf(r) == sandbox.RouteRevokeRefreshToken && r.Header.Get("Authorization") != "" {
			revocations.Add(1)
		}
		next.ServeHTTP(w, r)
	})
	return url, &revocations
}

// routeFront passes requests to Point, except those on one route while it
// is on, which answer handles; answer may pass them on with next.
type routeFront struct {
	next   http.Handler
	route  string
	answer func(w http.ResponseWriter, r *http.Request, next http.Handler)
	on     atomic.Bool

	requests atomic.Int64
	mu       sync.Mutex
	hits     []time.Time
}

func (f *routeFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	if f.on.Load() && f.answer != nil && sandbox.RouteOf(r) == f.route {
		f.mu.Lock()
		f.hits = append(f.hits, time.Now())
		f.mu.Unlock()
		f.answer(w, r, f.next)
		return
	}
	f.next.ServeHTTP(w, r)
}

// answerRaw is an answer for a front: status and body, of contentType
// unless that is "".
func answerRaw(status int, contentType, body string) func(http.ResponseWriter, *http.Request, http.Handler) {
	return func(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// answerJSON is an answer for a front: status and a JSON body.
func answerJSON(status int, body string) func(http.ResponseWriter, *http.Request, http.Handler) {
	return answerRaw(status, "application/json", body)
}

// countingFront stands before Point for the bulk tests, in both modes. It
// counts answers by route, user and status; it can answer a share of
// requests with 503 before they reach Point, as the sandbox's FailureRate
// does; and it can make users vanish: reads get Point's own answer for a
// user it never had, in whatever words Point uses, and a registration is
// answered as a new user's, as if they had been deleted and registered
// again.
type countingFront struct {
	next http.Handler

	mu       sync.Mutex
	rng      *rand.Rand
	failRate float64
	vanished map[string]bool
	answers  map[countedAnswer]int
	injected atomic.Int64
}

type countedAnswer struct {
	route, userID string
	status        int
}

func newCountingFront(t *testing.T, env *testEnv) (*countingFront, string) {
	t.Helper()
	f := &countingFront{next: env.Upstream(), rng: rand.New(rand.NewPCG(1, 2)), vanished: map[string]bool{}, answers: map[countedAnswer]int{}}
	server := httptest.NewServer(f)
	t.Cleanup(server.Close)
	return f, server.URL
}

func (f *countingFront) setFailRate(rate float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failRate = rate
}

func (f *countingFront) vanish(ids ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		f.vanished[id] = true
	}
}

func (f *countingFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route := sandbox.RouteOf(r)
	userID := ""
	if rest, ok := strings.CutPrefix(r.URL.Path, "/organizations/users/"); ok {
		userID, _, _ = strings.Cut(rest, "/")
	}
	f.mu.Lock()
	fail := f.failRate > 0 && f.rng.Float64() < f.failRate
	vanished := f.vanished[userID]
	if vanished && route == sandbox.RouteCreateUser {
		delete(f.vanished, userID)
	}
	f.mu.Unlock()

	rec := httptest.NewRecorder()
	switch {
	case fail:
		f.injected.Add(1)
		rec.Header().Set("Content-Type", "application/json")
		rec.WriteHeader(http.StatusServiceUnavailable)
		_, _ = rec.WriteString(`{"error":"unavailable","message":"service temporarily unavailable (injected by the test)"}`)
	case vanished && route == sandbox.RouteGetUser:
		// The same read for an id that no test registers.
		ghost := r.Clone(r.Context())
		ghost.URL.Path = "/organizations/users/" + userID + "-vanished"
		ghost.URL.RawPath = ""
		f.next.ServeHTTP(rec, ghost)
	case vanished && route == sandbox.RouteCreateUser:
		body, _ := json.Marshal(map[string]any{"user": map[string]any{"id": userID, "refreshToken": nil}})
		rec.Header().Set("Content-Type", "application/json")
		rec.WriteHeader(http.StatusOK)
		_, _ = rec.Write(body)
	default:
		f.next.ServeHTTP(rec, r)
	}
	f.mu.Lock()
	f.answers[countedAnswer{route, userID, rec.Code}]++
	f.mu.Unlock()
	maps.Copy(w.Header(), rec.Header())
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// count returns how many answers matched: route, user (any when "") and a
// status class (200 for any 2xx, or an exact status).
func (f *countingFront) count(route, userID string, status int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for a, c := range f.answers {
		if a.route != route || (userID != "" && a.userID != userID) {
			continue
		}
		if a.status == status || (status == http.StatusOK && a.status >= 200 && a.status < 300) {
			n += c
		}
	}
	return n
}

// reset forgets the answers counted so far.
func (f *countingFront) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.answers)
}

// expect checks that route was answered with success exactly want times
// for each user in ids, and never for any other user.
func (f *countingFront) expect(route string, ids []string, want int) error {
	in := toSet(ids)
	f.mu.Lock()
	defer f.mu.Unlock()
	got := map[string]int{}
	for a, c := range f.answers {
		if a.route == route && a.status >= 200 && a.status < 300 {
			got[a.userID] += c
		}
	}
	for id, n := range got {
		if !in[id] && n > 0 {
			return fmt.Errorf("%s succeeded %d times for %q, which it should not have touched", route, n, id)
		}
	}
	for id := range in {
		if got[id] != want {
			return fmt.Errorf("%s succeeded %d times for %q, want %d", route, got[id], id, want)
		}
	}
	return nil
}

// recordingFront stands before Point. It records every credential the API
// hands out, so that a leak scan looks for tokens Point no longer holds too
// (such as the one issued with a new user), and it can answer one route
// with a 500 whose body echoes the request's credential.
type recordingFront struct {
	next http.Handler

	mu      sync.Mutex
	refresh map[string]bool
	access  map[string]bool
	failOn  string // a sandbox route, or ""
	failed  int
}

func newRecordingFront(next http.Handler) *recordingFront {
	return &recordingFront{next: next, refresh: map[string]bool{}, access: map[string]bool{}}
}

func (f *recordingFront) failRoute(route string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failOn = route
}

func (f *recordingFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route := sandbox.RouteOf(r)
	f.mu.Lock()
	fail := route != "" && route == f.failOn
	if fail {
		f.failed++
	}
	f.mu.Unlock()
	if fail {
		echoCredential(w, r)
		return
	}

	rec := httptest.NewRecorder()
	f.next.ServeHTTP(rec, r)
	var body struct {
		User *struct {
			RefreshToken *struct{ Token string } `json:"refreshToken"`
		} `json:"user"`
		RefreshToken *struct{ Token string } `json:"refreshToken"`
		AccessToken  *struct{ Token string } `json:"accessToken"`
	}
	if json.Unmarshal(rec.Body.Bytes(), &body) == nil {
		f.mu.Lock()
		if body.User != nil && body.User.RefreshToken != nil {
			f.refresh[body.User.RefreshToken.Token] = true
		}
		if body.RefreshToken != nil {
			f.refresh[body.RefreshToken.Token] = true
		}
		if body.AccessToken != nil {
			f.access[strings.TrimPrefix(body.AccessToken.Token, "Bearer ")] = true
		}
		f.mu.Unlock()
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (f *recordingFront) tokens() (refresh, access []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for tok := range f.refresh {
		refresh = append(refresh, tok)
	}
	for tok := range f.access {
		access = append(access, tok)
	}
	return refresh, access
}

// echoCredential answers 500 as a careless proxy might: the request line,
// the Authorization header and the bare credential in the body, as a JSON
// message to reads and as HTML otherwise, so that both the message and the
// excerpt paths of the client are exercised.
func echoCredential(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	credential := strings.TrimPrefix(auth, "Bearer ")
	text := fmt.Sprintf("upstream refused %s %s with Authorization: %s (credential=%s)", r.Method, r.URL.Path, auth, credential)
	if r.Method == http.MethodGet {
		b, _ := json.Marshal(map[string]string{"error": "internal " + credential, "message": text})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write(b)
		return
	}
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = fmt.Fprintf(w, "<html><body><h1>500 Internal Server Error</h1><p>%s</p></body></html>", text)
}

// delayingFront delays every answer after the sandbox has acted on the
// request, like a slow network on the way back, so that an interrupt can
// lose the answer to a request that took effect.
type delayingFront struct {
	next  http.Handler
	delay atomic.Int64 // nanoseconds

	mu   sync.Mutex
	lost map[string]int // route -> answers the client gave up on
}

func (f *delayingFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	f.next.ServeHTTP(rec, r)
	// The sandbox gives up on a request whose client has gone while it
	// waits out its latency, before acting on it.
	acted := r.Context().Err() == nil
	if d := time.Duration(f.delay.Load()); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			if acted && rec.Code < 300 {
				f.mu.Lock()
				f.lost[sandbox.RouteOf(r)]++
				f.mu.Unlock()
			}
			return
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// Checks of what Point holds, and of the requests the sandbox saw.

// expectRequests fails unless the sandbox saw exactly want requests
// on route; it passes trivially against real Point.
func expectRequests(env *testEnv, route string, want int) error {
	if env.Sandbox == nil {
		return nil
	}
	if got := env.Sandbox.RequestCounts()[route]; got != want {
		return fmt.Errorf("sandbox saw %d requests %q, want %d (all: %v)", got, route, want, env.Sandbox.RequestCounts())
	}
	return nil
}

// expectNoRequests fails the test unless the sandbox received no API
// request: what is wrong must be found before Point is asked. It is a
// request count, so it checks nothing against real Point.
func expectNoRequests(t *testing.T, env *testEnv, what string) {
	t.Helper()
	if env.Sandbox != nil {
		if n := env.Sandbox.Requests(); n != 0 {
			t.Errorf("%s reached the API: %d requests", what, n)
		}
	}
}

// isCurrentRefreshToken checks a planned or stored token against the
// user's current token in Point.
func isCurrentRefreshToken(env *testEnv, userID string) knownvalue.Check {
	return knownvalue.StringFunc(func(v string) error {
		if v == "" || v != env.CurrentRefreshToken(userID) {
			return fmt.Errorf("token is not the current refresh token of Point user %q", userID)
		}
		return nil
	})
}

// checkRefreshTokenRefused asserts that Point no longer accepts the refresh
// token.
func checkRefreshTokenRefused(env *testEnv, userID string, refreshToken *string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if *refreshToken == "" {
			return fmt.Errorf("no earlier token recorded for %q", userID)
		}
		return env.CheckRefreshTokenRefused(userID, *refreshToken)
	}
}

// noCurrentRefreshToken asserts that none of the users has a current
// refresh token in Point.
func noCurrentRefreshToken(env *testEnv, userIDs ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for _, id := range userIDs {
			if env.CurrentRefreshToken(id) != "" {
				return fmt.Errorf("Point user %q still has a current refresh token", id)
			}
		}
		return nil
	}
}

// refreshTokenUnchanged asserts that the user's current token is still the
// one recorded, and that Point accepts it: nothing rotated it.
func refreshTokenUnchanged(env *testEnv, userID string, token *string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if *token == "" || env.CurrentRefreshToken(userID) != *token {
			return fmt.Errorf("the refresh token of %q changed; it should not have been rotated", userID)
		}
		return env.CheckRefreshTokenAccepted(userID, *token)
	}
}

// refreshTokensIssued returns how many refresh tokens the sandbox has
// issued, or 0 against real Point.
func refreshTokensIssued(env *testEnv) int {
	if env.Sandbox == nil {
		return 0
	}
	return env.Sandbox.RefreshTokensIssued()
}

// checkRefreshTokensIssued asserts that the sandbox issued exactly n
// refresh tokens since *before; it passes trivially against real Point.
func checkRefreshTokensIssued(env *testEnv, before *int, n int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if env.Sandbox == nil {
			return nil
		}
		if got := env.Sandbox.RefreshTokensIssued() - *before; got != n {
			return fmt.Errorf("the sandbox issued %d refresh tokens, want %d", got, n)
		}
		return nil
	}
}

// State checks, on the state terraform-plugin-testing reads.

// stateRefreshToken returns the token of refreshTokenAddr in state.
func stateRefreshToken(s *terraform.State) (string, error) {
	rs, ok := s.RootModule().Resources[refreshTokenAddr]
	if !ok {
		return "", fmt.Errorf("%s not in state", refreshTokenAddr)
	}
	token := rs.Primary.Attributes["token"]
	if token == "" {
		return "", fmt.Errorf("%s has no token in state", refreshTokenAddr)
	}
	return token, nil
}

// captureStateToken records the token in state, for later steps.
func captureStateToken(into *string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		token, err := stateRefreshToken(s)
		*into = token
		return err
	}
}

// checkStateTokenCurrent asserts that the token in state is the user's
// current token in Point and that Point accepts it.
func checkStateTokenCurrent(env *testEnv, userID string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		token, err := stateRefreshToken(s)
		if err != nil {
			return err
		}
		if current := env.CurrentRefreshToken(userID); current != token {
			return fmt.Errorf("Point's current refresh token for %q is not the one in state (current set: %t)", userID, current != "")
		}
		return env.CheckRefreshTokenAccepted(userID, token)
	}
}

// stateMap reads a map attribute of a resource from state.
func stateMap(s *terraform.State, addr, attr string) (map[string]string, error) {
	rs, ok := s.RootModule().Resources[addr]
	if !ok {
		return nil, fmt.Errorf("%s not in state", addr)
	}
	out := map[string]string{}
	for k, v := range rs.Primary.Attributes {
		if key, ok := strings.CutPrefix(k, attr+"."); ok && key != "%" {
			out[key] = v
		}
	}
	return out, nil
}

// checkStateTokens checks that state holds a token for exactly ids, each
// the user's current refresh token in Point; into, when not nil, receives
// them.
func checkStateTokens(env *testEnv, ids []string, into *map[string]string) func(*terraform.State) error {
	return func(s *terraform.State) error {
		tokens, err := stateMap(s, refreshTokensAddr, "tokens")
		if err != nil {
			return err
		}
		if got, want := slices.Sorted(maps.Keys(tokens)), slices.Sorted(slices.Values(ids)); !slices.Equal(got, want) {
			return fmt.Errorf("state holds tokens of %d users %v, want %d %v", len(got), got, len(want), want)
		}
		for id, token := range tokens {
			if token == "" || token != env.CurrentRefreshToken(id) {
				return fmt.Errorf("the token of %q in state is not its current refresh token in Point", id)
			}
		}
		if into != nil {
			*into = tokens
		}
		return nil
	}
}

// sameStateTokens checks that the tokens of ids in state are those in
// want: none was issued again.
func sameStateTokens(ids []string, want *map[string]string) func(*terraform.State) error {
	return func(s *terraform.State) error {
		tokens, err := stateMap(s, refreshTokensAddr, "tokens")
		if err != nil {
			return err
		}
		for _, id := range ids {
			if tokens[id] == "" || tokens[id] != (*want)[id] {
				return fmt.Errorf("the token of %q changed", id)
			}
		}
		return nil
	}
}

// seenTokens collects every refresh token of a test's users that was
// current at some check, so that state can be searched for all of them.
type seenTokens map[string]bool

// noSeenTokenInState fails when any attribute of any resource in state
// holds one of the tokens.
func noSeenTokenInState(s *terraform.State, seen seenTokens, extra ...string) error {
	tokens := append([]string(nil), extra...)
	for tok := range seen {
		tokens = append(tokens, tok)
	}
	for addr, rs := range s.RootModule().Resources {
		for name, v := range rs.Primary.Attributes {
			for _, tok := range tokens {
				if tok != "" && strings.Contains(v, tok) {
					return fmt.Errorf("%s.%s holds a refresh token", addr, name)
				}
			}
		}
	}
	return nil
}

// Plan checks.

// planListChange checks a list attribute in a planned change: the
// elements added (in after, not before) and removed must be exactly those
// given.
type planListChange struct {
	addr, attr     string
	added, removed []string
}

func (c planListChange) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	change, err := planChange(req.Plan, c.addr)
	if err != nil {
		resp.Error = err
		return
	}
	before, after := planStrings(change.Before, c.attr), planStrings(change.After, c.attr)
	added, removed := without(after, before), without(before, after)
	slices.Sort(added)
	slices.Sort(removed)
	if !slices.Equal(added, slices.Sorted(slices.Values(c.added))) || !slices.Equal(removed, slices.Sorted(slices.Values(c.removed))) {
		resp.Error = fmt.Errorf("%s.%s: the plan adds %v and removes %v, want %v and %v", c.addr, c.attr, added, removed, c.added, c.removed)
	}
}

// planUnknownKeys checks that exactly keys of a map attribute are
// unknown in a planned change, and that every other key is known.
type planUnknownKeys struct {
	addr, attr string
	keys       []string
}

func (c planUnknownKeys) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	change, err := planChange(req.Plan, c.addr)
	if err != nil {
		resp.Error = err
		return
	}
	afterUnknown, _ := change.AfterUnknown.(map[string]any)
	if whole, ok := afterUnknown[c.attr].(bool); ok && whole {
		resp.Error = fmt.Errorf("%s.%s is wholly unknown in the plan, want only %v unknown", c.addr, c.attr, c.keys)
		return
	}
	var unknown []string
	if m, ok := afterUnknown[c.attr].(map[string]any); ok {
		for k, v := range m {
			if v == true {
				unknown = append(unknown, k)
			}
		}
	}
	slices.Sort(unknown)
	if !slices.Equal(unknown, slices.Sorted(slices.Values(c.keys))) {
		resp.Error = fmt.Errorf("%s.%s: the plan leaves %v unknown, want %v", c.addr, c.attr, unknown, slices.Sorted(slices.Values(c.keys)))
	}
}

// planChange returns the planned change of the resource at addr.
func planChange(plan *tfjson.Plan, addr string) (*tfjson.Change, error) {
	for _, rc := range plan.ResourceChanges {
		if rc.Address == addr {
			return rc.Change, nil
		}
	}
	return nil, fmt.Errorf("%s is not in the plan", addr)
}

// planStrings returns the strings of a list attribute of a planned object.
func planStrings(object any, attr string) []string {
	m, _ := object.(map[string]any)
	list, _ := m[attr].([]any)
	var out []string
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Runs of the Terraform CLI: its output, and the state file it writes.

// diagnosticPattern matches a whole diagnostic text with Terraform's line
// wrapping and spacing collapsed.
func diagnosticPattern(words string) *regexp.Regexp {
	return regexp.MustCompile(regexp.MustCompile(`\s+`).ReplaceAllString(regexp.QuoteMeta(words), `\s+`))
}

// diagnosticMatching matches the given texts in order, each tolerant of
// Terraform's line wrapping.
func diagnosticMatching(texts ...string) *regexp.Regexp {
	parts := make([]string, len(texts))
	for i, text := range texts {
		parts[i] = diagnosticPattern(text).String()
	}
	return regexp.MustCompile(strings.Join(parts, `[\s\S]*`))
}

// expectOutput fails unless out matches texts, in this order, each tolerant
// of Terraform's line wrapping.
func expectOutput(t *testing.T, out string, texts ...string) {
	t.Helper()
	if want := diagnosticMatching(texts...); !want.MatchString(out) {
		t.Errorf("output does not match %s:\n%s", want, out)
	}
}

// expectOutputShows fails unless Terraform's output shows words, with
// any line wrapping.
func expectOutputShows(t *testing.T, out string, words ...string) {
	t.Helper()
	for _, w := range words {
		if !diagnosticPattern(w).MatchString(out) {
			t.Errorf("the output does not show %q:\n%s", w, out)
		}
	}
}

// interruptedApply starts terraform apply, sends it SIGINT once ready
// reports true, and returns its output after checking that it failed.
func interruptedApply(t *testing.T, cli *terraformCLI, ready func() bool) string {
	t.Helper()
	cmd := exec.Command(terraformBinary(t), "apply", "-input=false", "-auto-approve", "-no-color")
	cmd.Dir = cli.Dir
	cmd.Env = append(devenv.Environ(cli.cliConfig), cli.Env...)
	startInOwnProcessGroup(cmd)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !ready() {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("the apply never reached the point of interruption:\n%s", out.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := interruptProcessGroup(cmd); err != nil {
		t.Fatal(err)
	}
	var exitErr *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &exitErr) || exitErr.ExitCode() == 0 {
		t.Fatalf("interrupted apply: err = %v, want a non-zero exit\n%s", err, out.String())
	}
	if !bytes.Contains(out.Bytes(), []byte("Interrupt received")) {
		t.Errorf("terraform did not report the interrupt:\n%s", out.String())
	}
	return out.String()
}

// stateFile is what the tests read of a terraform.tfstate.
type stateFile struct {
	Resources []struct {
		Type, Name string
		Instances  []struct {
			Status     string         `json:"status"`
			Attributes map[string]any `json:"attributes"`
		}
	}
}

// attributes returns the attributes of the single instance at addr, or nil.
func (s stateFile) attributes(addr string) map[string]any {
	for _, r := range s.Resources {
		if r.Type+"."+r.Name == addr && len(r.Instances) == 1 {
			return r.Instances[0].Attributes
		}
	}
	return nil
}

// status returns the status of the single instance at addr: "" when it is
// ready, "tainted", or "absent".
func (s stateFile) status(addr string) string {
	for _, r := range s.Resources {
		if r.Type+"."+r.Name == addr && len(r.Instances) == 1 {
			return r.Instances[0].Status
		}
	}
	return "absent"
}

// readStateFile reads the terraform.tfstate the CLI wrote.
func readStateFile(t *testing.T, cli *terraformCLI) stateFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cli.Dir, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	var state stateFile
	if err := json.Unmarshal(b, &state); err != nil {
		t.Fatal(err)
	}
	return state
}

// stateFileUserIDs returns the user_ids of the resource at addr.
func stateFileUserIDs(s stateFile, addr string) []string {
	var ids []string
	list, _ := s.attributes(addr)["user_ids"].([]any)
	for _, e := range list {
		if id, ok := e.(string); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// stateFileTokens returns the tokens of the resource at addr, by user id.
func stateFileTokens(s stateFile, addr string) map[string]string {
	tokens := map[string]string{}
	m, _ := s.attributes(addr)["tokens"].(map[string]any)
	for id, v := range m {
		tokens[id], _ = v.(string)
	}
	return tokens
}

// expectNotTainted fails when a resource at addrs is tainted or absent
// from state.
func expectNotTainted(t *testing.T, cli *terraformCLI, addrs ...string) {
	t.Helper()
	state := readStateFile(t, cli)
	for _, addr := range addrs {
		if status := state.status(addr); status != "" {
			t.Errorf("%s is %s in state, want it ready", addr, status)
		}
	}
}

// Values: sets of ids, times, and values of the provider protocol.

// sameElements reports whether a and b hold the same elements, in any
// order.
func sameElements(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

// formatRFC3339 writes a time as the provider writes timestamps.
func formatRFC3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// objectWithNulls builds a value of an object type, with null for every
// attribute not given.
func objectWithNulls(t *testing.T, typ tftypes.Type, given map[string]tftypes.Value) tftypes.Value {
	t.Helper()
	obj, ok := typ.(tftypes.Object)
	if !ok {
		t.Fatalf("%s is not an object type", typ)
	}
	vals := make(map[string]tftypes.Value, len(obj.AttributeTypes))
	for name, attrType := range obj.AttributeTypes {
		vals[name] = tftypes.NewValue(attrType, nil)
		if v, ok := given[name]; ok {
			vals[name] = v
		}
	}
	return tftypes.NewValue(typ, vals)
}

// stringOrNil returns a string value, or nil when it is null.
func stringOrNil(t *testing.T, v tftypes.Value) *string {
	t.Helper()
	if v.IsNull() {
		return nil
	}
	var s string
	if err := v.As(&s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// Leak scans: secrets in what Terraform writes.

// tokenWatch runs CLI commands, keeping their output, and samples around
// each the current refresh token of every user: a leak scan then seeks
// every token that was ever current, not only those left at the end.
type tokenWatch struct {
	env *testEnv
	cli interface {
		MustRun(want int, args ...string) string
	}
	users       []string
	everCurrent map[string]bool
	output      bytes.Buffer
}

// newTokenWatch watches users; known are tokens current before it starts.
func newTokenWatch(env *testEnv, cli interface {
	MustRun(want int, args ...string) string
}, users []string, known ...string) *tokenWatch {
	w := &tokenWatch{env: env, cli: cli, users: users, everCurrent: map[string]bool{}}
	for _, tok := range known {
		w.everCurrent[tok] = true
	}
	return w
}

func (w *tokenWatch) sample() {
	for _, id := range w.users {
		if tok := w.env.CurrentRefreshToken(id); tok != "" {
			w.everCurrent[tok] = true
		}
	}
}

// run runs the CLI with args and -no-color, expecting exit code want.
func (w *tokenWatch) run(want int, args ...string) string {
	w.sample()
	out := w.cli.MustRun(want, append(args, "-no-color")...)
	w.output.WriteString(out)
	w.sample()
	return out
}

// stateAttributeSensitive returns the check that checkSensitiveOnly applies
// to a state file: a token may stand only in attribute of a resourceType
// instance (as one of its values when mapElement) whose
// sensitive_attributes mark that attribute as a whole.
func stateAttributeSensitive(resourceType, attribute string, mapElement bool) func(root any, path []any) bool {
	depth := 6
	if mapElement {
		depth = 7
	}
	return func(root any, path []any) bool {
		if len(path) != depth || path[0] != "resources" || path[2] != "instances" || path[4] != "attributes" || path[5] != attribute {
			return false
		}
		if owner, _ := jsonAt(root, path[:2]).(map[string]any); owner["type"] != resourceType {
			return false
		}
		marked, _ := jsonAt(root, append(slices.Clone(path[:4]), "sensitive_attributes")).([]any)
		for _, p := range marked {
			steps, _ := p.([]any)
			if len(steps) == 1 || (mapElement && len(steps) > 1) {
				if step, ok := steps[0].(map[string]any); ok && step["type"] == "get_attr" && step["value"] == attribute {
					return true
				}
			}
		}
		return false
	}
}

// jwtShape matches an access token, a JWT.
var jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)

// refreshTokenShape matches a refresh token.
var refreshTokenShape = regexp.MustCompile(`rt_[A-Za-z0-9_-]{40,}`)

// findSecret reports, and counts, secret in text: whole, or its last 16
// characters, which would betray one that was cut short.
func findSecret(t *testing.T, where string, text []byte, name, secret string) int {
	t.Helper()
	tail := secret
	if len(secret) > 16 {
		tail = secret[len(secret)-16:]
	}
	switch {
	case bytes.Contains(text, []byte(secret)):
		t.Errorf("the %s holds %s", where, name)
		return 1
	case bytes.Contains(text, []byte(tail)):
		t.Errorf("the %s holds the end of %s", where, name)
		return 1
	}
	return 0
}

// zipEntries returns the entries of a saved plan, a zip archive.
func zipEntries(t *testing.T, file string) map[string][]byte {
	t.Helper()
	zr, err := zip.OpenReader(file)
	if err != nil {
		t.Fatalf("opening the saved plan: %v", err)
	}
	defer zr.Close()
	entries := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		entries[f.Name] = b
	}
	return entries
}

// checkSensitiveOnly fails for every string in the JSON text that is one
// of tokens at a place sensitive does not accept, and counts those (bad)
// and the others (ok).
func checkSensitiveOnly(t *testing.T, where string, text []byte, tokens map[string]bool, sensitive func(root any, path []any) bool) (bad, ok int) {
	t.Helper()
	var root any
	if err := json.Unmarshal(text, &root); err != nil {
		t.Errorf("the %s is not JSON: %v", where, err)
		return 0, 0
	}
	var walk func(v any, path []any)
	walk = func(v any, path []any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				walk(e, append(slices.Clone(path), k))
			}
		case []any:
			for i, e := range v {
				walk(e, append(slices.Clone(path), i))
			}
		case string:
			switch {
			case !tokens[v]:
			case sensitive(root, path):
				ok++
			default:
				bad++
				t.Errorf("the %s holds a refresh token at %s, which is not a sensitive point_refresh_token.token", where, jsonPathString(path))
			}
		}
	}
	walk(root, nil)
	return bad, ok
}

// jsonPathString writes a path into a JSON value, such as .a[0].b.
func jsonPathString(path []any) string {
	var b strings.Builder
	for _, p := range path {
		switch p := p.(type) {
		case int:
			b.WriteString("[" + strconv.Itoa(p) + "]")
		default:
			b.WriteString("." + fmt.Sprint(p))
		}
	}
	return b.String()
}

// jsonAt returns the value at path in a JSON value, or nil.
func jsonAt(root any, path []any) any {
	v := root
	for _, p := range path {
		switch p := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[p]
		case int:
			s, ok := v.([]any)
			if !ok || p >= len(s) {
				return nil
			}
			v = s[p]
		}
	}
	return v
}
