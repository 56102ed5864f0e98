package sandbox

import (
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
	// Latency is added before answering every API request.
	Latency time.Duration
	// Seed seeds the failure-rate RNG; deterministic when non-zero.
	Seed int64
}

type faultInjector struct {
	mu  sync.Mutex
	f   Faults
	rng *rand.Rand
	// n counts API requests since the last SetFaults, for RateLimitEvery.
	n int
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
	latency    time.Duration
	status     int // 0 to pass the request on
	retryAfter string
}

// decide picks the fate of one request up front, so that the Nth request is
// the Nth to arrive rather than the Nth to finish its latency.
func (fi *faultInjector) decide() verdict {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	f := fi.f
	v := verdict{latency: f.Latency}
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

// apply injects the configured faults and reports whether the request should
// go on to be handled.
func (fi *faultInjector) apply(w http.ResponseWriter, r *http.Request) bool {
	v := fi.decide()
	if v.latency > 0 {
		t := time.NewTimer(v.latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return false
		}
	}
	switch v.status {
	case http.StatusServiceUnavailable:
		writeError(w, v.status, "unavailable", "service temporarily unavailable (injected)")
		return false
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", v.retryAfter)
		writeError(w, v.status, "rate_limited", "too many requests (injected)")
		return false
	}
	return true
}
