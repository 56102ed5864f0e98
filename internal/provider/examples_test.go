package provider

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/devenv"
)

// examplesTestDirs are the example directories the docs are generated from,
// which must all be found, so that the test cannot pass by finding nothing.
var examplesTestDirs = []string{
	"actions/point_revoke_refresh_token", "data-sources/point_user", "ephemeral-resources/point_access_token",
	"ephemeral-resources/point_refresh_token", "provider", "quickstart", "resources/point_refresh_token",
	"resources/point_refresh_tokens", "resources/point_user", "resources/point_users",
}

const examplesTestImportPrefix = "import-by-"

// TestAccExamples_validate runs `terraform fmt -check` and `terraform
// validate` on every directory of examples/ with .tf files, against the
// provider built from this tree, so that what the docs show is what the
// provider accepts.
func TestAccExamples_validate(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("set TF_ACC=1 to build the provider and validate the examples with the Terraform CLI")
	}
	root, err := devenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	examples := filepath.Join(root, "examples")
	dirs := examplesTestFindDirs(t, examples)
	for _, want := range examplesTestDirs {
		if !slices.Contains(dirs, want) {
			t.Errorf("examples/%s has no .tf files", want)
		}
	}
	for _, dir := range dirs {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			if strings.HasPrefix(dir, "actions/") {
				acctest.SkipWithoutActions(t, "An action example")
			}
			src := filepath.Join(examples, dir)
			// Each import-by-*.tf is an alternative way to import the same
			// resource, and Terraform refuses two import blocks for one
			// resource: each is validated on its own with the other files.
			alternatives, err := filepath.Glob(filepath.Join(src, examplesTestImportPrefix+"*.tf"))
			if err != nil {
				t.Fatal(err)
			}
			validate := func(t *testing.T, alternative string) {
				cli := acctest.NewCLI(t)
				examplesTestCopy(t, src, cli.Dir, func(name string) bool {
					return strings.HasPrefix(name, examplesTestImportPrefix) && name != alternative
				})
				cli.MustRun(0, "fmt", "-check", "-diff", "-no-color")
				// validate -json reports failures in its output, which is read
				// here: a valid configuration with no diagnostics but the
				// warning that shows the locally built provider was used.
				out, _ := cli.Run("validate", "-json", "-no-color")
				var result tfjson.ValidateOutput
				if err := json.Unmarshal([]byte(out), &result); err != nil {
					t.Fatalf("terraform validate -json: %v\n%s", err, out)
				}
				usedLocalBuild := false
				for _, d := range result.Diagnostics {
					if d.Severity == tfjson.DiagnosticSeverityWarning && d.Summary == "Provider development overrides are in effect" {
						usedLocalBuild = true
					} else {
						t.Errorf("%s: %s\n%s", d.Severity, d.Summary, d.Detail)
					}
				}
				if !result.Valid {
					t.Error("terraform validate: the configuration is not valid")
				}
				if !usedLocalBuild {
					t.Error("terraform validate did not use the locally built provider (no development overrides warning)")
				}
			}
			if len(alternatives) == 0 {
				validate(t, "")
			}
			for _, alternative := range alternatives {
				alternative = filepath.Base(alternative)
				t.Run(alternative, func(t *testing.T) {
					if alternative == examplesTestImportPrefix+"identity.tf" {
						acctest.SkipBelowTerraform(t, acctest.CLIVersionIdentity, "An import block with identity")
					}
					validate(t, alternative)
				})
			}
		})
	}
}

// examplesTestFindDirs returns the directories under examples that hold
// .tf files, relative to it and with forward slashes.
func examplesTestFindDirs(t *testing.T, examples string) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(examples, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != examples:
			return filepath.SkipDir
		case d.IsDir() || filepath.Ext(path) != ".tf":
			return nil
		}
		rel, err := filepath.Rel(examples, filepath.Dir(path))
		if rel = filepath.ToSlash(rel); err == nil && !slices.Contains(dirs, rel) {
			dirs = append(dirs, rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// examplesTestCopy copies the .tf files of dir, except those that leave
// names, into work. Doc snippets leave out the required_providers block
// that maps "point" to areyoupoint/point; the copy gets one when no file
// declares it.
func examplesTestCopy(t *testing.T, dir, work string, leave func(name string) bool) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"zz_examples_test_providers.tf": []byte(acctest.RequiredProviders)}
	for _, path := range slices.DeleteFunc(paths, func(path string) bool { return leave(filepath.Base(path)) }) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if files[filepath.Base(path)] = data; bytes.Contains(data, []byte("required_providers")) {
			delete(files, "zz_examples_test_providers.tf")
		}
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(work, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
