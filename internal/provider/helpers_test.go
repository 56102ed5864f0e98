package provider

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-testing/tfversion"
)

// Helpers that tests throughout the package share.

// diagnosticPattern matches a whole diagnostic text with Terraform's line
// wrapping and spacing collapsed.
func diagnosticPattern(words string) *regexp.Regexp {
	return regexp.MustCompile(regexp.MustCompile(`\s+`).ReplaceAllString(regexp.QuoteMeta(words), `\s+`))
}

// diagnosticMatching matches the given texts in order, each tolerant of
// Terraform's line wrapping.
func diagnosticMatching(texts ...string) *regexp.Regexp {
	parts := make([]string, len(texts))
	for i, text := range texts {
		parts[i] = diagnosticPattern(text).String()
	}
	return regexp.MustCompile(strings.Join(parts, `[\s\S]*`))
}

// expectRequests fails unless the sandbox saw exactly want requests
// on route; it passes trivially against real Point.
func expectRequests(env *testEnv, route string, want int) error {
	if env.Sandbox == nil {
		return nil
	}
	if got := env.Sandbox.RequestCounts()[route]; got != want {
		return fmt.Errorf("sandbox saw %d requests %q, want %d (all: %v)", got, route, want, env.Sandbox.RequestCounts())
	}
	return nil
}

// providerBlockWith writes a provider block from HCL expressions by
// attribute name; an empty expression leaves the attribute out.
func providerBlockWith(settings map[string]string) string {
	var b strings.Builder
	b.WriteString("provider \"point\" {\n")
	for _, name := range slices.Sorted(maps.Keys(settings)) {
		if settings[name] != "" {
			fmt.Fprintf(&b, "  %s = %s\n", name, settings[name])
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// ephemeralVersionChecks skips a test on Terraform before 1.10, which has
// no ephemeral resources.
var ephemeralVersionChecks = []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_10_0)}

// jwtShape matches an access token, a JWT.
var jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)
