package acctest

import (
	"testing"

	"github.com/hashicorp/go-version"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/areyoupoint/terraform-provider-point/internal/devenv"
)

// EphemeralVersionChecks skips a test on Terraform before 1.10, which has no ephemeral resources.
var EphemeralVersionChecks = []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_10_0)}

// ActionsVersionChecks skips a terraform-plugin-testing test on a CLI without actions.
var ActionsVersionChecks = []tfversion.TerraformVersionCheck{
	SkipOnOpenTofu("it has no actions"),
	tfversion.SkipBelow(tfversion.Version1_14_0),
}

// The first Terraform versions with the features that some tests and examples need.
var (
	CLIVersionWriteOnly = version.Must(version.NewVersion("1.11.0")) // write-only arguments
	CLIVersionIdentity  = version.Must(version.NewVersion("1.12.0")) // import blocks with identity
	CLIVersionActions   = version.Must(version.NewVersion("1.14.0")) // action blocks, -invoke, action_trigger
)

// TestCLI returns the CLI the tests run, or fails the test.
func TestCLI(t *testing.T) devenv.CLI {
	t.Helper()
	cli, err := describeTestCLI()
	if err != nil {
		t.Fatal(err)
	}
	return cli
}

// SkipBelowTerraform skips a test that drives the CLI when it is older than least, which feature needs.
func SkipBelowTerraform(t *testing.T, least *version.Version, feature string) {
	t.Helper()
	if cli := TestCLI(t); !cli.AtLeast(least) {
		t.Skipf("%s needs Terraform %s or later; the CLI is %s", feature, least, cli)
	}
}

// CLIHasActions reports whether the CLI has actions: Terraform 1.14 or later, never OpenTofu.
func CLIHasActions(t *testing.T) bool {
	t.Helper()
	cli := TestCLI(t)
	return !cli.OpenTofu() && cli.AtLeast(CLIVersionActions)
}

// SkipWithoutActions skips a test that drives the CLI when it has no actions, which feature needs.
func SkipWithoutActions(t *testing.T, feature string) {
	t.Helper()
	if !CLIHasActions(t) {
		t.Skipf("%s needs Terraform %s or later; the CLI is %s, which has no actions", feature, CLIVersionActions, TestCLI(t))
	}
}
