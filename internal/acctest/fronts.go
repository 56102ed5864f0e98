package acctest

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// StartFront serves handle before Point and returns its base URL.
func StartFront(t *testing.T, env *Env, handle func(w http.ResponseWriter, r *http.Request, next http.Handler)) string {
	t.Helper()
	next := env.Upstream()
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handle(w, r, next) }))
	t.Cleanup(server.Close)
	return server.URL
}

// UserIDOfPath returns the user id of a path under /organizations/users/, or "".
func UserIDOfPath(path string) string {
	rest, ok := strings.CutPrefix(path, "/organizations/users/")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "/")
	return id
}

// Revocations counts, at a front before Point, the refresh token revocations of each user.
type Revocations struct {
	mu         sync.Mutex
	presenting map[string]int
	all        map[string]int
}

// StartRevocationCounter serves a front that counts revocations by user, and returns its base URL.
func StartRevocationCounter(t *testing.T, env *Env) (string, *Revocations) {
	t.Helper()
	c := &Revocations{presenting: map[string]int{}, all: map[string]int{}}
	url := StartFront(t, env, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if sandbox.RouteOf(r) == sandbox.RouteRevokeRefreshToken {
			userID := UserIDOfPath(r.URL.Path)
			c.mu.Lock()
			c.all[userID]++
			if r.Header.Get("Authorization") != "" {
				c.presenting[userID]++
			}
			c.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
	return url, c
}

// Presenting counts the revocations of userID's token (or every user's) that presented a credential.
func (c *Revocations) Presenting(userID ...string) int { return c.count(c.presenting, userID) }

// All adds to Presenting the retries without a credential that tell whether a 404 is Point's own.
func (c *Revocations) All(userID ...string) int { return c.count(c.all, userID) }

func (c *Revocations) count(counts map[string]int, userIDs []string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(userIDs) == 0 {
		userIDs = slices.Collect(maps.Keys(counts))
	}
	n := 0
	for _, id := range userIDs {
		n += counts[id]
	}
	return n
}

// RouteFront passes requests to Point, except those on its route while On, which answer handles.
type RouteFront struct {
	next     http.Handler
	route    string
	answer   func(w http.ResponseWriter, r *http.Request, next http.Handler)
	On       atomic.Bool  // turns answer on for the route
	Requests atomic.Int64 // every request the front saw, on any route

	mu   sync.Mutex
	hits []time.Time
}

// NewRouteFront returns a front, off, that answers route with answer while it is on.
func NewRouteFront(next http.Handler, route string, answer func(w http.ResponseWriter, r *http.Request, next http.Handler)) *RouteFront {
	return &RouteFront{next: next, route: route, answer: answer}
}

// Hits returns when answer handled a request.
func (f *RouteFront) Hits() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.hits)
}

func (f *RouteFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.Requests.Add(1)
	if f.On.Load() && f.answer != nil && sandbox.RouteOf(r) == f.route {
		f.mu.Lock()
		f.hits = append(f.hits, time.Now())
		f.mu.Unlock()
		f.answer(w, r, f.next)
		return
	}
	f.next.ServeHTTP(w, r)
}

// AnswerRaw is an answer for a front: status and body, of contentType unless that is "".
func AnswerRaw(status int, contentType, body string) func(http.ResponseWriter, *http.Request, http.Handler) {
	return func(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// AnswerJSON is an answer for a front: status and a JSON body.
func AnswerJSON(status int, body string) func(http.ResponseWriter, *http.Request, http.Handler) {
	return AnswerRaw(status, "application/json", body)
}

// CountingFront counts answers by route, user and status. It can fail a share of requests with 503, as the
// sandbox's FailureRate does, and make users vanish: unknown to reads, new to their registration.
type CountingFront struct {
	next http.Handler

	mu       sync.Mutex
	rng      *rand.Rand
	failRate float64
	vanished map[string]bool
	answers  map[countedAnswer]int
	Injected atomic.Int64
}

type countedAnswer struct {
	route, userID string
	Status        int
}

func NewCountingFront(t *testing.T, env *Env) (*CountingFront, string) {
	t.Helper()
	f := &CountingFront{next: env.Upstream(), rng: rand.New(rand.NewPCG(1, 2)), vanished: map[string]bool{}, answers: map[countedAnswer]int{}}
	server := httptest.NewServer(f)
	t.Cleanup(server.Close)
	return f, server.URL
}

func (f *CountingFront) SetFailRate(rate float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failRate = rate
}

func (f *CountingFront) Vanish(ids ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		f.vanished[id] = true
	}
}

func (f *CountingFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route := sandbox.RouteOf(r)
	userID := UserIDOfPath(r.URL.Path)
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
		f.Injected.Add(1)
		AnswerJSON(http.StatusServiceUnavailable, `{"error":"unavailable","message":"service temporarily unavailable (injected by the test)"}`)(rec, r, nil)
	case vanished && route == sandbox.RouteGetUser:
		// Point's own 404, in its own words: the same read for an id no test registers.
		ghost := r.Clone(r.Context())
		ghost.URL.Path = "/organizations/users/" + userID + "-vanished"
		ghost.URL.RawPath = ""
		f.next.ServeHTTP(rec, ghost)
	case vanished && route == sandbox.RouteCreateUser:
		body, _ := json.Marshal(map[string]any{"user": map[string]any{"id": userID, "refreshToken": nil}})
		AnswerJSON(http.StatusOK, string(body))(rec, r, nil)
	default:
		f.next.ServeHTTP(rec, r)
	}
	f.mu.Lock()
	f.answers[countedAnswer{route, userID, rec.Code}]++
	f.mu.Unlock()
	replay(w, rec)
}

func replay(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	maps.Copy(w.Header(), rec.Header())
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// Count counts the answers on route for userID (any when "") with status, 200 standing for any 2xx.
func (f *CountingFront) Count(route, userID string, status int) int {
	return f.sum(func(a countedAnswer) bool {
		return a.route == route && (userID == "" || a.userID == userID) &&
			(a.Status == status || (status == http.StatusOK && a.Status >= 200 && a.Status < 300))
	})
}

// Answered counts the answers on route for userID, whatever their status.
func (f *CountingFront) Answered(route, userID string) int {
	return f.sum(func(a countedAnswer) bool { return a.route == route && a.userID == userID })
}

func (f *CountingFront) sum(match func(countedAnswer) bool) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for a, c := range f.answers {
		if match(a) {
			n += c
		}
	}
	return n
}

// Reset forgets the answers counted so far.
func (f *CountingFront) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.answers)
}

// Expect checks that route succeeded exactly want times for each of ids, and never for another user.
func (f *CountingFront) Expect(route string, ids []string, want int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	got := map[string]int{}
	for a, c := range f.answers {
		if a.route == route && a.Status >= 200 && a.Status < 300 {
			got[a.userID] += c
		}
	}
	for id, n := range got {
		if !slices.Contains(ids, id) && n > 0 {
			return fmt.Errorf("%s succeeded %d times for %q, which it should not have touched", route, n, id)
		}
	}
	for _, id := range ids {
		if got[id] != want {
			return fmt.Errorf("%s succeeded %d times for %q, want %d", route, got[id], id, want)
		}
	}
	return nil
}

// RecordingFront records every credential Point issues, for leak scans to seek even those it no longer holds.
type RecordingFront struct {
	next http.Handler

	mu      sync.Mutex
	refresh map[string]bool
	access  map[string]bool
	failOn  string // a sandbox route, or ""
	failed  int
}

func NewRecordingFront(next http.Handler) *RecordingFront {
	return &RecordingFront{next: next, refresh: map[string]bool{}, access: map[string]bool{}}
}

// Failed counts the requests the front failed on the route FailRoute set.
func (f *RecordingFront) Failed() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

func (f *RecordingFront) FailRoute(route string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failOn = route
}

func (f *RecordingFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	replay(w, rec)
}

func (f *RecordingFront) Tokens() (refresh, access []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Collect(maps.Keys(f.refresh)), slices.Collect(maps.Keys(f.access))
}

// echoCredential echoes the credential in a 500: JSON to reads, HTML otherwise, to test both client paths.
func echoCredential(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	credential := strings.TrimPrefix(auth, "Bearer ")
	text := fmt.Sprintf("upstream refused %s %s with Authorization: %s (credential=%s)", r.Method, r.URL.Path, auth, credential)
	if r.Method == http.MethodGet {
		b, _ := json.Marshal(map[string]string{"error": "internal " + credential, "message": text})
		AnswerJSON(http.StatusInternalServerError, string(b))(w, r, nil)
		return
	}
	html := fmt.Sprintf("<html><body><h1>500 Internal Server Error</h1><p>%s</p></body></html>", text)
	AnswerRaw(http.StatusInternalServerError, "text/html", html)(w, r, nil)
}

// DelayingFront delays answers, so that an interrupt can lose the answer to a request that took effect.
type DelayingFront struct {
	next  http.Handler
	Delay atomic.Int64 // nanoseconds every answer is held back

	mu   sync.Mutex
	lost map[string]int // route -> answers the client gave up on
}

// StartSlowSandbox serves env's sandbox, with 200ms of latency, behind a DelayingFront that holds every
// answer back 100ms more, so that an interrupt lands while requests are in flight; it returns the front
// and its URL.
func StartSlowSandbox(t *testing.T, env *Env) (*DelayingFront, string) {
	t.Helper()
	env.RequireSandbox()
	front := &DelayingFront{next: env.Sandbox, lost: map[string]int{}}
	front.Delay.Store(int64(100 * time.Millisecond))
	server := httptest.NewServer(front)
	t.Cleanup(server.Close)
	env.Sandbox.SetFaults(sandbox.Faults{Latency: 200 * time.Millisecond})
	return front, server.URL
}

// TakeLost returns, by route, the successful answers whose client gave up on them since the last call.
func (f *DelayingFront) TakeLost() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	lost := f.lost
	f.lost = map[string]int{}
	return lost
}

func (f *DelayingFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	f.next.ServeHTTP(rec, r)
	// The sandbox drops a request whose client left during its latency, before acting on it.
	acted := r.Context().Err() == nil
	if d := time.Duration(f.Delay.Load()); d > 0 {
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
	replay(w, rec)
}
