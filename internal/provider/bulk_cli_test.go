package provider

import (
	"bytes"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

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
	var output bytes.Buffer
	everCurrent := map[string]bool{}
	sample := func() {
		for _, id := range ids {
			if tok := env.CurrentRefreshToken(id); tok != "" {
				everCurrent[tok] = true
			}
		}
	}
	run := func(want int, args ...string) string {
		t.Helper()
		sample()
		out := cli.MustRun(want, append(args, "-no-color")...)
		output.WriteString(out)
		sample()
		return out
	}
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
	for where, text := range map[string][]byte{"TRACE log": logText, "CLI output": output.Bytes()} {
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
		len(everCurrent), len(logText), output.Len(), found, sensitiveCopies)
}

// tokensMapStateSensitive accepts a token in a state file only as a value
// of the tokens map of a point_refresh_tokens instance whose
// sensitive_attributes mark tokens.
var tokensMapStateSensitive = acctest.StateAttributeSensitive("point_refresh_tokens", "tokens", true)
