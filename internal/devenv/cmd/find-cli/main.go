// Command find-cli prints the path of the Terraform or OpenTofu CLI that the
// tests, the demo and the benchmarks run (devenv.FindCLI), or says why there
// is none and exits 1. The GNUmakefile and CI use it, so that the CLI is
// found in one place.
//
//	find-cli [-describe] [-at-least NAME-VERSION]
//
// -describe also names the CLI and its version on standard error.
// -at-least exits 1, saying why, unless the CLI is NAME ("terraform" or
// "tofu") at VERSION or later, as in -at-least terraform-1.14.0.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/go-version"

	"github.com/areyoupoint/terraform-provider-point/internal/devenv"
)

func main() {
	describe := flag.Bool("describe", false, "name the CLI and its version on standard error")
	atLeast := flag.String("at-least", "", "exit 1 unless the CLI is NAME at VERSION or later, given as NAME-VERSION")
	flag.Parse()

	cli, err := devenv.FindCLI()
	if err != nil {
		fail(err)
	}
	if *describe {
		fmt.Fprintf(os.Stderr, "%s: %s\n", cli.Path, cli)
	}
	if *atLeast != "" {
		name, v, _ := strings.Cut(*atLeast, "-")
		least, err := version.NewVersion(v)
		if err != nil || (name != "terraform" && name != "tofu") {
			fail(fmt.Errorf("-at-least %q is not NAME-VERSION, such as terraform-1.14.0", *atLeast))
		}
		if cli.Name != name || !cli.AtLeast(least) {
			product := map[string]string{"terraform": "Terraform", "tofu": "OpenTofu"}[name]
			fail(fmt.Errorf("%s is %s, not %s %s or later", cli.Path, cli, product, least))
		}
	}
	fmt.Println(cli.Path)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "error:", err)
	os.Exit(1)
}
