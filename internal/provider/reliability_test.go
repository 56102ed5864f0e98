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

// reliabilityFront counts the sandbox's answers by route and status.
//
// The client does not retry a 503 on issue access token, since the request
// may have issued a token (internal/point/CONTRACT.md); so that the one
// access token of the test can open under a 30% share of 503s, the front
// repeats that request while the sandbox answers it with an injected 503,
// which it sends before doing anything. (The sandbox answers 503 only when
// injecting it, and its words for it depend on its dialect.) Such 503s are
// counted as shielded, not as seen.
type reliabilityFront struct {
	mu       sync.Mutex
	answers  map[reliabilityAnswer]int
	shielded int
}

type reliabilityAnswer struct {
	route  string
	status int
}

func (f *reliabilityFront) handle(w http.ResponseWriter, r *http.Request, next http.Handler) {
	route := sandbox.RouteOf(r)
	rec, shielded := httptest.NewRecorder(), 0
	next.ServeHTTP(rec, r)
	for route == sandbox.RouteIssueAccessToken && rec.Code == http.StatusServiceUnavailable && r.Context().Err() == nil {
		shielded++
		rec = httptest.NewRecorder()
		next.ServeHTTP(rec, r)
	}
	f.mu.Lock()
	f.shielded += shielded
	f.answers[reliabilityAnswer{route, rec.Code}]++
	f.mu.Unlock()
	maps.Copy(w.Header(), rec.Header())
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// count returns the answers with status (any when 0) on route (any when "").
func (f *reliabilityFront) count(route string, status int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for key, c := range f.answers {
		if (route == "" || key.route == route) && (status == 0 || key.status == status) {
			n += c
		}
	}
	return n
}

const reliabilityUsers = 50

func reliabilityUserID(i int) string { return fmt.Sprintf("rel-%02d", i) }

// reliabilityCheckConverged checks that Point holds exactly the users of the
// configuration, each with the refresh token that state holds.
func reliabilityCheckConverged(env *acctest.Env) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		var want []string
		for i := range reliabilityUsers {
			want = append(want, reliabilityUserID(i))
		}
		if got := env.Sandbox.UserIDs(); !slices.Equal(got, want) {
			return fmt.Errorf("sandbox holds %d users %v, want exactly the %d of the configuration", len(got), got, len(want))
		}
		for i, id := range want {
			rs, ok := s.RootModule().Resources[fmt.Sprintf("point_refresh_token.u.%d", i)]
			if !ok {
				return fmt.Errorf("point_refresh_token.u[%d] not in state", i)
			}
			if current := env.CurrentRefreshToken(id); current == "" || current != rs.Primary.Attributes["token"] {
				return fmt.Errorf("Point's current refresh token for %q is not the one in state", id)
			}
		}
		if live := env.Sandbox.RefreshTokensIssued() - env.Sandbox.RefreshTokensRevoked(); live != reliabilityUsers {
			return fmt.Errorf("%d refresh tokens issued and not revoked, want %d: one per user", live, reliabilityUsers)
		}
		return nil
	}
}

// TestAccReliability_faults applies 50 users with refresh tokens and an
// access token while the sandbox answers 30% of requests with 503, rate
// limits every 9th with 429 and Retry-After: 1, and adds latency; the apply
// converges and the next plan, faults still on, is empty.
func TestAccReliability_faults(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	env.RequireSandbox()
	front := &reliabilityFront{answers: map[reliabilityAnswer]int{}}
	endpoint := acctest.StartFront(t, env, front.handle)
	env.Sandbox.SetFaults(sandbox.Faults{FailureRate: 0.3, RateLimitEvery: 9, RetryAfter: "1", Latency: 2 * time.Millisecond, Seed: 1})

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

provider "echo" {
  data = ephemeral.point_access_token.first
}

resource "echo" "token" {}
`, reliabilityUsers)
	echoed := func(key string, check knownvalue.Check) statecheck.StateCheck {
		return statecheck.ExpectKnownValue("echo.token", tfjsonpath.New("data").AtMapKey(key), check)
	}

	start := time.Now()
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		TerraformVersionChecks:   acctest.EphemeralVersionChecks,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					echoed("user_id", knownvalue.StringExact(reliabilityUserID(0))),
					echoed("token", knownvalue.StringRegexp(acctest.JwtShape)),
					echoed("expires_in", knownvalue.Int64Exact(86400)),
				},
				Check: reliabilityCheckConverged(env),
			},
			{
				Config:           config,
				ConfigPlanChecks: preApply(plancheck.ExpectEmptyPlan()),
				Check: func(s *terraform.State) error {
					if n := env.Sandbox.RequestCounts()[sandbox.RouteCreateUser]; n < reliabilityUsers {
						return fmt.Errorf("sandbox saw %d user creations, want at least %d", n, reliabilityUsers)
					}
					return reliabilityCheckConverged(env)(s)
				},
			},
		},
		// Destroy runs under the same faults and must revoke every token.
		CheckDestroy: func(*terraform.State) error {
			for i := range reliabilityUsers {
				if id := reliabilityUserID(i); !env.Sandbox.HasUser(id) {
					return fmt.Errorf("user %q gone from Point", id)
				} else if env.CurrentRefreshToken(id) != "" {
					return fmt.Errorf("destroy left the refresh token of %q current", id)
				}
			}
			return nil
		},
	})

	injected503, injected429 := front.count("", http.StatusServiceUnavailable), front.count("", http.StatusTooManyRequests)
	if injected503 == 0 || injected429 == 0 {
		t.Errorf("faults were not injected: %d answers 503, %d answers 429", injected503, injected429)
	}
	if n := front.count(sandbox.RouteCreateUser, http.StatusConflict); n != 0 {
		t.Errorf("%d user creations met 409", n)
	}
	t.Logf("faults: %d answers to the provider in %s (%d requests at the sandbox); %d were 503 and %d were 429, all survived; "+
		"%d more 503s on issue access token shielded; %d access tokens issued", front.count("", 0),
		time.Since(start).Round(time.Millisecond), env.Sandbox.Requests(), injected503, injected429, front.shielded,
		len(env.Sandbox.AccessTokens()))
}
