package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// Tests of what point_users and point_refresh_tokens share: bulk.go unit by
// unit, then both resources together.

func TestRunBulk_boundsConcurrency(t *testing.T) {
	ids := make([]string, 200)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	var inFlight, peak atomic.Int64
	var mu sync.Mutex
	seen := map[string]int{}
	notStarted := runBulk(context.Background(), ids, 7, func(_ context.Context, id string) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		inFlight.Add(-1)
		mu.Lock()
		seen[id]++
		mu.Unlock()
	})
	if len(notStarted) != 0 {
		t.Errorf("%d ids not started without cancellation", len(notStarted))
	}
	if p := peak.Load(); p > 7 || p < 2 {
		t.Errorf("peak concurrency %d, want between 2 and 7", p)
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("id %s worked on %d times", id, seen[id])
		}
	}
}

func TestRunBulk_stopsWhenCancelled(t *testing.T) {
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var done []string
	notStarted := runBulk(ctx, ids, 4, func(ctx context.Context, id string) {
		mu.Lock()
		done = append(done, id)
		if len(done) == 10 {
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
			continue
		}
		if !ok || !slices.Equal(got, tc.want) {
			t.Errorf("importUserIDs(%q) = %v, %v, %v; want %v", tc.id, got, ok, diags, tc.want)
		}
	}
}

func TestQuoteIDs(t *testing.T) {
	if got := quoteIDs([]string{"b", "a"}); got != `"a", "b"` {
		t.Errorf("quoteIDs = %s", got)
	}
	many := make([]string, 25)
	for i := range many {
		many[i] = fmt.Sprintf("u%02d", i)
	}
	if got := quoteIDs(many); !strings.HasSuffix(got, `"u09" and 15 more`) || !strings.HasPrefix(got, `"u00", `) {
		t.Errorf("quoteIDs of 25 = %s", got)
	}
}

func TestOrdered(t *testing.T) {
	got := ordered([]string{"c", "a", "x", "c"}, toSet([]string{"a", "c", "z", "b"}))
	if want := []string{"c", "a", "b", "z"}; !slices.Equal(got, want) {
		t.Errorf("ordered = %v, want %v", got, want)
	}
}

func TestFailures_groupsByError(t *testing.T) {
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
	slices.Sort(groups)
	if !slices.Equal(groups, want) {
		t.Errorf("groups = %q, want %q", groups, want)
	}
	if f.len() != 5 {
		t.Errorf("len = %d", f.len())
	}
}

func TestFailures_boundsDiagnostics(t *testing.T) {
	var f failures
	for i := range 8 {
		for j := range 8 - i {
			f.add(fmt.Sprintf("user-%d-%d", i, j), fmt.Errorf("error %d", i))
		}
	}
	var reports []string
	total := 0
	f.each(func(ids []string, err error) {
		reports = append(reports, err.Error())
		total += len(ids)
	})
	if len(reports) != maxFailureGroups || total != f.len() {
		t.Fatalf("%d reports covering %d ids, want %d covering %d: %q", len(reports), total, maxFailureGroups, f.len(), reports)
	}
	if last := reports[len(reports)-1]; last != "error 4 (and 3 other errors; the first is shown)" {
		t.Errorf("last report = %q", last)
	}
}

// The bulk resources under failures, interruptions and TRACE logging,
// through the Terraform CLI: these need warnings, exit codes, signals and
// logs, which terraform-plugin-testing does not show.

var replacementOrDestroy = regexp.MustCompile(`must be replaced|-/\+ resource|[1-9]\d* to destroy|[1-9]\d* destroyed`)

// applyWithoutReplacement runs terraform apply and fails the test when the
// run plans a replacement or a destroy, or leaves either resource tainted.
func applyWithoutReplacement(t *testing.T, cli *acctest.CLI) (string, int) {
	t.Helper()
	out, code := cli.Run("apply", "-input=false", "-auto-approve", "-no-color")
	if replacementOrDestroy.MatchString(out) {
		t.Fatalf("an apply planned a replacement or a destroy:\n%s", out)
	}
	acctest.ExpectNotTainted(t, cli, acctest.UsersAddr, acctest.RefreshTokensAddr)
	return out, code
}

// TestAccBulk_partialFailureCLI applies 60 users and their tokens while 30%
// of requests fail with 503 and the provider does not retry. Each apply
// records exactly what it did: the first creates both resources with
// warnings, none is ever tainted or replaced, and the applies that follow
// finish the rest without registering a user twice or issuing a recorded
// token again. Destroy, under the same faults, revokes every token once.
func TestAccBulk_partialFailureCLI(t *testing.T) {
	cli := acctest.NewCLI(t)
	env := acctest.NewEnv(t, sandbox.Options{})
	t.Parallel()
	front, endpoint := acctest.NewCountingFront(t, env)
	ids := acctest.NumberedUserIDs(env, "partial", 60)
	cli.WriteMain(acctest.BulkConfig(acctest.ProviderBlockFor(env, endpoint, 0), ids, "", ""))
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
		for id, token := range tokens {
			if token != env.CurrentRefreshToken(id) {
				t.Errorf("apply %d: the token of %q in state is not its current one in Point", round, id)
			}
			if before, ok := recorded[id]; ok && before != token {
				t.Errorf("apply %d: the token of %q recorded by an earlier apply was issued again", round, id)
			}
			recorded[id] = token
		}
	}
	checkRecorded(1)
	if len(recorded) == 0 || len(recorded) == len(ids) {
		t.Fatalf("the first apply recorded %d tokens of %d: the faults did not make it fail part way", len(recorded), len(ids))
	}

	round := 1
	for ; round < 20; round++ {
		out, code = applyWithoutReplacement(t, cli)
		checkRecorded(round + 1)
		if code == 0 && len(recorded) == len(ids) {
			break
		}
		if code != 0 && !strings.Contains(out, "Error: Error Registering Point Users") && !strings.Contains(out, "Error: Error Issuing Point Refresh Tokens") {
			t.Fatalf("apply %d failed for another reason than the faults:\n%s", round+1, out)
		}
	}
	t.Logf("converged after %d applies; %d requests failed with an injected 503", round+1, front.Injected.Load())
	front.SetFailRate(0)
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	for _, id := range ids {
		if recorded[id] == "" || env.CurrentRefreshToken(id) != recorded[id] {
			t.Errorf("after the last apply the token of %q in state is not its current one in Point", id)
		}
	}
	for _, check := range []error{
		front.Expect(sandbox.RouteCreateUser, ids, 1),
		front.Expect(sandbox.RouteIssueRefreshToken, ids, 1),
		front.Expect(sandbox.RouteRevokeRefreshToken, nil, 0),
	} {
		if check != nil {
			t.Error(check)
		}
	}
	if n := front.Count(sandbox.RouteCreateUser, "", http.StatusConflict); n != 0 {
		t.Errorf("%d registrations met 409: a user was registered again", n)
	}

	// Destroy under the same faults: each run revokes what it can and
	// keeps the rest in state for the next.
	front.SetFailRate(0.3)
	for destroys := 1; ; destroys++ {
		out, code = cli.Run("destroy", "-input=false", "-auto-approve", "-no-color")
		if code == 0 {
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
		left := acctest.StateFileTokens(acctest.ReadStateFile(t, cli), acctest.RefreshTokensAddr)
		for id := range left {
			if env.CurrentRefreshToken(id) != recorded[id] {
				t.Errorf("destroy %d: %q is still in state, but its token was revoked", destroys, id)
			}
		}
	}
	if err := front.Expect(sandbox.RouteRevokeRefreshToken, ids, 1); err != nil {
		t.Error(err)
	}
	if err := acctest.NoCurrentRefreshToken(env, ids...)(nil); err != nil {
		t.Error(err)
	}
}

// TestAccBulk_interruptCLI sends SIGINT to terraform while point_users
// registers users, and again while point_refresh_tokens issues tokens,
// against a slow Point. Neither resource is tainted; the final apply
// registers no user twice and issues no recorded token again.
func TestAccBulk_interruptCLI(t *testing.T) {
	cli := acctest.NewCLI(t)
	env := acctest.NewEnv(t, sandbox.Options{})
	env.RequireSandbox()
	t.Parallel()
	const users = 40
	front := acctest.NewDelayingFront(env.Sandbox)
	front.Delay.Store(int64(100 * time.Millisecond))
	server := httptest.NewServer(front)
	t.Cleanup(server.Close)
	env.Sandbox.SetFaults(sandbox.Faults{Latency: 200 * time.Millisecond})
	ids := acctest.NumberedUserIDs(env, "intr", users)
	cli.WriteMain(acctest.BulkConfig(acctest.ProviderBlockFor(env, server.URL, 2), ids, "  max_concurrency = 4\n", "  max_concurrency = 4\n"))

	out := acctest.InterruptedApply(t, cli, func() bool { return len(env.Sandbox.UserIDs()) >= 8 })
	state := acctest.ReadStateFile(t, cli)
	if status := state.Status(acctest.UsersAddr); status != "" {
		t.Fatalf("after an interrupt during registration point_users is %s, want it in state and not tainted:\n%s", status, out)
	}
	if got := len(env.Sandbox.UserIDs()); got == users {
		t.Fatalf("the interrupt came too late: all %d users were registered", users)
	}
	acctest.ExpectOutput(t, out, "Warning: Point Users Not Registered", "The run was interrupted before the provider could register")
	t.Logf("interrupted registration: %d users in Point; answers lost on the way back: %v", len(env.Sandbox.UserIDs()), front.TakeLost())

	// Past the first few tokens issued, some answers have come back too.
	out = acctest.InterruptedApply(t, cli, func() bool { return env.Sandbox.RefreshTokensIssued()-users >= 12 })
	state = acctest.ReadStateFile(t, cli)
	for _, addr := range []string{acctest.UsersAddr, acctest.RefreshTokensAddr} {
		if status := state.Status(addr); status != "" {
			t.Fatalf("after an interrupt during issue %s is %s, want it in state and not tainted:\n%s", addr, status, out)
		}
	}
	interrupted := acctest.StateFileTokens(state, acctest.RefreshTokensAddr)
	if len(interrupted) == 0 || len(interrupted) == users {
		t.Fatalf("the interrupt during issue left %d tokens of %d in state", len(interrupted), users)
	}
	for id, token := range interrupted {
		if token != env.CurrentRefreshToken(id) {
			t.Errorf("after the interrupt the token of %q in state is not its current one", id)
		}
	}

	env.Sandbox.SetFaults(sandbox.Faults{})
	front.Delay.Store(0)
	creates := env.Sandbox.RequestCounts()[sandbox.RouteCreateUser]
	out, code := applyWithoutReplacement(t, cli)
	if code != 0 {
		t.Fatalf("final apply exited %d:\n%s", code, out)
	}
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	if n := env.Sandbox.RequestCounts()[sandbox.RouteCreateUser] - creates; n != 0 {
		t.Errorf("the final apply sent %d registrations; every user was registered before it", n)
	}
	final := acctest.StateFileTokens(acctest.ReadStateFile(t, cli), acctest.RefreshTokensAddr)
	for id, token := range interrupted {
		if final[id] != token {
			t.Errorf("the token of %q recorded at the interrupt was issued again", id)
		}
	}
	if got := env.Sandbox.UserIDs(); !acctest.SameElements(got, ids) {
		t.Errorf("Point holds %v, want %v", got, ids)
	}
	for _, id := range ids {
		if final[id] == "" || final[id] != env.CurrentRefreshToken(id) {
			t.Errorf("the token of %q in state is not its current one in Point", id)
		}
	}
	issued, revoked := env.Sandbox.RefreshTokensIssued(), env.Sandbox.RefreshTokensRevoked()
	if issued-revoked != users {
		t.Errorf("refresh tokens: %d issued, %d revoked or replaced; %d still valid, want one per user", issued, revoked, issued-revoked)
	}
}

// TestAccBulk_noSecretInLogsCLI runs the bulk resources through creation,
// rotation, an out-of-band rotation, a proxy that echoes credentials in
// its errors, and destroy, at TF_LOG=TRACE, and then looks for every
// refresh token and the API key in everything Terraform wrote besides
// state, where tokens may only be the sensitive values of tokens.
func TestAccBulk_noSecretInLogsCLI(t *testing.T) {
	cli := acctest.NewCLI(t)
	env := acctest.NewEnv(t, sandbox.Options{APIKey: "bulk-leak-canary-" + acctest.RandomHex(16)})
	t.Parallel()
	front := acctest.NewRecordingFront(env.Upstream())
	server := httptest.NewServer(front)
	t.Cleanup(server.Close)
	ids := acctest.NumberedUserIDs(env, "bulk-leak", 10)
	logPath := filepath.Join(t.TempDir(), "trace.log")
	cli.Env = []string{"TF_LOG=TRACE", "TF_LOG_PATH=" + logPath, "POINT_API_KEY=" + env.APIKey}
	provider := fmt.Sprintf("provider \"point\" {\n  endpoint    = %q\n  max_retries = 1\n}\n", server.URL)
	write := func(generation string) {
		cli.WriteMain(acctest.BulkConfig(provider, ids, "", fmt.Sprintf("  rotation_triggers = { generation = %q }\n", generation)))
	}
	watch := acctest.NewTokenWatch(env, cli, ids)
	run := watch.Run
	states := map[string][]byte{}
	keepState := func(when string) {
		b, err := os.ReadFile(filepath.Join(cli.Dir, "terraform.tfstate"))
		if err != nil {
			t.Fatal(err)
		}
		states["state "+when] = b
	}

	write("1")
	run(0, "apply", "-input=false", "-auto-approve")
	keepState("after create")
	write("2")
	front.FailRoute(sandbox.RouteIssueRefreshToken)
	out := run(1, "apply", "-input=false", "-auto-approve")
	acctest.ExpectOutput(t, out, "Error: Error Issuing Point Refresh Tokens", "HTTP 500", "(credential=***)")
	front.FailRoute("")
	run(0, "apply", "-input=false", "-auto-approve")
	env.RotateRefreshToken(ids[4])
	out = run(0, "apply", "-input=false", "-auto-approve")
	acctest.ExpectOutput(t, out, "Point Refresh Tokens Rotated Elsewhere")
	keepState("before destroy")
	front.FailRoute(sandbox.RouteGetUser)
	out = run(1, "plan", "-input=false")
	acctest.ExpectOutput(t, out, "Error: Error Reading Point", "get user: HTTP 500")
	if n := strings.Count(out, "Error: Error Reading Point Users"); n != 1 {
		t.Errorf("the failed reads of point_users make %d diagnostics, want 1 for the one kind of failure", n)
	}
	front.FailRoute("")
	run(0, "destroy", "-input=false", "-auto-approve")
	if err := acctest.NoCurrentRefreshToken(env, ids...)(nil); err != nil {
		t.Error(err)
	}

	// The tokens Point issued and replaced at once count as well.
	everCurrent := watch.EverCurrent
	refresh, _ := front.Tokens()
	for _, tok := range refresh {
		everCurrent[tok] = true
	}
	logText, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Point request", `point_operation="issue refresh token"`, "http_status=500"} {
		if !bytes.Contains(logText, []byte(want)) {
			t.Errorf("the TRACE log lacks %q: the provider's logs are not being scanned", want)
		}
	}
	secrets := map[string]string{"the API key": env.APIKey}
	for i, tok := range slices.Sorted(maps.Keys(everCurrent)) {
		secrets[fmt.Sprintf("refresh token %d", i+1)] = tok
	}
	found := 0
	for where, text := range map[string][]byte{"TRACE log": logText, "CLI output": watch.Output.Bytes()} {
		for name, secret := range secrets {
			found += acctest.FindSecret(t, where, text, name, secret)
		}
		for _, m := range acctest.RefreshTokenShape.FindAll(text, -1) {
			found++
			t.Errorf("the %s holds something shaped like a refresh token: %.8s…", where, m)
		}
	}
	sensitiveCopies := 0
	for where, text := range states {
		found += acctest.FindSecret(t, where, text, "the API key", env.APIKey)
		bad, ok := acctest.CheckSensitiveOnly(t, where, text, everCurrent, tokensMapStateSensitive)
		found += bad
		sensitiveCopies += ok
	}
	if sensitiveCopies == 0 {
		t.Error("the states hold no refresh token at all, so the check of sensitive copies proves nothing")
	}
	t.Logf("leak scan: %d refresh tokens and the API key sought in %d bytes of TRACE log and %d of output; %d found; %d sensitive copies in state",
		len(everCurrent), len(logText), watch.Output.Len(), found, sensitiveCopies)
}

// tokensMapStateSensitive accepts a token in a state file only as a value
// of the tokens map of a point_refresh_tokens instance whose
// sensitive_attributes mark tokens.
var tokensMapStateSensitive = acctest.StateAttributeSensitive("point_refresh_tokens", "tokens", true)

// TestAccBulk_importThenDrift adopts users that exist in Point, and their
// current tokens, without rotating them; triggers then set for the first
// time are recorded without rotation too. Then a token rotated outside
// Terraform is adopted, and one revoked outside Terraform is issued again,
// each for its own user alone; and a user that Point says is gone leaves
// state, and the plan registers that user alone, and issues that user's
// token alone.
func TestAccBulk_importThenDrift(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	front, endpoint := acctest.NewCountingFront(t, env)
	provider := acctest.ProviderBlockFor(env, endpoint, 3)
	ids := acctest.NumberedUserIDs(env, "import", 20)
	rotated, revoked, gone := ids[3], ids[5], ids[7]
	existing := map[string]string{}
	for _, id := range ids {
		existing[id] = env.AddUser(id)
	}
	// The import id refers to a literal list: an import block cannot refer to
	// the resource it imports.
	config := func(tokensArgs string) string {
		return acctest.BulkConfig(provider, ids, "", tokensArgs) + fmt.Sprintf(`
import {
  to = point_users.test
  id = %[1]q
}

import {
  to = point_refresh_tokens.test
  id = %[1]q
}
`, strings.Join(ids, ","))
	}
	triggers := "  rotation_triggers = { generation = \"1\" }\n"
	var afterOutOfBand map[string]string
	var outside string

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_5_0)},
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, ids...),
		Steps: []resource.TestStep{
			{
				PreConfig: front.Reset,
				Config:    config(""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(acctest.RefreshTokensAddr, tfjsonpath.New("issued_at"), knownvalue.MapExact(map[string]knownvalue.Check{})),
					statecheck.ExpectKnownValue(acctest.UsersAddr, tfjsonpath.New("deletion_policy"), knownvalue.StringExact(deletionAbandon)),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CheckStateTokens(env, ids, nil),
					acctest.SameStateTokens(ids, &existing),
					frontExpects(front, sandbox.RouteCreateUser, nil, 0),
					frontExpects(front, sandbox.RouteIssueRefreshToken, nil, 0),
				),
			},
			{
				PreConfig: front.Reset,
				Config:    config(triggers),
				ConfigPlanChecks: preApply(
					plancheck.ExpectResourceAction(acctest.RefreshTokensAddr, plancheck.ResourceActionUpdate),
					acctest.PlanUnknownKeys{Addr: acctest.RefreshTokensAddr, Attr: "tokens"},
				),
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.SameStateTokens(ids, &existing),
					frontExpects(front, sandbox.RouteIssueRefreshToken, nil, 0),
				),
			},
			{
				PreConfig: func() {
					outside = env.RotateRefreshToken(rotated)
					env.RevokeRefreshToken(revoked)
					front.Reset()
				},
				Config: config(triggers),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.UsersAddr, plancheck.ResourceActionNoop),
						plancheck.ExpectResourceAction(acctest.RefreshTokensAddr, plancheck.ResourceActionUpdate),
						acctest.PlanUnknownKeys{Addr: acctest.RefreshTokensAddr, Attr: "tokens", Keys: []string{revoked}},
						acctest.PlanUnknownKeys{Addr: acctest.RefreshTokensAddr, Attr: "issued_at", Keys: []string{revoked}},
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(acctest.RefreshTokensAddr, tfjsonpath.New("tokens").AtMapKey(rotated), knownvalue.StringFunc(func(v string) error {
						if v != outside {
							return fmt.Errorf("the token rotated outside Terraform was not adopted")
						}
						return nil
					})),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CheckStateTokens(env, ids, &afterOutOfBand),
					acctest.SameStateTokens(without(ids, []string{rotated, revoked}), &existing),
					func(s *terraform.State) error {
						issued, err := acctest.StateMap(s, acctest.RefreshTokensAddr, "issued_at")
						if err != nil {
							return err
						}
						if _, ok := issued[rotated]; ok {
							return fmt.Errorf("issued_at still has the token rotated outside Terraform")
						}
						if _, ok := issued[revoked]; !ok {
							return fmt.Errorf("issued_at has no entry for the token issued again")
						}
						return nil
					},
					frontExpects(front, sandbox.RouteIssueRefreshToken, []string{revoked}, 1),
				),
			},
			{
				PreConfig: func() { front.Reset(); front.Vanish(gone) },
				Config:    config(triggers),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.UsersAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction(acctest.RefreshTokensAddr, plancheck.ResourceActionUpdate),
						acctest.PlanListChange{Addr: acctest.UsersAddr, Attr: "user_ids", Added: []string{gone}},
						acctest.PlanUnknownKeys{Addr: acctest.RefreshTokensAddr, Attr: "issued_at", Keys: []string{gone}},
						acctest.PlanUnknownKeys{Addr: acctest.RefreshTokensAddr, Attr: "tokens", Keys: []string{gone}},
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CheckStateTokens(env, ids, nil),
					acctest.SameStateTokens(without(ids, []string{gone}), &afterOutOfBand),
					frontExpects(front, sandbox.RouteCreateUser, []string{gone}, 1),
					frontExpects(front, sandbox.RouteIssueRefreshToken, []string{gone}, 1),
				),
			},
		},
	})
}

// TestAccBulk_badInput: ids and settings Point would refuse fail at
// validate time, naming the attribute; an import ID that is not a list of
// valid ids, a user Point does not have, and a user without a token each
// fail the import with the provider's own error.
func TestAccBulk_badInput(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	provider := env.ProviderBlock()
	ids := acctest.NumberedUserIDs(env, "import-err", 3)
	env.AddUser(ids[0])
	env.AddUser(ids[1])
	env.RevokeRefreshToken(ids[1])
	missing := ids[2]
	importBlock := func(to, id string) string {
		return fmt.Sprintf("\nimport {\n  to = %s\n  id = %q\n}\n", to, id)
	}

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_5_0)},
		Steps: []resource.TestStep{
			{
				Config:      acctest.PointUsersConfig(provider, []string{"ok-1", "not/ok"}, ""),
				PlanOnly:    true,
				ExpectError: acctest.DiagnosticMatching("Invalid User ID", `The user id "not/ok" in user_ids must not contain "/"`),
			},
			{
				Config:      acctest.PointUsersConfig(provider, []string{"ok-1", "ok-2", "ok-1"}, ""),
				PlanOnly:    true,
				ExpectError: acctest.DiagnosticMatching("Duplicate User ID", `user_ids holds the user id "ok-1" more than once`, "toset()"),
			},
			{
				Config:      acctest.PointUsersConfig(provider, []string{"ok-1"}, "  max_concurrency = 65\n"),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)max_concurrency.*between 1 and 64`),
			},
			{
				Config:      acctest.BulkConfig(provider, []string{"ok-1"}, "", "  rotate_after = \"soon\"\n"),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`rotate_after`),
			},
			{
				Config:      acctest.PointUsersConfig(provider, ids[:1], "") + importBlock(acctest.UsersAddr, ids[0]+",,"+ids[1]),
				ExpectError: acctest.DiagnosticMatching("Invalid Import ID", "a list of Point user ids separated by commas", `Got ""`),
			},
			{
				Config:      acctest.PointUsersConfig(provider, []string{ids[0], missing}, "") + importBlock(acctest.UsersAddr, ids[0]+","+missing),
				ExpectError: acctest.DiagnosticMatching("Cannot Import Point Users", fmt.Sprintf("Point has no users with 1 of the ids imported (%q)", missing)),
			},
			{
				Config: acctest.BulkConfig(provider, ids[:2], "", "") + importBlock(acctest.UsersAddr, ids[0]+","+ids[1]) +
					importBlock(acctest.RefreshTokensAddr, ids[0]+","+ids[1]),
				ExpectError: acctest.DiagnosticMatching("Cannot Import Point Refresh Tokens", fmt.Sprintf("The users %q have no current refresh token", ids[1])),
			},
		},
	})
}

// TestAccBulk_moveBetweenShapesCLI moves users and tokens from point_user
// and point_refresh_token with for_each to the bulk resources, and back,
// with removed blocks and import blocks, as the guide shows: no user is
// registered again and no token rotated or revoked. It drives the CLI:
// terraform-plugin-testing cannot read state with for_each instances.
func TestAccBulk_moveBetweenShapesCLI(t *testing.T) {
	cli := acctest.NewCLI(t)
	env := acctest.NewEnv(t, sandbox.Options{})
	t.Parallel()
	front, endpoint := acctest.NewCountingFront(t, env)
	provider := acctest.ProviderBlockFor(env, endpoint, 3)
	ids := acctest.NumberedUserIDs(env, "move", 15)
	locals := fmt.Sprintf("locals {\n  user_ids = %s\n}\n", acctest.HCLList(ids))
	singular := `
resource "point_user" "u" {
  for_each = toset(local.user_ids)
  user_id  = each.key
}

resource "point_refresh_token" "u" {
  for_each = toset(local.user_ids)
  user_id  = point_user.u[each.key].user_id
}
`
	bulk := `
resource "point_users" "all" {
  user_ids = local.user_ids
}

resource "point_refresh_tokens" "all" {
  user_ids = point_users.all.user_ids
}
`
	forget := func(addrs ...string) string {
		var b strings.Builder
		for _, addr := range addrs {
			fmt.Fprintf(&b, "\nremoved {\n  from = %s\n  lifecycle {\n    destroy = false\n  }\n}\n", addr)
		}
		return b.String()
	}
	toBulk := provider + locals + bulk + forget("point_user.u", "point_refresh_token.u") + `
import {
  to = point_users.all
  id = join(",", local.user_ids)
}

import {
  to = point_refresh_tokens.all
  id = join(",", local.user_ids)
}
`
	toSingular := provider + locals + singular + forget("point_users.all", "point_refresh_tokens.all") + `
import {
  for_each = toset(local.user_ids)
  to       = point_user.u[each.key]
  id       = each.key
}

import {
  for_each = toset(local.user_ids)
  to       = point_refresh_token.u[each.key]
  id       = each.key
}
`
	// The tokens of the singular shape, by user id, from state.
	singularTokens := func() map[string]string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(cli.Dir, "terraform.tfstate"))
		if err != nil {
			t.Fatal(err)
		}
		var state struct {
			Resources []struct {
				Type      string
				Instances []struct {
					IndexKey   string         `json:"index_key"`
					Attributes map[string]any `json:"attributes"`
				}
			}
		}
		if err := json.Unmarshal(b, &state); err != nil {
			t.Fatal(err)
		}
		tokens := map[string]string{}
		for _, r := range state.Resources {
			for _, inst := range r.Instances {
				if r.Type == "point_refresh_token" {
					tokens[inst.IndexKey], _ = inst.Attributes["token"].(string)
				}
			}
		}
		return tokens
	}
	unchanged := func(step string, got map[string]string, want map[string]string) {
		t.Helper()
		for _, id := range ids {
			if want[id] == "" || got[id] != want[id] {
				t.Errorf("%s: the token of %q is not the one from before the moves", step, id)
			}
			if env.CurrentRefreshToken(id) != want[id] {
				t.Errorf("%s: the token of %q is no longer the user's current one in Point", step, id)
			}
		}
		if err := noWriteSucceeded(front); err != nil {
			t.Errorf("%s: %v", step, err)
		}
	}
	apply := func(config string) {
		t.Helper()
		front.Reset()
		cli.WriteMain(config)
		cli.MustRun(0, "apply", "-input=false", "-auto-approve", "-no-color")
		cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	}

	cli.WriteMain(provider + locals + singular)
	cli.MustRun(0, "apply", "-input=false", "-auto-approve", "-no-color")
	before := singularTokens()
	if len(before) != len(ids) {
		t.Fatalf("state holds %d point_refresh_token.u, want %d", len(before), len(ids))
	}

	apply(toBulk)
	state := acctest.ReadStateFile(t, cli)
	if got := singularTokens(); len(got) != 0 {
		t.Errorf("point_refresh_token.u is still in state after the move: %d instances", len(got))
	}
	unchanged("to the bulk shape", acctest.StateFileTokens(state, "point_refresh_tokens.all"), before)
	if got := acctest.StateFileUserIDs(state, "point_users.all"); !acctest.SameElements(got, ids) {
		t.Errorf("point_users.all holds %v, want %v", got, ids)
	}

	apply(toSingular)
	if got := acctest.ReadStateFile(t, cli); got.Status("point_users.all") != "absent" || got.Status("point_refresh_tokens.all") != "absent" {
		t.Error("the bulk resources are still in state after the move back")
	}
	unchanged("back to the singular shape", singularTokens(), before)

	cli.WriteMain(provider + locals + singular)
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	out := cli.MustRun(0, "destroy", "-input=false", "-auto-approve", "-no-color")
	acctest.ExpectOutput(t, out, "Destroy complete!")
	if err := acctest.NoCurrentRefreshToken(env, ids...)(nil); err != nil {
		t.Error(err)
	}
}

// frontExpects is front.Expect as a check of a test step.
func frontExpects(front *acctest.CountingFront, route string, ids []string, want int) resource.TestCheckFunc {
	return func(*terraform.State) error { return front.Expect(route, ids, want) }
}

// noWriteSucceeded fails when the front saw a request that registers a
// user or issues or revokes a refresh token succeed.
func noWriteSucceeded(front *acctest.CountingFront) error {
	for _, route := range []string{sandbox.RouteCreateUser, sandbox.RouteIssueRefreshToken, sandbox.RouteRevokeRefreshToken} {
		if err := front.Expect(route, nil, 0); err != nil {
			return err
		}
	}
	return nil
}

// Every diagnostic about the ids in user_ids names the id, never its
// position: with a set(string) variable, which the docs recommend, the
// position is one in sorted order that the configuration never wrote.
// Both bulk resources, with ids written as a list and given as a set
// variable, and with ids known only at apply, which the CLI validates then.
func TestAccBulk_userIDDiagnosticsNameTheID(t *testing.T) {
	cli := acctest.NewCLI(t)
	env := acctest.NewEnv(t, sandbox.Options{})
	t.Parallel()
	good := env.UserID("named-ok")
	bad := "bad/" + good
	slashProblem := `must not contain "/", which Point cannot accept in a user id.`
	invalid := func(attr string) []string {
		return []string{"Error: Invalid User ID", fmt.Sprintf("The user id %q in %s %s Correct it, or remove it from %s.", bad, attr, slashProblem, attr)}
	}

	tokensFor := func(ids string) string {
		return fmt.Sprintf(`
resource "point_refresh_tokens" "test" {
  user_ids = %s
}
`, ids)
	}
	usersFor := func(ids string) string {
		return fmt.Sprintf(`
resource "point_users" "test" {
  user_ids = %s
}
`, ids)
	}
	setVariable := func(ids ...string) string {
		return fmt.Sprintf(`
variable "user_ids" {
  type    = set(string)
  default = %s
}
`, acctest.HCLList(ids))
	}
	// A set that sorts the bad id away from where it was written, and the
	// same ids known only at apply, through terraform_data.
	list := acctest.HCLList([]string{good, bad})
	knownAtApply := func(resourceType string) string {
		return fmt.Sprintf(`
resource "terraform_data" "ids" {
  input = %s
}

resource %q "test" {
  user_ids = terraform_data.ids.output
}
`, acctest.HCLList([]string{"zz-" + good, bad}), resourceType)
	}
	cases := map[string]struct {
		config string
		want   []string
		apply  bool // the ids are known only at apply, which fails
	}{
		"point_users, known at apply":          {knownAtApply("point_users"), invalid("user_ids"), true},
		"point_refresh_tokens, known at apply": {knownAtApply("point_refresh_tokens"), invalid("user_ids"), true},
		"point_users, list":                    {usersFor(list), invalid("user_ids"), false},
		"point_users, set variable":            {setVariable("zz-"+good, bad, "aa-"+good) + usersFor("var.user_ids"), invalid("user_ids"), false},
		"point_refresh_tokens, list":           {tokensFor(list), invalid("user_ids"), false},
		"point_refresh_tokens, set var":        {setVariable("zz-"+good, bad) + tokensFor("var.user_ids"), invalid("user_ids"), false},
		"point_users, duplicate in list": {usersFor(acctest.HCLList([]string{good, "other-" + good, good})),
			[]string{"Error: Duplicate User ID", fmt.Sprintf("user_ids holds the user id %q more than once", good)}, false},
	}
	for name, tc := range cases {
		cli.WriteConfig(env, tc.config)
		command := []string{"plan", "-input=false", "-no-color"}
		if tc.apply {
			command = []string{"apply", "-input=false", "-no-color", "-auto-approve"}
		}
		out, code := cli.Run(command...)
		if code != 1 {
			t.Errorf("%s: %s exited %d, want 1:\n%s", name, command[0], code, out)
			continue
		}
		acctest.ExpectOutput(t, out, tc.want...)
		if strings.Contains(out, "user_ids[") {
			t.Errorf("%s: a diagnostic names a position in user_ids:\n%s", name, out)
		}
	}
	acctest.ExpectNoRequests(t, env, "validating user_ids")
	// The terraform_data of the failed applies goes.
	cli.WriteConfig(env, "")
	cli.MustRun(0, "apply", "-auto-approve", "-no-color")
}
