package main

import (
	"context"
	"flag"
	"log"
	"os"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/areyoupoint/terraform-provider-point/internal/provider"
)

// go generate ./... regenerates docs/ the way make generate does: it builds
// the provider, exports its schema with a Terraform CLI and runs tfplugindocs.
//go:generate make generate

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// stopProfile ends profiling in builds with -tags pprof.
var stopProfile = func() {}

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()

	if !debug {
		silenceDiscardedLogs()
	}
	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/areyoupoint/point",
		Debug:   debug,
	})
	stopProfile()
	if err != nil {
		log.Fatal(err.Error())
	}
}

// silenceDiscardedLogs turns the provider's loggers off when Terraform
// would discard what they write: Terraform keeps provider logs only when
// TF_LOG or TF_LOG_PROVIDER is set. Writing every line anyway costs about a
// third of the provider's CPU time over a large plan.
func silenceDiscardedLogs() {
	if os.Getenv("TF_LOG") != "" || os.Getenv("TF_LOG_PROVIDER") != "" {
		return
	}
	for _, name := range []string{"TF_LOG_PROVIDER", "TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK"} {
		_ = os.Setenv(name, "OFF")
	}
}
