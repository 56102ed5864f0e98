package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
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

// savedPlanChanges are the changes a saved plan carries, of which the bulk
// resource is tested with the first two.
var savedPlanChanges = []savedPlanChange{
	{name: "timeouts", apply: func(a *savedPlanArgs) { a.readTimeout = "2m" }},
	{name: "store_token", apply: func(a *savedPlanArgs) { a.store = !a.store }},
	// rotate_at moves to half an hour after the old one: still between
	// the plan and the apply.
	{name: "rotate_after", apply: func(a *savedPlanArgs) { a.rotateAfter = "24h30m" }},
	{name: "rotation_triggers", apply: func(a *savedPlanArgs) { a.generation = "2" }, rotates: true},
}

// savedPlanSubject is one refresh token resource of a saved plan test,
// with its own users, under one change with store_token set one way at
// first.
type savedPlanSubject struct {
	change savedPlanChange
	name   string // of the resources, and in their users' ids
	args   savedPlanArgs
}

func savedPlanSubjects(changes []savedPlanChange, args savedPlanArgs) []*savedPlanSubject {
	var subjects []*savedPlanSubject
	for _, change := range changes {
		for _, store := range []bool{true, false} {
			args.store = store
			subjects = append(subjects, &savedPlanSubject{change: change, name: fmt.Sprintf("%s_%t", change.name, store), args: args})
		}
	}
	return subjects
}

// TestAccSavedPlan_refreshToken: a saved plan made an hour before rotate_at
// applies as planned an hour after it, whatever change of configuration it
// carries, with store_token on or off. A plan that rotated nothing rotates
// nothing. A plan with -refresh=false then rotates nothing either, until
// terraform apply -refresh-only saves a refresh that finds the token due;
// the next plan rotates the token, and its plan file applies that
// rotation. A plan that rotated the token rotates it once. The plan after
// is empty. Each change and store_token has a resource of its own, all in
// one configuration; a destroy without a refresh then meets a token revoked
// elsewhere.
func TestAccSavedPlan_refreshToken(t *testing.T) {
	t.Parallel()
	env := acctest.NewEnv(t, sandbox.Options{})
	front, endpoint := acctest.NewCountingFront(t, env)
	cli := acctest.NewInProcessCLI(t, env.Factories(), "")
	subjects := savedPlanSubjects(savedPlanChanges, savedPlanArgs{rotateAfter: "24h", readTimeout: "1m", generation: "1"})
	userID := func(s *savedPlanSubject) string {
		return env.UserID("saved-plan-" + strings.ReplaceAll(s.name, "_", "-"))
	}
	addr := func(s *savedPlanSubject) string { return "point_refresh_token." + s.name }
	writeConfig := func() {
		config := acctest.ProviderBlockFor(env, endpoint, 3)
		for _, s := range subjects {
			config += fmt.Sprintf(`
resource "point_user" %[1]q {
  user_id = %[2]q
}

resource "point_refresh_token" %[1]q {
  user_id = point_user.%[1]s.user_id
%[3]s}
`, s.name, userID(s), s.args.hcl())
		}
		cli.WriteMain(config)
	}
	usersWhere := func(rotates bool) (ids []string) {
		for _, s := range subjects {
			if s.change.rotates == rotates {
				ids = append(ids, userID(s))
			}
		}
		return ids
	}
	// expectRotated checks that the plan file just applied rotated, once,
	// the tokens of exactly the subjects whose change rotates as given, to
	// version 2 issued at at.
	first := map[*savedPlanSubject]string{}
	expectRotated := func(rotates bool, at time.Time) {
		t.Helper()
		if err := front.Expect(sandbox.RouteIssueRefreshToken, usersWhere(rotates), 1); err != nil {
			t.Error(err)
		}
		for _, s := range subjects {
			if s.change.rotates != rotates {
				continue
			}
			second := env.CurrentRefreshToken(userID(s))
			if second == first[s] {
				t.Fatalf("%s: the applied plan rotates the token, but Point still holds the first one", s.name)
			}
			if err := env.CheckRefreshTokenRefused(userID(s), first[s]); err != nil {
				t.Error(err)
			}
			expectTokenState(t, cli, env, addr(s), userID(s), s.args, second, 2, at)
		}
	}
	t0 := env.Clock.Now()
	writeConfig()
	cli.MustRun(0, "apply", "-auto-approve", "-input=false", "-no-color")
	for _, s := range subjects {
		first[s] = env.CurrentRefreshToken(userID(s))
		expectTokenState(t, cli, env, addr(s), userID(s), s.args, first[s], 1, t0)
	}

	env.Clock.Advance(23 * time.Hour)
	front.Reset()
	for _, s := range subjects {
		s.change.apply(&s.args)
	}
	writeConfig()
	out := cli.MustRun(0, "plan", "-input=false", "-no-color", "-out=change.tfplan")
	acctest.ExpectOutputShows(t, out, fmt.Sprintf("Plan: 0 to add, %d to change, 0 to destroy.", len(subjects)))
	planned := plannedChanges(t, cli, "change.tfplan")
	for _, s := range subjects {
		expectPlanned(t, planned, addr(s), plannedRotation(s.change.rotates))
	}

	// Reviewed, and applied an hour after rotate_at.
	env.Clock.Advance(2 * time.Hour)
	appliedAt := env.Clock.Now()
	out = cli.MustRun(0, "apply", "-input=false", "-no-color", "change.tfplan")
	acctest.ExpectOutputShows(t, out, fmt.Sprintf("Apply complete! Resources: 0 added, %d changed, 0 destroyed.", len(subjects)))
	expectRotated(true, appliedAt)
	for _, s := range subjects {
		if !s.change.rotates {
			expectTokenState(t, cli, env, addr(s), userID(s), s.args, first[s], 1, t0)
		}
	}

	// Without a refresh, a plan reads no clock: the tokens were not due at
	// the last refresh saved in state, so there is nothing to do. Once a
	// refresh that finds them due is saved, such a plan rotates them.
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-refresh=false", "-detailed-exitcode")
	cli.MustRun(0, "apply", "-input=false", "-no-color", "-refresh-only", "-auto-approve")
	cli.MustRun(2, "plan", "-input=false", "-no-color", "-refresh=false", "-detailed-exitcode")

	// The next plan rotates the tokens due, and its file applies that;
	// those that the saved plan rotated are not due.
	front.Reset()
	cli.MustRun(2, "plan", "-input=false", "-no-color", "-detailed-exitcode", "-out=rotate.tfplan")
	planned = plannedChanges(t, cli, "rotate.tfplan")
	for _, s := range subjects {
		if !s.change.rotates {
			expectPlanned(t, planned, addr(s), plannedRotation(true))
		} else if change, ok := planned[addr(s)]; !ok || !change.Actions.NoOp() {
			t.Errorf("rotate.tfplan changes %s, whose token is not due", addr(s))
		}
	}
	env.Clock.Advance(time.Minute)
	for _, s := range subjects {
		if !s.change.rotates {
			first[s] = env.CurrentRefreshToken(userID(s))
		}
	}
	rotatedAt := env.Clock.Now()
	cli.MustRun(0, "apply", "-input=false", "-no-color", "rotate.tfplan")
	expectRotated(false, rotatedAt)
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")

	// A token revoked elsewhere after the last refresh: the destroy, without
	// a refresh, finds that its user holds none, so it has nothing to revoke
	// there and no token left valid to warn of.
	env.RevokeRefreshToken(userID(subjects[0]))
	out = cli.MustRun(0, "destroy", "-auto-approve", "-input=false", "-no-color", "-refresh=false")
	acctest.ExpectOutputShows(t, out, fmt.Sprintf("Destroy complete! Resources: %d destroyed.", 2*len(subjects)))
	if strings.Contains(out, "Left Valid") {
		t.Errorf("the destroy warns of a token left valid, but the user holds none:\n%s", out)
	}
	if err := acctest.NoCurrentRefreshToken(env, append(usersWhere(true), usersWhere(false)...)...)(nil); err != nil {
		t.Error(err)
	}
}

// TestAccSavedPlan_refreshTokens: the same for point_refresh_tokens, whose
// tokens fall due at different times. A saved plan made when none is due
// applies after some are, rotating none; a saved plan that rotates the
// tokens due applies after more fell due, rotating exactly those it
// planned; the next plan rotates the rest, and the plan after is empty.
func TestAccSavedPlan_refreshTokens(t *testing.T) {
	t.Parallel()
	env := acctest.NewEnv(t, sandbox.Options{})
	front, endpoint := acctest.NewCountingFront(t, env)
	cli := acctest.NewInProcessCLI(t, env.Factories(), "")
	subjects := savedPlanSubjects(savedPlanChanges[:2], savedPlanArgs{rotateAfter: "2h", readTimeout: "1m", generation: "1"})
	ids := map[*savedPlanSubject][]string{}
	var allIDs, allEarly, allLate []string
	for _, s := range subjects {
		ids[s] = acctest.NumberedUserIDs(env, "saved-plan-"+strings.ReplaceAll(s.name, "_", "-"), 8)
		allIDs = append(allIDs, ids[s]...)
		allEarly, allLate = append(allEarly, ids[s][:4]...), append(allLate, ids[s][4:]...)
	}
	addr := func(s *savedPlanSubject) string { return "point_refresh_tokens." + s.name }
	// writeConfig writes the resources of every subject, for the first
	// users of its ids.
	writeConfig := func(users int) {
		config := acctest.ProviderBlockFor(env, endpoint, 3)
		for _, s := range subjects {
			config += fmt.Sprintf(`
resource "point_users" %[1]q {
  user_ids = %[2]s
}

resource "point_refresh_tokens" %[1]q {
  user_ids = point_users.%[1]s.user_ids
%[3]s}
`, s.name, acctest.HCLList(ids[s][:users]), s.args.hcl())
		}
		cli.WriteMain(config)
	}
	expectState := func(versions map[string]int64, issued map[string]time.Time) {
		t.Helper()
		for _, s := range subjects {
			expectBulkState(t, cli, env, addr(s), s.args, ids[s], versions, issued)
		}
	}
	// expectPlannedKeys checks that the plan file rotates exactly the
	// tokens of the users that users picks of each subject's ids.
	expectPlannedKeys := func(planFile string, users func(ids []string) []string) {
		t.Helper()
		planned := plannedChanges(t, cli, planFile)
		for _, s := range subjects {
			expectPlanned(t, planned, addr(s), unknownTokenKeys(addr(s), users(ids[s])))
		}
	}
	none := func([]string) []string { return nil }
	early := func(ids []string) []string { return ids[:4] }
	late := func(ids []string) []string { return ids[4:] }

	t0 := env.Clock.Now()
	writeConfig(4)
	cli.MustRun(0, "apply", "-auto-approve", "-input=false", "-no-color")
	env.Clock.Advance(time.Hour)
	writeConfig(8)
	cli.MustRun(0, "apply", "-auto-approve", "-input=false", "-no-color")
	initial := currentTokens(env, allIDs)
	issued := timesOf(allEarly, t0)
	maps.Copy(issued, timesOf(allLate, t0.Add(time.Hour)))
	expectState(map[string]int64{}, issued)

	// At t0+1h30m none is due.
	env.Clock.Advance(30 * time.Minute)
	front.Reset()
	for _, s := range subjects {
		s.change.apply(&s.args)
	}
	writeConfig(8)
	out := cli.MustRun(0, "plan", "-input=false", "-no-color", "-out=change.tfplan")
	acctest.ExpectOutputShows(t, out, fmt.Sprintf("Plan: 0 to add, %d to change, 0 to destroy.", len(subjects)))
	expectPlannedKeys("change.tfplan", none)

	// Applied at t0+2h15m, when the early tokens are due.
	env.Clock.Advance(45 * time.Minute)
	cli.MustRun(0, "apply", "-input=false", "-no-color", "change.tfplan")
	if err := front.Expect(sandbox.RouteIssueRefreshToken, nil, 0); err != nil {
		t.Errorf("the saved plan rotates nothing, but its apply did: %v", err)
	}
	expectSameTokens(t, env, allIDs, initial)
	expectState(map[string]int64{}, issued)
	// Without a refresh, a plan rotates only what was due at the last
	// refresh saved in state: nothing, until a refresh that finds the early
	// tokens due is saved.
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-refresh=false", "-detailed-exitcode")
	cli.MustRun(0, "apply", "-input=false", "-no-color", "-refresh-only", "-auto-approve")
	cli.MustRun(2, "plan", "-input=false", "-no-color", "-refresh=false", "-detailed-exitcode", "-out=unrefreshed.tfplan")
	expectPlannedKeys("unrefreshed.tfplan", early)

	// The next plan rotates the early tokens; applied at t0+3h15m, when
	// the late ones are due as well, it rotates the early ones alone.
	front.Reset()
	cli.MustRun(2, "plan", "-input=false", "-no-color", "-detailed-exitcode", "-out=early.tfplan")
	expectPlannedKeys("early.tfplan", early)
	env.Clock.Advance(time.Hour)
	maps.Copy(issued, timesOf(allEarly, env.Clock.Now()))
	cli.MustRun(0, "apply", "-input=false", "-no-color", "early.tfplan")
	if err := front.Expect(sandbox.RouteIssueRefreshToken, allEarly, 1); err != nil {
		t.Error(err)
	}
	expectSameTokens(t, env, allLate, initial)
	for _, id := range allEarly {
		if err := env.CheckRefreshTokenRefused(id, initial[id]); err != nil {
			t.Error(err)
		}
	}
	expectState(versionsOf(allEarly, 2), issued)

	// Then the late ones, and nothing more.
	front.Reset()
	cli.MustRun(2, "plan", "-input=false", "-no-color", "-detailed-exitcode", "-out=late.tfplan")
	expectPlannedKeys("late.tfplan", late)
	maps.Copy(issued, timesOf(allLate, env.Clock.Now()))
	cli.MustRun(0, "apply", "-input=false", "-no-color", "late.tfplan")
	if err := front.Expect(sandbox.RouteIssueRefreshToken, allLate, 1); err != nil {
		t.Error(err)
	}
	expectState(versionsOf(allIDs, 2), issued)
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	destroyRefreshTokens(t, cli, env, allIDs...)
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

// plannedChanges returns the changes that the plan file plans, by address.
func plannedChanges(t *testing.T, cli *acctest.InProcessCLI, planFile string) map[string]*tfjson.Change {
	t.Helper()
	var plan tfjson.Plan
	if err := json.Unmarshal([]byte(cli.MustRun(0, "show", "-json", planFile)), &plan); err != nil {
		t.Fatal(err)
	}
	changes := map[string]*tfjson.Change{}
	for _, rc := range plan.ResourceChanges {
		changes[rc.Address] = rc.Change
	}
	return changes
}

// expectPlanned checks the change planned for the resource at addr.
func expectPlanned(t *testing.T, planned map[string]*tfjson.Change, addr string, check func(*tfjson.Change) error) {
	t.Helper()
	change, ok := planned[addr]
	if !ok {
		t.Errorf("the plan plans no change of %s", addr)
		return
	}
	if err := check(change); err != nil {
		t.Errorf("%s: %v", addr, err)
	}
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
// a planned change of the bulk resource at addr: the tokens it rotates.
func unknownTokenKeys(addr string, keys []string) func(*tfjson.Change) error {
	return func(c *tfjson.Change) error {
		var resp plancheck.CheckPlanResponse
		plan := &tfjson.Plan{ResourceChanges: []*tfjson.ResourceChange{{Address: addr, Change: c}}}
		acctest.PlanUnknownKeys{Addr: addr, Attr: "token_sha256", Keys: keys}.CheckPlan(context.Background(), plancheck.CheckPlanRequest{Plan: plan}, &resp)
		return resp.Error
	}
}

// expectTokenState checks the state of the point_refresh_token at addr: it
// tracks token, at version, issued at issuedAt, and holds the arguments of
// args.
func expectTokenState(t *testing.T, cli *acctest.InProcessCLI, env *acctest.Env, addr, userID string, args savedPlanArgs, token string, version int64, issuedAt time.Time) {
	t.Helper()
	if token == "" || env.CurrentRefreshToken(userID) != token {
		t.Errorf("Point's current refresh token of %q is not the one expected", userID)
	}
	attrs := acctest.ReadStateFile(t, cli.CLI).Attributes(addr)
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

// expectBulkState checks the state of the point_refresh_tokens at addr:
// every user's token is the current one, at the version in versions (1
// when absent) and issued at the time in issued, and the state holds the
// arguments of args.
func expectBulkState(t *testing.T, cli *acctest.InProcessCLI, env *acctest.Env, addr string, args savedPlanArgs, ids []string, versions map[string]int64, issued map[string]time.Time) {
	t.Helper()
	attrs := acctest.ReadStateFile(t, cli.CLI).Attributes(addr)
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
