// Command find-cli prints the path of the Terraform or OpenTofu CLI that the
// tests, the demo and the benchmarks run (devenv.FindCLI), or says why there
// is none and exits 1. The GNUmakefile and CI use it, so that the CLI is
// found in one place.
package main

import (
	"fmt"
	"os"

	"github.com/areyoupoint/terraform-provider-point/internal/devenv"
)

func main() {
	cli, err := devenv.FindCLI()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
	if len(os.Args) > 1 && os.Args[1] == "-describe" {
		fmt.Fprintf(os.Stderr, "%s: %s\n", cli.Path, cli)
	}
	fmt.Println(cli.Path)
}
