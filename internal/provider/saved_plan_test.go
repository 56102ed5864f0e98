package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// Pipelines plan with -out, have the plan reviewed, and apply the plan file
// later, sometimes after a token's rotate_at has passed. Terraform plans
// again when it applies a plan file and refuses an apply whose new plan
// differs from the saved one, so the rotation must be decided from what
// the plan file holds, never from the clock. These tests drive the CLI
// itself, which terraform-plugin-testing cannot do with a plan file, and
// serve the provider from the test process so that the test moves its
// clock between plan and apply: against real Point as against the sandbox,
// since the clock that decides rotation is the provider's. The counting
// front sees every request in both modes.

// savedPlanArgs are the arguments of the refresh token resource under
// test that the saved plans change.
type savedPlanArgs struct {
	store       bool
	rotateAfter string
	readTimeout string
	generation  string
}

func (a savedPlanArgs) hcl() string {
	return fmt.Sprintf("  store_token       = %t\n  rotate_after      = %q\n  rotation_triggers = { generation = %q }\n  timeouts          = { read = %q }\n",
		a.store, a.rotateAfter, a.generation, a.readTimeout)
}

// savedPlanChange is a change of configuration that a saved plan carries.
type savedPlanChange struct {
	name  string
	apply func(*savedPlanArgs)
	// rotates says that the change itself rotates the tokens.
	rotates bool
}

// TestAccSavedPlan_refreshToken: a saved plan made an hour before rotate_at
// applies as planned an hour after it. A plan that rotated nothing rotates
// nothing. A plan with -refresh=false then rotates nothing either, until
// terraform apply -refresh-only saves a refresh that finds the token due;
// the next plan rotates the token, and its plan file applies that
// rotation. A plan that rotated the token rotates it once. The plan after
// is empty.
func TestAccSavedPlan_refreshToken(t *testing.T) {
	changes := []savedPlanChange{
		{name: "timeouts", apply: func(a *savedPlanArgs) { a.readTimeout = "2m" }},
		{name: "store_token", apply: func(a *savedPlanArgs) { a.store = !a.store }},
		// rotate_at moves to half an hour after the old one: still between
		// the plan and the apply.
		{name: "rotate_after", apply: func(a *savedPlanArgs) { a.rotateAfter = "24h30m" }},
		{name: "rotation_triggers", apply: func(a *savedPlanArgs) { a.generation = "2" }, rotates: true},
	}
	for _, change := range changes {
		for _, store := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/store_token=%t", change.name, store), func(t *testing.T) {
				t.Parallel()
				testSavedPlanRefreshToken(t, change, store)
			})
		}
	}
}

func testSavedPlanRefreshToken(t *testing.T, change savedPlanChange, store bool) {
	env := acctest.NewEnv(t, sandbox.Options{})
	front, endpoint := acctest.NewCountingFront(t, env)
	cli := acctest.NewInProcessCLI(t, env.Factories(), "")
	userID := env.UserID("saved-plan")
	args := savedPlanArgs{store: store, rotateAfter: "24h", readTimeout: "1m", generation: "1"}
	config := func(a savedPlanArgs) string {
		return acctest.ProviderBlockFor(env, endpoint, 3) + fmt.Sprintf(`
resource "point_user" "test" {
  user_id = %[1]q
}

resource "point_refresh_token" "test" {
  user_id = point_user.test.user_id
%[2]s}
`, userID, a.hcl())
	}
	t0 := env.Clock.Now()
	cli.WriteMain(config(args))
	cli.MustRun(0, "apply", "-auto-approve", "-input=false", "-no-color")
	first := env.CurrentRefreshToken(userID)
	expectTokenState(t, cli, env, userID, args, first, 1, t0)

	env.Clock.Advance(23 * time.Hour)
	front.Reset()
	change.apply(&args)
	cli.WriteMain(config(args))
	out := cli.MustRun(0, "plan", "-input=false", "-no-color", "-out=change.tfplan")
	acctest.ExpectOutputShows(t, out, "Plan: 0 to add, 1 to change, 0 to destroy.")
	expectPlanned(t, cli, "change.tfplan", plannedRotation(change.rotates))

	// Reviewed, and applied an hour after rotate_at.
	env.Clock.Advance(2 * time.Hour)
	appliedAt := env.Clock.Now()
	out = cli.MustRun(0, "apply", "-input=false", "-no-color", "change.tfplan")
	acctest.ExpectOutputShows(t, out, "Apply complete! Resources: 0 added, 1 changed, 0 destroyed.")
	if change.rotates {
		if err := front.Expect(sandbox.RouteIssueRefreshToken, []string{userID}, 1); err != nil {
			t.Error(err)
		}
		second := env.CurrentRefreshToken(userID)
		if second == first {
			t.Fatalf("the saved plan rotates the token, but Point still holds the first one")
		}
		if err := env.CheckRefreshTokenRefused(userID, first); err != nil {
			t.Error(err)
		}
		expectTokenState(t, cli, env, userID, args, second, 2, appliedAt)
		cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")
		destroyRefreshTokens(t, cli, env, userID)
		return
	}
	if err := front.Expect(sandbox.RouteIssueRefreshToken, nil, 0); err != nil {
		t.Errorf("the saved plan rotates nothing, but its apply did: %v", err)
	}
	expectTokenState(t, cli, env, userID, args, first, 1, t0)

	// Without a refresh, a plan reads no clock: the token was not due at
	// the last refresh saved in state, so there is nothing to do. Once a
	// refresh that finds it due is saved, such a plan rotates it.
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-refresh=false", "-detailed-exitcode")
	cli.MustRun(0, "apply", "-input=false", "-no-color", "-refresh-only", "-auto-approve")
	cli.MustRun(2, "plan", "-input=false", "-no-color", "-refresh=false", "-detailed-exitcode")

	// The next plan rotates the token, and its file applies that.
	front.Reset()
	cli.MustRun(2, "plan", "-input=false", "-no-color", "-detailed-exitcode", "-out=rotate.tfplan")
	expectPlanned(t, cli, "rotate.tfplan", plannedRotation(true))
	env.Clock.Advance(time.Minute)
	rotatedAt := env.Clock.Now()
	cli.MustRun(0, "apply", "-input=false", "-no-color", "rotate.tfplan")
	if err := front.Expect(sandbox.RouteIssueRefreshToken, []string{userID}, 1); err != nil {
		t.Error(err)
	}
	second := env.CurrentRefreshToken(userID)
	if second == first {
		t.Fatalf("the plan that rotates was applied, but Point still holds the first token")
	}
	if err := env.CheckRefreshTokenRefused(userID, first); err != nil {
		t.Error(err)
	}
	expectTokenState(t, cli, env, userID, args, second, 2, rotatedAt)
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	destroyRefreshTokens(t, cli, env, userID)
}

// TestAccSavedPlan_refreshTokens: the same for point_refresh_tokens, whose
// tokens fall due at different times. A saved plan made when none is due
// applies after some are, rotating none; a saved plan that rotates the
// tokens due applies after more fell due, rotating exactly those it
// planned; the next plan rotates the rest, and the plan after is empty.
func TestAccSavedPlan_refreshTokens(t *testing.T) {
	changes := []savedPlanChange{
		{name: "timeouts", apply: func(a *savedPlanArgs) { a.readTimeout = "2m" }},
		{name: "store_token", apply: func(a *savedPlanArgs) { a.store = !a.store }},
	}
	for _, change := range changes {
		for _, store := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/store_token=%t", change.name, store), func(t *testing.T) {
				t.Parallel()
				testSavedPlanRefreshTokens(t, change, store)
			})
		}
	}
}

func testSavedPlanRefreshTokens(t *testing.T, change savedPlanChange, store bool) {
	env := acctest.NewEnv(t, sandbox.Options{})
	front, endpoint := acctest.NewCountingFront(t, env)
	cli := acctest.NewInProcessCLI(t, env.Factories(), "")
	ids := acctest.NumberedUserIDs(env, "saved-plan", 8)
	early, late := ids[:4], ids[4:]
	args := savedPlanArgs{store: store, rotateAfter: "2h", readTimeout: "1m", generation: "1"}
	config := func(users []string, a savedPlanArgs) string {
		return acctest.BulkConfig(acctest.ProviderBlockFor(env, endpoint, 3), users, "", a.hcl())
	}
	t0 := env.Clock.Now()
	cli.WriteMain(config(early, args))
	cli.MustRun(0, "apply", "-auto-approve", "-input=false", "-no-color")
	env.Clock.Advance(time.Hour)
	cli.WriteMain(config(ids, args))
	cli.MustRun(0, "apply", "-auto-approve", "-input=false", "-no-color")
	initial := currentTokens(env, ids)
	issued := timesOf(early, t0)
	maps.Copy(issued, timesOf(late, t0.Add(time.Hour)))
	expectBulkState(t, cli, env, args, ids, map[string]int64{}, issued)

	// At t0+1h30m none is due.
	env.Clock.Advance(30 * time.Minute)
	front.Reset()
	change.apply(&args)
	cli.WriteMain(config(ids, args))
	out := cli.MustRun(0, "plan", "-input=false", "-no-color", "-out=change.tfplan")
	acctest.ExpectOutputShows(t, out, "Plan: 0 to add, 1 to change, 0 to destroy.")
	expectPlanned(t, cli, "change.tfplan", unknownTokenKeys(nil))

	// Applied at t0+2h15m, when the early tokens are due.
	env.Clock.Advance(45 * time.Minute)
	cli.MustRun(0, "apply", "-input=false", "-no-color", "change.tfplan")
	if err := front.Expect(sandbox.RouteIssueRefreshToken, nil, 0); err != nil {
		t.Errorf("the saved plan rotates nothing, but its apply did: %v", err)
	}
	expectSameTokens(t, env, ids, initial)
	expectBulkState(t, cli, env, args, ids, map[string]int64{}, issued)
	// Without a refresh, a plan rotates only what was due at the last
	// refresh saved in state: nothing, until a refresh that finds the early
	// tokens due is saved.
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-refresh=false", "-detailed-exitcode")
	cli.MustRun(0, "apply", "-input=false", "-no-color", "-refresh-only", "-auto-approve")
	cli.MustRun(2, "plan", "-input=false", "-no-color", "-refresh=false", "-detailed-exitcode", "-out=unrefreshed.tfplan")
	expectPlanned(t, cli, "unrefreshed.tfplan", unknownTokenKeys(early))

	// The next plan rotates the early tokens; applied at t0+3h15m, when
	// the late ones are due as well, it rotates the early ones alone.
	front.Reset()
	cli.MustRun(2, "plan", "-input=false", "-no-color", "-detailed-exitcode", "-out=early.tfplan")
	expectPlanned(t, cli, "early.tfplan", unknownTokenKeys(early))
	env.Clock.Advance(time.Hour)
	maps.Copy(issued, timesOf(early, env.Clock.Now()))
	cli.MustRun(0, "apply", "-input=false", "-no-color", "early.tfplan")
	if err := front.Expect(sandbox.RouteIssueRefreshToken, early, 1); err != nil {
		t.Error(err)
	}
	expectSameTokens(t, env, late, initial)
	for _, id := range early {
		if err := env.CheckRefreshTokenRefused(id, initial[id]); err != nil {
			t.Error(err)
		}
	}
	expectBulkState(t, cli, env, args, ids, versionsOf(early, 2), issued)

	// Then the late ones, and nothing more.
	front.Reset()
	cli.MustRun(2, "plan", "-input=false", "-no-color", "-detailed-exitcode", "-out=late.tfplan")
	expectPlanned(t, cli, "late.tfplan", unknownTokenKeys(late))
	maps.Copy(issued, timesOf(late, env.Clock.Now()))
	cli.MustRun(0, "apply", "-input=false", "-no-color", "late.tfplan")
	if err := front.Expect(sandbox.RouteIssueRefreshToken, late, 1); err != nil {
		t.Error(err)
	}
	expectBulkState(t, cli, env, args, ids, versionsOf(ids, 2), issued)
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	destroyRefreshTokens(t, cli, env, ids...)
}

// destroyRefreshTokens destroys everything, and checks that the users are
// left without a current refresh token.
func destroyRefreshTokens(t *testing.T, cli *acctest.InProcessCLI, env *acctest.Env, ids ...string) {
	t.Helper()
	cli.MustRun(0, "destroy", "-auto-approve", "-input=false", "-no-color")
	if err := acctest.NoCurrentRefreshToken(env, ids...)(nil); err != nil {
		t.Error(err)
	}
}

// expectPlanned checks the change that the plan file plans for the one
// refresh token resource in it.
func expectPlanned(t *testing.T, cli *acctest.InProcessCLI, planFile string, check func(*tfjson.Change) error) {
	t.Helper()
	var plan tfjson.Plan
	if err := json.Unmarshal([]byte(cli.MustRun(0, "show", "-json", planFile)), &plan); err != nil {
		t.Fatal(err)
	}
	for _, rc := range plan.ResourceChanges {
		if rc.Address == acctest.RefreshTokenAddr || rc.Address == acctest.RefreshTokensAddr {
			if err := check(rc.Change); err != nil {
				t.Errorf("%s in %s: %v", rc.Address, planFile, err)
			}
			return
		}
	}
	t.Errorf("%s plans no change of a refresh token resource", planFile)
}

// plannedRotation checks that a planned change of point_refresh_token
// rotates the token, or that it keeps it, at version 1.
func plannedRotation(rotates bool) func(*tfjson.Change) error {
	return func(c *tfjson.Change) error {
		unknown, _ := c.AfterUnknown.(map[string]any)
		if rotating := unknown["token_sha256"] == true; rotating != rotates {
			return fmt.Errorf("the plan rotates the token: %t, want %t", rotating, rotates)
		}
		after, _ := c.After.(map[string]any)
		want := int64(1)
		if rotates {
			want = 2
		}
		if got, ok := after["token_version"].(float64); !ok || int64(got) != want {
			return fmt.Errorf("token_version is planned as %v, want %d", after["token_version"], want)
		}
		return nil
	}
}

// unknownTokenKeys checks that exactly keys of token_sha256 are unknown in
// a planned change of the bulk resource: the tokens it rotates.
func unknownTokenKeys(keys []string) func(*tfjson.Change) error {
	return func(c *tfjson.Change) error {
		var resp plancheck.CheckPlanResponse
		plan := &tfjson.Plan{ResourceChanges: []*tfjson.ResourceChange{{Address: acctest.RefreshTokensAddr, Change: c}}}
		acctest.PlanUnknownKeys{Addr: acctest.RefreshTokensAddr, Attr: "token_sha256", Keys: keys}.CheckPlan(context.Background(), plancheck.CheckPlanRequest{Plan: plan}, &resp)
		return resp.Error
	}
}

// expectTokenState checks the state of point_refresh_token.test: it tracks
// token, at version, issued at issuedAt, and holds the arguments of args.
func expectTokenState(t *testing.T, cli *acctest.InProcessCLI, env *acctest.Env, userID string, args savedPlanArgs, token string, version int64, issuedAt time.Time) {
	t.Helper()
	if token == "" || env.CurrentRefreshToken(userID) != token {
		t.Errorf("Point's current refresh token of %q is not the one expected", userID)
	}
	attrs := acctest.ReadStateFile(t, cli.CLI).Attributes(acctest.RefreshTokenAddr)
	if attrs["token_sha256"] != tokenSHA256(token) {
		t.Errorf("token_sha256 in state is not the fingerprint of the expected token")
	}
	if got, _ := attrs["token_version"].(float64); int64(got) != version {
		t.Errorf("token_version in state = %v, want %d", attrs["token_version"], version)
	}
	if got, want := attrs["issued_at"], acctest.FormatRFC3339(issuedAt); got != want {
		t.Errorf("issued_at in state = %v, want %s", got, want)
	}
	after, _ := time.ParseDuration(args.rotateAfter)
	if got, want := attrs["rotate_at"], acctest.FormatRFC3339(issuedAt.Add(after)); got != want {
		t.Errorf("rotate_at in state = %v, want %s", got, want)
	}
	expectArgsInState(t, attrs, args, token)
}

// expectBulkState checks the state of point_refresh_tokens.test: every
// user's token is the current one, at the version in versions (1 when
// absent) and issued at the time in issued, and the state holds the
// arguments of args.
func expectBulkState(t *testing.T, cli *acctest.InProcessCLI, env *acctest.Env, args savedPlanArgs, ids []string, versions map[string]int64, issued map[string]time.Time) {
	t.Helper()
	attrs := acctest.ReadStateFile(t, cli.CLI).Attributes(acctest.RefreshTokensAddr)
	get := func(attr, id string) any {
		m, _ := attrs[attr].(map[string]any)
		return m[id]
	}
	after, _ := time.ParseDuration(args.rotateAfter)
	for _, id := range ids {
		current := env.CurrentRefreshToken(id)
		if current == "" || get("token_sha256", id) != tokenSHA256(current) {
			t.Errorf("token_sha256 of %q in state is not the fingerprint of its current token", id)
		}
		if stored, _ := get("tokens", id).(string); (stored == current) != args.store || (!args.store && stored != "") {
			t.Errorf("the token of %q in state: stored %t, want %t", id, stored != "", args.store)
		}
		want, ok := versions[id]
		if !ok {
			want = 1
		}
		if got, _ := get("token_version", id).(float64); int64(got) != want {
			t.Errorf("token_version of %q in state = %v, want %d", id, get("token_version", id), want)
		}
		if got := get("issued_at", id); got != acctest.FormatRFC3339(issued[id]) {
			t.Errorf("issued_at of %q in state = %v, want %s", id, got, acctest.FormatRFC3339(issued[id]))
		}
		if got := get("rotate_at", id); got != acctest.FormatRFC3339(issued[id].Add(after)) {
			t.Errorf("rotate_at of %q in state = %v, want %s", id, got, acctest.FormatRFC3339(issued[id].Add(after)))
		}
	}
	expectArgsInState(t, attrs, args, "")
}

// expectArgsInState checks that state holds the arguments of args: the
// apply carried out the change of configuration its plan planned. With
// token, the single resource's token must be stored exactly when args say.
func expectArgsInState(t *testing.T, attrs map[string]any, args savedPlanArgs, token string) {
	t.Helper()
	timeouts, _ := attrs["timeouts"].(map[string]any)
	triggers, _ := attrs["rotation_triggers"].(map[string]any)
	if attrs["store_token"] != args.store || attrs["rotate_after"] != args.rotateAfter || timeouts["read"] != args.readTimeout || triggers["generation"] != args.generation {
		t.Errorf("state holds store_token = %v, rotate_after = %v, timeouts = %v, rotation_triggers = %v; want the configuration's %+v",
			attrs["store_token"], attrs["rotate_after"], timeouts, triggers, args)
	}
	if token != "" {
		if stored, _ := attrs["token"].(string); (stored == token) != args.store || (!args.store && stored != "") {
			t.Errorf("token in state: stored %t, want %t", stored != "", args.store)
		}
	}
}

func currentTokens(env *acctest.Env, ids []string) map[string]string {
	tokens := map[string]string{}
	for _, id := range ids {
		tokens[id] = env.CurrentRefreshToken(id)
	}
	return tokens
}

// expectSameTokens fails when the current token of any of ids is not the
// one in want.
func expectSameTokens(t *testing.T, env *acctest.Env, ids []string, want map[string]string) {
	t.Helper()
	for _, id := range slices.Sorted(slices.Values(ids)) {
		if got := env.CurrentRefreshToken(id); got == "" || got != want[id] {
			t.Errorf("the current token of %q changed; nothing should have rotated it", id)
		}
	}
}

func versionsOf(ids []string, v int64) map[string]int64 {
	out := map[string]int64{}
	for _, id := range ids {
		out[id] = v
	}
	return out
}

func timesOf(ids []string, at time.Time) map[string]time.Time {
	out := map[string]time.Time{}
	for _, id := range ids {
		out[id] = at
	}
	return out
}
