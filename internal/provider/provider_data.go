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
		addMissingAPIKey(operation, &diags)
		return nil, diags
	}
	return client, diags
}

// refuseWithoutAPIKey fails a plan whose apply would need the API key when
// the provider is configured, with every setting known, and has none: the
// problem then shows at plan rather than halfway through an apply.
func (d *providerData) refuseWithoutAPIKey(operation string, diags *diag.Diagnostics) {
	if d == nil || len(d.unknown) > 0 || d.hasAPIKey {
		return
	}
	addMissingAPIKey(operation, diags)
}

func addMissingAPIKey(operation string, diags *diag.Diagnostics) {
	diags.AddError("Missing Point API Key",
		fmt.Sprintf("Cannot %s: it needs the organisation API key, and none is configured. "+
			"Set api_key in the provider block, or the %s environment variable.", operation, envAPIKey))
}

// privateKeyImported marks a resource that ImportState has just created, for
// the Read that follows.
const privateKeyImported = "imported"

// takeImportMark reports whether the resource was just imported, and clears
// the mark so that later reads treat it as any other.
// private is the resource's private state in a Read response, which starts
// as a copy of the stored one.
func takeImportMark(ctx context.Context, private privateState, diags *diag.Diagnostics) bool {
	mark, getDiags := private.GetKey(ctx, privateKeyImported)
	diags.Append(getDiags...)
	if len(mark) == 0 {
		return false
	}
	diags.Append(private.SetKey(ctx, privateKeyImported, nil)...)
	return true
}

// privateState is the framework's private resource state, whose type is
// internal to it.
type privateState interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

// apiErrorDetail explains a failed call: what happened, what to do, and
// the underlying (already masked) error.
func apiErrorDetail(action string, err error) string {
	var hint string
	var apiErr *point.Error
	var transportErr *point.TransportError
	var decodeErr *point.DecodeError
	switch {
	case errors.Is(err, point.ErrNoAPIKey):
		hint = fmt.Sprintf("Set api_key in the provider block, or the %s environment variable.", envAPIKey)
	case point.IsUnauthorized(err), point.IsForbidden(err):
		hint = fmt.Sprintf("Point did not accept the credential. Check that api_key (or %s) is the organisation API key for this environment, and that environment or endpoint names the right Point environment.", envAPIKey)
	case point.IsRateLimited(err):
		errors.As(err, &apiErr)
		hint = fmt.Sprintf("Point is rate limiting requests, and %s. Retry later, lower Terraform's -parallelism, or raise max_retries.", retriesRanOut(apiErr.Attempts))
	case point.IsNotFound(err) && !point.IsUserNotFound(err) && !point.IsTokenNotFound(err) && errors.As(err, &apiErr):
		hint = fmt.Sprintf("The 404 answer is not Point's own (Point names the missing user or token in a JSON error code), so it most likely came from something else at %s: a wrong path prefix in endpoint, or a proxy. "+
			"Check the provider's endpoint (or %s) and environment settings; nothing was removed from Terraform state.", apiErr.BaseURL, envEndpoint)
	case errors.As(err, &apiErr) && apiErr.StatusCode >= 500:
		hint = "Point or a proxy in front of it failed. Retry later; nothing was changed in Terraform state."
		if apiErr.Attempts > 1 {
			hint = "Point or a proxy in front of it failed, and " + retriesRanOut(apiErr.Attempts) + ". Retry later, or raise max_retries; nothing was changed in Terraform state."
		}
	case errors.As(err, &transportErr):
		hint = "No answer came from Point. Check the network, the endpoint setting, and request_timeout."
		if transportErr.Attempts > 1 {
			hint += fmt.Sprintf(" The provider tried %d times, and the retries ran out (max_retries = %d).", transportErr.Attempts, transportErr.Attempts-1)
		}
	case errors.As(err, &decodeErr):
		hint = "Point's answer was not what its API reference describes. If this persists, please report it."
	}
	detail := fmt.Sprintf("Could not %s.", action)
	if hint != "" {
		detail += " " + hint
	}
	return detail + "\n\nError: " + err.Error()
}

// retriesRanOut says how many attempts a failed call made.
func retriesRanOut(attempts int) string {
	if attempts > 1 {
		return fmt.Sprintf("the retries ran out after %d attempts (max_retries = %d)", attempts, attempts-1)
	}
	return "max_retries = 0, so the request was not retried"
}

// withTimeout bounds ctx by the configured timeout of an operation, such
// as state.Timeouts.Read, or defaultOperationTimeout when none is set.
func withTimeout(ctx context.Context, configured func(context.Context, time.Duration) (time.Duration, diag.Diagnostics), diags *diag.Diagnostics) (context.Context, context.CancelFunc) {
	timeout, timeoutDiags := configured(ctx, defaultOperationTimeout)
	diags.Append(timeoutDiags...)
	return context.WithTimeout(ctx, timeout)
}
