package provider

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// These tests drive the Terraform CLI directly, with the provider built as
// a binary, for what terraform-plugin-testing cannot observe: an apply of
// generated configuration, and warnings.

// newUserTestCLI is a Terraform working directory with config after the
// provider block.
func newUserTestCLI(t *testing.T, env *acctest.Env, config string) *acctest.CLI {
	t.Helper()
	cli := acctest.NewCLI(t)
	cli.WriteConfig(env, config)
	return cli
}

func TestAccUser_generateConfigCLI(t *testing.T) {
	t.Parallel()
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("generated-cli")
	token := env.AddUser(userID)
	cli := newUserTestCLI(t, env, fmt.Sprintf(`
import {
  to = point_user.alice
  id = %[1]q
}
`, userID))

	out := cli.MustRun(0, "plan", "-input=false", "-no-color", "-generate-config-out=generated.tf")
	if !strings.Contains(out, "1 to import") {
		t.Errorf("plan does not import the user:\n%s", out)
	}
	generated, err := os.ReadFile(filepath.Join(cli.Dir, "generated.tf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`resource "point_user" "alice" {`,
		fmt.Sprintf(`user_id         = %q`, userID),
		`deletion_policy = "ABANDON"`,
	} {
		if !strings.Contains(string(generated), want) {
			t.Errorf("generated.tf lacks %s:\n%s", want, generated)
		}
	}

	out = cli.MustRun(0, "apply", "-input=false", "-no-color", "-auto-approve")
	if !strings.Contains(out, "1 imported, 0 added, 0 changed, 0 destroyed") {
		t.Errorf("apply did not import exactly the user:\n%s", out)
	}
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")

	if env.Sandbox != nil {
		if got := env.Sandbox.UserIDs(); !slices.Equal(got, []string{userID}) {
			t.Errorf("sandbox users = %v, want only %q", got, userID)
		}
	}
	if err := acctest.ExpectRequests(env, sandbox.RouteCreateUser, 0); err != nil {
		t.Error(err)
	}
	if env.Sandbox != nil && env.Sandbox.RequestCounts()[sandbox.RouteGetUser] == 0 {
		t.Error("import did not read the user from Point")
	}
	if got := env.CurrentRefreshToken(userID); got != token {
		t.Error("importing the user changed its refresh token")
	}
}

func TestAccUser_driftWarningCLI(t *testing.T) {
	t.Parallel()
	config := func(userID string) string {
		return fmt.Sprintf(`
resource "point_user" "alice" {
  user_id = %[1]q
}
`, userID)
	}

	// The user goes from Point behind Terraform's back. Only the sandbox can
	// do that: Point has no endpoint that deletes users.
	t.Run("deleted in Point", func(t *testing.T) {
		t.Parallel()
		env := acctest.NewEnv(t, sandbox.Options{})
		env.RequireSandbox()
		userID := env.UserID("drifted-cli")
		cli := newUserTestCLI(t, env, config(userID))

		cli.MustRun(0, "apply", "-input=false", "-no-color", "-auto-approve")
		env.Sandbox.DeleteUser(userID)
		userTestDriftPlan(t, env, cli, userID)
	})

	// State names a user that Point does not have, as a state restored from
	// another environment would: the same drift, in any Point.
	t.Run("never in Point", func(t *testing.T) {
		t.Parallel()
		env := acctest.NewEnv(t, sandbox.Options{})
		registered, gone := env.UserID("drifted-cli"), env.UserID("drifted-cli-gone")
		cli := newUserTestCLI(t, env, config(registered))

		cli.MustRun(0, "apply", "-input=false", "-no-color", "-auto-approve")
		statePath := filepath.Join(cli.Dir, "terraform.tfstate")
		state, err := os.ReadFile(statePath)
		if err != nil {
			t.Fatal(err)
		}
		quoted := []byte(fmt.Sprintf("%q", registered))
		if !bytes.Contains(state, quoted) {
			t.Fatalf("the state does not name %q:\n%s", registered, state)
		}
		if err := os.WriteFile(statePath, bytes.ReplaceAll(state, quoted, []byte(fmt.Sprintf("%q", gone))), 0o600); err != nil {
			t.Fatal(err)
		}
		cli.WriteConfig(env, config(gone))
		if env.HasUser(gone) {
			t.Fatalf("Point already has %q", gone)
		}
		userTestDriftPlan(t, env, cli, gone)
	})
}

// userTestDriftPlan plans with point_user.alice in state for a user that
// Point does not have: a warning, and the user planned for creation, which
// the apply that follows registers again.
func userTestDriftPlan(t *testing.T, env *acctest.Env, cli *acctest.CLI, userID string) {
	t.Helper()
	out := cli.MustRun(2, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	for _, want := range []string{
		"Warning: Point User Not Found",
		fmt.Sprintf("Point has no user with id %q any more, so the provider removed it from state.", userID),
		"point_user.alice will be created",
	} {
		if !acctest.DiagnosticPattern(want).MatchString(out) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	if env.HasUser(userID) {
		t.Error("a plan registered the user again")
	}
	cli.MustRun(0, "apply", "-input=false", "-no-color", "-auto-approve")
	if !env.HasUser(userID) {
		t.Errorf("user %q not registered again after drift", userID)
	}
	if err := acctest.ExpectRequests(env, sandbox.RouteCreateUser, 2); err != nil {
		t.Error(err)
	}
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")
}
