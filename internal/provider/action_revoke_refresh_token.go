package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/action/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/areyoupoint/terraform-provider-point/internal/point"
	"github.com/areyoupoint/terraform-provider-point/internal/validators"
)

var (
	_ action.ActionWithConfigure  = &revokeRefreshTokenAction{}
	_ action.ActionWithModifyPlan = &revokeRefreshTokenAction{}
)

func newRevokeRefreshTokenAction() action.Action { return &revokeRefreshTokenAction{} }

// revokeRefreshTokenAction revokes a user's current refresh token on
// request (Terraform 1.14 and later): `terraform apply -invoke`, or an
// action_trigger in a resource's lifecycle block.
type revokeRefreshTokenAction struct {
	configuredAction
}

// revokeRefreshTokenActionModel is the configuration of the
// point_revoke_refresh_token action.
type revokeRefreshTokenActionModel struct {
	UserID types.String `tfsdk:"user_id"`
}

func (a *revokeRefreshTokenAction) Metadata(_ context.Context, req action.MetadataRequest, resp *action.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_revoke_refresh_token"
}

func (a *revokeRefreshTokenAction) Schema(_ context.Context, _ action.SchemaRequest, resp *action.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Revokes a Point user's current refresh token now, whoever issued it, so that it can no longer obtain access tokens. " +
			"For incidents: run it with `terraform apply -invoke=action.point_revoke_refresh_token.<name>`, or from an `action_trigger` in a resource's `lifecycle` block. " +
			"Needs the organisation API key, with which it reads the user's current token. " +
			"A `point_refresh_token` that held the revoked token is removed from state at its next refresh (or, with `store_token = false`, keeps its place with `token_sha256` cleared), " +
			"and the next apply issues a new token. Requires Terraform 1.14 or later.",
		Attributes: map[string]schema.Attribute{
			"user_id": schema.StringAttribute{
				MarkdownDescription: "Id of the Point user whose current refresh token to revoke, for example `point_user.<name>.user_id`.",
				Required:            true,
				Validators:          []validator.String{validators.UserID()},
			},
		},
	}
}

const revokeActionOperation = "revoke a Point user's refresh token with the point_revoke_refresh_token action"

// ModifyPlan fails the plan when the API key is known to be missing, so
// that an incident runbook does not get as far as the apply.
func (a *revokeRefreshTokenAction) ModifyPlan(_ context.Context, _ action.ModifyPlanRequest, resp *action.ModifyPlanResponse) {
	a.data.refuseWithoutAPIKey(revokeActionOperation, &resp.Diagnostics)
}

func (a *revokeRefreshTokenAction) Invoke(ctx context.Context, req action.InvokeRequest, resp *action.InvokeResponse) {
	var cfg revokeRefreshTokenActionModel
	if !getInto(ctx, req.Config, &cfg, &resp.Diagnostics) {
		return
	}
	client := a.data.apiKeyClient(revokeActionOperation, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, defaultOperationTimeout)
	defer cancel()

	userID := cfg.UserID.ValueString()
	progress := func(format string, args ...any) {
		if resp.SendProgress != nil {
			resp.SendProgress(action.InvokeProgressEvent{Message: fmt.Sprintf(format, args...)})
		}
	}

	// Ephemeral resources opened meanwhile for this user wait for the
	// outcome, which tells them why the user's token is gone.
	revoked := ""
	done := a.data.revocations.revoking(userID)
	defer func() { done(revoked) }()

	progress("Reading the current refresh token of Point user %q.", userID)
	user, err := client.GetUser(ctx, userID)
	if point.IsUserNotFound(err) {
		addRevokeActionUserNotFound(userID, &resp.Diagnostics)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Error Revoking Point Refresh Token",
			apiErrorDetail(fmt.Sprintf("read the current refresh token of Point user %q; nothing was revoked", userID), err))
		return
	}

	token := user.CurrentRefreshToken()
	if token == "" {
		progress("Point user %q has no current refresh token: it is already revoked.", userID)
		resp.Diagnostics.AddWarning("Point Refresh Token Already Revoked",
			fmt.Sprintf("Point user %q has no current refresh token, so there was nothing to revoke. No action is needed; "+
				"the next apply issues a new token where a point_refresh_token manages it.", userID))
		return
	}

	err = client.RevokeRefreshToken(ctx, userID, token)
	gone, noLonger := noLongerCurrent(ctx, client, userID, token, err)
	if gone {
		addRevokeActionUserNotFound(userID, &resp.Diagnostics)
		return
	}
	if noLonger {
		progress("The refresh token of Point user %q was already revoked or replaced.", userID)
		resp.Diagnostics.AddWarning("Point Refresh Token Already Revoked",
			fmt.Sprintf("The refresh token that Point user %q held when the action read it was revoked or replaced before the action could revoke it, so it no longer works. "+
				"If it was replaced, the user now holds a newer token that this action did not revoke: invoke the action again to revoke that one too.", userID))
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Error Revoking Point Refresh Token",
			apiErrorDetail(fmt.Sprintf("revoke the current refresh token of Point user %q; it may still be valid, so invoke the action again", userID), err))
		return
	}
	revoked = token
	progress("Revoked the refresh token of Point user %q. The next apply issues a new one where a point_refresh_token manages it.", userID)
}

func addRevokeActionUserNotFound(userID string, diags *diag.Diagnostics) {
	diags.AddAttributeError(path.Root("user_id"), "Point User Not Found",
		fmt.Sprintf("Point has no user with id %q, so there is no refresh token to revoke. Check user_id in the action's config block: "+
			"it must be a user your organisation registered in the Point environment that the provider's environment or endpoint names.", userID))
}

// noLongerCurrent reports whether err, the answer to revoking token, says
// that token no longer works: Point answers 401, or a 404, for a token that
// is no longer current or a user it does not know. Only a 404 confirmed as
// Point's own says so by itself; after any 404 the user is read again, to
// tell a user that is gone (userGone) from a token that was replaced, and,
// after a 404 that is not Point's own, to see whether token is still current.
func noLongerCurrent(ctx context.Context, client *point.Client, userID, token string, err error) (userGone, noLonger bool) {
	switch {
	case point.IsUnauthorized(err):
		return false, true
	case !point.IsNotFound(err):
		return false, false
	}
	user, getErr := client.GetUser(ctx, userID)
	if point.IsUserNotFound(getErr) {
		return true, false
	}
	return false, point.IsTokenNotFound(err) || (getErr == nil && user.CurrentRefreshToken() != token)
}
