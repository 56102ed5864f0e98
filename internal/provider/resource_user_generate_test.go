package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// These tests drive the Terraform CLI directly, with the provider built as
// a binary, for what terraform-plugin-testing cannot observe: an apply of
// generated configuration, and warnings.

// newUserTestCLI is a Terraform working directory with config after the
// provider block.
func newUserTestCLI(t *testing.T, env *testEnv, config string) *terraformCLI {
	t.Helper()
	cli := newTerraformCLI(t)
	cli.WriteConfig(env, config)
	return cli
}

func TestAccUser_generateConfigCLI(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, sandbox.Options{})
	env.RequireSandbox()
	userID := env.UserID("generated-cli")
	env.Sandbox.AddUser(userID)
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

	if got := env.Sandbox.UserIDs(); !slices.Equal(got, []string{userID}) {
		t.Errorf("sandbox users = %v, want only %q", got, userID)
	}
	if err := userTestExpectRequests(env, userTestRouteCreate, 0); err != nil {
		t.Error(err)
	}
}

func TestAccUser_driftWarningCLI(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, sandbox.Options{})
	env.RequireSandbox()
	userID := env.UserID("drifted-cli")
	cli := newUserTestCLI(t, env, fmt.Sprintf(`
resource "point_user" "alice" {
  user_id = %[1]q
}
`, userID))

	cli.MustRun(0, "apply", "-input=false", "-no-color", "-auto-approve")
	env.Sandbox.DeleteUser(userID)

	out := cli.MustRun(2, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	for _, want := range []string{
		"Warning: Point User Not Found",
		fmt.Sprintf("Point has no user with id %q any more, so Terraform removed it from state.", userID),
		"point_user.alice will be created",
	} {
		if !diagnosticPattern(want).MatchString(out) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	if env.Sandbox.HasUser(userID) {
		t.Error("a plan registered the user again")
	}
}
