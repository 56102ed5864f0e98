package provider

import (
	"time"

	"github.com/hashicorp/terraform-plugin-framework/provider"
)

// NewForHarness returns the provider's constructor with a clock of the
// caller's instead of the system's, and the given waits between retries:
// for test harnesses outside this package that serve the provider in their
// own process and move time by hand, such as the invariant campaign of
// internal/invariants. Releases use New.
func NewForHarness(version string, now func() time.Time, retryWaitMin, retryWaitMax time.Duration) func() provider.Provider {
	return newWithOptions(version, options{now: now, retryWaitMin: retryWaitMin, retryWaitMax: retryWaitMax})
}
