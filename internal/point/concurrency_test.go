package point_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/areyoupoint/terraform-provider-point/internal/point"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

const (
	workers    = 10 // Terraform's default parallelism
	iterations = 40
)

// TestConcurrent runs one client from ten goroutines, as a provider does
// under terraform apply, and checks both the outcome and that connections
// were reused rather than opened per request.
func TestConcurrent(t *testing.T) {
	s, url := startSandbox(t, sandbox.Options{})
	c := newClient(t, url, s.APIKey())
	ctx := context.Background()

	// Warm-up: ten creates held in flight together, so that each dials its
	// own connection. Without the latency, a create that finishes early lets
	// a waiting one take its connection while the dial started for the
	// waiting one completes anyway, and the pool counts a spare.
	s.SetFaults(sandbox.Faults{Latency: 50 * time.Millisecond})
	var wg sync.WaitGroup
	errs := make(chan error, workers*iterations)
	last := make([]string, workers)
	for w := range workers {
		wg.Go(func() {
			u, err := c.CreateUser(ctx, fmt.Sprintf("user-%d", w))
			if err != nil {
				errs <- err
				return
			}
			last[w] = u.CurrentRefreshToken()
		})
	}
	wg.Wait()
	s.SetFaults(sandbox.Faults{})
	warm := s.Connections()

	for w := range workers {
		wg.Go(func() {
			id := fmt.Sprintf("user-%d", w)
			refresh := last[w]
			for i := range iterations {
				// Every worker races to create the same shared user.
				if _, err := c.CreateUser(ctx, "shared"); err != nil && !point.IsConflict(err) {
					errs <- fmt.Errorf("create shared: %w", err)
				}
				got, err := c.GetUser(ctx, id)
				if err != nil {
					errs <- fmt.Errorf("get %s (iteration %d): %w", id, i, err)
					return
				}
				if got.CurrentRefreshToken() != refresh {
					errs <- fmt.Errorf("get %s (iteration %d): refresh token %q, want %q", id, i, got.CurrentRefreshToken(), refresh)
					return
				}
				tok, err := c.IssueAccessToken(ctx, id, refresh)
				if err != nil {
					errs <- fmt.Errorf("issue access token: %w", err)
					return
				}
				if err := c.RevokeAccessToken(ctx, id, tok.Token); err != nil {
					errs <- fmt.Errorf("revoke access token: %w", err)
				}
				if i%10 == 9 {
					if refresh, err = c.IssueRefreshToken(ctx, id); err != nil {
						errs <- fmt.Errorf("issue refresh token: %w", err)
						return
					}
				}
			}
			last[w] = refresh
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	for w := range workers {
		if cur, _ := s.CurrentRefreshToken(fmt.Sprintf("user-%d", w)); cur != last[w] {
			t.Errorf("user-%d: sandbox refresh token %q, last issued %q", w, cur, last[w])
		}
	}
	tokens := s.AccessTokens()
	if len(tokens) != workers*iterations {
		t.Errorf("sandbox issued %d access tokens, want %d", len(tokens), workers*iterations)
	}
	for _, tok := range tokens {
		if !tok.Revoked {
			t.Errorf("access token of %s was not revoked", tok.UserID)
		}
	}
	perWorker := iterations / 10
	wantCounts(t, s, map[string]int{
		sandbox.RouteCreateUser:        workers * (iterations + 1),
		sandbox.RouteGetUser:           workers * iterations,
		sandbox.RouteIssueAccessToken:  workers * iterations,
		sandbox.RouteRevokeAccessToken: workers * iterations,
		sandbox.RouteIssueRefreshToken: workers * perWorker,
	})
	t.Logf("%d connections after warm-up, %d in all, for %d requests", warm, s.Connections(), s.Requests())
	if warm != workers {
		t.Errorf("warm-up opened %d connections for %d concurrent requests", warm, workers)
	}
	// Ten busy workers reuse the ten pooled connections. net/http drops a
	// connection whose request write it cannot confirm within 50ms, which
	// can happen on a loaded machine, hence the slack.
	if n := s.Connections() - warm; n > 2 {
		t.Errorf("%d new connections after warm-up for %d requests, want at most 2: connections are not reused", n, s.Requests())
	}
}

// TestConcurrent_faults mixes 503s and 429s into concurrent reads: every
// call still succeeds through retries, and retries reuse connections.
func TestConcurrent_faults(t *testing.T) {
	s, url := startSandbox(t, sandbox.Options{})
	for w := range workers {
		s.AddUser(fmt.Sprintf("user-%d", w))
	}
	c := newClient(t, url, s.APIKey(), withMaxRetries(20))

	s.SetFaults(sandbox.Faults{Latency: 50 * time.Millisecond})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { _, _ = c.GetUser(context.Background(), fmt.Sprintf("user-%d", w)) })
	}
	wg.Wait()
	warm := s.Connections()
	s.SetFaults(sandbox.Faults{FailureRate: 0.2, RateLimitEvery: 7, RetryAfter: "0", Seed: 42})
	var mu sync.Mutex
	var failed []error
	for w := range workers {
		wg.Go(func() {
			id := fmt.Sprintf("user-%d", w)
			for range iterations {
				if _, err := c.GetUser(context.Background(), id); err != nil {
					mu.Lock()
					failed = append(failed, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for _, err := range failed {
		t.Error(err)
	}
	calls := workers * (iterations + 1)
	t.Logf("%d connections after warm-up, %d in all, for %d requests", warm, s.Connections(), s.Requests())
	if n := s.Requests(); n <= calls {
		t.Errorf("%d requests for %d calls: no faults were injected", n, calls)
	}
	if n := s.Connections() - warm; n > 2 {
		t.Errorf("%d new connections after warm-up, want at most 2", n)
	}
}
