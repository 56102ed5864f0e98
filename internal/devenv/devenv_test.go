package devenv

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

func TestSupportedCLIs(t *testing.T) {
	clis := SupportedCLIs()
	seen := map[string]bool{}
	for _, c := range clis {
		key := c.Name + "-" + c.Version.String()
		if seen[key] {
			t.Errorf("clis.txt lists %s twice", key)
		}
		seen[key] = true
		if c.Version.Prerelease() != "" || len(c.Version.Segments()) != 3 {
			t.Errorf("clis.txt: %s is not a release version X.Y.Z", key)
		}
	}
	for _, name := range []string{"terraform", "tofu"} {
		if MinimumVersion(name) == nil {
			t.Errorf("no minimum for %s", name)
		}
	}
	if got := MinimumVersion("terraform").String(); got != "1.10.0" {
		t.Errorf(`MinimumVersion("terraform") = %s, want 1.10.0: the oldest Terraform with ephemeral resources`, got)
	}
}

func TestCLIAtLeast(t *testing.T) {
	least := MinimumVersion("terraform")
	for version, want := range map[string]bool{
		"1.9.8": false, "1.10.0": true, "1.10.0-alpha20241023": true, "1.16.4": true, "2.0.0": true, "not-a-version": false,
	} {
		if got := (CLI{Name: "terraform", Version: version}).AtLeast(least); got != want {
			t.Errorf("Terraform %s AtLeast(%s) = %v, want %v", version, least, got, want)
		}
	}
}

// TestREADMEClaimsSupportedCLIs checks that the README's requirements name,
// for each CLI, the oldest release that clis.txt tests and no other.
func TestREADMEClaimsSupportedCLIs(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name, product := range map[string]string{"terraform": "Terraform", "tofu": "OpenTofu"} {
		segments := MinimumVersion(name).Segments()
		oldest := fmt.Sprintf("%d.%d", segments[0], segments[1])
		claim := regexp.MustCompile(`\[` + product + `\]\([^)]*\)\s+(\d+\.\d+) or newer`).FindSubmatch(readme)
		switch {
		case claim == nil:
			t.Errorf("README.md claims no oldest %s (\"[%s](...) X.Y or newer\")", product, product)
		case string(claim[1]) != oldest:
			t.Errorf("README.md claims %s %s or newer; internal/devenv/clis.txt tests %s from %s", product, claim[1], product, oldest)
		}
	}
}
