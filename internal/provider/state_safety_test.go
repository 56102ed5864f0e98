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

// Nothing is lost, orphaned or wedged. Most faults come from fronts of the tests' own (env.Upstream),
// so that those tests run against real Point as well.

// TestAccStateSafety_nothingLostOrRevoked: inputs that used to fail late or obscurely fail clearly
// (TestAccUserGone_lookupsNameCLI covers missing users in every dialect); a plan that destroys or
// replaces a PREVENT user fails before its point_refresh_token is revoked; and a 404 that is not
// Point's own (a wrong path prefix, an HTML proxy, a proxy on the revocation) fails the run and
// leaves state, the user and its token as they were, rather than drop a valid token from state.
func TestAccStateSafety_nothingLostOrRevoked(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID, withToken, withoutToken := env.UserID("kept"), env.UserID("import-has-token"), env.UserID("import-no-token")
	env.AddUser(withToken)
	env.AddUser(withoutToken)
	env.RevokeRefreshToken(withoutToken)
	importToken := func(userID string) string {
		return env.ProviderBlock() + fmt.Sprintf("import {\n  to = point_refresh_token.test\n  id = %[1]q\n}\n"+
			"resource \"point_refresh_token\" \"test\" { user_id = %[1]q }\n", userID)
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
					pointUserBlock("test", userID),
				PlanOnly:    true,
				ExpectError: acctest.DiagnosticMatching("Invalid Point API Key", "api_key holds whitespace or a control character", "trimspace()"),
			},
			{
				Config: env.ProviderBlock() + pointUserBlock("test", userID) + importBlock("point_user.test", userID),
				ExpectError: acctest.DiagnosticMatching("Cannot Import Point User",
					fmt.Sprintf("Point has no user with id %q, so there is nothing to import.", userID)),
			},
			{
				// Failed steps leave no state, so the import blocks meet none.
				Config: importToken(withoutToken),
				ExpectError: acctest.DiagnosticMatching("Cannot Import Point Refresh Token",
					fmt.Sprintf("Cannot import the refresh token of Point user %q: the user has no current refresh token", withoutToken)),
			},
			{
				// The import adopts the token; its mark is then cleared, so later reads are ordinary.
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

// TestAccStateSafety_accessTokenAfterRotation: in the API-key path, a refresh token replaced between
// its read and its use (as by a rotation in the same apply) is read again and tried once more; when
// that one is replaced too, the error says how to order the access token after the rotation.
func TestAccStateSafety_accessTokenAfterRotation(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("rotated-under")
	env.AddUser(userID)
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

// TestAccStateSafety_warningsCLI: a user whose registration's answer is lost goes into state rather than
// being left to meet "already exists" at the next apply: after timeouts, as the look-up has its own time
// budget, and after a 503 and a 409, with a warning. Destroying an ABANDON user whose point_refresh_token
// revokes the token warns without claiming that the token stays valid.
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
	cli.WriteMain(provider + pointUserBlock("slow", slow) + pointUserBlock("abandoned", abandoned) +
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
	expectNoError(t, env.CheckRefreshTokenRefused(abandoned, token))

	env.RequireCreateConflict()
	cli.WriteMain(provider + pointUserBlock("slow", slow) + pointUserBlock("retried", retried))
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

// TestAccDestroy_tokenLeftValidWarns: a destroy that leaves a refresh token valid in Point says so, in
// words that match what happened (the tracked token was replaced elsewhere, -refresh=false, no API key
// to read the user), in both store_token modes, singular and bulk.
func TestAccDestroy_tokenLeftValidWarns(t *testing.T) {
	cli := acctest.NewCLI(t)
	env := acctest.NewEnv(t, sandbox.Options{})
	t.Parallel()
	single := map[bool]string{true: env.UserID("left-valid-true"), false: env.UserID("left-valid-false")}
	abandoned, noKey := env.UserID("left-valid-user"), env.UserID("left-valid-no-key")
	endpoint, revocations := acctest.StartRevocationCounter(t, env)
	bulk, config := map[bool][]string{}, acctest.ProviderBlockFor(env, endpoint, 3)
	for _, store := range []bool{true, false} {
		bulk[store] = acctest.NumberedUserIDs(env, fmt.Sprintf("left-valid-bulk-%t", store), 2)
		env.AddUser(single[store])
		config += fmt.Sprintf(`
resource "point_refresh_token" "single_%[1]t" {
  user_id     = %[2]q
  store_token = %[1]t
}
resource "point_users" "bulk_%[1]t" { user_ids = %[3]s }
resource "point_refresh_tokens" "bulk_%[1]t" {
  user_ids    = point_users.bulk_%[1]t.user_ids
  store_token = %[1]t
}
`, store, single[store], acctest.HCLList(bulk[store]))
	}
	cli.WriteMain(config + fmt.Sprintf(`
resource "point_user" "abandoned" { user_id = %q }
resource "point_refresh_token" "abandoned" {
  user_id     = point_user.abandoned.user_id
  store_token = false
}
`, abandoned))
	cli.MustRun(0, "apply", "-auto-approve", "-no-color")
	old, newer := map[string]string{}, map[string]string{abandoned: env.RotateRefreshToken(abandoned)}
	for _, store := range []bool{true, false} {
		old[single[store]], old[bulk[store][0]] = env.CurrentRefreshToken(single[store]), env.CurrentRefreshToken(bulk[store][0])
		newer[single[store]], newer[bulk[store][1]] = env.RotateRefreshToken(single[store]), env.RotateRefreshToken(bulk[store][1])
	}
	presentedBefore := map[bool]int{true: revocations.Presenting(single[true]), false: revocations.Presenting(single[false])}

	out := cli.MustRun(0, "destroy", "-auto-approve", "-no-color", "-refresh=false")
	acctest.ExpectOutputShows(t, out, "Destroy complete! Resources: 8 destroyed.")
	for _, store := range []bool{true, false} {
		acctest.ExpectDiagnostic(t, out, "Warning: Point Refresh Token Left Valid",
			fmt.Sprintf("The refresh token that point_refresh_token tracked for Point user %q had been replaced elsewhere, so the provider revoked nothing there: "+
				"the current refresh token, which point_refresh_token never tracked, stays valid in Point.", single[store]),
			"this run made none (-refresh=false)", "point_revoke_refresh_token action")
		acctest.ExpectDiagnostic(t, out, "Warning: Point Refresh Token Left Valid",
			fmt.Sprintf("The refresh token that point_refresh_tokens tracked for 1 of the 2 users (%q) had been replaced elsewhere, so the provider revoked nothing there: "+
				"the current refresh token, which point_refresh_tokens never tracked, stays valid in Point.", bulk[store][1]))
		acctest.ExpectDiagnostic(t, out, "Warning: Point Users Abandoned", fmt.Sprintf("%q", bulk[store][0]),
			"point_users did not revoke their refresh tokens (deletion_policy = \"ABANDON\"): a token a user still holds stays valid.")
		// The token in state, when there is one, is presented once.
		if got, want := revocations.Presenting(single[store])-presentedBefore[store], map[bool]int{true: 1}[store]; got != want {
			t.Errorf("the destroy presented a token of %q to revoke %d times, want %d", single[store], got, want)
		}
	}
	acctest.ExpectDiagnostic(t, out, "Warning: Point Refresh Token Left Valid", fmt.Sprintf("point_refresh_token tracked for Point user %q had been replaced", abandoned))
	acctest.ExpectDiagnostic(t, out, "Warning: Point User Abandoned",
		fmt.Sprintf("The provider removed user %q from state; the user still exists in Point. "+
			"Its current refresh token stays valid: deletion_policy = \"ABANDON\" does not revoke it, and no point_refresh_token revoked it.", abandoned))

	// Without the API key, the token in state revokes itself, but the
	// provider cannot read the user to tell whether a newer one stays.
	env.AddUser(noKey)
	cli.WriteConfig(env, acctest.RefreshTokenOnlyConfig("", noKey, ""))
	cli.MustRun(0, "apply", "-auto-approve", "-no-color")
	newer[noKey] = env.RotateRefreshToken(noKey)
	cli.WriteMain(acctest.ProviderBlockWith(map[string]string{"endpoint": fmt.Sprintf("%q", env.Endpoint)}) + acctest.RefreshTokenOnlyConfig("", noKey, ""))
	out = cli.MustRun(0, "destroy", "-auto-approve", "-no-color", "-refresh=false")
	acctest.ExpectDiagnostic(t, out, "Warning: Point Refresh Token May Be Left Valid",
		fmt.Sprintf("The refresh token that point_refresh_token tracked for Point user %q was no longer current: "+
			"it was revoked or replaced elsewhere, so the provider revoked nothing there. If a newer token was issued, it stays valid in Point; "+
			"the provider could not read the user to tell (that needs the organisation API key).", noKey))

	for id, token := range newer {
		expectNoError(t, env.CheckRefreshTokenAccepted(id, token))
	}
	for id, token := range old {
		expectNoError(t, env.CheckRefreshTokenRefused(id, token))
	}

	// A plain destroy adopts a token rotated outside Terraform in the refresh it runs first, and revokes
	// it. As the docs say, the CLI shows the warnings of that refresh in a plain plan only, not in the
	// destroy or plan -destroy.
	adopts, config := map[bool]string{}, ""
	for _, store := range []bool{true, false} {
		adopts[store] = env.UserID(fmt.Sprintf("destroy-adopts-%t", store))
		env.AddUser(adopts[store])
		config += fmt.Sprintf("\nresource \"point_refresh_token\" \"store_%[1]t\" {\n  user_id     = %[2]q\n  store_token = %[1]t\n}\n", store, adopts[store])
	}
	cli.WriteConfig(env, config)
	applyAndRotate := func() map[bool]string {
		cli.MustRun(0, "apply", "-auto-approve", "-no-color")
		return map[bool]string{true: env.RotateRefreshToken(adopts[true]), false: env.RotateRefreshToken(adopts[false])}
	}
	rotated := applyAndRotate()
	out = cli.MustRun(0, "destroy", "-auto-approve", "-no-color")
	if strings.Contains(out, "Rotated Elsewhere") || strings.Contains(out, "Left Valid") {
		t.Errorf("the destroy output shows a warning the docs say it does not show:\n%s", out)
	}
	for store, id := range adopts {
		if env.CurrentRefreshToken(id) != "" {
			t.Errorf("the destroy left %q a current refresh token", id)
		}
		expectNoError(t, env.CheckRefreshTokenRefused(id, rotated[store]))
	}
	applyAndRotate()
	if out = cli.MustRun(0, "plan", "-destroy", "-no-color"); strings.Contains(out, "Rotated Elsewhere") {
		t.Errorf("plan -destroy shows a warning the docs say it does not show:\n%s", out)
	}
	// Terraform shows the first of the two warnings alike, and counts the other.
	out = cli.MustRun(0, "plan", "-no-color")
	acctest.ExpectDiagnostic(t, out, "Warning: Point Refresh Token Rotated Elsewhere", "was replaced elsewhere.", "(and one more similar warning elsewhere)")
	cli.MustRun(0, "destroy", "-auto-approve", "-no-color")
}

func countedUsers(prefix string, n int) string {
	return fmt.Sprintf(`
resource "point_user" "u" {
  count   = %[1]d
  user_id = format("%[2]s-%%02d", count.index)
}

resource "point_refresh_token" "u" {
  count   = %[1]d
  user_id = point_user.u[count.index].user_id
}
`, n, prefix)
}

// sandboxConverged: the sandbox holds exactly ids, each with tokens[id] current, and no other valid token.
func sandboxConverged(env *acctest.Env, ids []string, tokens map[string]string) error {
	if got := env.Sandbox.UserIDs(); !acctest.SameElements(got, ids) {
		return fmt.Errorf("sandbox holds %d users %v, want exactly the %d of the configuration", len(got), got, len(ids))
	}
	for _, id := range ids {
		if current := env.CurrentRefreshToken(id); current == "" || current != tokens[id] {
			return fmt.Errorf("Point's current refresh token for %q is not the one in state", id)
		}
	}
	if issued, revoked := env.Sandbox.RefreshTokensIssued(), env.Sandbox.RefreshTokensRevoked(); issued-revoked != len(ids) {
		return fmt.Errorf("refresh tokens: %d issued, %d revoked or replaced; %d still valid, want %d, one per user", issued, revoked, issued-revoked, len(ids))
	}
	return nil
}

// TestAccInterrupt_applyCLI: SIGINT in the middle of an apply against a slow Point loses no user or
// refresh token, and the next apply converges.
func TestAccInterrupt_applyCLI(t *testing.T) {
	const users = 30
	cli := acctest.NewCLI(t)
	env := acctest.NewEnv(t, sandbox.Options{})
	env.RequireSandbox()
	t.Parallel()
	front, endpoint := acctest.StartSlowSandbox(t, env)
	cli.WriteMain(acctest.ProviderBlockFor(env, endpoint, 2) + countedUsers("intr", users))

	inState := func() ([]string, map[string]string) {
		t.Helper()
		state := acctest.ReadStateFile(t, cli)
		return slices.Sorted(maps.Keys(state.ByUser("point_user", "user_id"))), state.ByUser("point_refresh_token", "token")
	}
	interrupt := func(phase string, ready func() bool) {
		t.Helper()
		out := acctest.InterruptedApply(t, cli, ready)
		stateUsers, stateTokens := inState()
		pointUsers, lost := env.Sandbox.UserIDs(), front.TakeLost()
		t.Logf("interrupt %s: %d users in Point, %d in state, %d refresh tokens in state; answers lost on the way back: %v; refresh tokens issued %d, revoked or replaced %d",
			phase, len(pointUsers), len(stateUsers), len(stateTokens), lost, env.Sandbox.RefreshTokensIssued(), env.Sandbox.RefreshTokensRevoked())
		if len(stateTokens) == users {
			t.Errorf("interrupt %s came too late: all refresh tokens were issued", phase)
		}
		for _, id := range pointUsers {
			if !slices.Contains(stateUsers, id) {
				t.Errorf("interrupt %s: user %q exists in Point but not in state", phase, id)
			}
		}
		for id, token := range stateTokens {
			if token != env.CurrentRefreshToken(id) {
				t.Errorf("interrupt %s: the refresh token of %q in state is not its current one in Point", phase, id)
			}
		}
		if lost[sandbox.RouteCreateUser] > 0 && !acctest.DiagnosticPattern("Warning: Point User Registered Without an Answer").MatchString(out) {
			t.Errorf("interrupt %s lost %d answers to creates but reported no user registered without an answer:\n%s", phase, lost[sandbox.RouteCreateUser], out)
		}
	}

	// Terraform creates every user before any refresh token, which depends on point_user.u as a whole,
	// so the first interrupt comes during user creation and the second during issue.
	interrupt("during user creation", func() bool { return len(env.Sandbox.UserIDs()) >= 10 })
	interrupt("during refresh token issue", func() bool { return env.Sandbox.RefreshTokensIssued()-users >= 1 })

	env.Sandbox.SetFaults(sandbox.Faults{})
	front.Delay.Store(0)
	cli.MustRun(0, "apply", "-input=false", "-auto-approve", "-no-color")
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	stateUsers, stateTokens := inState()
	want := numbered("intr-%02d", users)
	if !slices.Equal(stateUsers, want) {
		t.Errorf("after the final apply state holds %v, want %v", stateUsers, want)
	}
	if err := sandboxConverged(env, want, stateTokens); err != nil {
		t.Errorf("after the final apply: %v", err)
	}
}

// TestAccReliability_faults: 50 users with refresh tokens and an access token converge under 503s, 429s
// and latency; the next plan is empty and the destroy, faults still on, revokes every token.
func TestAccReliability_faults(t *testing.T) {
	const users = 50
	env := acctest.NewEnv(t, sandbox.Options{})
	env.RequireSandbox()
	// The client does not retry a 503 on issue access token, as the request may have issued a token
	// (internal/point/CONTRACT.md); so that the one access token opens, the front repeats that request
	// while the sandbox answers it with its injected 503, which it sends before doing anything.
	var unavailable, limited, createConflicts atomic.Int32
	endpoint := acctest.StartFront(t, env, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec, route := httptest.NewRecorder(), sandbox.RouteOf(r)
		next.ServeHTTP(rec, r)
		for route == sandbox.RouteIssueAccessToken && rec.Code == http.StatusServiceUnavailable && r.Context().Err() == nil {
			rec = httptest.NewRecorder()
			next.ServeHTTP(rec, r)
		}
		switch {
		case rec.Code == http.StatusServiceUnavailable:
			unavailable.Add(1)
		case rec.Code == http.StatusTooManyRequests:
			limited.Add(1)
		case route == sandbox.RouteCreateUser && rec.Code == http.StatusConflict:
			createConflicts.Add(1)
		}
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
	env.Sandbox.SetFaults(sandbox.Faults{FailureRate: 0.3, RateLimitEvery: 9, RetryAfter: "1", Latency: 2 * time.Millisecond, Seed: 1})

	ids := numbered("rel-%02d", users)
	config := acctest.ProviderBlockFor(env, endpoint, 10) + countedUsers("rel", users) + `
ephemeral "point_access_token" "first" {
  user_id       = point_refresh_token.u[0].user_id
  refresh_token = point_refresh_token.u[0].token
}

provider "echo" { data = ephemeral.point_access_token.first }
resource "echo" "token" {}
`
	echoed := func(key string, check knownvalue.Check) statecheck.StateCheck {
		return statecheck.ExpectKnownValue("echo.token", tfjsonpath.New("data").AtMapKey(key), check)
	}
	converged := func(s *terraform.State) error {
		tokens := map[string]string{}
		for _, rs := range s.RootModule().Resources {
			if rs.Type == "point_refresh_token" {
				tokens[rs.Primary.Attributes["user_id"]] = rs.Primary.Attributes["token"]
			}
		}
		return sandboxConverged(env, ids, tokens)
	}

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

	if unavailable.Load() == 0 || limited.Load() == 0 {
		t.Errorf("faults were not injected: %d answers 503, %d answers 429", unavailable.Load(), limited.Load())
	}
	if n := createConflicts.Load(); n != 0 {
		t.Errorf("%d user creations met 409", n)
	}
}

// rewrittenUserNotFound is a 404 body with nothing the provider could read as "user": the spelling
// that made the provider refuse Point's own answers when it read error codes.
const rewrittenUserNotFound = `{"error":"not_found","message":"user not found"}`

// spellingFront answers the registration of failCreate, when set, with 503 before Point sees it, and
// can rewrite the body of Point's 404s into rewrittenUserNotFound.
type spellingFront struct {
	failCreate         atomic.Pointer[string]
	failed, registered atomic.Int32
}

func (f *spellingFront) handle(rewrite bool) func(w http.ResponseWriter, r *http.Request, next http.Handler) {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		route, failing := sandbox.RouteOf(r), f.failCreate.Load()
		rec := httptest.NewRecorder()
		if failing != nil && route == sandbox.RouteCreateUser && r.URL.Path == "/organizations/users/"+*failing {
			f.failed.Add(1)
			acctest.AnswerJSON(http.StatusServiceUnavailable, `{"error":"unavailable","message":"injected by the test"}`)(rec, r, nil)
		} else {
			next.ServeHTTP(rec, r)
			if route == sandbox.RouteCreateUser && rec.Code == http.StatusOK {
				f.registered.Add(1)
			}
		}
		body := rec.Body.Bytes()
		if rewrite && rec.Code == http.StatusNotFound && route != "" {
			body = []byte(rewrittenUserNotFound)
			rec.Header().Set("Content-Type", "application/json")
		}
		maps.Copy(w.Header(), rec.Header())
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	}
}

// forEachSpelling runs test behind a spellingFront at endpoint, once per wording of Point's 404 for "no
// such user": each sandbox dialect (or Point as it answers), and that wording rewritten.
func forEachSpelling(t *testing.T, test func(t *testing.T, env *acctest.Env, front *spellingFront, endpoint string)) {
	type spelling struct {
		name, dialect string
		rewrite       bool
	}
	spellings := []spelling{{name: "as Point answers"}, {name: "rewritten", rewrite: true}}
	if !acctest.RealPoint() {
		spellings = nil
		for _, name := range sandbox.DialectNames() {
			spellings = append(spellings, spelling{name: name, dialect: name})
		}
		spellings = append(spellings, spelling{name: "reference rewritten", dialect: sandbox.DefaultDialect, rewrite: true})
	}
	for _, s := range spellings {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			env := acctest.NewEnvInDialect(t, sandbox.Options{}, s.dialect)
			front := &spellingFront{}
			test(t, env, front, acctest.StartFront(t, env, front.handle(s.rewrite)))
		})
	}
}

func userGoneNotOwn404(t *testing.T, out string) {
	t.Helper()
	if strings.Contains(out, "not Point's own") {
		t.Errorf("Point's 404 was taken for something else's:\n%s", out)
	}
}

// userGoneConverged: the next plan is empty, and state and Point agree on bulk and single (when not "").
func userGoneConverged(t *testing.T, env *acctest.Env, cli *acctest.CLI, bulk []string, single string) {
	t.Helper()
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	state := acctest.ReadStateFile(t, cli)
	if got := acctest.StateFileUserIDs(state, acctest.UsersAddr); !acctest.SameElements(got, bulk) {
		t.Errorf("point_users holds %q, want %q", got, bulk)
	}
	tokens, ids := acctest.StateFileTokens(state, acctest.RefreshTokensAddr), bulk
	if single != "" {
		tokens[single], _ = state.Attributes("point_refresh_token.single")["token"].(string)
		ids = append([]string{single}, bulk...)
	}
	for _, id := range ids {
		if !env.HasUser(id) {
			t.Errorf("Point has no user %q", id)
		}
		if tokens[id] == "" || tokens[id] != env.CurrentRefreshToken(id) {
			t.Errorf("the token of %q in state is not its current one in Point", id)
		}
	}
}

// While every registration of one of three users fails until the retries run out, the apply creates
// both resources with warnings, one without refresh says how to go on, and the next registers the
// user and issues its token, with no state edited.
func TestAccUserGone_bulkRegistrationRanOutCLI(t *testing.T) {
	forEachSpelling(t, func(t *testing.T, env *acctest.Env, front *spellingFront, endpoint string) {
		cli := acctest.NewCLI(t)
		ids := acctest.NumberedUserIDs(env, "ranout", 3)
		unlucky := ids[1]
		cli.WriteMain(acctest.BulkConfig(acctest.ProviderBlockFor(env, endpoint, 1), ids, "", ""))
		front.failCreate.Store(&unlucky)

		if out, code := applyWithoutReplacement(t, cli); code != 0 {
			t.Fatalf("the first apply exited %d; with two users registered it must create both resources, with warnings:\n%s", code, out)
		} else {
			acctest.ExpectOutput(t, out, "Warning: Error Registering Point Users", "Could not register 1 of the 3 users", "the retries ran out")
		}
		if failed := front.failed.Load(); failed != 2 {
			t.Errorf("the registration of %q was attempted %d times, want 2 (max_retries = 1)", unlucky, failed)
		}
		if env.HasUser(unlucky) {
			t.Fatalf("Point has %q, whose every registration failed", unlucky)
		}
		front.failCreate.Store(nil)

		out := cli.MustRun(1, "apply", "-refresh=false", "-input=false", "-auto-approve", "-no-color")
		acctest.ExpectOutput(t, out, "Warning: Point Users Not Yet Registered", "Plan with refresh")
		acctest.ExpectOutput(t, out, "Error: Error Issuing Point Refresh Tokens", "Point has no such users; register them first",
			"at the next apply with refresh")
		userGoneNotOwn404(t, out)

		if out, code := applyWithoutReplacement(t, cli); code != 0 {
			t.Fatalf("the apply after the failure exited %d; it must register the user:\n%s", code, out)
		}
		userGoneConverged(t, env, cli, ids, "")
		if n := int(front.registered.Load()); n != len(ids) {
			t.Errorf("%d registrations succeeded, want %d: one per user", n, len(ids))
		}
	})
}

// userGoneConfig is a user and its token, singular and bulk.
func userGoneConfig(providerBlock string, single string, bulk []string) string {
	return providerBlock + pointUserBlock("single", single) +
		"resource \"point_refresh_token\" \"single\" { user_id = point_user.single.user_id }\n" + acctest.BulkConfig("", bulk, "", "")
}

// State applied to one environment and pointed at another that never had the users: the plan says so
// and plans their registration without making it, and the apply registers them, singular and bulk.
func TestAccUserGone_neverInPointCLI(t *testing.T) {
	forEachSpelling(t, func(t *testing.T, env *acctest.Env, _ *spellingFront, endpoint string) {
		cli := acctest.NewCLI(t)
		single, bulk := env.UserID("elsewhere"), acctest.NumberedUserIDs(env, "elsewhere", 2)
		staging := sandbox.New(sandbox.Options{})
		stagingURL, stop := staging.Start()
		t.Cleanup(stop)
		cli.WriteMain(userGoneConfig(acctest.ProviderBlockWith(map[string]string{
			"endpoint": fmt.Sprintf("%q", stagingURL), "api_key": fmt.Sprintf("%q", staging.APIKey()),
		}), single, bulk))
		cli.MustRun(0, "apply", "-input=false", "-auto-approve", "-no-color")
		for _, id := range append([]string{single}, bulk...) {
			if !staging.HasUser(id) || env.HasUser(id) {
				t.Fatalf("user %q: in the first environment %v, in the second %v; want only the first", id, staging.HasUser(id), env.HasUser(id))
			}
		}

		cli.WriteMain(userGoneConfig(acctest.ProviderBlockFor(env, endpoint, 1), single, bulk))
		out := cli.MustRun(2, "plan", "-input=false", "-no-color", "-detailed-exitcode")
		acctest.ExpectOutputShows(t, out, "Warning: Point User Not Found", "point_user.single will be created",
			fmt.Sprintf("Point has no user with id %q any more, so the provider removed it from state.", single))
		if env.HasUser(single) {
			t.Error("a plan registered the user again")
		}
		out, code := applyWithoutReplacement(t, cli)
		if code != 0 {
			t.Fatalf("the apply against the environment without the users exited %d:\n%s", code, out)
		}
		acctest.ExpectOutput(t, out, "Warning: Point User Not Found", fmt.Sprintf("Point has no user with id %q any more", single))
		acctest.ExpectOutput(t, out, "Warning: Point Users Not Found", "Point has no users with 2 of the ids in user_ids any more")
		userGoneConverged(t, env, cli, bulk, single)
	})
}

// Everything that reads a user Point never had (import, data source, both ephemeral resources, the
// action) says so and names user_id; all but the action in one plan, which reports each error.
func TestAccUserGone_lookupsNameCLI(t *testing.T) {
	forEachSpelling(t, func(t *testing.T, env *acctest.Env, _ *spellingFront, endpoint string) {
		cli := acctest.NewCLI(t)
		ghost := env.UserID("never-registered")
		provider := acctest.ProviderBlockFor(env, endpoint, 1)
		reads := []struct {
			address, config string
			want            []string
		}{
			{"", importBlock("point_user.x", ghost) + pointUserBlock("x", ghost),
				[]string{"Error: Cannot Import Point User", fmt.Sprintf("Point has no user with id %q, so there is nothing to import.", ghost)}},
			{"", fmt.Sprintf("import {\n  to = point_refresh_token.x\n  id = %q\n}\nresource \"point_refresh_token\" \"x\" {\n  user_id = %[1]q\n}\n", ghost),
				[]string{"Error: Cannot Import Point Refresh Token", fmt.Sprintf("Cannot import the refresh token of Point user %q: Point has no user with this id", ghost)}},
			{"data.point_user.x", fmt.Sprintf("data \"point_user\" \"x\" {\n  user_id = %q\n}\n", ghost), nil},
			{"ephemeral.point_refresh_token.x", fmt.Sprintf("ephemeral \"point_refresh_token\" \"x\" {\n  user_id = %q\n}\n", ghost), nil},
			{"ephemeral.point_access_token.api_key", fmt.Sprintf("ephemeral \"point_access_token\" \"api_key\" {\n  user_id = %q\n}\n", ghost), nil},
			{"ephemeral.point_access_token.refresh_token",
				fmt.Sprintf("ephemeral \"point_access_token\" \"refresh_token\" {\n  user_id       = %q\n  refresh_token = \"rt_not_a_token\"\n}\n", ghost), nil},
		}
		config := provider
		for _, read := range reads {
			config += read.config
		}
		cli.WriteMain(config)
		out := cli.MustRun(1, "plan", "-input=false", "-no-color")
		for _, read := range reads {
			want := read.want
			if read.address != "" {
				want = []string{"Error: Point User Not Found", "with " + read.address + ",", "user_id"}
			}
			acctest.ExpectDiagnostic(t, out, want...)
		}
		userGoneNotOwn404(t, out)
		t.Run("action", func(t *testing.T) {
			acctest.SkipWithoutActions(t, "the action")
			cli.WriteMain(provider + fmt.Sprintf("action \"point_revoke_refresh_token\" \"x\" {\n  config {\n    user_id = %q\n  }\n}\n", ghost))
			out := cli.MustRun(1, "apply", "-auto-approve", "-invoke=action.point_revoke_refresh_token.x", "-input=false", "-no-color")
			// Terraform 1.14 prints an action's error under "Error when
			// invoking action", later releases under its own summary.
			acctest.ExpectOutput(t, out, "Point User Not Found", fmt.Sprintf("Point has no user with id %q", ghost), "user_id")
			userGoneNotOwn404(t, out)
		})
		if env.HasUser(ghost) {
			t.Errorf("Point has %q, which nothing should have registered", ghost)
		}
	})
}
