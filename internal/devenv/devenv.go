// Package devenv runs the locally built provider under the Terraform CLI
// without network access: it builds the binary and writes a CLI
// configuration whose dev_overrides point Terraform at it, so that no
// `terraform init` and no registry are involved.
package devenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ProviderAddress is the provider's registry address.
const ProviderAddress = "registry.terraform.io/areyoupoint/point"

// ModuleRoot returns the directory of the provider's go.mod.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the provider's Go module")
	}
	return filepath.Dir(gomod), nil
}

// Terraform returns the Terraform CLI to run: TF_ACC_TERRAFORM_PATH, the
// variable the acceptance tests use, else terraform on PATH.
func Terraform() (string, error) {
	if path := os.Getenv("TF_ACC_TERRAFORM_PATH"); path != "" {
		return path, nil
	}
	path, err := exec.LookPath("terraform")
	if err != nil {
		return "", fmt.Errorf("no terraform found on PATH, and TF_ACC_TERRAFORM_PATH is not set: %w", err)
	}
	return path, nil
}

// BuildProvider builds the provider into dir and returns the binary's path.
// extraArgs go to `go build`, for example "-tags", "pprof".
func BuildProvider(dir string, extraArgs ...string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	binary := filepath.Join(dir, "terraform-provider-point")
	args := append([]string{"build", "-trimpath", "-o", binary}, extraArgs...)
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the provider: %w\n%s", err, out)
	}
	return binary, nil
}

// WriteCLIConfig writes a Terraform CLI configuration to path that serves
// the provider from pluginDir.
func WriteCLIConfig(path, pluginDir string) error {
	config := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    %q = %q\n  }\n  direct {}\n}\n", ProviderAddress, pluginDir)
	return os.WriteFile(path, []byte(config), 0o600)
}

// Environ returns the current environment prepared for running Terraform
// with the CLI configuration at cliConfig: no update checks, and none of the
// variables that would point Terraform at another provider or Point
// environment.
func Environ(cliConfig string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "TF_CLI_CONFIG_FILE", name == "TF_REATTACH_PROVIDERS", name == "TF_ACC",
			strings.HasPrefix(name, "POINT_"):
			continue
		}
		env = append(env, kv)
	}
	return append(env, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1", "TF_CLI_CONFIG_FILE="+cliConfig)
}
