package provider

import (
	"testing"

	"github.com/hashicorp/go-version"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/devenv"
)

// The first Terraform versions with the features that some tests and
// examples need.
var (
	cliVersionWriteOnly = version.Must(version.NewVersion("1.11.0")) // write-only arguments
	cliVersionIdentity  = version.Must(version.NewVersion("1.12.0")) // import blocks with identity
	cliVersionActions   = version.Must(version.NewVersion("1.14.0")) // action blocks, -invoke, action_trigger
)

// testCLIDescription returns the CLI the tests run, or fails the test.
func testCLIDescription(t *testing.T) devenv.CLI {
	t.Helper()
	cli, err := acctest.DescribeTestCLI()
	if err != nil {
		t.Fatal(err)
	}
	return cli
}

// skipBelowTerraform skips a test that drives the CLI itself when the CLI
// is older than least, which feature needs.
func skipBelowTerraform(t *testing.T, least *version.Version, feature string) {
	t.Helper()
	if cli := testCLIDescription(t); !cli.AtLeast(least) {
		t.Skipf("%s needs Terraform %s or later; the CLI is %s", feature, least, cli)
	}
}

// cliHasActions reports whether the CLI has actions: Terraform 1.14 or
// later. OpenTofu has none, whatever its version.
func cliHasActions(t *testing.T) bool {
	t.Helper()
	cli := testCLIDescription(t)
	return !cli.OpenTofu() && cli.AtLeast(cliVersionActions)
}

// skipWithoutActions skips a test that drives the CLI itself when the CLI
// has no actions, which feature needs.
func skipWithoutActions(t *testing.T, feature string) {
	t.Helper()
	if !cliHasActions(t) {
		t.Skipf("%s needs Terraform %s or later; the CLI is %s, which has no actions", feature, cliVersionActions, testCLIDescription(t))
	}
}
