package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/areyoupoint/terraform-provider-point/internal/point"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// Leak scans: a whole lifecycle through the Terraform CLI at TF_LOG=TRACE,
// failures included, and then a search for every credential in everything
// Terraform and the providers wrote. One scan (leakScan) serves both ways
// of keeping a token. With store_token = true, a refresh token may stand
// only as the sensitive token of a point_refresh_token in the JSON of plans
// and states, and in the binary plans beside them; with store_token =
// false, nowhere. Each way has a lifecycle of its own, and a harness of its
// own: the one with tokens in state runs the built provider, whose logs
// reach Terraform's; the token-free one needs the test's clock and a
// write-only consumer, so it serves the providers in process, which sets
// environment variables and so cannot run in parallel with other tests.

// leakScan runs a lifecycle's commands and keeps what they write for scan.
type leakScan struct {
	t   *testing.T
	env *acctest.Env
	cli *acctest.CLI
	*acctest.TokenWatch
	front *acctest.RecordingFront
	// endpoint is the front's base URL, for the provider block.
	endpoint     string
	storesTokens bool
	artifacts    map[string][]byte
}

// newLeakScan puts a recording front before env's Point; start then gives
// it the CLI.
func newLeakScan(t *testing.T, env *acctest.Env, storesTokens bool) *leakScan {
	t.Helper()
	front := acctest.NewRecordingFront(env.Upstream())
	server := httptest.NewServer(front)
	t.Cleanup(server.Close)
	return &leakScan{t: t, env: env, front: front, endpoint: server.URL, storesTokens: storesTokens, artifacts: map[string][]byte{}}
}

// start watches the refresh tokens of users (known were current before),
// around every command run through cli.
func (l *leakScan) start(cli *acctest.CLI, users []string, known ...string) {
	l.cli = cli
	l.TokenWatch = acctest.NewTokenWatch(l.env, cli, users, known...)
}

// snapshot keeps the state files as they are after step.
func (l *leakScan) snapshot(step string) {
	l.t.Helper()
	for _, name := range []string{"terraform.tfstate", "terraform.tfstate.backup"} {
		if b, err := os.ReadFile(filepath.Join(l.cli.Dir, name)); err == nil {
			l.artifacts[fmt.Sprintf("%s after %s", name, step)] = b
		}
	}
}

// planAndApply saves a plan for step, keeps it (its JSON and each entry of
// the file), applies it and keeps the state after it. It returns the
// output of both commands.
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

// scan reads the logs (by name, their paths) and the CLI output, and seeks
// in them and in every artifact kept: the secrets in never, every access
// token the front saw and anything shaped like one, nowhere; every refresh
// token ever current, and anything shaped like one, nowhere either, except
// where storesTokens allows it. It returns the refresh tokens found where
// they are allowed, by artifact.
func (l *leakScan) scan(logs map[string]string, never map[string]string) map[string]int {
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
	secrets := maps.Clone(never)
	apiKeys := len(secrets)
	for _, tok := range slices.Sorted(slices.Values(frontAccess)) {
		secrets[fmt.Sprintf("access token %d", len(secrets)-apiKeys+1)] = tok
	}
	refresh := map[string]string{}
	for _, tok := range slices.Sorted(maps.Keys(l.EverCurrent)) {
		refresh[fmt.Sprintf("refresh token %d", len(refresh)+1)] = tok
	}

	found, sums, lines, bytesScanned := 0, 0, 0, 0
	sensitiveCopies := map[string]int{}
	for where, text := range l.artifacts {
		lines += bytes.Count(text, []byte("\n"))
		bytesScanned += len(text)
		for name, secret := range secrets {
			found += acctest.FindSecret(t, where, text, name, secret)
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
			// Terraform's binary record of prior and planned values, with
			// their sensitivity marks.
		default:
			for name, secret := range refresh {
				found += acctest.FindSecret(t, where, text, name, secret)
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
	names, _ := json.Marshal(slices.Sorted(maps.Keys(l.artifacts)))
	t.Logf("files scanned: %s", names)
	t.Logf("leak scan (store_token = %t): %d files, %d lines, %d bytes; %d secrets sought (%d API keys, %d access tokens, %d refresh tokens); %d found; sensitive copies of refresh tokens, by Terraform's design: %v",
		l.storesTokens, len(l.artifacts), lines, bytesScanned, len(secrets)+len(refresh), apiKeys, len(frontAccess), len(refresh), found, sensitiveCopies)
	return sensitiveCopies
}

const leakTestConfig = `provider "point" {
  endpoint    = %[1]q
  max_retries = 1
}

resource "point_user" "alice" {
  user_id = %[4]q
}

resource "point_user" "bob" {
  user_id         = %[5]q
  deletion_policy = "REVOKE"
}

resource "point_refresh_token" "alice" {
  user_id           = point_user.alice.user_id
  rotation_triggers = { generation = %[2]q }
}

resource "point_refresh_token" "bob" {
  user_id = point_user.bob.user_id
}

import {
  to = point_user.imported
  id = %[3]q
}

resource "point_user" "imported" {
  user_id = %[3]q
}

import {
  to = point_refresh_token.imported
  id = %[3]q
}

resource "point_refresh_token" "imported" {
  user_id = point_user.imported.user_id
}

ephemeral "point_access_token" "alice" {
  user_id       = point_refresh_token.alice.user_id
  refresh_token = point_refresh_token.alice.token
}

ephemeral "point_access_token" "imported" {
  user_id = point_user.imported.id
}

resource "terraform_data" "consumer" {
  provisioner "local-exec" {
    command = "printf %%s \"$A\" | sha256sum >> consumed.sha256; printf %%s \"$B\" | sha256sum >> consumed.sha256"
    environment = {
      A = ephemeral.point_access_token.alice.authorization_header
      B = ephemeral.point_access_token.imported.token
    }
  }
}
`

// leakTestUsers are the users leakTestConfig manages: alice, bob and the
// imported one, in the order of its parameters 4, 5 and 3.
func leakTestUsers(env *acctest.Env) []string {
	return []string{env.UserID("leak-alice"), env.UserID("leak-bob"), env.UserID("leak-imported")}
}

// TestAccLeak_lifecycleCLI runs a whole lifecycle with store_token = true
// through the built provider at TF_LOG=TRACE, with the API key in
// POINT_API_KEY: issue, import and rotation through saved plans, access
// tokens for a local-exec job, a wrong API key, a proxy that echoes each
// kind of credential in a 500, and destroy; then leakScan.scan.
func TestAccLeak_lifecycleCLI(t *testing.T) {
	cli := acctest.NewCLI(t)
	wrongKey := "leak-wrong-" + acctest.RandomHex(16)
	// A key of its own for the sandbox, and real Point's key against it.
	env := acctest.NewEnv(t, sandbox.Options{APIKey: "leak-canary-" + acctest.RandomHex(16)})
	apiKey := env.APIKey
	t.Parallel()
	users := leakTestUsers(env)
	alice, imported := users[0], users[2]
	importedToken := env.AddUser(imported)
	l := newLeakScan(t, env, true)
	l.start(cli, users, importedToken)

	logPath := filepath.Join(t.TempDir(), "trace.log")
	baseEnv := []string{"TF_LOG=TRACE", "TF_LOG_PATH=" + logPath, "POINT_API_KEY=" + apiKey}
	cli.Env = baseEnv
	writeConfig := func(generation string) {
		cli.WriteMain(fmt.Sprintf(leakTestConfig, l.endpoint, generation, imported, alice, users[1]))
	}

	// Create, import and consume access tokens through a saved plan.
	writeConfig("1")
	out := l.planAndApply("create")
	acctest.ExpectOutput(t, out, "Apply complete! Resources: 2 imported, 5 added, 0 changed, 0 destroyed.")
	aliceFirst := env.CurrentRefreshToken(alice)

	// Rotation through a saved plan.
	writeConfig("2")
	out = l.planAndApply("rotate")
	acctest.ExpectOutput(t, out, "Apply complete! Resources: 0 added, 1 changed, 0 destroyed.")
	if aliceNow := env.CurrentRefreshToken(alice); aliceNow == "" || aliceNow == aliceFirst {
		t.Error("changing rotation_triggers did not rotate alice's refresh token")
	}

	// A wrong API key: 401 on every read that uses it.
	cli.Env = append(slices.Clone(baseEnv), "POINT_API_KEY="+wrongKey)
	out = l.Run(1, "plan", "-input=false")
	acctest.ExpectOutput(t, out, "Error: Error Reading Point User", "Point did not accept the credential", "HTTP 401 Unauthorized")
	cli.Env = baseEnv

	// A proxy that echoes the credential in a 500, on a route for each kind
	// of credential: the API key, a refresh token, an access token.
	l.front.FailRoute(sandbox.RouteGetUser)
	out = l.Run(1, "plan", "-input=false")
	acctest.ExpectOutput(t, out, "Error: Error Reading Point User", "get user: HTTP 500 Internal Server Error")
	l.front.FailRoute(sandbox.RouteIssueAccessToken)
	out = l.Run(1, "apply", "-input=false", "-auto-approve", "-replace=terraform_data.consumer")
	acctest.ExpectOutput(t, out, "Error: Error Issuing Point Access Token", "issue access token: HTTP 500 Internal Server Error: response body:")
	l.front.FailRoute(sandbox.RouteRevokeAccessToken)
	out = l.Run(0, "apply", "-input=false", "-auto-approve", "-replace=terraform_data.consumer")
	acctest.ExpectOutput(t, out, "Warning: Point Access Token Not Revoked", "revoke access token: HTTP 500 Internal Server Error: response body:")
	l.front.FailRoute(sandbox.RouteRevokeRefreshToken)
	out = l.Run(1, "destroy", "-input=false", "-auto-approve")
	acctest.ExpectOutput(t, out, "Error: Error Revoking Point Refresh Token", "revoke refresh token: HTTP 500 Internal Server Error: response body:")
	l.front.FailRoute("")

	// The state is kept before the final destroy empties it, and must hold
	// the current tokens, or the checks on state prove nothing.
	l.snapshot("the failures")
	for _, id := range users {
		if tok := env.CurrentRefreshToken(id); tok == "" || !bytes.Contains(l.artifacts["terraform.tfstate after the failures"], []byte(tok)) {
			t.Errorf("the state does not hold the current refresh token of %q", id)
		}
	}
	out = l.Run(0, "destroy", "-input=false", "-auto-approve")
	acctest.ExpectOutput(t, out, "Destroy complete! Resources: 6 destroyed.")
	l.snapshot("destroy")
	for _, id := range users {
		if !env.HasUser(id) {
			t.Errorf("user %q gone from Point; users are abandoned, not deleted", id)
		}
		if tok := env.CurrentRefreshToken(id); tok != "" {
			t.Errorf("user %q still has a current refresh token after destroy", id)
		}
	}
	if l.front.Failed() < 4 {
		t.Errorf("the front failed %d requests, want at least one in each of the 4 failing steps", l.front.Failed())
	}

	// The provisioner received access tokens, in both forms. The front saw
	// every one Point issued; against the sandbox, exactly those it issued.
	_, frontAccess := l.front.Tokens()
	if env.Sandbox != nil {
		records := env.Sandbox.AccessTokens()
		issued := map[string]bool{}
		for _, rec := range records {
			issued[rec.Token] = true
		}
		for _, tok := range frontAccess {
			issued[tok] = true
		}
		if len(issued) != len(records) || len(frontAccess) != len(records) {
			t.Errorf("the front saw %d access tokens, the sandbox issued %d", len(frontAccess), len(records))
		}
	}
	if len(frontAccess) == 0 {
		t.Error("Point issued no access token")
	}
	consumed, err := os.ReadFile(filepath.Join(cli.Dir, "consumed.sha256"))
	if err != nil {
		t.Fatalf("the consumer never ran: %v", err)
	}
	hashes := map[string]bool{}
	for _, tok := range frontAccess {
		for _, v := range []string{tok, "Bearer " + tok} {
			hashes[tokenSHA256(v)] = true
		}
	}
	consumedHashes := 0
	for _, field := range strings.Fields(string(consumed)) {
		if field == "-" {
			continue
		}
		consumedHashes++
		if !hashes[field] {
			t.Errorf("the consumer received a value that is no access token Point issued")
		}
	}
	if consumedHashes < 4 {
		t.Errorf("the consumer ran with %d tokens, want 2 for each of its 2 successful runs", consumedHashes)
	}

	// The log must hold the provider's own request logs, and the output the
	// masked echoes, or the scan proves nothing.
	if n := bytes.Count(l.Output.Bytes(), []byte("(credential=***)")); n < 4 {
		t.Errorf("the output shows %d masked echoes of a credential, want one for each of the 4 failing steps at least", n)
	}
	sensitiveCopies := l.scan(map[string]string{"TRACE log": logPath}, map[string]string{"the API key": apiKey, "the wrong API key": wrongKey})
	for _, want := range []string{"Point request", `point_operation="issue access token"`, "http_status=500", "http_status=401"} {
		if !bytes.Contains(l.artifacts["TRACE log"], []byte(want)) {
			t.Errorf("the TRACE log lacks %q: the provider's logs are not being scanned", want)
		}
	}
	// Without these the checks of sensitive copies would prove nothing.
	for _, where := range []string{"create.tfplan JSON", "rotate.tfplan JSON", "terraform.tfstate after the failures", "rotate.tfplan entry tfstate"} {
		if sensitiveCopies[where] == 0 {
			t.Errorf("the %s holds no refresh token at all", where)
		}
	}
}

// leakTestOwner returns the nearest object above path that has a "type".
func leakTestOwner(root any, path []any) string {
	for i := len(path) - 1; i >= 0; i-- {
		if m, ok := acctest.JSONAt(root, path[:i]).(map[string]any); ok {
			if typ, ok := m["type"].(string); ok {
				return typ
			}
		}
	}
	return ""
}

// leakTestPlanSensitive accepts the token attribute of a point_refresh_token
// in `terraform show -json` of a plan, where the matching sensitivity map
// (sensitive_values, before_sensitive, after_sensitive) marks it.
func leakTestPlanSensitive(root any, path []any) bool {
	n := len(path)
	if n < 2 || path[n-1] != "token" || leakTestOwner(root, path) != "point_refresh_token" {
		return false
	}
	marks := map[any]string{"values": "sensitive_values", "before": "before_sensitive", "after": "after_sensitive"}[path[n-2]]
	if marks == "" {
		return false
	}
	return acctest.JSONAt(root, append(slices.Clone(path[:n-2]), marks, "token")) == true
}

// leakTestStateSensitive accepts the token attribute of a
// point_refresh_token instance in a state file whose sensitive_attributes
// list it.
var leakTestStateSensitive = acctest.StateAttributeSensitive("point_refresh_token", "token", false)

// leakTestTokenFreeNames are the three users of the token-free lifecycle,
// by the name of their resources.
var leakTestTokenFreeNames = []string{"alice", "bob", "imported"}

// leakTestTokenFreeConfig is a whole configuration with token-free state:
// three refresh tokens, one of them imported, each read by the ephemeral
// point_refresh_token into a write-only argument of wostore whose version
// follows token_version, and an access token obtained through the API key
// for a local-exec job. withAction adds the emergency revoke action.
func leakTestTokenFreeConfig(endpoint string, ids map[string]string, generation string, withAction bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, `provider "point" {
  endpoint    = %[1]q
  max_retries = 1
}

resource "point_user" "alice" {
  user_id = %[2]q
}

resource "point_user" "bob" {
  user_id         = %[3]q
  deletion_policy = "REVOKE"
}

import {
  to = point_user.imported
  id = %[4]q
}

resource "point_user" "imported" {
  user_id = %[4]q
}

resource "point_refresh_token" "alice" {
  user_id           = point_user.alice.user_id
  store_token       = false
  rotate_after      = "24h"
  rotation_triggers = { generation = %[5]q }
}

resource "point_refresh_token" "bob" {
  user_id     = point_user.bob.user_id
  store_token = false
}

import {
  to = point_refresh_token.imported
  id = "%[4]s/store_token=false"
}

resource "point_refresh_token" "imported" {
  user_id     = point_user.imported.user_id
  store_token = false
}

ephemeral "point_access_token" "alice" {
  user_id = point_refresh_token.alice.id
}

resource "terraform_data" "job" {
  triggers_replace = [point_refresh_token.alice.token_version]

  provisioner "local-exec" {
    command = "printf %%s \"$A\" | sha256sum >> consumed.sha256"
    environment = {
      A = ephemeral.point_access_token.alice.authorization_header
    }
  }
}
`, endpoint, ids["alice"], ids["bob"], ids["imported"], generation)
	for _, name := range leakTestTokenFreeNames {
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

// TestAccLeak_tokenFreeLifecycleCLI runs a whole lifecycle with
// store_token = false through the Terraform CLI at TF_LOG=TRACE, with every
// plan saved: issue and import, rotation by a trigger, rotation by time on
// the test clock, rotation outside Terraform, the emergency revoke (the
// action on Terraform 1.14 and later, else Point's API) and the new token
// after it, and destroy; then leakScan.scan, which allows a refresh token
// nowhere: not in state or its backups, not in any saved plan or its JSON,
// not in the output, not in Terraform's or the providers' logs. At the end
// of every apply, the write-only consumer must hold the token current for
// each user.
func TestAccLeak_tokenFreeLifecycleCLI(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1")
	}
	acctest.SkipBelowTerraform(t, acctest.CLIVersionWriteOnly, "A write-only argument")
	env := acctest.NewEnv(t, sandbox.Options{APIKey: "leak-canary-" + acctest.RandomHex(16)})
	apiKey := env.APIKey
	ids := map[string]string{}
	for _, name := range leakTestTokenFreeNames {
		ids[name] = env.UserID("leak-free-" + name)
	}
	importedToken := env.AddUser(ids["imported"])
	l := newLeakScan(t, env, false)
	// The providers run in the test process: the key goes to them through
	// the environment, never into configuration, plan or state.
	t.Setenv(point.EnvAPIKey, apiKey)
	store := newWOStore()
	cli := acctest.NewInProcessCLI(t, factoriesWith(env, store), "TRACE")
	terraformLog := filepath.Join(filepath.Dir(cli.Dir), "terraform.log")
	cli.Env = append(cli.Env, "TF_LOG=TRACE", "TF_LOG_PATH="+terraformLog)
	withAction := acctest.CLIHasActions(t)
	l.start(cli.CLI, slices.Collect(maps.Values(ids)), importedToken)

	// The consumer must hold, at the end of every apply, the token that is
	// current then; it must have been given nothing else.
	delivered := map[string]bool{}
	checkDelivered := func(step string) {
		t.Helper()
		for _, name := range leakTestTokenFreeNames {
			current := env.CurrentRefreshToken(ids[name])
			if current == "" || store.Secret(name) != current {
				t.Errorf("after %s, the secret %q does not hold the current refresh token of %s", step, name, name)
			}
			delivered[current] = true
		}
	}

	// Issue two tokens and import a third, without rotating it.
	cli.WriteMain(leakTestTokenFreeConfig(l.endpoint, ids, "1", withAction))
	out := l.planAndApply("create")
	acctest.ExpectOutputShows(t, out, "Apply complete! Resources: 2 imported, 11 added, 0 changed, 0 destroyed.")
	checkDelivered("create")
	if env.CurrentRefreshToken(ids["imported"]) != importedToken {
		t.Error("the import rotated the imported token")
	}

	// Rotation by a trigger.
	aliceBefore := env.CurrentRefreshToken(ids["alice"])
	cli.WriteMain(leakTestTokenFreeConfig(l.endpoint, ids, "2", withAction))
	l.planAndApply("trigger")
	checkDelivered("the rotation by a trigger")
	if env.CurrentRefreshToken(ids["alice"]) == aliceBefore {
		t.Error("changing rotation_triggers did not rotate alice's token")
	}

	// Rotation by time: rotate_after has elapsed on the test clock.
	aliceBefore = env.CurrentRefreshToken(ids["alice"])
	env.Clock.Advance(25 * time.Hour)
	l.planAndApply("time")
	checkDelivered("the rotation by time")
	if env.CurrentRefreshToken(ids["alice"]) == aliceBefore {
		t.Error("rotate_after did not rotate alice's token")
	}

	// Rotation outside Terraform: the refresh adopts it, the consumer gets it.
	env.RotateRefreshToken(ids["bob"])
	out = l.planAndApply("outside")
	acctest.ExpectOutputShows(t, out, "Warning: Point Refresh Token Rotated Elsewhere")
	checkDelivered("the rotation outside Terraform")

	// The emergency revoke, then the new token.
	if withAction {
		out = l.Run(0, "apply", "-input=false", "-auto-approve", "-invoke=action.point_revoke_refresh_token.incident")
		acctest.ExpectOutputShows(t, out, fmt.Sprintf("Revoked the refresh token of Point user %q.", ids["alice"]))
		l.snapshot("the action")
	} else {
		t.Logf("%s has no actions, so the emergency revoke goes through Point's API", acctest.TestCLI(t))
		env.RevokeRefreshToken(ids["alice"])
	}
	if env.CurrentRefreshToken(ids["alice"]) != "" {
		t.Fatal("the emergency revoke left alice with a refresh token")
	}
	out = l.planAndApply("reissue")
	acctest.ExpectOutputShows(t, out, "Warning: Point Refresh Token Revoked Elsewhere")
	checkDelivered("the new token after the revoke")

	// Destroy revokes every token it tracks, reading each with the API key.
	final := map[string]string{}
	for _, name := range leakTestTokenFreeNames {
		final[name] = env.CurrentRefreshToken(ids[name])
	}
	out = l.planAndApply("destroy", "-destroy")
	acctest.ExpectOutputShows(t, out, "Apply complete! Resources: 0 added, 0 changed, 13 destroyed.")
	for _, name := range leakTestTokenFreeNames {
		if !env.HasUser(ids[name]) {
			t.Errorf("user %s gone from Point; users are abandoned, not deleted", name)
		}
		if err := env.CheckRefreshTokenRefused(ids[name], final[name]); err != nil {
			t.Errorf("after destroy: %v", err)
		}
	}

	// The consumer was given only tokens that were current at some point,
	// and every token current at the end of an apply.
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

	// The access token job ran, with access tokens Point issued.
	_, frontAccess := l.front.Tokens()
	consumed, err := os.ReadFile(filepath.Join(cli.Dir, "consumed.sha256"))
	if err != nil {
		t.Fatalf("the access token job never ran: %v", err)
	}
	if len(frontAccess) == 0 || len(bytes.Fields(consumed)) < 2 {
		t.Error("no access token reached the job")
	}
	l.artifacts["job output"] = consumed

	l.scan(map[string]string{"Terraform TRACE log": terraformLog, "providers' TRACE log": cli.ProviderLog}, map[string]string{"the API key": apiKey})
	for _, want := range []string{"Point request", `point_operation="get user"`, `point_operation="issue refresh token"`, `point_operation="revoke refresh token"`} {
		if !bytes.Contains(l.artifacts["providers' TRACE log"], []byte(want)) {
			t.Errorf("the providers' TRACE log lacks %q: their logs are not being scanned", want)
		}
	}
	if !bytes.Contains(l.artifacts["Terraform TRACE log"], []byte("point_refresh_token")) {
		t.Error("the Terraform TRACE log does not mention point_refresh_token: it is not being scanned")
	}
	if len(l.EverCurrent) < 7 {
		t.Errorf("the lifecycle saw %d refresh tokens, want at least 7 (4 of alice, 2 of bob, 1 imported)", len(l.EverCurrent))
	}
}
