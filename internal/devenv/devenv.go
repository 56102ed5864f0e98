// Package devenv runs the locally built provider under the Terraform or
// OpenTofu CLI without network access: it builds the binary and writes a
// CLI configuration whose dev_overrides point the CLI at it, so that no
// `terraform init` and no registry are involved.
package devenv

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hashicorp/go-version"
)

// ProviderAddress is the provider's registry address.
const ProviderAddress = "registry.terraform.io/areyoupoint/point"

// OpenTofuProviderAddress is the address OpenTofu gives the same source,
// areyoupoint/point: its default registry host is registry.opentofu.org.
const OpenTofuProviderAddress = "registry.opentofu.org/areyoupoint/point"

// OpenTofuRegistryHost is OpenTofu's default registry host, where it
// places provider sources that name no host.
const OpenTofuRegistryHost = "registry.opentofu.org"

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

// supportedCLIs is the one list of the Terraform and OpenTofu releases the
// provider supports and is tested on: see the file for who reads it.
//
//go:embed clis.txt
var supportedCLIs string

// A SupportedCLI is one line of clis.txt: a CLI and the release tested.
type SupportedCLI struct {
	// Name is "terraform" or "tofu".
	Name    string
	Version *version.Version
}

// SupportedCLIs returns the releases of clis.txt, in its order.
func SupportedCLIs() []SupportedCLI {
	var clis []SupportedCLI
	for line := range strings.Lines(supportedCLIs) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, v, ok := strings.Cut(line, " ")
		if !ok || (name != "terraform" && name != "tofu") {
			panic(fmt.Sprintf("clis.txt: %q is not \"terraform VERSION\" or \"tofu VERSION\"", line))
		}
		clis = append(clis, SupportedCLI{Name: name, Version: version.Must(version.NewVersion(v))})
	}
	return clis
}

// MinimumVersion returns the oldest release of the CLI named name
// ("terraform" or "tofu") that the provider supports: the oldest minor
// release of that CLI in clis.txt, from its first patch release.
func MinimumVersion(name string) *version.Version {
	var oldest *version.Version
	for _, c := range SupportedCLIs() {
		if c.Name == name && (oldest == nil || c.Version.LessThan(oldest)) {
			oldest = c.Version
		}
	}
	if oldest == nil {
		panic("clis.txt lists no " + name)
	}
	segments := oldest.Segments()
	return version.Must(version.NewVersion(fmt.Sprintf("%d.%d.0", segments[0], segments[1])))
}

// Terraform returns the path of the CLI to run: TF_ACC_TERRAFORM_PATH, the
// variable the acceptance tests read, else terraform on PATH, else
// /usr/local/bin/terraform, else tofu on PATH. This is the one place that
// finds the CLI; the GNUmakefile and CI ask it through the find-cli command.
func Terraform() (string, error) {
	if path := os.Getenv("TF_ACC_TERRAFORM_PATH"); path != "" {
		return path, nil
	}
	if path, err := exec.LookPath("terraform"); err == nil {
		return path, nil
	}
	if info, err := os.Stat("/usr/local/bin/terraform"); err == nil && info.Mode()&0o111 != 0 {
		return "/usr/local/bin/terraform", nil
	}
	if path, err := exec.LookPath("tofu"); err == nil {
		return path, nil
	}
	return "", errors.New("no terraform or tofu found: set TF_ACC_TERRAFORM_PATH, or put terraform or tofu on PATH")
}

// FindCLI finds the CLI as Terraform does and checks that it is recent
// enough for ephemeral resources.
func FindCLI() (CLI, error) {
	path, err := Terraform()
	if err != nil {
		return CLI{}, fmt.Errorf("%w (Terraform %s or OpenTofu %s or later)", err, MinimumVersion("terraform"), MinimumVersion("tofu"))
	}
	cli, err := DescribeCLI(path)
	if err != nil {
		return CLI{}, err
	}
	if minimum := MinimumVersion(cli.Name); !cli.AtLeast(minimum) {
		return CLI{}, fmt.Errorf("%s is %s; %s %s or later is needed; install one or set TF_ACC_TERRAFORM_PATH", path, cli, cli.Product(), minimum)
	}
	return cli, nil
}

// CLI is a Terraform or OpenTofu command-line binary.
type CLI struct {
	Path string
	// Name is "terraform" or "tofu".
	Name string
	// Version is the release version, such as "1.16.4", with any
	// pre-release suffix.
	Version string
}

// AtLeast reports whether the CLI's release is least or later; a
// pre-release counts as the release it leads to, as the features the
// tests check for are in it.
func (c CLI) AtLeast(least *version.Version) bool {
	v, err := version.NewVersion(c.Version)
	if err != nil {
		return false
	}
	return v.Core().GreaterThanOrEqual(least)
}

// OpenTofu reports whether the CLI is OpenTofu.
func (c CLI) OpenTofu() bool { return c.Name == "tofu" }

// Product is "Terraform" or "OpenTofu".
func (c CLI) Product() string {
	if c.OpenTofu() {
		return "OpenTofu"
	}
	return "Terraform"
}

// String names the product and version, such as "Terraform 1.16.4".
func (c CLI) String() string { return c.Product() + " " + c.Version }

var cliVersionLine = regexp.MustCompile(`^(Terraform|OpenTofu) v(\S+)`)

// DescribeCLI runs `path version` and tells Terraform from OpenTofu by the
// line that names the product ("Terraform v1.16.4", "OpenTofu v1.12.6"): `version -json`
// prints the same "terraform_version" key for both.
func DescribeCLI(path string) (CLI, error) {
	cmd := exec.Command(path, "version")
	cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1", "TF_CLI_CONFIG_FILE="+os.DevNull)
	out, err := cmd.Output()
	if err != nil {
		return CLI{}, fmt.Errorf("%s is not a Terraform or OpenTofu CLI that runs (%s version: %w); install one or set TF_ACC_TERRAFORM_PATH", path, path, err)
	}
	var m []string
	for line := range strings.Lines(string(out)) {
		if m = cliVersionLine.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			break
		}
	}
	if m == nil {
		return CLI{}, fmt.Errorf("%s version: neither Terraform nor OpenTofu: %q", path, out)
	}
	cli := CLI{Path: path, Name: "terraform", Version: m[2]}
	if m[1] == "OpenTofu" {
		cli.Name = "tofu"
	}
	return cli, nil
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

// WriteCLIConfig writes a CLI configuration to path that serves the
// provider from pluginDir, under both the address Terraform gives
// areyoupoint/point and the one OpenTofu gives it, so that the same file
// serves either CLI.
func WriteCLIConfig(path, pluginDir string) error {
	return os.WriteFile(path, []byte(CLIConfig(pluginDir)), 0o600)
}

// CLIConfig returns the CLI configuration that WriteCLIConfig writes.
func CLIConfig(pluginDir string) string {
	return fmt.Sprintf("provider_installation {\n  dev_overrides {\n    %q = %q\n    %q = %q\n  }\n  direct {}\n}\n",
		ProviderAddress, pluginDir, OpenTofuProviderAddress, pluginDir)
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
