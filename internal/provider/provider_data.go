package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/areyoupoint/terraform-provider-point/internal/point"
)

// providerData is what Configure hands to every resource, data source and
// ephemeral resource.
type providerData struct {
	// client is nil while some provider setting is unknown.
	client    *point.Client
	hasAPIKey bool
	unknown   []string
	now       func() time.Time
}

// fromProviderData unpacks the value given to a resource's Configure. It
// returns nil before the provider is configured.
func fromProviderData(raw any, diags *diag.Diagnostics) *providerData {
	if raw == nil {
		return nil
	}
	data, ok := raw.(*providerData)
	if !ok {
		diags.AddError("Unexpected Provider Data",
			fmt.Sprintf("Expected *providerData, got %T. This is a bug in the provider; please report it.", raw))
		return nil
	}
	return data
}

// client returns the API client for an operation that authenticates with a
// user's token, or a diagnostic saying why there is none.
func (d *providerData) tokenClient(operation string) (*point.Client, diag.Diagnostics) {
	var diags diag.Diagnostics
	if d == nil {
		diags.AddError("Point Provider Not Configured",
			fmt.Sprintf("Cannot %s: the provider has not been configured. This is a bug in the provider; please report it.", operation))
		return nil, diags
	}
	if len(d.unknown) > 0 {
		diags.AddError("Point Provider Configuration Not Yet Known",
			fmt.Sprintf("Cannot %s: the provider's %s depends on values that are known only after apply. "+
				"Apply the resources those values come from first (for example with -target), or set the provider from environment variables.",
				operation, strings.Join(d.unknown, ", ")))
		return nil, diags
	}
	return d.client, diags
}

// apiKeyClient is tokenClient for operations that need the organisation API key.
func (d *providerData) apiKeyClient(operation string) (*point.Client, diag.Diagnostics) {
	client, diags := d.tokenClient(operation)
	if diags.HasError() {
		return nil, diags
	}
	if !d.hasAPIKey {
		diags.AddError("Missing Point API Key",
			fmt.Sprintf("Cannot %s: it needs the organisation API key, and none is configured. "+
				"Set api_key in the provider block, or the %s environment variable.", operation, envAPIKey))
		return nil, diags
	}
	return client, diags
}

// apiErrorDetail explains a failed call: what happened, what to do, and
// the underlying (already masked) error.
func apiErrorDetail(action string, err error) string {
	var hint string
	switch {
	case errors.Is(err, point.ErrNoAPIKey):
		hint = fmt.Sprintf("Set api_key in the provider block, or the %s environment variable.", envAPIKey)
	case point.IsUnauthorized(err), point.IsForbidden(err):
		hint = fmt.Sprintf("Point did not accept the credential. Check that api_key (or %s) is the organisation API key for this environment, and that environment or endpoint names the right Point environment.", envAPIKey)
	case point.IsRateLimited(err):
		hint = "Point is rate limiting requests. Retry later, lower Terraform's -parallelism, or raise max_retries."
	default:
		var apiErr *point.Error
		if errors.As(err, &apiErr) && apiErr.StatusCode >= 500 {
			hint = "Point or a proxy in front of it failed. Retry later; nothing was changed in Terraform state."
		}
		var transportErr *point.TransportError
		if errors.As(err, &transportErr) {
			hint = "No answer came from Point. Check the network, the endpoint setting, and request_timeout."
		}
		var decodeErr *point.DecodeError
		if errors.As(err, &decodeErr) {
			hint = "Point's answer was not what its API reference describes. If this persists, please report it."
		}
	}
	detail := fmt.Sprintf("Could not %s.", action)
	if hint != "" {
		detail += " " + hint
	}
	return detail + "\n\nError: " + err.Error()
}

// withTimeout bounds ctx by the configured timeout of an operation, such
// as state.Timeouts.Read, or defaultOperationTimeout when none is set.
func withTimeout(ctx context.Context, configured func(context.Context, time.Duration) (time.Duration, diag.Diagnostics), diags *diag.Diagnostics) (context.Context, context.CancelFunc) {
	timeout, timeoutDiags := configured(ctx, defaultOperationTimeout)
	diags.Append(timeoutDiags...)
	return context.WithTimeout(ctx, timeout)
}
