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

// leakFreeUsers are the three users of the token-free lifecycle, by the
// name of their resources.
var leakFreeUsers = []string{"alice", "bob", "imported"}

// leakFreeConfig is a whole configuration with token-free state: three
// refresh tokens, one of them imported, each read by the ephemeral
// point_refresh_token into a write-only argument of wostore whose version
// follows token_version, and an access token obtained through the API key
// for a local-exec job. withAction adds the emergency revoke action.
func leakFreeConfig(endpoint string, ids map[string]string, generation string, withAction bool) string {
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
	for _, name := range leakFreeUsers {
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

// TestAccLeakTokenFree_lifecycleCLI runs a whole lifecycle with
// store_token = false through the Terraform CLI at TF_LOG=TRACE, with every
// plan saved: issue and import, rotation by a trigger, rotation by time on
// the test clock, rotation outside Terraform, the emergency revoke (the
// action on Terraform 1.14 and later, else Point's API) and the new token
// after it, and destroy. No refresh token may appear anywhere: not in state
// or its backups, not in any saved plan or its JSON, not in the output, not
// in Terraform's or the providers' logs. At the end of every apply, the
// write-only consumer must hold the token current for each user.
func TestAccLeakTokenFree_lifecycleCLI(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1")
	}
	acctest.SkipBelowTerraform(t, acctest.CLIVersionWriteOnly, "A write-only argument")
	env := acctest.NewEnv(t, sandbox.Options{APIKey: "leak-canary-" + acctest.RandomHex(16)})
	apiKey := env.APIKey
	ids := map[string]string{}
	for _, name := range leakFreeUsers {
		ids[name] = env.UserID("leak-free-" + name)
	}
	importedToken := env.AddUser(ids["imported"])
	front := acctest.NewRecordingFront(env.Upstream())
	server := httptest.NewServer(front)
	t.Cleanup(server.Close)
	// The providers run in the test process: the key goes to them through
	// the environment, never into configuration, plan or state.
	t.Setenv(point.EnvAPIKey, apiKey)
	store := newWOStore()
	cli := acctest.NewInProcessCLI(t, factoriesWith(env, store), "TRACE")
	terraformLog := filepath.Join(filepath.Dir(cli.Dir), "terraform.log")
	cli.Env = append(cli.Env, "TF_LOG=TRACE", "TF_LOG_PATH="+terraformLog)
	withAction := acctest.CLIHasActions(t)

	watch := acctest.NewTokenWatch(env, cli, slices.Collect(maps.Values(ids)), importedToken)
	everCurrent, output, run := watch.EverCurrent, &watch.Output, watch.Run
	artifacts := map[string][]byte{}
	snapshot := func(step string) {
		t.Helper()
		for _, name := range []string{"terraform.tfstate", "terraform.tfstate.backup"} {
			if b, err := os.ReadFile(filepath.Join(cli.Dir, name)); err == nil {
				artifacts[fmt.Sprintf("%s after %s", name, step)] = b
			}
		}
	}
	// The consumer must hold, at the end of every apply, the token that is
	// current then; it must have been given nothing else.
	delivered := map[string]bool{}
	checkDelivered := func(step string) {
		t.Helper()
		for _, name := range leakFreeUsers {
			current := env.CurrentRefreshToken(ids[name])
			if current == "" || store.Secret(name) != current {
				t.Errorf("after %s, the secret %q does not hold the current refresh token of %s", step, name, name)
			}
			delivered[current] = true
		}
	}
	planAndApply := func(step string, extra ...string) string {
		t.Helper()
		plan := step + ".tfplan"
		planned := run(0, append([]string{"plan", "-input=false", "-out=" + plan}, extra...)...)
		artifacts[plan+" show -json"] = []byte(run(0, "show", "-json", plan))
		for entry, b := range acctest.ZipEntries(t, filepath.Join(cli.Dir, plan)) {
			artifacts[plan+" entry "+entry] = b
		}
		out := run(0, "apply", "-input=false", plan)
		snapshot(step)
		return planned + out
	}

	// Issue two tokens and import a third, without rotating it.
	cli.WriteMain(leakFreeConfig(server.URL, ids, "1", withAction))
	out := planAndApply("create")
	acctest.ExpectOutputShows(t, out, "Apply complete! Resources: 2 imported, 11 added, 0 changed, 0 destroyed.")
	checkDelivered("create")
	if env.CurrentRefreshToken(ids["imported"]) != importedToken {
		t.Error("the import rotated the imported token")
	}

	// Rotation by a trigger.
	aliceBefore := env.CurrentRefreshToken(ids["alice"])
	cli.WriteMain(leakFreeConfig(server.URL, ids, "2", withAction))
	planAndApply("trigger")
	checkDelivered("the rotation by a trigger")
	if env.CurrentRefreshToken(ids["alice"]) == aliceBefore {
		t.Error("changing rotation_triggers did not rotate alice's token")
	}

	// Rotation by time: rotate_after has elapsed on the test clock.
	aliceBefore = env.CurrentRefreshToken(ids["alice"])
	env.Clock.Advance(25 * time.Hour)
	planAndApply("time")
	checkDelivered("the rotation by time")
	if env.CurrentRefreshToken(ids["alice"]) == aliceBefore {
		t.Error("rotate_after did not rotate alice's token")
	}

	// Rotation outside Terraform: the refresh adopts it, the consumer gets it.
	env.RotateRefreshToken(ids["bob"])
	out = planAndApply("outside")
	acctest.ExpectOutputShows(t, out, "Warning: Point Refresh Token Rotated Elsewhere")
	checkDelivered("the rotation outside Terraform")

	// The emergency revoke, then the new token.
	if withAction {
		out = run(0, "apply", "-input=false", "-auto-approve", "-invoke=action.point_revoke_refresh_token.incident")
		acctest.ExpectOutputShows(t, out, fmt.Sprintf("Revoked the refresh token of Point user %q.", ids["alice"]))
		snapshot("the action")
	} else {
		t.Logf("%s has no actions, so the emergency revoke goes through Point's API", acctest.TestCLI(t))
		env.RevokeRefreshToken(ids["alice"])
	}
	if env.CurrentRefreshToken(ids["alice"]) != "" {
		t.Fatal("the emergency revoke left alice with a refresh token")
	}
	out = planAndApply("reissue")
	acctest.ExpectOutputShows(t, out, "Warning: Point Refresh Token Revoked Elsewhere")
	checkDelivered("the new token after the revoke")

	// Destroy revokes every token it tracks, reading each with the API key.
	final := map[string]string{}
	for _, name := range leakFreeUsers {
		final[name] = env.CurrentRefreshToken(ids[name])
	}
	out = planAndApply("destroy", "-destroy")
	acctest.ExpectOutputShows(t, out, "Apply complete! Resources: 0 added, 0 changed, 13 destroyed.")
	for _, name := range leakFreeUsers {
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
		if !everCurrent[tok] {
			everCurrent[tok] = true // scanned for below all the same
			t.Error("the consumer received a value that was never a current refresh token")
		}
	}
	for tok := range delivered {
		if !slices.Contains(store.AllReceived(), tok) {
			t.Error("the consumer never received a token that was current at the end of an apply")
		}
	}

	// The access token job ran, with access tokens Point issued.
	frontRefresh, frontAccess := front.Tokens()
	consumed, err := os.ReadFile(filepath.Join(cli.Dir, "consumed.sha256"))
	if err != nil {
		t.Fatalf("the access token job never ran: %v", err)
	}
	if len(frontAccess) == 0 || len(bytes.Fields(consumed)) < 2 {
		t.Error("no access token reached the job")
	}

	// Everything Terraform and the providers wrote.
	for name, path := range map[string]string{"Terraform TRACE log": terraformLog, "providers' TRACE log": cli.ProviderLog} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		artifacts[name] = b
	}
	artifacts["CLI output"] = output.Bytes()
	artifacts["job output"] = consumed
	for _, want := range []string{"Point request", `point_operation="get user"`, `point_operation="issue refresh token"`, `point_operation="revoke refresh token"`} {
		if !bytes.Contains(artifacts["providers' TRACE log"], []byte(want)) {
			t.Errorf("the providers' TRACE log lacks %q: their logs are not being scanned", want)
		}
	}
	if !bytes.Contains(artifacts["Terraform TRACE log"], []byte("point_refresh_token")) {
		t.Error("the Terraform TRACE log does not mention point_refresh_token: it is not being scanned")
	}
	// The fingerprints are there, so the token would be if it leaked.
	sums := 0
	for where, text := range artifacts {
		if strings.HasSuffix(where, "show -json") || strings.HasPrefix(where, "terraform.tfstate") {
			for tok := range everCurrent {
				if bytes.Contains(text, []byte(tokenSHA256(tok))) {
					sums++
				}
			}
		}
	}
	if sums == 0 {
		t.Error("no plan or state holds a token_sha256: the scan proves nothing")
	}

	for _, tok := range frontRefresh {
		everCurrent[tok] = true
	}
	if len(everCurrent) < 7 {
		t.Errorf("the lifecycle saw %d refresh tokens, want at least 7 (4 of alice, 2 of bob, 1 imported)", len(everCurrent))
	}
	secrets := map[string]string{"the API key": apiKey}
	for tok := range everCurrent {
		secrets[fmt.Sprintf("refresh token %d", len(secrets))] = tok
	}
	for _, tok := range frontAccess {
		secrets[fmt.Sprintf("access token %d", len(secrets))] = tok
	}

	found, lines, bytesScanned := 0, 0, 0
	for where, text := range artifacts {
		lines += bytes.Count(text, []byte("\n"))
		if len(text) > 0 && text[len(text)-1] != '\n' {
			lines++
		}
		bytesScanned += len(text)
		for name, secret := range secrets {
			found += acctest.FindSecret(t, where, text, name, secret)
		}
		for _, m := range acctest.RefreshTokenShape.FindAll(text, -1) {
			found++
			t.Errorf("the %s holds something shaped like a refresh token: %.8s…", where, m)
		}
		for _, m := range acctest.JwtShape.FindAll(text, -1) {
			found++
			t.Errorf("the %s holds a JWT: %.16s…", where, m)
		}
	}
	if found != 0 {
		t.Errorf("found %d secrets", found)
	}
	names := make([]string, 0, len(artifacts))
	for name := range artifacts {
		names = append(names, name)
	}
	slices.Sort(names)
	summary, _ := json.Marshal(names)
	t.Logf("files scanned: %s", summary)
	t.Logf("leak scan (token-free lifecycle, action: %t): %d files, %d lines, %d bytes (Terraform TRACE log %d lines, providers' TRACE log %d lines); "+
		"%d secrets sought (1 API key, %d refresh tokens, %d access tokens); %d found",
		withAction, len(artifacts), lines, bytesScanned,
		bytes.Count(artifacts["Terraform TRACE log"], []byte("\n")), bytes.Count(artifacts["providers' TRACE log"], []byte("\n")),
		len(secrets), len(everCurrent), len(frontAccess), found)
}
