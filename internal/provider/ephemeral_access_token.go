package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/ephemeral/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/areyoupoint/terraform-provider-point/internal/point"
	"github.com/areyoupoint/terraform-provider-point/internal/validators"
)

var (
	_ ephemeral.EphemeralResourceWithConfigure = &accessTokenEphemeralResource{}
	_ ephemeral.EphemeralResourceWithClose     = &accessTokenEphemeralResource{}
)

// privateKeyAccessToken names the private data that carries an opened token
// to Close.
const privateKeyAccessToken = "access_token"

func newAccessTokenEphemeralResource() ephemeral.EphemeralResource {
	return &accessTokenEphemeralResource{}
}

type accessTokenEphemeralResource struct {
	configuredEphemeralResource
}

// accessTokenEphemeralResourceModel is the configuration and result of the
// ephemeral point_access_token.
type accessTokenEphemeralResourceModel struct {
	UserID              types.String   `tfsdk:"user_id"`
	RefreshToken        types.String   `tfsdk:"refresh_token"`
	RevokeOnClose       types.Bool     `tfsdk:"revoke_on_close"`
	Token               types.String   `tfsdk:"token"`
	AuthorizationHeader types.String   `tfsdk:"authorization_header"`
	ExpiresIn           types.Int64    `tfsdk:"expires_in"`
	ExpiresAt           types.String   `tfsdk:"expires_at"`
	Timeouts            timeouts.Value `tfsdk:"timeouts"`
}

// openedToken is what Close needs to revoke a token.
type openedToken struct {
	UserID string `json:"user_id"`
	Token  string `json:"token"`
}

func (e *accessTokenEphemeralResource) Metadata(_ context.Context, req ephemeral.MetadataRequest, resp *ephemeral.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_access_token"
}

func (e *accessTokenEphemeralResource) Schema(ctx context.Context, _ ephemeral.SchemaRequest, resp *ephemeral.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Issues a short-lived access token for a Point user. Its values never reach plan or state. " +
			"Terraform and OpenTofu open ephemeral resources during plan and apply, so a run may issue a token in each; " +
			"each one is revoked when the CLI closes it, unless `revoke_on_close` is false. Requires Terraform 1.10 or OpenTofu 1.11 or later.",
		Attributes: map[string]schema.Attribute{
			"user_id": schema.StringAttribute{
				MarkdownDescription: "Id of the Point user the token is for.",
				Required:            true,
				Validators:          []validator.String{validators.UserID()},
			},
			"refresh_token": schema.StringAttribute{
				MarkdownDescription: "The user's refresh token, usually `point_refresh_token.<name>.token`. When null, the provider reads the user's current refresh token with the organisation API key: omit it for a `point_refresh_token` with `store_token = false`, and set `user_id` to `point_refresh_token.<name>.id`.",
				Optional:            true,
				Sensitive:           true,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"revoke_on_close": schema.BoolAttribute{
				MarkdownDescription: "Revoke the token when the CLI closes the ephemeral resource, at the end of each plan or apply. Defaults to `true`. " +
					"Set it to `false` only when something outside this run keeps using the token; it then stays valid until `expires_at`.",
				Optional: true,
			},
			"token": schema.StringAttribute{
				MarkdownDescription: "The access token: a JWT, without the `Bearer ` prefix.",
				Computed:            true,
				Sensitive:           true,
			},
			"authorization_header": schema.StringAttribute{
				MarkdownDescription: "`Bearer ` followed by `token`: the value for an `Authorization` header.",
				Computed:            true,
				Sensitive:           true,
			},
			"expires_in": schema.Int64Attribute{
				MarkdownDescription: "Seconds the token is valid for from when it was issued, as Point reported it (24 hours by default).",
				Computed:            true,
			},
			"expires_at": schema.StringAttribute{
				MarkdownDescription: "When the token expires (RFC 3339).",
				Computed:            true,
			},
			"timeouts": timeouts.Attributes(ctx),
		},
	}
}

func (e *accessTokenEphemeralResource) Open(ctx context.Context, req ephemeral.OpenRequest, resp *ephemeral.OpenResponse) {
	var cfg accessTokenEphemeralResourceModel
	if !getInto(ctx, req.Config, &cfg, &resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, cfg.Timeouts.Open, &resp.Diagnostics)
	defer cancel()
	if resp.Diagnostics.HasError() {
		return
	}

	userID := cfg.UserID.ValueString()
	refreshToken := cfg.RefreshToken.ValueString()
	readsCurrentToken := cfg.RefreshToken.IsNull()
	var client *point.Client
	if readsCurrentToken {
		client = e.data.apiKeyClient("read the user's refresh token for a Point access token (no refresh_token was given)", &resp.Diagnostics)
	} else {
		client = e.data.tokenClient("issue a Point access token", &resp.Diagnostics)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	if readsCurrentToken {
		var found bool
		if refreshToken, found = currentRefreshTokenFor(ctx, client, userID, &resp.Diagnostics); !found {
			return
		}
		if refreshToken == "" {
			e.noRefreshToken(ctx, userID, cfg, resp)
			return
		}
	}

	issuedAt := e.data.now()
	accessToken, err := client.IssueAccessToken(ctx, userID, refreshToken)
	retried := false
	if readsCurrentToken && point.IsUnauthorized(err) {
		// The token read a moment ago was replaced since, most often by a
		// point_refresh_token that rotates it in the same apply: read the
		// current one and try once more, unless it is the same token.
		refused := refreshToken
		var found bool
		if refreshToken, found = currentRefreshTokenFor(ctx, client, userID, &resp.Diagnostics); !found {
			return
		}
		if refreshToken == "" {
			e.noRefreshToken(ctx, userID, cfg, resp)
			return
		}
		if refreshToken != refused {
			retried = true
			issuedAt = e.data.now()
			accessToken, err = client.IssueAccessToken(ctx, userID, refreshToken)
		}
	}
	switch {
	case err == nil:
	case point.IsUnauthorized(err) && e.data.revokedInThisApply(userID, refreshToken):
		openRevokedInThisApply(ctx, userID, cfg, resp)
		return
	case point.IsUserNotFound(err):
		resp.Diagnostics.AddAttributeError(path.Root("user_id"), "Point User Not Found",
			fmt.Sprintf("Point has no user %q, so no access token can be issued. Check user_id: it must be a user your organisation registered "+
				"in the Point environment that the provider's environment or endpoint names. If this configuration creates the user, "+
				"set user_id to point_user.<name>.id, so that the access token is opened once the user exists.", userID))
		return
	case point.IsUnauthorized(err) && retried:
		resp.Diagnostics.AddError("Point Refresh Token Not Accepted",
			fmt.Sprintf("Point refused the current refresh token of user %q twice, each time just after reading it with the API key: it is being replaced or revoked while this run uses it. "+
				"If a point_refresh_token for this user rotates its token in this run, set user_id = point_refresh_token.<name>.id so that the access token opens after the rotation; "+
				"otherwise something else is rotating it, so run again once it has finished.\n\nError: %s", userID, err))
		return
	case point.IsUnauthorized(err) && readsCurrentToken:
		resp.Diagnostics.AddError("Point Refresh Token Not Accepted",
			fmt.Sprintf("Point refused the current refresh token of user %q, which the provider read with the API key, and the user still holds that same token. "+
				"Something between the provider and Point may be refusing it: check the provider's endpoint setting and any proxy in front of Point.\n\nError: %s", userID, err))
		return
	case point.IsUnauthorized(err):
		resp.Diagnostics.AddAttributeError(path.Root("refresh_token"), "Point Refresh Token Not Accepted",
			fmt.Sprintf("Point refused the refresh token of user %q: it is wrong, revoked, or was replaced by a newer one. "+
				"Pass the user's current token (point_refresh_token.<name>.token), or omit refresh_token to use the current one.\n\nError: %s", userID, err))
		return
	default:
		resp.Diagnostics.AddError("Error Issuing Point Access Token", apiErrorDetail(fmt.Sprintf("issue an access token for Point user %q", userID), err))
		return
	}

	cfg.Token = types.StringValue(accessToken.Token)
	cfg.AuthorizationHeader = types.StringValue(accessToken.AuthorizationHeader())
	cfg.ExpiresIn = types.Int64Value(int64(accessToken.ExpiresIn / time.Second))
	cfg.ExpiresAt = types.StringValue(issuedAt.Add(accessToken.ExpiresIn).UTC().Format(time.RFC3339))
	resp.Diagnostics.Append(resp.Result.Set(ctx, cfg)...)

	if cfg.RevokeOnClose.IsNull() || cfg.RevokeOnClose.ValueBool() {
		private, err := json.Marshal(openedToken{UserID: userID, Token: accessToken.Token})
		if err != nil {
			resp.Diagnostics.AddError("Error Recording Point Access Token", err.Error())
			return
		}
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateKeyAccessToken, private)...)
	}
}

// currentRefreshTokenFor reads the user's current refresh token with the
// API key: "" when the user has none. found is false, after an error is
// added, when the user could not be read.
func currentRefreshTokenFor(ctx context.Context, client *point.Client, userID string, diags *diag.Diagnostics) (token string, found bool) {
	user := getNamedUser(ctx, client, userID, userLookup{
		notFound: "Point has no user %q, so no access token can be issued. " +
			"If this configuration creates the user, set user_id to point_user.<name>.id: it is known only once the user exists, " +
			"so the access token is opened once the user exists instead of during plan.",
		errorTitle: "Error Reading Point User",
		action:     "read the current refresh token of Point user %q",
	}, diags)
	if user == nil {
		return "", false
	}
	return user.CurrentRefreshToken(), true
}

// noRefreshToken answers for a user that holds no refresh token: during
// the apply in which the point_revoke_refresh_token action revoked it, a
// warning and a null token; otherwise an error.
func (e *accessTokenEphemeralResource) noRefreshToken(ctx context.Context, userID string, cfg accessTokenEphemeralResourceModel, resp *ephemeral.OpenResponse) {
	if e.data.revokedInThisApply(userID, "") {
		openRevokedInThisApply(ctx, userID, cfg, resp)
		return
	}
	resp.Diagnostics.AddAttributeError(path.Root("refresh_token"), "Point User Has No Refresh Token",
		fmt.Sprintf("Point user %q has no current refresh token (it was revoked), so no access token can be issued. "+
			"Issue one with a point_refresh_token resource, and set user_id to point_refresh_token.<name>.id (or, with store_token = true, pass its token as refresh_token).", userID))
}

// openRevokedInThisApply opens the access token of a user whose refresh
// token the point_revoke_refresh_token action revoked in this apply: with
// no token to issue it from, its results are null. That is no error: the
// revocation is what the apply was asked to do.
func openRevokedInThisApply(ctx context.Context, userID string, cfg accessTokenEphemeralResourceModel, resp *ephemeral.OpenResponse) {
	resp.Diagnostics.AddWarning("Point Refresh Token Revoked In This Apply",
		fmt.Sprintf("The point_revoke_refresh_token action revoked the refresh token of Point user %q during this apply, so no access token was issued: "+
			"token, authorization_header, expires_in and expires_at are null. The next apply issues the user a new refresh token where a point_refresh_token manages it, "+
			"and the access token opens after it.", userID))
	cfg.Token = types.StringNull()
	cfg.AuthorizationHeader = types.StringNull()
	cfg.ExpiresIn = types.Int64Null()
	cfg.ExpiresAt = types.StringNull()
	resp.Diagnostics.Append(resp.Result.Set(ctx, cfg)...)
}

// Close revokes the token. A failure here is only a warning: the apply
// already succeeded, and the token expires by itself.
func (e *accessTokenEphemeralResource) Close(ctx context.Context, req ephemeral.CloseRequest, resp *ephemeral.CloseResponse) {
	raw, diags := req.Private.GetKey(ctx, privateKeyAccessToken)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() || raw == nil {
		return
	}
	var opened openedToken
	if err := json.Unmarshal(raw, &opened); err != nil {
		resp.Diagnostics.AddWarning("Point Access Token Not Revoked",
			"The record of the access token was unreadable, so it was not revoked; it stays valid until it expires. This is a bug in the provider; please report it.")
		return
	}
	var clientDiags diag.Diagnostics
	client := e.data.tokenClient("revoke a Point access token", &clientDiags)
	if client == nil {
		resp.Diagnostics.AddWarning("Point Access Token Not Revoked", "The provider could not revoke the access token, which stays valid until it expires: "+clientDiags[0].Detail())
		return
	}
	if err := ignoreNoLongerCurrent(client.RevokeAccessToken(ctx, opened.UserID, opened.Token)); err != nil {
		resp.Diagnostics.AddWarning("Point Access Token Not Revoked",
			fmt.Sprintf("The provider could not revoke the access token of Point user %q; it stays valid until its expires_at. Nothing else is affected.\n\nError: %s", opened.UserID, err))
	}
}
