package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/ephemeral/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/areyoupoint/terraform-provider-point/internal/validators"
)

var _ ephemeral.EphemeralResourceWithConfigure = &refreshTokenEphemeralResource{}

func newRefreshTokenEphemeralResource() ephemeral.EphemeralResource {
	return &refreshTokenEphemeralResource{}
}

// refreshTokenEphemeralResource reads a user's current refresh token with
// the API key, for configurations that keep it out of state
// (point_refresh_token with store_token = false). It never issues one:
// issuing replaces the user's token, which only the resource may do.
type refreshTokenEphemeralResource struct {
	configuredEphemeralResource
}

// refreshTokenEphemeralResourceModel is the configuration and result of the
// ephemeral point_refresh_token.
type refreshTokenEphemeralResourceModel struct {
	UserID      types.String   `tfsdk:"user_id"`
	Token       types.String   `tfsdk:"token"`
	TokenSHA256 types.String   `tfsdk:"token_sha256"`
	Timeouts    timeouts.Value `tfsdk:"timeouts"`
}

func (e *refreshTokenEphemeralResource) Metadata(_ context.Context, req ephemeral.MetadataRequest, resp *ephemeral.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_refresh_token"
}

func (e *refreshTokenEphemeralResource) Schema(ctx context.Context, _ ephemeral.SchemaRequest, resp *ephemeral.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads a Point user's current refresh token with the organisation API key, so that a configuration can hand it to a write-only argument, " +
			"a provider configuration or a provisioner without it reaching plan or state. It never issues, rotates or revokes a token: " +
			"pair it with a `point_refresh_token` resource with `store_token = false`, which owns the token. Requires Terraform 1.10 or OpenTofu 1.11 or later.",
		Attributes: map[string]schema.Attribute{
			"user_id": schema.StringAttribute{
				MarkdownDescription: "Id of the Point user whose refresh token to read. Use `point_refresh_token.<name>.id`: the token is then read only after that resource " +
					"has issued or rotated it in the same run, and not at all while planning its creation.",
				Required:   true,
				Validators: []validator.String{validators.UserID()},
			},
			"token": schema.StringAttribute{
				MarkdownDescription: "The user's current refresh token.",
				Computed:            true,
				Sensitive:           true,
			},
			"token_sha256": schema.StringAttribute{
				MarkdownDescription: "SHA-256 of `token`, in lowercase hex: equal to the `token_sha256` of the `point_refresh_token` that tracks it.",
				Computed:            true,
			},
			"timeouts": timeouts.Attributes(ctx),
		},
	}
}

func (e *refreshTokenEphemeralResource) Open(ctx context.Context, req ephemeral.OpenRequest, resp *ephemeral.OpenResponse) {
	var cfg refreshTokenEphemeralResourceModel
	if !getInto(ctx, req.Config, &cfg, &resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, cfg.Timeouts.Open, &resp.Diagnostics)
	defer cancel()
	client := e.data.apiKeyClient("read a Point user's refresh token (ephemeral point_refresh_token)", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}

	userID := cfg.UserID.ValueString()
	user := getNamedUser(ctx, client, userID, userLookup{
		notFound: "Point has no user %q, so it has no refresh token to read. " +
			"If this configuration creates the user and its token, set user_id to point_refresh_token.<name>.id: it is known only once the token exists, " +
			"so the token is read once it has been issued instead of during plan.",
		errorTitle: "Error Reading Point Refresh Token",
		action:     "read the current refresh token of Point user %q",
	}, &resp.Diagnostics)
	if user == nil {
		return
	}
	token := user.CurrentRefreshToken()
	if token == "" && e.data.revokedInThisApply(userID, "") {
		resp.Diagnostics.AddWarning("Point Refresh Token Revoked In This Apply",
			fmt.Sprintf("The point_revoke_refresh_token action revoked the refresh token of Point user %q during this apply, so there is none to read: token and token_sha256 are null. "+
				"The next apply issues the user a new refresh token where a point_refresh_token manages it, and the ephemeral point_refresh_token reads it after that.", userID))
		resp.Diagnostics.Append(resp.Result.Set(ctx, cfg)...)
		return
	}
	if token == "" {
		resp.Diagnostics.AddAttributeError(path.Root("user_id"), "Point User Has No Refresh Token",
			fmt.Sprintf("Point user %q has no current refresh token: none was issued, or it was revoked. The ephemeral point_refresh_token only reads the current token and never issues one. "+
				"Manage the token with a point_refresh_token resource, which issues a new one at the next apply, and set user_id to point_refresh_token.<name>.id "+
				"so that the token is read once that resource has issued it.", userID))
		return
	}
	cfg.Token = types.StringValue(token)
	cfg.TokenSHA256 = types.StringValue(tokenSHA256(token))
	resp.Diagnostics.Append(resp.Result.Set(ctx, cfg)...)
}
