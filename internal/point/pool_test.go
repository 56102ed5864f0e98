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

// TestConcurrent_maxConcurrency runs point.MaxConcurrency workers at once,
// as a bulk resource at its highest max_concurrency does: each dials one
// connection and then reuses it, rather than the pool closing connections
// beyond Terraform's parallelism and opening new ones per request.
func TestConcurrent_maxConcurrency(t *testing.T) {
	s, url := startSandbox(t, sandbox.Options{})
	c := newClient(t, url, s.APIKey())
	ctx := context.Background()
	const perWorker = 20

	// Creates held in flight together, so that each dials its own
	// connection.
	s.SetFaults(sandbox.Faults{Latency: 100 * time.Millisecond})
	var wg sync.WaitGroup
	errs := make(chan error, point.MaxConcurrency*(perWorker+1))
	for w := range point.MaxConcurrency {
		wg.Go(func() {
			if _, err := c.CreateUser(ctx, fmt.Sprintf("pool-%02d", w)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	s.SetFaults(sandbox.Faults{})
	warm := s.Connections()

	for w := range point.MaxConcurrency {
		wg.Go(func() {
			for range perWorker {
				if _, err := c.GetUser(ctx, fmt.Sprintf("pool-%02d", w)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d connections after warm-up, %d in all, for %d requests", warm, s.Connections(), s.Requests())
	if warm > point.MaxConcurrency {
		t.Errorf("warm-up opened %d connections for %d concurrent requests", warm, point.MaxConcurrency)
	}
	// A few may be redialled on a loaded machine (see TestConcurrent).
	if n := s.Connections() - warm; n > point.MaxConcurrency/10 {
		t.Errorf("%d new connections after warm-up for %d requests from %d workers: idle connections were closed instead of reused",
			n, point.MaxConcurrency*perWorker, point.MaxConcurrency)
	}
}
