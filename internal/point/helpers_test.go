package point_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/areyoupoint/terraform-provider-point/internal/point"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// startSandbox serves a fresh sandbox on loopback for the test.
func startSandbox(t testing.TB, opts sandbox.Options) (*sandbox.Server, string) {
	t.Helper()
	s := sandbox.New(opts)
	url, closeFn := s.Start()
	t.Cleanup(closeFn)
	return s, url
}

// fastConfig keeps retry waits in milliseconds; tweaks adjust it further.
func fastConfig(baseURL, apiKey string, tweaks ...func(*point.Config)) point.Config {
	cfg := point.Config{
		BaseURL:        baseURL,
		APIKey:         apiKey,
		UserAgent:      "point-client-test",
		RequestTimeout: 5 * time.Second,
		MaxRetries:     3,
		RetryWaitMin:   time.Millisecond,
		RetryWaitMax:   5 * time.Millisecond,
		RetryAfterMax:  2 * time.Second,
	}
	for _, tweak := range tweaks {
		tweak(&cfg)
	}
	return cfg
}

func newClient(t testing.TB, baseURL, apiKey string, tweaks ...func(*point.Config)) *point.Client {
	t.Helper()
	return point.New(fastConfig(baseURL, apiKey, tweaks...))
}

func withMaxRetries(n int) func(*point.Config) {
	return func(c *point.Config) { c.MaxRetries = n }
}

// recordedRequest is what a recorder saw of one request.
type recordedRequest struct {
	Method        string
	EscapedPath   string
	RequestURI    string
	Authorization string
}

// step handles one request of a script; next is the handler behind the
// recorder (the sandbox, usually).
type step func(w http.ResponseWriter, r *http.Request, next http.Handler)

// recorder is an HTTP server that records every request and then answers
// with the next step of its script, or with next once the script is used up.
type recorder struct {
	URL  string
	next http.Handler

	mu     sync.Mutex
	reqs   []recordedRequest
	script []step
}

func newRecorder(t testing.TB, next http.Handler, script ...step) *recorder {
	t.Helper()
	rec := &recorder{next: next, script: script}
	ts := httptest.NewServer(rec)
	t.Cleanup(ts.Close)
	rec.URL = ts.URL
	return rec
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, recordedRequest{
		Method:        r.Method,
		EscapedPath:   r.URL.EscapedPath(),
		RequestURI:    r.RequestURI,
		Authorization: r.Header.Get("Authorization"),
	})
	var s step
	if len(rec.script) > 0 {
		s, rec.script = rec.script[0], rec.script[1:]
	}
	rec.mu.Unlock()
	if s == nil {
		if rec.next == nil {
			http.Error(w, "no handler", http.StatusTeapot)
			return
		}
		rec.next.ServeHTTP(w, r)
		return
	}
	s(w, r, rec.next)
}

func (rec *recorder) requests() []recordedRequest {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]recordedRequest(nil), rec.reqs...)
}

// count returns how many recorded requests had the method and a path
// ending with suffix.
func (rec *recorder) count(method, suffix string) int {
	n := 0
	for _, r := range rec.requests() {
		if r.Method == method && strings.HasSuffix(r.EscapedPath, suffix) {
			n++
		}
	}
	return n
}

// respond answers with a fixed status, headers and body.
func respond(status int, body string, header ...string) step {
	return func(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// applyThenRespond lets next act on the request but replaces its answer,
// as when a proxy loses Point's response.
func applyThenRespond(status int, body string) step {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		next.ServeHTTP(httptest.NewRecorder(), r)
		respond(status, body, "Content-Type", "application/json")(w, r, next)
	}
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
	hijackAndClose(w)
}

// applyThenHangUp lets next act on the request, then closes the connection
// without an answer.
func applyThenHangUp(w http.ResponseWriter, r *http.Request, next http.Handler) {
	next.ServeHTTP(httptest.NewRecorder(), r)
	hijackAndClose(w)
}

func hijackAndClose(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	// A zero linger makes Close send a reset rather than an orderly shutdown.
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

func ptr[T any](v T) *T { return &v }
