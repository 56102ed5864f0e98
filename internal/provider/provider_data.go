package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/areyoupoint/terraform-provider-point/internal/point"
)

// providerData is what Configure hands to every resource, data source and
// ephemeral resource.
type providerData struct {
	// client is nil while some provider setting is unknown.
	client  *point.Client
	unknown []string
	now     func() time.Time
	// revocations are those the point_revoke_refresh_token action made in
	// this process, for the ephemeral resources to explain a token gone.
	revocations *revocationLog
}

// Embedded in a resource, data source, ephemeral resource or action, these
// give it the provider data through the Configure its kind calls.
type (
	configuredResource          struct{ data *providerData }
	configuredDataSource        struct{ data *providerData }
	configuredEphemeralResource struct{ data *providerData }
	configuredAction            struct{ data *providerData }
)

func (c *configuredResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	c.data = fromProviderData(req.ProviderData, &resp.Diagnostics)
}

func (c *configuredDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	c.data = fromProviderData(req.ProviderData, &resp.Diagnostics)
}

func (c *configuredEphemeralResource) Configure(_ context.Context, req ephemeral.ConfigureRequest, resp *ephemeral.ConfigureResponse) {
	c.data = fromProviderData(req.ProviderData, &resp.Diagnostics)
}

func (c *configuredAction) Configure(_ context.Context, req action.ConfigureRequest, resp *action.ConfigureResponse) {
	c.data = fromProviderData(req.ProviderData, &resp.Diagnostics)
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

// tokenClient returns the API client for an operation that authenticates
// with a user's token, or nil after adding to diags why there is none.
func (d *providerData) tokenClient(operation string, diags *diag.Diagnostics) *point.Client {
	if d == nil {
		diags.AddError("Point Provider Not Configured",
			fmt.Sprintf("Cannot %s: the provider has not been configured. This is a bug in the provider; please report it.", operation))
		return nil
	}
	if len(d.unknown) > 0 {
		diags.AddError("Point Provider Configuration Not Yet Known",
			fmt.Sprintf("Cannot %s: the provider's %s depends on values that are known only after apply. "+
				"Apply the resources those values come from first (for example with -target), or set the provider from environment variables.",
				operation, strings.Join(d.unknown, ", ")))
		return nil
	}
	return d.client
}

// revokedInThisApply reports whether the point_revoke_refresh_token action
// revoked token (any token, for "") of userID in this apply.
func (d *providerData) revokedInThisApply(userID, token string) bool {
	return d != nil && d.revocations.revokedInThisApply(userID, token)
}

// apiKeyClient is tokenClient for operations that need the organisation API key.
func (d *providerData) apiKeyClient(operation string, diags *diag.Diagnostics) *point.Client {
	client := d.tokenClient(operation, diags)
	if client == nil {
		return nil
	}
	if !client.HasAPIKey() {
		addMissingAPIKey(operation, diags)
		return nil
	}
	return client
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
			"Set api_key in the provider block, or the %s environment variable.", operation, point.EnvAPIKey))
}
