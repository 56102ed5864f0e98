package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

func numbered(format string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf(format, i)
	}
	return ids
}

// TestRunBulk: runBulk works on each id once, at most limit at a time, and
// starts none once the context is cancelled.
func TestRunBulk(t *testing.T) {
	ids := numbered("%d", 200)
	var mu sync.Mutex
	inFlight, peak, seen := 0, 0, map[string]int{}
	notStarted := runBulk(context.Background(), ids, 7, func(_ context.Context, id string) {
		mu.Lock()
		inFlight, seen[id] = inFlight+1, seen[id]+1
		peak = max(peak, inFlight)
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
	})
	if len(notStarted) != 0 {
		t.Errorf("%d ids not started without cancellation", len(notStarted))
	}
	if peak > 7 || peak < 2 {
		t.Errorf("peak concurrency %d, want between 2 and 7", peak)
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("id %s worked on %d times", id, seen[id])
		}
	}

	ids = numbered("%d", 100)
	ctx, cancel := context.WithCancel(context.Background())
	var done []string
	notStarted = runBulk(ctx, ids, 4, func(ctx context.Context, id string) {
		mu.Lock()
		if done = append(done, id); len(done) == 10 {
			cancel()
		}
		mu.Unlock()
	})
	if len(done)+len(notStarted) != len(ids) {
		t.Fatalf("%d worked on and %d not started, want %d in all", len(done), len(notStarted), len(ids))
	}
	if len(notStarted) == 0 || len(done) > 10+4 {
		t.Errorf("after cancellation %d ids were still started", len(done)-10)
	}
	for _, id := range notStarted {
		if slices.Contains(done, id) {
			t.Errorf("id %s reported as not started was worked on", id)
		}
	}
}

// TestImportUserIDs: an import ID lists valid ids with commas, each once.
func TestImportUserIDs(t *testing.T) {
	for _, tc := range []struct {
		id      string
		want    []string
		problem string
	}{
		{id: "alice", want: []string{"alice"}},
		{id: "alice, bob,carol", want: []string{"alice", "bob", "carol"}},
		{id: "alice,bob,alice", want: []string{"alice", "bob"}},
		{id: "alice,,bob", problem: `Got "" in "alice,,bob"`},
		{id: "alice,a/b", problem: `Got "a/b"`},
		{id: "", problem: `Got ""`},
	} {
		var diags diag.Diagnostics
		got, ok := importUserIDs(tc.id, &diags)
		if tc.problem != "" {
			if ok || !diags.HasError() || !strings.Contains(diags[0].Detail(), tc.problem) {
				t.Errorf("importUserIDs(%q) = %v, %v, %v; want an error mentioning %s", tc.id, got, ok, diags, tc.problem)
			}
		} else if !ok || !slices.Equal(got, tc.want) {
			t.Errorf("importUserIDs(%q) = %v, %v, %v; want %v", tc.id, got, ok, diags, tc.want)
		}
	}
}

// TestQuoteIDsAndOrdered: quoteIDs sorts and cuts short; ordered keeps the
// given order and puts the rest after it, sorted.
func TestQuoteIDsAndOrdered(t *testing.T) {
	if got := quoteIDs([]string{"b", "a"}); got != `"a", "b"` {
		t.Errorf("quoteIDs = %s", got)
	}
	if got := quoteIDs(numbered("u%02d", 25)); !strings.HasSuffix(got, `"u09" and 15 more`) || !strings.HasPrefix(got, `"u00", `) {
		t.Errorf("quoteIDs of 25 = %s", got)
	}
	got := ordered([]string{"c", "a", "x", "c"}, toSet([]string{"a", "c", "z", "b"}))
	if want := []string{"c", "a", "b", "z"}; !slices.Equal(got, want) {
		t.Errorf("ordered = %v, want %v", got, want)
	}
}

// TestFailures: failures groups ids by error, maxFailureGroups at most.
func TestFailures(t *testing.T) {
	var f failures
	f.add("user-1", errors.New("boom"))
	f.add("user-2", errors.New("boom"))
	f.add("user-3", errors.New("other"))
	// An answer that quotes the path groups with the same answer for others.
	f.add("user-4", errors.New("proxy refused GET /organizations/users/user-4"))
	f.add("user 5", errors.New("proxy refused GET /organizations/users/user%205"))
	var groups []string
	f.each(func(ids []string, err error) {
		groups = append(groups, fmt.Sprintf("%v:%v", slices.Sorted(slices.Values(ids)), err))
	})
	want := []string{"[user 5 user-4]:proxy refused GET /organizations/users/user-4", "[user-1 user-2]:boom", "[user-3]:other"}
	if slices.Sort(groups); !slices.Equal(groups, want) {
		t.Errorf("groups = %q, want %q", groups, want)
	}
	if f.len() != 5 {
		t.Errorf("len = %d", f.len())
	}

	var many failures
	for i := range 8 {
		for j := range 8 - i {
			many.add(fmt.Sprintf("user-%d-%d", i, j), fmt.Errorf("error %d", i))
		}
	}
	var reports []string
	total := 0
	many.each(func(ids []string, err error) {
		reports = append(reports, err.Error())
		total += len(ids)
	})
	if len(reports) != maxFailureGroups || total != many.len() {
		t.Fatalf("%d reports covering %d ids, want %d covering %d: %q", len(reports), total, maxFailureGroups, many.len(), reports)
	}
	if last := reports[len(reports)-1]; last != "error 4 (and 3 other errors; the first is shown)" {
		t.Errorf("last report = %q", last)
	}
}

func settles(checks ...plancheck.PlanCheck) resource.ConfigPlanChecks {
	return resource.ConfigPlanChecks{PreApply: checks, PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}
}

func noWriteSucceeded(front *acctest.CountingFront) resource.TestCheckFunc {
	return func(*terraform.State) error {
		return errors.Join(front.Expect(sandbox.RouteCreateUser, nil, 0), front.Expect(sandbox.RouteIssueRefreshToken, nil, 0),
			front.Expect(sandbox.RouteRevokeRefreshToken, nil, 0))
	}
}

func expectNoError(t *testing.T, errs ...error) {
	t.Helper()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func importBlock(addr, id string) string {
	return fmt.Sprintf("\nimport {\n  to = %s\n  id = %q\n}\n", addr, id)
}

func removedBlocks(addrs ...string) string {
	var b strings.Builder
	for _, addr := range addrs {
		fmt.Fprintf(&b, "\nremoved {\n  from = %s\n  lifecycle {\n    destroy = false\n  }\n}\n", addr)
	}
	return b.String()
}

// The tests below drive the Terraform CLI: they need warnings, exit codes
// and signals, which terraform-plugin-testing does not show.

var replacementOrDestroy = regexp.MustCompile(`must be replaced|-/\+ resource|[1-9]\d* to destroy|[1-9]\d* destroyed`)

func applyWithoutReplacement(t *testing.T, cli *acctest.CLI) (string, int) {
	t.Helper()
	out, code := cli.Run("apply", "-input=false", "-auto-approve", "-no-color")
	if replacementOrDestroy.MatchString(out) {
		t.Fatalf("an apply planned a replacement or a destroy:\n%s", out)
	}
	acctest.ExpectNotTainted(t, cli, acctest.UsersAddr, acctest.RefreshTokensAddr)
	return out, code
}

func expectCurrentTokens(t *testing.T, env *acctest.Env, when string, ids []string, tokens, earlier map[string]string) {
	t.Helper()
	for _, id := range ids {
		if tokens[id] == "" || tokens[id] != env.CurrentRefreshToken(id) {
			t.Errorf("%s: the token of %q in state is not its current one in Point", when, id)
		}
		if before, ok := earlier[id]; ok && tokens[id] != before {
			t.Errorf("%s: the token of %q recorded earlier was issued again", when, id)
		}
	}
}

// TestAccBulk_partialFailureThenMoveCLI: with 30% of requests failing and no
// retries, every apply of 60 users records what it did, untainted; the move
// to the singular shape and back writes nothing; destroy revokes each once.
func TestAccBulk_partialFailureThenMoveCLI(t *testing.T) {
	cli := acctest.NewCLI(t)
	env := acctest.NewEnv(t, sandbox.Options{})
	t.Parallel()
	front, endpoint := acctest.NewCountingFront(t, env)
	ids := acctest.NumberedUserIDs(env, "partial", 60)
	provider := acctest.ProviderBlockFor(env, endpoint, 0)
	bulk := acctest.BulkConfig(provider, ids, "", "")
	cli.WriteMain(bulk)
	front.SetFailRate(0.3)

	out, code := applyWithoutReplacement(t, cli)
	if code != 0 {
		t.Fatalf("the first apply exited %d; with some users registered it must create both resources, with warnings:\n%s", code, out)
	}
	acctest.ExpectOutput(t, out, "Warning: Error Registering Point Users", "Could not register", "of the 60 users",
		"the next apply registers them", "would mark the resource as tainted")
	acctest.ExpectOutput(t, out, "Apply complete! Resources: 2 added, 0 changed, 0 destroyed.")
	recorded := map[string]string{}
	checkRecorded := func(round int) {
		t.Helper()
		tokens := acctest.StateFileTokens(acctest.ReadStateFile(t, cli), acctest.RefreshTokensAddr)
		expectCurrentTokens(t, env, fmt.Sprintf("apply %d", round), slices.Collect(maps.Keys(tokens)), tokens, recorded)
		maps.Copy(recorded, tokens)
	}
	if checkRecorded(1); len(recorded) == 0 || len(recorded) == len(ids) {
		t.Fatalf("the first apply recorded %d tokens of %d: the faults did not make it fail part way", len(recorded), len(ids))
	}

	round := 1
	for ; round < 20; round++ {
		out, code = applyWithoutReplacement(t, cli)
		if checkRecorded(round + 1); code == 0 && len(recorded) == len(ids) {
			break
		}
		if code != 0 && !strings.Contains(out, "Error: Error Registering Point Users") && !strings.Contains(out, "Error: Error Issuing Point Refresh Tokens") {
			t.Fatalf("apply %d failed for another reason than the faults:\n%s", round+1, out)
		}
	}
	t.Logf("converged after %d applies; %d requests failed with an injected 503", round+1, front.Injected.Load())
	front.SetFailRate(0)
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	expectCurrentTokens(t, env, "after the last apply", ids, recorded, nil)
	expectNoError(t, front.Expect(sandbox.RouteCreateUser, ids, 1), front.Expect(sandbox.RouteIssueRefreshToken, ids, 1),
		front.Expect(sandbox.RouteRevokeRefreshToken, nil, 0))
	if n := front.Count(sandbox.RouteCreateUser, "", http.StatusConflict); n != 0 {
		t.Errorf("%d registrations met 409: a user was registered again", n)
	}

	singular := provider + fmt.Sprintf(`locals {
  user_ids = %s
}

resource "point_user" "u" {
  for_each = toset(local.user_ids)
  user_id  = each.key
}

resource "point_refresh_token" "u" {
  for_each = toset(local.user_ids)
  user_id  = point_user.u[each.key].user_id
}
`, acctest.HCLList(ids))
	toSingular := singular + removedBlocks(acctest.UsersAddr, acctest.RefreshTokensAddr)
	for _, typ := range []string{"point_user", "point_refresh_token"} {
		toSingular += fmt.Sprintf("\nimport {\n  for_each = toset(local.user_ids)\n  to       = %s.u[each.key]\n  id       = each.key\n}\n", typ)
	}
	toBulk := bulk + importBlock(acctest.UsersAddr, strings.Join(ids, ",")) + importBlock(acctest.RefreshTokensAddr, strings.Join(ids, ",")) +
		removedBlocks("point_user.u", "point_refresh_token.u")
	move := func(step, config, alone string) acctest.StateFile {
		t.Helper()
		front.Reset()
		cli.WriteMain(config)
		cli.MustRun(0, "apply", "-input=false", "-auto-approve", "-no-color")
		cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")
		cli.WriteMain(alone)
		cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")
		if err := noWriteSucceeded(front)(nil); err != nil {
			t.Errorf("%s: %v", step, err)
		}
		return acctest.ReadStateFile(t, cli)
	}
	state := move("to the singular shape", toSingular, singular)
	if state.Status(acctest.UsersAddr) != "absent" || state.Status(acctest.RefreshTokensAddr) != "absent" {
		t.Error("the bulk resources are still in state after the move to the singular shape")
	}
	expectCurrentTokens(t, env, "to the singular shape", ids, acctest.ReadStateFile(t, cli).ByUser("point_refresh_token", "token"), recorded)
	state = move("back to the bulk shape", toBulk, bulk)
	if got := acctest.ReadStateFile(t, cli).ByUser("point_refresh_token", "token"); len(got) != 0 {
		t.Errorf("point_refresh_token.u is still in state after the move back: %d instances", len(got))
	}
	expectCurrentTokens(t, env, "back to the bulk shape", ids, acctest.StateFileTokens(state, acctest.RefreshTokensAddr), recorded)
	if got := acctest.StateFileUserIDs(state, acctest.UsersAddr); !acctest.SameElements(got, ids) {
		t.Errorf("point_users holds %v, want %v", got, ids)
	}

	// Under the faults, each destroy revokes what it can and keeps the rest.
	front.SetFailRate(0.3)
	for destroys := 1; ; destroys++ {
		if out, code = cli.Run("destroy", "-input=false", "-auto-approve", "-no-color"); code == 0 {
			break
		}
		if destroys == 20 {
			t.Fatalf("destroy still failing after 20 runs:\n%s", out)
		}
		// Either revocations failed, or every read of the refresh before
		// them did, as when one token is left and its read fails.
		if !acctest.DiagnosticMatching("Error: Error Revoking Point Refresh Tokens", "they stay in state").MatchString(out) &&
			!acctest.DiagnosticMatching("Error: Error Reading Point", "the state of every one is unchanged").MatchString(out) {
			t.Fatalf("destroy %d failed for another reason than the faults:\n%s", destroys, out)
		}
		for id := range acctest.StateFileTokens(acctest.ReadStateFile(t, cli), acctest.RefreshTokensAddr) {
			if env.CurrentRefreshToken(id) != recorded[id] {
				t.Errorf("destroy %d: %q is still in state, but its token was revoked", destroys, id)
			}
		}
	}
	expectNoError(t, front.Expect(sandbox.RouteRevokeRefreshToken, ids, 1), acctest.NoCurrentRefreshToken(env, ids...)(nil))
}

// TestAccBulk_interruptCLI interrupts the registration of users and then the
// issue of tokens: nothing is tainted, and the final apply registers no user
// twice and issues no recorded token again.
func TestAccBulk_interruptCLI(t *testing.T) {
	cli := acctest.NewCLI(t)
	env := acctest.NewEnv(t, sandbox.Options{})
	env.RequireSandbox()
	t.Parallel()
	const users = 40
	front, endpoint := acctest.StartSlowSandbox(t, env)
	ids := acctest.NumberedUserIDs(env, "intr", users)
	cli.WriteMain(acctest.BulkConfig(acctest.ProviderBlockFor(env, endpoint, 2), ids, "  max_concurrency = 4\n", "  max_concurrency = 4\n"))

	out := acctest.InterruptedApply(t, cli, func() bool { return len(env.Sandbox.UserIDs()) >= 8 })
	acctest.ExpectNotTainted(t, cli, acctest.UsersAddr)
	if got := len(env.Sandbox.UserIDs()); got == users {
		t.Fatalf("the interrupt came too late: all %d users were registered", users)
	}
	acctest.ExpectOutput(t, out, "Warning: Point Users Not Registered", "The run was interrupted before the provider could register")
	t.Logf("interrupted registration: %d users in Point; answers lost on the way back: %v", len(env.Sandbox.UserIDs()), front.TakeLost())

	// Past the first few tokens issued, some answers have come back too.
	acctest.InterruptedApply(t, cli, func() bool { return env.Sandbox.RefreshTokensIssued()-users >= 12 })
	acctest.ExpectNotTainted(t, cli, acctest.UsersAddr, acctest.RefreshTokensAddr)
	interrupted := acctest.StateFileTokens(acctest.ReadStateFile(t, cli), acctest.RefreshTokensAddr)
	if len(interrupted) == 0 || len(interrupted) == users {
		t.Fatalf("the interrupt during issue left %d tokens of %d in state", len(interrupted), users)
	}
	expectCurrentTokens(t, env, "after the interrupt", slices.Collect(maps.Keys(interrupted)), interrupted, nil)

	env.Sandbox.SetFaults(sandbox.Faults{})
	front.Delay.Store(0)
	creates := env.Sandbox.RequestCounts()[sandbox.RouteCreateUser]
	if out, code := applyWithoutReplacement(t, cli); code != 0 {
		t.Fatalf("final apply exited %d:\n%s", code, out)
	}
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	if n := env.Sandbox.RequestCounts()[sandbox.RouteCreateUser] - creates; n != 0 {
		t.Errorf("the final apply sent %d registrations; every user was registered before it", n)
	}
	final := acctest.StateFileTokens(acctest.ReadStateFile(t, cli), acctest.RefreshTokensAddr)
	expectCurrentTokens(t, env, "after the final apply", ids, final, interrupted)
	if err := sandboxConverged(env, ids, final); err != nil {
		t.Errorf("after the final apply: %v", err)
	}
}

// TestAccBulk_badInputCLI: ids and settings Point would refuse fail before
// any request, each diagnostic naming the id, never its position, which a
// set(string) sorts away from the configuration; bad imports fail too.
func TestAccBulk_badInputCLI(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	// In process, so that coverage counts the validators and the import.
	cli := acctest.NewInProcessCLI(t, env.Factories(), "").CLI
	t.Parallel()
	good := env.UserID("named-ok")
	bad := func(name string) string { return "bad/" + name + "-" + good }
	invalidID := func(name string) []string {
		return []string{"Error: Invalid User ID", fmt.Sprintf("The user id %q in user_ids %s", bad(name),
			`must not contain "/", which Point cannot accept in a user id. Correct it, or remove it from user_ids.`)}
	}
	bulk := func(resourceType, name, ids, args string) string {
		return fmt.Sprintf("\nresource %q %q {\n  user_ids = %s\n%s}\n", resourceType, name, ids, args)
	}
	setVariable := func(name string, ids ...string) string {
		return fmt.Sprintf("\nvariable %q {\n  type    = set(string)\n  default = %s\n}\n", name, acctest.HCLList(ids))
	}
	failing := func(config string, command ...string) string {
		t.Helper()
		cli.WriteConfig(env, config)
		out := cli.MustRun(1, append(command, "-input=false", "-no-color")...)
		if strings.Contains(out, "user_ids[") {
			t.Errorf("a diagnostic names a position in user_ids:\n%s", out)
		}
		return out
	}

	out := failing(bulk("point_users", "list", acctest.HCLList([]string{good, bad("users-list")}), "")+
		bulk("point_refresh_tokens", "list", acctest.HCLList([]string{good, bad("tokens-list")}), "")+
		bulk("point_users", "duplicate", acctest.HCLList([]string{good, "other-" + good, good}), "")+
		bulk("point_users", "concurrency", acctest.HCLList([]string{good}), "  max_concurrency = 65\n")+
		bulk("point_refresh_tokens", "rotate", acctest.HCLList([]string{good}), "  rotate_after = \"soon\"\n"), "plan")
	acctest.ExpectDiagnostic(t, out, invalidID("users-list")...)
	acctest.ExpectDiagnostic(t, out, invalidID("tokens-list")...)
	acctest.ExpectDiagnostic(t, out, "Error: Duplicate User ID", fmt.Sprintf("user_ids holds the user id %q more than once", good), "toset()")
	acctest.ExpectDiagnostic(t, out, "max_concurrency", "between 1 and 64")
	acctest.ExpectDiagnostic(t, out, "rotate_after")
	// The sets sort the bad ids away from where they were written.
	out = failing(setVariable("users_ids", "zz-"+good, bad("users-var"), "aa-"+good)+bulk("point_users", "var", "var.users_ids", "")+
		setVariable("tokens_ids", "zz-"+good, bad("tokens-var"))+bulk("point_refresh_tokens", "var", "var.tokens_ids", ""), "plan")
	acctest.ExpectDiagnostic(t, out, invalidID("users-var")...)
	acctest.ExpectDiagnostic(t, out, invalidID("tokens-var")...)
	out = failing(fmt.Sprintf("\nresource \"terraform_data\" \"ids\" {\n  input = { users = %s, tokens = %s }\n}\n",
		acctest.HCLList([]string{"zz-" + good, bad("users-apply")}), acctest.HCLList([]string{"zz-" + good, bad("tokens-apply")}))+
		bulk("point_users", "test", "terraform_data.ids.output.users", "")+
		bulk("point_refresh_tokens", "test", "terraform_data.ids.output.tokens", ""), "apply", "-auto-approve")
	acctest.ExpectDiagnostic(t, out, invalidID("users-apply")...)
	acctest.ExpectDiagnostic(t, out, invalidID("tokens-apply")...)
	acctest.ExpectNoRequests(t, env, "validating user_ids")

	ids := acctest.NumberedUserIDs(env, "import-err", 3)
	env.AddUser(ids[0])
	env.AddUser(ids[1])
	env.RevokeRefreshToken(ids[1])
	missing := ids[2]
	out = failing(bulk("point_users", "commas", acctest.HCLList(ids[:1]), "")+
		importBlock("point_users.commas", ids[0]+",,"+ids[1])+
		bulk("point_users", "missing", acctest.HCLList([]string{ids[0], missing}), "")+
		importBlock("point_users.missing", ids[0]+","+missing)+
		bulk("point_users", "no_token", acctest.HCLList(ids[:2]), "")+
		importBlock("point_users.no_token", ids[0]+","+ids[1])+
		bulk("point_refresh_tokens", "no_token", "point_users.no_token.user_ids", "")+
		importBlock("point_refresh_tokens.no_token", ids[0]+","+ids[1]), "plan")
	acctest.ExpectDiagnostic(t, out, "Error: Invalid Import ID", "a list of Point user ids separated by commas", `Got ""`)
	acctest.ExpectDiagnostic(t, out, "Error: Cannot Import Point Users",
		fmt.Sprintf("Point has no users with 1 of the ids imported (%q)", missing))
	acctest.ExpectDiagnostic(t, out, "Error: Cannot Import Point Refresh Tokens",
		fmt.Sprintf("The users %q have no current refresh token", ids[1]))
	// The terraform_data of the failed apply goes.
	cli.WriteConfig(env, "")
	cli.MustRun(0, "apply", "-auto-approve", "-no-color")
}
