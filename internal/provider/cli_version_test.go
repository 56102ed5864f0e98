package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/areyoupoint/terraform-provider-point/internal/devenv"
)

// cliVersion is the version of a Terraform CLI as major, minor, patch.
type cliVersion [3]int

func (v cliVersion) String() string { return fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2]) }

// atLeast reports whether v is least or later.
func (v cliVersion) atLeast(least cliVersion) bool {
	for i := range v {
		if v[i] != least[i] {
			return v[i] > least[i]
		}
	}
	return true
}

// The first Terraform versions with the features that some tests and
// examples need.
var (
	cliVersionIdentity = cliVersion{1, 12, 0} // import blocks with identity
	cliVersionActions  = cliVersion{1, 14, 0} // action blocks, -invoke, action_trigger
)

var cliVersions sync.Map // CLI path -> cliVersion

// terraformVersion returns the version that the Terraform CLI the tests run
// reports.
func terraformVersion(t *testing.T) cliVersion {
	t.Helper()
	path := terraformBinary(t)
	if v, ok := cliVersions.Load(path); ok {
		if version, ok := v.(cliVersion); ok {
			return version
		}
	}
	cmd := exec.CommandContext(t.Context(), path, "version", "-json")
	cmd.Env = devenv.Environ(os.DevNull)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s version -json: %v\n%s", path, err, stderr.Bytes())
	}
	v, err := parseCLIVersion(out)
	if err != nil {
		t.Fatalf("%s version -json: %v", path, err)
	}
	cliVersions.Store(path, v)
	return v
}

func parseCLIVersion(versionJSON []byte) (cliVersion, error) {
	var out struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal(versionJSON, &out); err != nil {
		return cliVersion{}, err
	}
	core, _, _ := strings.Cut(out.Version, "-")
	parts := strings.Split(core, ".")
	var v cliVersion
	if len(parts) != len(v) {
		return cliVersion{}, fmt.Errorf("version %q is not X.Y.Z", out.Version)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return cliVersion{}, fmt.Errorf("version %q is not X.Y.Z", out.Version)
		}
		v[i] = n
	}
	return v, nil
}

// skipBelowTerraform skips a test that drives the CLI itself when the CLI
// is older than least, which feature needs.
func skipBelowTerraform(t *testing.T, least cliVersion, feature string) {
	t.Helper()
	if v := terraformVersion(t); !v.atLeast(least) {
		t.Skipf("%s needs Terraform %s or later; the CLI is %s", feature, least, cliName(t, v))
	}
}

// cliHasActions reports whether the CLI has actions: Terraform 1.14 or
// later. OpenTofu has none, whatever its version.
func cliHasActions(t *testing.T) bool {
	t.Helper()
	return !openTofu(t) && terraformVersion(t).atLeast(cliVersionActions)
}

// skipWithoutActions skips a test that drives the CLI itself when the CLI
// has no actions, which feature needs.
func skipWithoutActions(t *testing.T, feature string) {
	t.Helper()
	if !cliHasActions(t) {
		t.Skipf("%s needs Terraform %s or later; the CLI is %s, which has no actions", feature, cliVersionActions, cliName(t, terraformVersion(t)))
	}
}

// cliName names the CLI's product and version v, such as "OpenTofu 1.12.6".
func cliName(t *testing.T, v cliVersion) string {
	t.Helper()
	if openTofu(t) {
		return "OpenTofu " + v.String()
	}
	return "Terraform " + v.String()
}
