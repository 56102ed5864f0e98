package provider

import (
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
	client  *point.Client
	unknown []string
	now     func() time.Time
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
	if !client.HasAPIKey() {
		addMissingAPIKey(operation, &diags)
		return nil, diags
	}
	return client, diags
}

// refuseWithoutAPIKey fails a plan whose apply would need the API key when
// the provider is configured, with every setting known, and has none: the
// problem then shows at plan rather than halfway through an apply.
func (d *providerData) refuseWithoutAPIKey(operation string, diags *diag.Diagnostics) {
	if d == nil || d.client == nil || d.client.HasAPIKey() {
		return
	}
	addMissingAPIKey(operation, diags)
}

func addMissingAPIKey(operation string, diags *diag.Diagnostics) {
	diags.AddError("Missing Point API Key",
		fmt.Sprintf("Cannot %s: it needs the organisation API key, and none is configured. "+
			"Set api_key in the provider block, or the %s environment variable.", operation, envAPIKey))
}
