package provider

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

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

// TestAccLeak_lifecycleCLI runs a whole lifecycle through the Terraform CLI
// at TF_LOG=TRACE, with the API key in POINT_API_KEY, failures included, and
// then looks for every credential in everything Terraform wrote.
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
	front := acctest.NewRecordingFront(env.Upstream())
	server := httptest.NewServer(front)
	t.Cleanup(server.Close)

	logPath := filepath.Join(t.TempDir(), "trace.log")
	baseEnv := []string{"TF_LOG=TRACE", "TF_LOG_PATH=" + logPath, "POINT_API_KEY=" + apiKey}
	cli.Env = baseEnv
	writeConfig := func(generation string) {
		cfg := fmt.Sprintf(leakTestConfig, server.URL, generation, imported, alice, users[1])
		cli.WriteMain(cfg)
	}

	// Every refresh token ever current for a managed user, sampled around
	// each command; the front adds those that were current only briefly.
	watch := acctest.NewTokenWatch(env, cli, users, importedToken)
	everCurrent, output, run := watch.EverCurrent, &watch.Output, watch.Run
	// Plan JSON is scanned on its own: it may hold refresh tokens.
	showJSON := func(plan string) []byte {
		t.Helper()
		return []byte(cli.MustRun(0, "show", "-json", plan))
	}
	plans := map[string][]byte{}

	// Create, import and consume access tokens through a saved plan.
	writeConfig("1")
	run(0, "plan", "-input=false", "-out=create.tfplan")
	plans["create.tfplan"] = showJSON("create.tfplan")
	out := run(0, "apply", "-input=false", "create.tfplan")
	acctest.ExpectOutput(t, out, "Apply complete! Resources: 2 imported, 5 added, 0 changed, 0 destroyed.")
	aliceFirst := env.CurrentRefreshToken(alice)

	// Rotation through a saved plan.
	writeConfig("2")
	run(0, "plan", "-input=false", "-out=rotate.tfplan")
	plans["rotate.tfplan"] = showJSON("rotate.tfplan")
	out = run(0, "apply", "-input=false", "rotate.tfplan")
	acctest.ExpectOutput(t, out, "Apply complete! Resources: 0 added, 1 changed, 0 destroyed.")
	if aliceNow := env.CurrentRefreshToken(alice); aliceNow == "" || aliceNow == aliceFirst {
		t.Error("changing rotation_triggers did not rotate alice's refresh token")
	}

	// A wrong API key: 401 on every read that uses it.
	cli.Env = append(slices.Clone(baseEnv), "POINT_API_KEY="+wrongKey)
	out = run(1, "plan", "-input=false")
	acctest.ExpectOutput(t, out, "Error: Error Reading Point User", "Point did not accept the credential", "HTTP 401 Unauthorized")
	cli.Env = baseEnv

	// A proxy that echoes the credential in a 500, on a route for each kind
	// of credential: the API key, a refresh token, an access token.
	front.FailRoute(sandbox.RouteGetUser)
	out = run(1, "plan", "-input=false")
	acctest.ExpectOutput(t, out, "Error: Error Reading Point User", "get user: HTTP 500 Internal Server Error")
	front.FailRoute(sandbox.RouteIssueAccessToken)
	out = run(1, "apply", "-input=false", "-auto-approve", "-replace=terraform_data.consumer")
	acctest.ExpectOutput(t, out, "Error: Error Issuing Point Access Token", "issue access token: HTTP 500 Internal Server Error: response body:")
	front.FailRoute(sandbox.RouteRevokeAccessToken)
	out = run(0, "apply", "-input=false", "-auto-approve", "-replace=terraform_data.consumer")
	acctest.ExpectOutput(t, out, "Warning: Point Access Token Not Revoked", "revoke access token: HTTP 500 Internal Server Error: response body:")
	front.FailRoute(sandbox.RouteRevokeRefreshToken)
	out = run(1, "destroy", "-input=false", "-auto-approve")
	acctest.ExpectOutput(t, out, "Error: Error Revoking Point Refresh Token", "revoke refresh token: HTTP 500 Internal Server Error: response body:")
	front.FailRoute("")

	// The state is read before the final destroy empties it, and must hold
	// the current tokens, or the checks on state below prove nothing.
	stateFiles := map[string][]byte{}
	for _, name := range []string{"terraform.tfstate", "terraform.tfstate.backup"} {
		b, err := os.ReadFile(filepath.Join(cli.Dir, name))
		if err != nil {
			t.Fatal(err)
		}
		stateFiles[name+" (before destroy)"] = b
	}
	for _, id := range users {
		if tok := env.CurrentRefreshToken(id); tok == "" || !bytes.Contains(stateFiles["terraform.tfstate (before destroy)"], []byte(tok)) {
			t.Errorf("the state does not hold the current refresh token of %q", id)
		}
	}
	out = run(0, "destroy", "-input=false", "-auto-approve")
	acctest.ExpectOutput(t, out, "Destroy complete! Resources: 6 destroyed.")
	for _, id := range users {
		if !env.HasUser(id) {
			t.Errorf("user %q gone from Point; users are abandoned, not deleted", id)
		}
		if tok := env.CurrentRefreshToken(id); tok != "" {
			t.Errorf("user %q still has a current refresh token after destroy", id)
		}
	}
	if front.Failed() < 4 {
		t.Errorf("the front failed %d requests, want at least one in each of the 4 failing steps", front.Failed())
	}

	// The provisioner received access tokens, in both forms. The front saw
	// every one Point issued; against the sandbox, exactly those it issued.
	frontRefresh, frontAccess := front.Tokens()
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

	// Everything Terraform wrote.
	logText, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	artifacts := map[string][]byte{"TRACE log": logText, "CLI output": output.Bytes()}
	for name, js := range plans {
		artifacts[name+" JSON"] = js
		for entry, b := range acctest.ZipEntries(t, filepath.Join(cli.Dir, name)) {
			artifacts[name+" entry "+entry] = b
		}
	}
	for name, b := range stateFiles {
		artifacts[name] = b
	}
	for _, name := range []string{"terraform.tfstate", "terraform.tfstate.backup"} {
		b, err := os.ReadFile(filepath.Join(cli.Dir, name))
		if err != nil {
			t.Fatal(err)
		}
		artifacts[name+" (after destroy)"] = b
	}

	// The log must hold the provider's own request logs, and the output the
	// masked echoes, or the scan proves nothing.
	if n := bytes.Count(output.Bytes(), []byte("(credential=***)")); n < 4 {
		t.Errorf("the output shows %d masked echoes of a credential, want one for each of the 4 failing steps at least", n)
	}
	for _, want := range []string{"Point request", `point_operation="issue access token"`, "http_status=500", "http_status=401"} {
		if !bytes.Contains(logText, []byte(want)) {
			t.Errorf("the TRACE log lacks %q: the provider's logs are not being scanned", want)
		}
	}

	for _, tok := range frontRefresh {
		everCurrent[tok] = true
	}
	accessTokens := map[string]bool{}
	for _, tok := range frontAccess {
		accessTokens[tok] = true
	}
	never := map[string]string{"the API key": apiKey, "the wrong API key": wrongKey}
	for tok := range accessTokens {
		never[fmt.Sprintf("access token %d", len(never)-1)] = tok
	}
	refresh := map[string]string{}
	for tok := range everCurrent {
		refresh[fmt.Sprintf("refresh token %d", len(refresh)+1)] = tok
	}

	found, bytesScanned := 0, 0
	sensitiveCopies := map[string]int{}
	for where, text := range artifacts {
		bytesScanned += len(text)
		for name, secret := range never {
			found += acctest.FindSecret(t, where, text, name, secret)
		}
		for _, m := range acctest.JwtShape.FindAll(text, -1) {
			found++
			t.Errorf("the %s holds a JWT: %.16s…", where, m)
		}
		switch {
		case strings.HasSuffix(where, " JSON"):
			bad, ok := acctest.CheckSensitiveOnly(t, where, text, everCurrent, leakTestPlanSensitive)
			found, sensitiveCopies[where] = found+bad, ok
		case strings.HasPrefix(where, "terraform.tfstate"), strings.HasSuffix(where, " entry tfstate"), strings.HasSuffix(where, " entry tfstate-prev"):
			bad, ok := acctest.CheckSensitiveOnly(t, where, text, everCurrent, leakTestStateSensitive)
			found, sensitiveCopies[where] = found+bad, ok
		case strings.HasSuffix(where, " entry tfplan"):
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

	// Without these the checks of sensitive copies would prove nothing.
	for _, where := range []string{"create.tfplan JSON", "rotate.tfplan JSON", "terraform.tfstate (before destroy)", "rotate.tfplan entry tfstate"} {
		if sensitiveCopies[where] == 0 {
			t.Errorf("the %s holds no refresh token at all", where)
		}
	}
	t.Logf("sensitive copies of refresh tokens, by Terraform's design: %v", sensitiveCopies)
	t.Logf("leak scan: %d artifacts, %d bytes, %d TRACE log lines (%d bytes); %d secrets sought (2 API keys, %d access tokens, %d refresh tokens); %d found",
		len(artifacts), bytesScanned, bytes.Count(logText, []byte("\n")), len(logText), len(never)+len(refresh), len(accessTokens), len(refresh), found)
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
