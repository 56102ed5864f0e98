package sandbox

import (
	"bytes"
	"maps"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Faults describes injected failures. The zero value injects none.
type Faults struct {
	// FailureRate is the share (0..1) of API requests answered 503 before
	// doing anything.
	FailureRate float64
	// RateLimitEvery, when > 0, answers every Nth API request with 429.
	RateLimitEvery int
	// RetryAfter is the Retry-After header on 429; "1" when empty.
	RetryAfter string
	// Latency is added before handling every API request; a client that
	// gives up meanwhile leaves nothing done.
	Latency time.Duration
	// AnswerDelay is added after handling every API request and before its
	// answer is sent, as when Point is slow to answer: a client that gives
	// up meanwhile leaves the request applied.
	AnswerDelay time.Duration
	// Seed seeds the failure-rate RNG; deterministic when non-zero.
	Seed int64
}

type faultInjector struct {
	mu  sync.Mutex
	f   Faults
	rng *rand.Rand
	// n counts API requests since the last SetFaults, for RateLimitEvery.
	n int
	// writeError answers an injected failure in the server's dialect.
	writeError func(w http.ResponseWriter, r *http.Request, status int, p problem, detail string)
}

// SetFaults replaces the fault configuration. It restarts the RateLimitEvery
// count and reseeds the RNG, so a given Seed yields the same sequence.
func (s *Server) SetFaults(f Faults) { s.faults.set(f) }

func (fi *faultInjector) set(f Faults) {
	if f.RetryAfter == "" {
		f.RetryAfter = "1"
	}
	seed := uint64(f.Seed)
	if seed == 0 {
		seed = rand.Uint64()
	}
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.f = f
	fi.rng = rand.New(rand.NewPCG(seed, seed))
	fi.n = 0
}

type verdict struct {
	latency     time.Duration
	answerDelay time.Duration
	status      int // 0 to pass the request on
	retryAfter  string
}

// decide picks the fate of one request up front, so that the Nth request is
// the Nth to arrive rather than the Nth to finish its latency.
func (fi *faultInjector) decide() verdict {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	f := fi.f
	v := verdict{latency: f.Latency, answerDelay: f.AnswerDelay}
	rateLimited := false
	if f.RateLimitEvery > 0 {
		fi.n++
		rateLimited = fi.n%f.RateLimitEvery == 0
	}
	switch {
	case f.FailureRate > 0 && (f.FailureRate >= 1 || fi.rng.Float64() < f.FailureRate):
		v.status = http.StatusServiceUnavailable
	case rateLimited:
		v.status = http.StatusTooManyRequests
		v.retryAfter = f.RetryAfter
	}
	return v
}

// serve runs handle behind the configured faults.
func (fi *faultInjector) serve(w http.ResponseWriter, r *http.Request, handle func(http.ResponseWriter)) {
	v := fi.decide()
	if !wait(r, v.latency) {
		return
	}
	switch v.status {
	case http.StatusServiceUnavailable:
		fi.writeError(w, r, v.status, problemUnavailable, "")
		return
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", v.retryAfter)
		fi.writeError(w, r, v.status, problemRateLimited, "")
		return
	}
	if v.answerDelay <= 0 {
		handle(w)
		return
	}
	held := &heldAnswer{header: http.Header{}, status: http.StatusOK}
	handle(held)
	if !wait(r, v.answerDelay) {
		return
	}
	maps.Copy(w.Header(), held.header)
	w.WriteHeader(held.status)
	_, _ = w.Write(held.body.Bytes())
}

// wait sleeps for d and reports false when the client went away first.
func wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// heldAnswer keeps an answer until AnswerDelay has passed.
type heldAnswer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (h *heldAnswer) Header() http.Header         { return h.header }
func (h *heldAnswer) WriteHeader(status int)      { h.status = status }
func (h *heldAnswer) Write(p []byte) (int, error) { return h.body.Write(p) }
