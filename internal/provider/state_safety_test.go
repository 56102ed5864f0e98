package provider

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// Regression tests for the ways state or credentials were lost outside the
// sandbox. The faults come from fronts of the tests' own (env.Upstream), so
// the tests run against real Point as well.

// stateSafetyUser is a point_user called name for userID.
func stateSafetyUser(name, userID string) string {
	return fmt.Sprintf("resource \"point_user\" %q {\n  user_id = %q\n}\n", name, userID)
}

// TestAccStateSafety_nothingLostOrRevoked: first, inputs that used to fail
// late or obscurely: an API key with a trailing newline in api_key (the
// other API keys are rows of TestAccBadInput_catalogue), and importing a
// refresh token or a user that does not exist, then one that does. Then a
// plan that would destroy or replace a PREVENT user fails at plan time, so
// the point_refresh_token that depends on it is not revoked first. An
// endpoint with a wrong path prefix (every route answers a JSON "no such
// route"), or a proxy whose every answer is an HTML 404, fails the run and
// leaves state, the user and its token as they were; so does a 404 from a
// proxy on the revocation, which would otherwise drop a valid token from
// state.
func TestAccStateSafety_nothingLostOrRevoked(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID, withToken, withoutToken := env.UserID("kept"), env.UserID("import-has-token"), env.UserID("import-no-token")
	missing := env.UserID("import-missing")
	env.AddUser(withToken)
	env.AddUser(withoutToken)
	env.RevokeRefreshToken(withoutToken)
	importToken := func(userID string) string {
		return env.ProviderBlock() + fmt.Sprintf("import {\n  to = point_refresh_token.test\n  id = %[1]q\n}\n"+
			"resource \"point_refresh_token\" \"test\" { user_id = %[1]q }\n", userID)
	}
	tokenImportFails := func(userID, why string) resource.TestStep {
		return resource.TestStep{Config: importToken(userID), ExpectError: acctest.DiagnosticMatching("Cannot Import Point Refresh Token",
			fmt.Sprintf("Cannot import the refresh token of Point user %q: %s", userID, why))}
	}
	config := func(endpoint, userID, deletionPolicy string) string {
		return acctest.ProviderBlockFor(env, endpoint, 1) + fmt.Sprintf(`resource "point_user" "test" {
  user_id         = %q
  deletion_policy = %q
}
resource "point_refresh_token" "test" { user_id = point_user.test.user_id }
`, userID, deletionPolicy)
	}
	htmlProxy := acctest.StartFront(t, env,
		acctest.AnswerRaw(http.StatusNotFound, "text/html", "<html><body><h1>404 Not Found</h1>no such user or route</body></html>"))
	refuseRevocation := acctest.NewRouteFront(env.Upstream(), sandbox.RouteRevokeRefreshToken,
		acctest.AnswerJSON(http.StatusNotFound, `{"error":"not_found","message":"no such route"}`))
	revocationProxy := httptest.NewServer(refuseRevocation)
	t.Cleanup(revocationProxy.Close)
	kept := statecheck.CompareValue(compare.ValuesSame())
	var token string
	stillCurrent := func() {
		if err := acctest.RefreshTokenUnchanged(env, userID, &token)(nil); err != nil {
			t.Fatal(err)
		}
	}
	wrongEndpoint := func(endpoint string) resource.TestStep {
		return resource.TestStep{
			PreConfig: stillCurrent,
			Config:    config(endpoint, userID, deletionAbandon),
			ExpectError: acctest.DiagnosticMatching("The 404 answer is not Point's own", "most likely came from something else at "+endpoint,
				"nothing was removed from state"),
		}
	}
	prevented := fmt.Sprintf(`Point user %q has deletion_policy = "PREVENT", and this plan`, userID)

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.RefreshTokenRefused(env, userID, &token),
		Steps: []resource.TestStep{
			{
				// Terraform shows this configuration's line, key and all, so the
				// catalogue, which fails on an error holding the key, cannot have it.
				Config: fmt.Sprintf("provider \"point\" {\n  endpoint = %q\n  api_key  = %q\n}\n", env.Endpoint, env.APIKey+"\n") +
					stateSafetyUser("test", missing),
				PlanOnly:    true,
				ExpectError: acctest.DiagnosticMatching("Invalid Point API Key", "api_key holds whitespace or a control character", "trimspace()"),
			},
			// Failed steps leave no state, so the import blocks meet none.
			tokenImportFails(withoutToken, "the user has no current refresh token"),
			tokenImportFails(missing, "Point has no user with this id"),
			{
				Config: env.ProviderBlock() + stateSafetyUser("test", missing) +
					fmt.Sprintf("import {\n  to = point_user.test\n  id = %q\n}\n", missing),
				ExpectError: acctest.DiagnosticMatching("Cannot Import Point User",
					fmt.Sprintf("Point has no user with id %q, so there is nothing to import.", missing)),
			},
			{
				// An import that finds the token adopts it, and later reads
				// of it are ordinary: the import mark is gone.
				PreConfig: func() {
					if env.HasUser(missing) {
						t.Fatalf("a failed import registered %q", missing)
					}
				},
				Config: importToken(withToken),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("issued_at"), knownvalue.Null()),
				},
			},
			{
				Config:            config(env.Endpoint, userID, deletionPrevent),
				Check:             acctest.CaptureStateToken(&token),
				ConfigStateChecks: []statecheck.StateCheck{kept.AddStateValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"))},
			},
			{
				Config:  config(env.Endpoint, userID, deletionPrevent),
				Destroy: true,
				ExpectError: acctest.DiagnosticMatching("Point User Deletion Prevented",
					prevented+" destroys it. The provider stopped the plan, so nothing was changed or revoked.",
					`first set deletion_policy to "ABANDON"`, "removed block"),
			},
			{
				PreConfig:   stillCurrent,
				Config:      config(env.Endpoint, userID+"-renamed", deletionPrevent),
				ExpectError: acctest.DiagnosticMatching("Point User Deletion Prevented", prevented+" replaces it (user_id changed)."),
			},
			{
				PreConfig:        stillCurrent,
				Config:           config(env.Endpoint, userID, deletionAbandon),
				ConfigPlanChecks: preApplyActions("point_user.test", plancheck.ResourceActionUpdate, acctest.RefreshTokenAddr, plancheck.ResourceActionNoop),
			},
			wrongEndpoint(env.Endpoint + "/no-such-prefix"),
			wrongEndpoint(htmlProxy),
			{
				PreConfig:   func() { stillCurrent(); refuseRevocation.On.Store(true) },
				Config:      config(revocationProxy.URL, userID, deletionAbandon),
				Destroy:     true,
				ExpectError: acctest.DiagnosticMatching("Error Revoking Point Refresh Token", "it stays in state", "The 404 answer is not Point's own"),
			},
			{
				PreConfig:         func() { stillCurrent(); refuseRevocation.On.Store(false) },
				Config:            config(revocationProxy.URL, userID, deletionAbandon),
				ConfigPlanChecks:  preApply(plancheck.ExpectEmptyPlan()),
				ConfigStateChecks: []statecheck.StateCheck{kept.AddStateValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"))},
			},
		},
	})
}

// TestAccStateSafety_accessTokenAfterRotation: in the API-key path, the
// refresh token read for an access token is replaced before it is used, as
// when a point_refresh_token rotates it in the same apply. The ephemeral
// resource reads the new one and tries once more. When the token read
// again is replaced too, the error says what happened and how to order the
// access token after a rotation in the same run.
func TestAccStateSafety_accessTokenAfterRotation(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("rotated-under")
	env.AddUser(userID)
	// rotatingFront replaces the token before every access token request
	// for which rotates says so, and counts the requests and rotations.
	rotatingFront := func(rotates func(request int32) bool) (url string, issues, rotations *atomic.Int32) {
		issues, rotations = new(atomic.Int32), new(atomic.Int32)
		return acctest.StartFront(t, env, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			if sandbox.RouteOf(r) == sandbox.RouteIssueAccessToken && rotates(issues.Add(1)) {
				rotations.Add(1)
				env.RotateRefreshToken(userID)
			}
			next.ServeHTTP(w, r)
		}), issues, rotations
	}
	alwaysRotating, issuesTwice, _ := rotatingFront(func(int32) bool { return true })
	// Every other request finds its token just replaced.
	everyOther, issues, rotations := rotatingFront(func(request int32) bool { return request%2 == 1 })
	config := func(endpoint string) string {
		return acctest.ProviderBlockFor(env, endpoint, 1) + fmt.Sprintf(`ephemeral "point_access_token" "test" { user_id = %q }
provider "echo" { data = ephemeral.point_access_token.test.expires_in }
resource "echo" "test" {}
`, userID)
	}

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{
			{
				Config: config(alwaysRotating),
				ExpectError: acctest.DiagnosticMatching("Point Refresh Token Not Accepted",
					fmt.Sprintf("Point refused the current refresh token of user %q twice", userID),
					"set user_id = point_refresh_token.<name>.id"),
			},
			{
				Config: config(everyOther),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("echo.test", tfjsonpath.New("data"), knownvalue.NotNull()),
				},
				Check: func(*terraform.State) error {
					if n := issuesTwice.Load(); n != 2 {
						return fmt.Errorf("sent %d access token requests to the always rotating front, want 2: the first and one more", n)
					}
					// Each opening (plan, then apply) took two requests.
					if r, i := rotations.Load(), issues.Load(); r < 1 || i != 2*r {
						return fmt.Errorf("%d access token requests for %d rotations, want two per rotation", i, r)
					}
					return nil
				},
			},
		},
	})
}

// TestAccStateSafety_warningsCLI: Point registers a user, but its answer
// is lost. When every attempt is slower than request_timeout, the look-up
// that follows has its own time budget, so the user goes into state rather
// than being left for the next apply to meet as "already exists". When a
// proxy answers the first create 503 and the retry meets 409, the user is
// adopted with the warning for a lost answer, never silently. Destroying an
// ABANDON user with its point_refresh_token revokes the token, and the
// warning must not claim that the token stays valid.
func TestAccStateSafety_warningsCLI(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	slow, retried, abandoned := env.UserID("slow-create"), env.UserID("retried-create"), env.UserID("abandoned")
	creates := map[string]*atomic.Int32{slow: new(atomic.Int32), retried: new(atomic.Int32)}
	front := acctest.StartFront(t, env, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		id, n := path.Base(r.URL.Path), int32(0)
		if c := creates[id]; c != nil && sandbox.RouteOf(r) == sandbox.RouteCreateUser {
			n = c.Add(1)
		}
		switch held := httptest.NewRecorder(); {
		case n > 0 && id == slow:
			next.ServeHTTP(held, r)
			select {
			case <-time.After(time.Second):
			case <-r.Context().Done():
				return
			}
			maps.Copy(w.Header(), held.Header())
			w.WriteHeader(held.Code)
			_, _ = w.Write(held.Body.Bytes())
		case n == 1: // the first create of retried
			next.ServeHTTP(held, r)
			http.Error(w, "upstream timed out", http.StatusServiceUnavailable)
		default:
			next.ServeHTTP(w, r)
		}
	})
	cli := acctest.NewCLI(t)
	provider := acctest.ProviderBlockWith(map[string]string{"endpoint": fmt.Sprintf("%q", front),
		"api_key": fmt.Sprintf("%q", env.APIKey), "max_retries": "1", "request_timeout": `"300ms"`})
	// Each user takes the first attempt and one retry, which meets 409.
	registered := func(userID string) {
		t.Helper()
		if n := creates[userID].Load(); n != 2 {
			t.Errorf("sent %d create requests for %q, want 2", n, userID)
		}
		if !env.HasUser(userID) {
			t.Errorf("Point has no user %q", userID)
		}
	}
	cli.WriteMain(provider + stateSafetyUser("slow", slow) + stateSafetyUser("abandoned", abandoned) +
		"resource \"point_refresh_token\" \"abandoned\" { user_id = point_user.abandoned.user_id }\n")
	cli.MustRun(0, "apply", "-auto-approve", "-no-color")
	registered(slow)
	if got := acctest.ReadStateFile(t, cli).Attributes("point_user.slow")["user_id"]; got != slow {
		t.Errorf("point_user.slow has user_id %v in state, want %q", got, slow)
	}
	cli.MustRun(0, "plan", "-detailed-exitcode", "-no-color")

	token := env.CurrentRefreshToken(abandoned) // deletion_policy is ABANDON by default
	out := cli.MustRun(0, "destroy", "-auto-approve", "-no-color", "-target=point_user.abandoned")
	acctest.ExpectOutputShows(t, out,
		fmt.Sprintf("The provider removed user %q from state; the user still exists in Point. It holds no refresh token.", abandoned))
	if regexp.MustCompile(`stays\s+valid`).MatchString(out) {
		t.Errorf("the ABANDON warning claims the refresh token stays valid:\n%s", out)
	}
	if err := env.CheckRefreshTokenRefused(abandoned, token); err != nil {
		t.Error(err)
	}

	env.RequireCreateConflict()
	cli.WriteMain(provider + stateSafetyUser("slow", slow) + stateSafetyUser("retried", retried))
	out = cli.MustRun(0, "apply", "-auto-approve", "-no-color")
	acctest.ExpectOutputShows(t, out, "Warning: Point User Registered Without an Answer",
		"could not confirm whether this apply registered the user", "HTTP 503 Service Unavailable")
	registered(retried)
	list := strings.Fields(cli.MustRun(0, "state", "list"))
	if !slices.Equal(list, []string{"point_user.retried", "point_user.slow"}) {
		t.Errorf("state holds %q, want point_user.retried and point_user.slow", list)
	}
	cli.MustRun(0, "plan", "-detailed-exitcode", "-no-color")
}
