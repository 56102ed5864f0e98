package provider

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/areyoupoint/terraform-provider-point/internal/devenv"
)

// Some tests drive the Terraform CLI directly, with the provider built as a
// binary, for what terraform-plugin-testing cannot observe: warnings, saved
// plan files, logs, generated configuration and signals.

var builtProvider struct {
	once      sync.Once
	dir       string
	cliConfig string
	err       error
}

// sharedCLIConfig builds the provider once per test binary and returns a CLI
// configuration that serves it.
func sharedCLIConfig(t *testing.T) string {
	t.Helper()
	builtProvider.once.Do(func() {
		// Shared by every test, so not t.TempDir; TestMain removes it.
		builtProvider.dir, builtProvider.err = os.MkdirTemp("", "point-provider-") //nolint:usetesting
		if builtProvider.err != nil {
			return
		}
		if _, builtProvider.err = devenv.BuildProvider(builtProvider.dir); builtProvider.err != nil {
			return
		}
		builtProvider.cliConfig = filepath.Join(builtProvider.dir, "terraformrc")
		builtProvider.err = devenv.WriteCLIConfig(builtProvider.cliConfig, builtProvider.dir)
	})
	if builtProvider.err != nil {
		t.Fatal(builtProvider.err)
	}
	return builtProvider.cliConfig
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtProvider.dir != "" {
		_ = os.RemoveAll(builtProvider.dir)
	}
	os.Exit(code)
}

// terraformBinary returns the Terraform CLI the tests run.
func terraformBinary(t *testing.T) string {
	t.Helper()
	path, err := devenv.Terraform()
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// terraformCLI is a Terraform working directory served by the built provider.
type terraformCLI struct {
	t         *testing.T
	Dir       string
	cliConfig string
	// Env is added to the environment of every command.
	Env []string
}

func newTerraformCLI(t *testing.T) *terraformCLI {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1")
	}
	return &terraformCLI{t: t, Dir: t.TempDir(), cliConfig: sharedCLIConfig(t)}
}

// WriteConfig writes main.tf: env's provider block, then config.
func (c *terraformCLI) WriteConfig(env *testEnv, config string) {
	c.t.Helper()
	c.WriteMain(env.ProviderBlock() + config)
}

// WriteMain writes main.tf: the provider requirement, then config.
func (c *terraformCLI) WriteMain(config string) {
	c.t.Helper()
	text := "terraform {\n  required_providers {\n    point = {\n      source = \"areyoupoint/point\"\n    }\n  }\n}\n\n" + config
	if err := os.WriteFile(filepath.Join(c.Dir, "main.tf"), []byte(text), 0o600); err != nil {
		c.t.Fatal(err)
	}
}

// Run runs terraform with args and returns its combined output and exit code.
// The provider takes its settings from main.tf alone: devenv.Environ drops
// POINT_* variables.
func (c *terraformCLI) Run(args ...string) (string, int) {
	c.t.Helper()
	cmd := exec.CommandContext(c.t.Context(), terraformBinary(c.t), args...)
	cmd.Dir = c.Dir
	cmd.Env = append(devenv.Environ(c.cliConfig), c.Env...)
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

// MustRun runs terraform and fails the test unless it exits with want.
func (c *terraformCLI) MustRun(want int, args ...string) string {
	c.t.Helper()
	out, code := c.Run(args...)
	if code != want {
		c.t.Fatalf("terraform %s exited %d, want %d:\n%s", strings.Join(args, " "), code, want, out)
	}
	return out
}
