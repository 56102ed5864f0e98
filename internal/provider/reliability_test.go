package provider

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// TestAccReliability_faults applies 50 users with refresh tokens and an
// access token while the sandbox answers 30% of requests with 503, rate
// limits every 9th with 429 and Retry-After: 1, and adds latency; the apply
// converges, the next plan, faults still on, is empty, and the destroy under
// the same faults revokes every token.
func TestAccReliability_faults(t *testing.T) {
	const users = 50
	env := acctest.NewEnv(t, sandbox.Options{})
	env.RequireSandbox()
	// The client does not retry a 503 on issue access token, since the request
	// may have issued a token (internal/point/CONTRACT.md); so that the one
	// access token can open under a 30% share of 503s, the front repeats that
	// request while the sandbox answers it with an injected 503, which it sends
	// before doing anything (its words for it depend on its dialect). The
	// front counts the answers it passes on by status and route.
	var mu sync.Mutex
	answers, shielded := map[[2]any]int{}, 0
	endpoint := acctest.StartFront(t, env, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec, route := httptest.NewRecorder(), sandbox.RouteOf(r)
		next.ServeHTTP(rec, r)
		for route == sandbox.RouteIssueAccessToken && rec.Code == http.StatusServiceUnavailable && r.Context().Err() == nil {
			mu.Lock()
			shielded++
			mu.Unlock()
			rec = httptest.NewRecorder()
			next.ServeHTTP(rec, r)
		}
		mu.Lock()
		answers[[2]any{route, rec.Code}]++
		mu.Unlock()
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
	// count returns the answers with status (any when 0) on route (any when "").
	count := func(route string, status int) (n int) {
		mu.Lock()
		defer mu.Unlock()
		for key, c := range answers {
			if (route == "" || key[0] == route) && (status == 0 || key[1] == status) {
				n += c
			}
		}
		return n
	}
	env.Sandbox.SetFaults(sandbox.Faults{FailureRate: 0.3, RateLimitEvery: 9, RetryAfter: "1", Latency: 2 * time.Millisecond, Seed: 1})

	ids := make([]string, users)
	for i := range ids {
		ids[i] = fmt.Sprintf("rel-%02d", i)
	}
	config := acctest.ProviderBlockFor(env, endpoint, 10) + fmt.Sprintf(`
resource "point_user" "u" {
  count   = %[1]d
  user_id = format("rel-%%02d", count.index)
}

resource "point_refresh_token" "u" {
  count   = %[1]d
  user_id = point_user.u[count.index].user_id
}

ephemeral "point_access_token" "first" {
  user_id       = point_refresh_token.u[0].user_id
  refresh_token = point_refresh_token.u[0].token
}

provider "echo" { data = ephemeral.point_access_token.first }
resource "echo" "token" {}
`, users)
	echoed := func(key string, check knownvalue.Check) statecheck.StateCheck {
		return statecheck.ExpectKnownValue("echo.token", tfjsonpath.New("data").AtMapKey(key), check)
	}
	// converged: Point holds exactly the users of the configuration, each with
	// the refresh token that state holds, and no other token is valid.
	converged := func(s *terraform.State) error {
		if got := env.Sandbox.UserIDs(); !slices.Equal(got, ids) {
			return fmt.Errorf("sandbox holds %d users %v, want exactly the %d of the configuration", len(got), got, users)
		}
		for i, id := range ids {
			rs, ok := s.RootModule().Resources[fmt.Sprintf("point_refresh_token.u.%d", i)]
			if !ok {
				return fmt.Errorf("point_refresh_token.u[%d] not in state", i)
			}
			if current := env.CurrentRefreshToken(id); current == "" || current != rs.Primary.Attributes["token"] {
				return fmt.Errorf("Point's current refresh token for %q is not the one in state", id)
			}
		}
		if live := env.Sandbox.RefreshTokensIssued() - env.Sandbox.RefreshTokensRevoked(); live != users {
			return fmt.Errorf("%d refresh tokens issued and not revoked, want %d: one per user", live, users)
		}
		return nil
	}

	start := time.Now()
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		TerraformVersionChecks:   acctest.EphemeralVersionChecks,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					echoed("user_id", knownvalue.StringExact(ids[0])),
					echoed("token", knownvalue.StringRegexp(acctest.JwtShape)),
					echoed("expires_in", knownvalue.Int64Exact(86400)),
				},
				Check: converged,
			},
			{
				Config:           config,
				ConfigPlanChecks: preApply(plancheck.ExpectEmptyPlan()),
				Check: func(s *terraform.State) error {
					if n := env.Sandbox.RequestCounts()[sandbox.RouteCreateUser]; n < users {
						return fmt.Errorf("sandbox saw %d user creations, want at least %d", n, users)
					}
					return converged(s)
				},
			},
		},
		CheckDestroy: func(*terraform.State) error {
			for _, id := range ids {
				if !env.Sandbox.HasUser(id) {
					return fmt.Errorf("user %q gone from Point", id)
				}
			}
			return acctest.NoCurrentRefreshToken(env, ids...)(nil)
		},
	})

	injected503, injected429 := count("", http.StatusServiceUnavailable), count("", http.StatusTooManyRequests)
	if injected503 == 0 || injected429 == 0 {
		t.Errorf("faults were not injected: %d answers 503, %d answers 429", injected503, injected429)
	}
	if n := count(sandbox.RouteCreateUser, http.StatusConflict); n != 0 {
		t.Errorf("%d user creations met 409", n)
	}
	t.Logf("faults: %d answers to the provider in %s (%d requests at the sandbox); %d were 503 and %d were 429, all survived; "+
		"%d more 503s on issue access token shielded; %d access tokens issued", count("", 0),
		time.Since(start).Round(time.Millisecond), env.Sandbox.Requests(),
		injected503, injected429, shielded, len(env.Sandbox.AccessTokens()))
}
