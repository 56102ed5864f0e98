package provider

import (
	"bytes"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/point"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// leakScan runs a lifecycle through the CLI at TF_LOG=TRACE, failures included, and keeps all that
// Terraform and the providers write, for scan to seek every credential in.
type leakScan struct {
	t   *testing.T
	env *acctest.Env
	cli *acctest.CLI
	*acctest.TokenWatch
	front        *acctest.RecordingFront
	endpoint     string
	ids          map[string]string // the singular users, by resource name
	bulk         []string
	users        []string // all: ids' values, then bulk
	storesTokens bool
	artifacts    map[string][]byte
}

// newLeakScan puts a recording front before Point and returns the token of the user it registers to import.
func newLeakScan(t *testing.T, env *acctest.Env, cli *acctest.CLI, prefix string, storesTokens bool) (*leakScan, string) {
	t.Helper()
	l := &leakScan{t: t, env: env, cli: cli, front: acctest.NewRecordingFront(env.Upstream()), ids: map[string]string{},
		storesTokens: storesTokens, artifacts: map[string][]byte{}}
	l.endpoint = acctest.StartFront(t, env, func(w http.ResponseWriter, r *http.Request, _ http.Handler) { l.front.ServeHTTP(w, r) })
	for _, name := range []string{"alice", "bob", "imported"} {
		l.ids[name] = env.UserID(prefix + name)
	}
	l.bulk = acctest.NumberedUserIDs(env, prefix+"bulk", 3)
	l.users = append(slices.Collect(maps.Values(l.ids)), l.bulk...)
	imported := env.AddUser(l.ids["imported"])
	l.TokenWatch = acctest.NewTokenWatch(env, cli, l.users, imported)
	return l, imported
}

// configHCL is what both lifecycles manage: alice's token rotating by generation and after 24h, bob's
// REVOKE, a third user imported, and the bulk users, their tokens rotating by generation.
func (l *leakScan) configHCL(generation string) string {
	importID := l.ids["imported"]
	if !l.storesTokens {
		importID += "/store_token=false"
	}
	config := fmt.Sprintf(`provider "point" {
  endpoint    = %q
  max_retries = 1
}

import {
  to = point_user.imported
  id = %q
}

import {
  to = point_refresh_token.imported
  id = %q
}
`, l.endpoint, l.ids["imported"], importID)
	userArgs := map[string]string{"bob": "  deletion_policy = \"REVOKE\"\n"}
	tokenArgs := map[string]string{"alice": fmt.Sprintf("  rotate_after      = \"24h\"\n  rotation_triggers = { generation = %q }\n", generation)}
	for _, name := range []string{"alice", "bob", "imported"} {
		config += fmt.Sprintf(`
resource "point_user" %[1]q {
  user_id = %[2]q
%[3]s}

resource "point_refresh_token" %[1]q {
  user_id     = point_user.%[1]s.user_id
  store_token = %[4]t
%[5]s}
`, name, l.ids[name], userArgs[name], l.storesTokens, tokenArgs[name])
	}
	return config + acctest.BulkConfig("", l.bulk, "", fmt.Sprintf("  store_token       = %t\n  rotation_triggers = { generation = %q }\n", l.storesTokens, generation))
}

func (l *leakScan) snapshot(step string) {
	l.t.Helper()
	for _, name := range []string{"terraform.tfstate", "terraform.tfstate.backup"} {
		if b, err := os.ReadFile(filepath.Join(l.cli.Dir, name)); err == nil {
			l.artifacts[fmt.Sprintf("%s after %s", name, step)] = b
		}
	}
}

func (l *leakScan) planAndApply(step string, extra ...string) string {
	l.t.Helper()
	plan := step + ".tfplan"
	planned := l.Run(0, append([]string{"plan", "-input=false", "-out=" + plan}, extra...)...)
	l.artifacts[plan+" JSON"] = []byte(l.cli.MustRun(0, "show", "-json", plan))
	for entry, b := range acctest.ZipEntries(l.t, filepath.Join(l.cli.Dir, plan)) {
		l.artifacts[plan+" entry "+entry] = b
	}
	out := l.Run(0, "apply", "-input=false", plan)
	l.snapshot(step)
	return planned + out
}

// checkConsumed checks that the job's consumed.sha256 holds at least n hashes, each of an access token
// the front saw Point issue (so n > 0 means Point issued some), and returns it.
func (l *leakScan) checkConsumed(n int) []byte {
	t := l.t
	t.Helper()
	_, access := l.front.Tokens()
	if l.env.Sandbox != nil {
		if issued := accessTokensOf(l.env.Sandbox.AccessTokens()); !acctest.SameElements(issued, access) {
			t.Errorf("the front saw %d access tokens, the sandbox issued %d others", len(access), len(issued))
		}
	}
	consumed, err := os.ReadFile(filepath.Join(l.cli.Dir, "consumed.sha256"))
	if err != nil {
		t.Fatalf("the access token job never ran: %v", err)
	}
	hashes := map[string]bool{}
	for _, tok := range access {
		hashes[tokenSHA256(tok)], hashes[tokenSHA256("Bearer "+tok)] = true, true
	}
	// sha256sum writes each hash followed by "-", the name of its input.
	got := slices.DeleteFunc(strings.Fields(string(consumed)), func(field string) bool { return field == "-" })
	for _, field := range got {
		if !hashes[field] {
			t.Errorf("the job received a value that is no access token Point issued")
		}
	}
	if len(got) < n {
		t.Errorf("the job ran with %d access tokens, want at least %d", len(got), n)
	}
	return consumed
}

func (l *leakScan) expectHeld(where string, texts ...string) {
	l.t.Helper()
	for _, text := range texts {
		if !bytes.Contains(l.artifacts[where], []byte(text)) {
			l.t.Errorf("the %s lacks %q: it is not being scanned", where, text)
		}
	}
}

// scan seeks the secrets in never, access tokens and JWTs everywhere; every refresh token ever current, and
// its shape, everywhere but where storesTokens and the rules allow, counting those by artifact and type.
func (l *leakScan) scan(logs map[string]string, never map[string]string) map[string]map[string]int {
	t := l.t
	t.Helper()
	for name, path := range logs {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		l.artifacts[name] = b
	}
	l.artifacts["CLI output"] = l.Output.Bytes()
	frontRefresh, frontAccess := l.front.Tokens()
	for _, tok := range frontRefresh {
		l.EverCurrent[tok] = true
	}
	access, refresh := slices.Sorted(slices.Values(frontAccess)), slices.Sorted(maps.Keys(l.EverCurrent))

	found, sums := 0, 0
	sensitiveCopies := map[string]map[string]int{}
	for where, text := range l.artifacts {
		for name, secret := range never {
			found += acctest.FindSecret(t, where, text, name, secret)
		}
		for i, secret := range access {
			found += acctest.FindSecret(t, where, text, fmt.Sprintf("access token %d", i+1), secret)
		}
		for _, m := range acctest.JwtShape.FindAll(text, -1) {
			found++
			t.Errorf("the %s holds a JWT: %.16s…", where, m)
		}
		plan := strings.HasSuffix(where, " JSON")
		state := strings.HasPrefix(where, "terraform.tfstate") || strings.HasSuffix(where, " entry tfstate") || strings.HasSuffix(where, " entry tfstate-prev")
		if plan || state {
			// The fingerprints are there, so a token would be if it leaked.
			for tok := range l.EverCurrent {
				sums += bytes.Count(text, []byte(tokenSHA256(tok)))
			}
		}
		switch {
		case l.storesTokens && plan:
			bad, ok := acctest.CheckSensitiveOnly(t, where, text, l.EverCurrent, leakTestPlanSensitive)
			found, sensitiveCopies[where] = found+bad, ok
		case l.storesTokens && state:
			bad, ok := acctest.CheckSensitiveOnly(t, where, text, l.EverCurrent, leakTestStateSensitive)
			found, sensitiveCopies[where] = found+bad, ok
		case l.storesTokens && strings.HasSuffix(where, " entry tfplan"):
			// Terraform's binary record of prior and planned values, with their sensitivity marks.
		default:
			for i, secret := range refresh {
				found += acctest.FindSecret(t, where, text, fmt.Sprintf("refresh token %d", i+1), secret)
			}
			for _, m := range acctest.RefreshTokenShape.FindAll(text, -1) {
				found++
				t.Errorf("the %s holds something shaped like a refresh token: %.8s…", where, m)
			}
		}
	}
	if sums == 0 {
		t.Error("no plan or state holds a token_sha256: the scan proves nothing")
	}
	t.Logf("leak scan (store_token = %t) of %d files %q: %d API keys, %d access tokens, %d refresh tokens sought; %d found; sensitive copies of refresh tokens, by Terraform's design: %v",
		l.storesTokens, len(l.artifacts), slices.Sorted(maps.Keys(l.artifacts)), len(never), len(access), len(refresh), found, sensitiveCopies)
	return sensitiveCopies
}

// leakTestConfig follows configHCL: a job consuming access tokens from alice's refresh token and the API key.
const leakTestConfig = `
ephemeral "point_access_token" "alice" {
  user_id       = point_refresh_token.alice.user_id
  refresh_token = point_refresh_token.alice.token
}

ephemeral "point_access_token" "imported" {
  user_id = point_user.imported.id
}

resource "terraform_data" "consumer" {
  provisioner "local-exec" {
    command = "printf %s \"$A\" | sha256sum >> consumed.sha256; printf %s \"$B\" | sha256sum >> consumed.sha256"
    environment = {
      A = ephemeral.point_access_token.alice.authorization_header
      B = ephemeral.point_access_token.imported.token
    }
  }
}
`

// TestAccLeak_lifecycleCLI scans the lifecycle with store_token = true, through the built provider and
// its logs: saved plans, a bulk token rotated elsewhere, access tokens for a job, a wrong API key, a
// proxy echoing each kind of credential in a 500, destroy.
func TestAccLeak_lifecycleCLI(t *testing.T) {
	cli := acctest.NewCLI(t)
	wrongKey := "leak-wrong-" + acctest.RandomHex(16)
	// A key of its own for the sandbox, and real Point's key against it.
	env := acctest.NewEnv(t, sandbox.Options{APIKey: "leak-canary-" + acctest.RandomHex(16)})
	t.Parallel()
	l, _ := newLeakScan(t, env, cli, "leak-", true)
	alice := l.ids["alice"]
	logPath := filepath.Join(t.TempDir(), "trace.log")
	baseEnv := []string{"TF_LOG=TRACE", "TF_LOG_PATH=" + logPath, "POINT_API_KEY=" + env.APIKey}
	cli.Env = baseEnv

	cli.WriteMain(l.configHCL("1") + leakTestConfig)
	acctest.ExpectOutput(t, l.planAndApply("create"), "Apply complete! Resources: 2 imported, 7 added, 0 changed, 0 destroyed.")
	aliceFirst := env.CurrentRefreshToken(alice)
	cli.WriteMain(l.configHCL("2") + leakTestConfig)
	// A proxy echoing the API key in a 500 fails the bulk rotation, which the saved plan after it carries
	// out; -target keeps alice's rotation out, so that the error is the bulk resource's alone.
	l.front.FailRoute(sandbox.RouteIssueRefreshToken)
	acctest.ExpectOutput(t, l.Run(1, "apply", "-input=false", "-auto-approve", "-target="+acctest.RefreshTokensAddr),
		"Error: Error Issuing Point Refresh Tokens", "HTTP 500", "(credential=***)")
	l.front.FailRoute("")
	env.RotateRefreshToken(l.bulk[1])
	acctest.ExpectOutput(t, l.planAndApply("rotate"),
		"Warning: Point Refresh Tokens Rotated Elsewhere", "Apply complete! Resources: 0 added, 2 changed, 0 destroyed.")
	if aliceNow := env.CurrentRefreshToken(alice); aliceNow == "" || aliceNow == aliceFirst {
		t.Error("changing rotation_triggers did not rotate alice's refresh token")
	}

	// Beside the bulk resources, "Point User" would match "Point Users" too: the patterns pin the singular
	// diagnostic.
	cli.Env = append(slices.Clone(baseEnv), "POINT_API_KEY="+wrongKey)
	acctest.ExpectOutput(t, l.Run(1, "plan", "-input=false"),
		"Error: Error Reading Point User\n\n  with point_user.", "Point did not accept the credential", "HTTP 401 Unauthorized")
	cli.Env = baseEnv

	// A proxy echoing the credential in a 500, on a route for each kind: API key, refresh and access token.
	l.front.FailRoute(sandbox.RouteGetUser)
	out := l.Run(1, "plan", "-input=false")
	acctest.ExpectOutput(t, out, "Error: Error Reading Point User\n\n  with point_user.", "get user: HTTP 500 Internal Server Error")
	if n := strings.Count(out, "Error: Error Reading Point Users"); n != 1 {
		t.Errorf("the failed reads of point_users make %d diagnostics, want 1 for the one kind of failure", n)
	}
	l.front.FailRoute(sandbox.RouteIssueAccessToken)
	acctest.ExpectOutput(t, l.Run(1, "apply", "-input=false", "-auto-approve", "-replace=terraform_data.consumer"),
		"Error: Error Issuing Point Access Token", "issue access token: HTTP 500 Internal Server Error: response body:")
	l.front.FailRoute(sandbox.RouteRevokeAccessToken)
	acctest.ExpectOutput(t, l.Run(0, "apply", "-input=false", "-auto-approve", "-replace=terraform_data.consumer"),
		"Warning: Point Access Token Not Revoked", "revoke access token: HTTP 500 Internal Server Error: response body:")
	l.front.FailRoute(sandbox.RouteRevokeRefreshToken)
	acctest.ExpectOutput(t, l.Run(1, "destroy", "-input=false", "-auto-approve"),
		"Error: Error Revoking Point Refresh Token\n\nCould not revoke the refresh token of Point user", "revoke refresh token: HTTP 500 Internal Server Error: response body:")
	l.front.FailRoute("")
	if l.front.Failed() < 5 {
		t.Errorf("the front failed %d requests, want at least one in each of the 5 failing steps", l.front.Failed())
	}

	// The state, kept before the destroy empties it, must hold the current tokens, or its checks prove nothing.
	l.snapshot("the failures")
	for _, id := range l.users {
		if tok := env.CurrentRefreshToken(id); tok == "" || !bytes.Contains(l.artifacts["terraform.tfstate after the failures"], []byte(tok)) {
			t.Errorf("the state does not hold the current refresh token of %q", id)
		}
	}
	acctest.ExpectOutput(t, l.Run(0, "destroy", "-input=false", "-auto-approve"), "Destroy complete! Resources: 8 destroyed.")
	l.snapshot("destroy")
	for _, id := range l.users {
		if !env.HasUser(id) {
			t.Errorf("user %q gone from Point; users are abandoned, not deleted", id)
		}
		if tok := env.CurrentRefreshToken(id); tok != "" {
			t.Errorf("user %q still has a current refresh token after destroy", id)
		}
	}

	// The job ran twice with 2 access tokens; without the echoes and the log the scan proves nothing.
	l.checkConsumed(4)
	if n := bytes.Count(l.Output.Bytes(), []byte("(credential=***)")); n < 5 {
		t.Errorf("the output shows %d masked echoes of a credential, want one for each of the 5 failing steps at least", n)
	}
	sensitiveCopies := l.scan(map[string]string{"TRACE log": logPath}, map[string]string{"the API key": env.APIKey, "the wrong API key": wrongKey})
	l.expectHeld("TRACE log", "Point request", `point_operation="issue access token"`, `point_operation="issue refresh token"`, "http_status=500", "http_status=401")
	for _, where := range []string{"create.tfplan JSON", "rotate.tfplan JSON", "terraform.tfstate after the failures", "rotate.tfplan entry tfstate"} {
		for resourceType := range leakTestStateSensitive {
			// The bulk tokens are issued only when the create plan is applied.
			if sensitiveCopies[where][resourceType] == 0 && (where != "create.tfplan JSON" || resourceType != "point_refresh_tokens") {
				t.Errorf("the %s holds no refresh token of a %s at all", where, resourceType)
			}
		}
	}
}

// leakTestPlanSensitive and leakTestStateSensitive accept a refresh token in a plan's JSON and a state
// file, by resource type, only where Terraform marks the attribute that holds it sensitive.
var (
	leakTestPlanSensitive = map[string]func(any, []any) bool{
		"point_refresh_token":  acctest.PlanAttributeSensitive("point_refresh_token", "token", false),
		"point_refresh_tokens": acctest.PlanAttributeSensitive("point_refresh_tokens", "tokens", true),
	}
	leakTestStateSensitive = map[string]func(any, []any) bool{
		"point_refresh_token":  acctest.StateAttributeSensitive("point_refresh_token", "token", false),
		"point_refresh_tokens": acctest.StateAttributeSensitive("point_refresh_tokens", "tokens", true),
	}
)

// leakTestTokenFreeConfig follows configHCL: each singular user's refresh token goes, by the ephemeral, into a
// write-only argument versioned by token_version; a job gets an access token through the API key.
func leakTestTokenFreeConfig(l *leakScan, generation string, withAction bool) string {
	var b strings.Builder
	b.WriteString(l.configHCL(generation) + `
ephemeral "point_access_token" "alice" {
  user_id = point_refresh_token.alice.id
}

resource "terraform_data" "job" {
  triggers_replace = [point_refresh_token.alice.token_version]

  provisioner "local-exec" {
    command = "printf %s \"$A\" | sha256sum >> consumed.sha256"
    environment = {
      A = ephemeral.point_access_token.alice.authorization_header
    }
  }
}
`)
	for _, name := range []string{"alice", "bob", "imported"} {
		fmt.Fprintf(&b, `
ephemeral "point_refresh_token" %[1]q {
  user_id = point_refresh_token.%[1]s.id
}

resource "wostore_secret" %[1]q {
  name = %[1]q
}

resource "wostore_secret_version" %[1]q {
  secret_id                = wostore_secret.%[1]s.id
  secret_string_wo         = ephemeral.point_refresh_token.%[1]s.token
  secret_string_wo_version = point_refresh_token.%[1]s.token_version

  lifecycle {
    replace_triggered_by = [point_refresh_token.%[1]s.id]
  }
}
`, name)
	}
	if withAction {
		b.WriteString(`
action "point_revoke_refresh_token" "incident" {
  config {
    user_id = point_user.alice.user_id
  }
}
`)
	}
	return b.String()
}

// TestAccLeak_tokenFreeLifecycleCLI scans the lifecycle with store_token = false: rotations, the emergency
// revoke, destroy. Its clock and write-only consumer need the providers in process, set up through
// environment variables, so it cannot run in parallel.
func TestAccLeak_tokenFreeLifecycleCLI(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{APIKey: "leak-canary-" + acctest.RandomHex(16)})
	// The key reaches the in-process providers through the environment, never configuration, plan or state.
	t.Setenv(point.EnvAPIKey, env.APIKey)
	store := newWOStore()
	cli := acctest.NewInProcessCLI(t, factoriesWith(env, store), "TRACE") // skips unless TF_ACC is set
	acctest.SkipBelowTerraform(t, acctest.CLIVersionWriteOnly, "A write-only argument")
	terraformLog := filepath.Join(filepath.Dir(cli.Dir), "terraform.log")
	cli.Env = append(cli.Env, "TF_LOG=TRACE", "TF_LOG_PATH="+terraformLog)
	l, importedToken := newLeakScan(t, env, cli.CLI, "leak-free-", false)
	ids, withAction := l.ids, acctest.CLIHasActions(t)

	// After each step the consumer must hold the current tokens; last keeps every user's, by id.
	delivered, last := map[string]bool{}, map[string]string{}
	step := func(name string, rotatesAlice bool) string {
		t.Helper()
		before := env.CurrentRefreshToken(ids["alice"])
		out := l.planAndApply(name)
		if rotatesAlice && env.CurrentRefreshToken(ids["alice"]) == before {
			t.Errorf("the %s step did not rotate alice's token", name)
		}
		for user, id := range ids {
			current := env.CurrentRefreshToken(id)
			if current == "" || store.Secret(user) != current {
				t.Errorf("after %s, the secret %q does not hold the current refresh token of %s", name, user, user)
			}
			delivered[current], last[id] = true, current
		}
		for _, id := range l.bulk {
			last[id] = env.CurrentRefreshToken(id)
		}
		return out
	}

	cli.WriteMain(leakTestTokenFreeConfig(l, "1", withAction))
	acctest.ExpectOutputShows(t, step("create", false), "Apply complete! Resources: 2 imported, 13 added, 0 changed, 0 destroyed.")
	if env.CurrentRefreshToken(ids["imported"]) != importedToken {
		t.Error("the import rotated the imported token")
	}
	cli.WriteMain(leakTestTokenFreeConfig(l, "2", withAction))
	step("trigger", true)
	env.Clock.Advance(25 * time.Hour)
	step("time", true)

	env.RotateRefreshToken(ids["bob"])
	acctest.ExpectOutputShows(t, step("outside", false), "Warning: Point Refresh Token Rotated Elsewhere")

	if withAction {
		out := l.Run(0, "apply", "-input=false", "-auto-approve", "-invoke=action.point_revoke_refresh_token.incident")
		acctest.ExpectOutputShows(t, out, fmt.Sprintf("Revoked the refresh token of Point user %q.", ids["alice"]))
		l.snapshot("the action")
	} else {
		t.Logf("%s has no actions, so the emergency revoke goes through Point's API", acctest.TestCLI(t))
		env.RevokeRefreshToken(ids["alice"])
	}
	if env.CurrentRefreshToken(ids["alice"]) != "" {
		t.Fatal("the emergency revoke left alice with a refresh token")
	}
	acctest.ExpectOutputShows(t, step("reissue", false), "Warning: Point Refresh Token Revoked Elsewhere")

	// Destroy revokes every token it tracks, reading each with the API key.
	acctest.ExpectOutputShows(t, l.planAndApply("destroy", "-destroy"), "Apply complete! Resources: 0 added, 0 changed, 15 destroyed.")
	for _, id := range l.users {
		if !env.HasUser(id) {
			t.Errorf("user %q gone from Point; users are abandoned, not deleted", id)
		}
		if err := env.CheckRefreshTokenRefused(id, last[id]); err != nil {
			t.Errorf("after destroy: %v", err)
		}
	}

	for _, tok := range store.AllReceived() {
		if !l.EverCurrent[tok] {
			l.EverCurrent[tok] = true // scanned for below all the same
			t.Error("the consumer received a value that was never a current refresh token")
		}
	}
	for tok := range delivered {
		if !slices.Contains(store.AllReceived(), tok) {
			t.Error("the consumer never received a token that was current at the end of an apply")
		}
	}

	l.artifacts["job output"] = l.checkConsumed(1)
	l.scan(map[string]string{"Terraform TRACE log": terraformLog, "providers' TRACE log": cli.ProviderLog}, map[string]string{"the API key": env.APIKey})
	l.expectHeld("providers' TRACE log", "Point request", `point_operation="get user"`, `point_operation="issue refresh token"`, `point_operation="revoke refresh token"`)
	l.expectHeld("Terraform TRACE log", "point_refresh_token")
	if len(l.EverCurrent) < 13 {
		t.Errorf("the lifecycle saw %d refresh tokens, want at least 13 (4 of alice, 2 of bob and of each bulk user, 1 imported)", len(l.EverCurrent))
	}
}
