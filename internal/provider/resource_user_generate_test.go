package provider

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// These tests drive the Terraform CLI directly, with the provider built as
// a binary, for what terraform-plugin-testing cannot observe: an apply of
// generated configuration, and warnings.

// userTestCLI is a Terraform working directory served by the built provider.
type userTestCLI struct {
	t         *testing.T
	dir       string
	cliConfig string
}

func newUserTestCLI(t *testing.T, env *testEnv, config string) *userTestCLI {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1")
	}
	cli := &userTestCLI{t: t, dir: t.TempDir(), cliConfig: accessTokenBuildProvider(t)}
	text := `terraform {
  required_providers {
    point = {
      source = "areyoupoint/point"
    }
  }
}

` + env.ProviderBlock() + config
	if err := os.WriteFile(filepath.Join(cli.dir, "main.tf"), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return cli
}

// run runs terraform with args and returns its combined output and exit code.
func (c *userTestCLI) run(args ...string) (string, int) {
	c.t.Helper()
	binary := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if binary == "" {
		binary = "terraform"
	}
	cmd := exec.CommandContext(c.t.Context(), binary, args...)
	cmd.Dir = c.dir
	// The provider must take its settings from main.tf alone.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "POINT_") || strings.HasPrefix(kv, "TF_CLI_CONFIG_FILE=") || strings.HasPrefix(kv, "TF_REATTACH_PROVIDERS=")
	})
	cmd.Env = append(cmd.Env, "TF_CLI_CONFIG_FILE="+c.cliConfig, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		return out.String(), exitErr.ExitCode()
	case err != nil:
		c.t.Fatalf("terraform %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), 0
}

// mustRun runs terraform and fails the test unless it exits with want.
func (c *userTestCLI) mustRun(want int, args ...string) string {
	c.t.Helper()
	out, code := c.run(args...)
	if code != want {
		c.t.Fatalf("terraform %s exited %d, want %d:\n%s", strings.Join(args, " "), code, want, out)
	}
	return out
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

	out := cli.mustRun(0, "plan", "-input=false", "-no-color", "-generate-config-out=generated.tf")
	if !strings.Contains(out, "1 to import") {
		t.Errorf("plan does not import the user:\n%s", out)
	}
	generated, err := os.ReadFile(filepath.Join(cli.dir, "generated.tf"))
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

	out = cli.mustRun(0, "apply", "-input=false", "-no-color", "-auto-approve")
	if !strings.Contains(out, "1 imported, 0 added, 0 changed, 0 destroyed") {
		t.Errorf("apply did not import exactly the user:\n%s", out)
	}
	cli.mustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")

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

	cli.mustRun(0, "apply", "-input=false", "-no-color", "-auto-approve")
	env.Sandbox.DeleteUser(userID)

	out := cli.mustRun(2, "plan", "-input=false", "-no-color", "-detailed-exitcode")
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
