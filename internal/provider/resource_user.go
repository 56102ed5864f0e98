package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/areyoupoint/terraform-provider-point/internal/point"
)

// What destroying a point_user does; Point has no endpoint that deletes a user.
const (
	deletionAbandon = "ABANDON"
	deletionRevoke  = "REVOKE"
	deletionPrevent = "PREVENT"
)

var (
	_ resource.ResourceWithConfigure   = &userResource{}
	_ resource.ResourceWithModifyPlan  = &userResource{}
	_ resource.ResourceWithImportState = &userResource{}
)

func newUserResource() resource.Resource { return &userResource{} }

type userResource struct {
	configuredResource
}

// userResourceModel is the plan and state of a point_user.
type userResourceModel struct {
	ID             types.String   `tfsdk:"id"`
	UserID         types.String   `tfsdk:"user_id"`
	DeletionPolicy types.String   `tfsdk:"deletion_policy"`
	Timeouts       timeouts.Value `tfsdk:"timeouts"`
}

func (r *userResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_user"
}

func (r *userResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Registers a user with Point. The resource keeps no profile data in state: " +
			"the profile is the end user's personal health data, which the `point_user` data source reads on request. " +
			"Point has no endpoint that deletes a user, so destroying this resource follows `deletion_policy`.",
		Attributes: map[string]schema.Attribute{
			"id": idAttribute(),
			"user_id": userIDAttribute("Your organisation's own id for the user: 1 to 128 characters, with no `/`, whitespace, control characters or `@`, and not `.` or `..`. " +
				"Point asks that it carry no personal information, such as an email address. Changing it registers a new user."),
			"deletion_policy": deletionPolicyAttribute("What destroy does, since Point cannot delete users. `ABANDON` (default) removes the user from state and leaves it in Point; " +
				"`REVOKE` first revokes the user's current refresh token, then abandons the user; `PREVENT` makes destroy fail."),
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Read: true, Delete: true}),
		},
	}
}

func (r *userResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan userResourceModel
	if !getInto(ctx, req.Plan, &plan, &resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Create, &resp.Diagnostics)
	defer cancel()
	client := r.data.apiKeyClient("create a Point user", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}

	userID := plan.UserID.ValueString()
	_, err := client.CreateUser(ctx, userID)
	var unconfirmed *point.UnconfirmedCreateError
	if errors.As(err, &unconfirmed) {
		resp.Diagnostics.AddWarning("Point User Registered Without an Answer",
			fmt.Sprintf("No usable answer came to a request that registers Point user %q, and Point has the user now, so the provider recorded it in state. "+
				"The provider could not confirm whether this apply registered the user or it existed before; if it existed before, this configuration now manages it, "+
				"and destroying it follows deletion_policy.\n\nError: %s", userID, unconfirmed.Err))
		err = nil
	}
	if err != nil {
		if point.IsConflict(err) {
			resp.Diagnostics.AddAttributeError(path.Root("user_id"), "Point User Already Exists",
				fmt.Sprintf("Point already has a user with id %q, so it cannot be created. To manage the existing user, import it: add an import block and apply,\n\n"+
					"  import {\n    to = %s\n    id = %q\n  }\n\n"+
					"or run the import command with the same address and id.", userID, "point_user.<name>", userID))
			return
		}
		resp.Diagnostics.AddError("Error Creating Point User", apiErrorDetail(fmt.Sprintf("create Point user %q", userID), err))
		return
	}
	plan.ID = plan.UserID
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
	setUserIdentity(ctx, resp.Identity, plan.UserID, &resp.Diagnostics)
}

func (r *userResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state userResourceModel
	if !getInto(ctx, req.State, &state, &resp.Diagnostics) {
		return
	}
	// First, so that a resource removed below has one too.
	setUserIdentity(ctx, resp.Identity, state.UserID, &resp.Diagnostics)
	ctx, cancel := withTimeout(ctx, state.Timeouts.Read, &resp.Diagnostics)
	defer cancel()
	client := r.data.apiKeyClient("read a Point user", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}

	userID := state.UserID.ValueString()
	importing := takeImportMark(ctx, resp.Private, &resp.Diagnostics)
	if _, err := client.GetUser(ctx, userID); err != nil {
		if point.IsUserNotFound(err) && importing {
			resp.Diagnostics.AddError("Cannot Import Point User",
				fmt.Sprintf("Point has no user with id %q, so there is nothing to import. Check the id, and the provider's environment or endpoint; "+
					"to register a new user, remove the import and apply a point_user resource instead.\n\nError: %s", userID, err))
			return
		}
		if point.IsUserNotFound(err) {
			resp.Diagnostics.AddWarning("Point User Not Found",
				fmt.Sprintf("Point has no user with id %q any more, so the provider removed it from state. The next apply will register it again if it is still in configuration.", userID))
			resp.State.RemoveResource(ctx)
			return
		}
		resp.Diagnostics.AddError("Error Reading Point User", apiErrorDetail(fmt.Sprintf("read Point user %q; its state is unchanged", userID), err))
		return
	}
	if state.DeletionPolicy.IsNull() {
		state.DeletionPolicy = types.StringValue(deletionAbandon)
	}
	state.ID = state.UserID
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

// Update only records deletion_policy and timeouts: user_id forces a replacement.
func (r *userResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan userResourceModel
	if !getInto(ctx, req.Plan, &plan, &resp.Diagnostics) {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
	setUserIdentity(ctx, resp.Identity, plan.UserID, &resp.Diagnostics)
}

// ModifyPlan fails, at plan time, a plan whose apply could not succeed: one
// that destroys or replaces a user with deletion_policy = "PREVENT" (before
// anything else in the run, such as a point_refresh_token, is destroyed), or
// one that registers a user while the provider has no API key.
func (r *userResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.State.Raw.IsNull() {
		r.data.refuseWithoutAPIKey("register a Point user", &resp.Diagnostics)
		return
	}
	var state userResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || state.DeletionPolicy.ValueString() != deletionPrevent {
		return
	}
	var plannedUserID types.String
	if !req.Plan.Raw.IsNull() {
		resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("user_id"), &plannedUserID)...)
	}
	var action string
	switch {
	case req.Plan.Raw.IsNull():
		action = "destroys it"
	case !plannedUserID.Equal(state.UserID):
		action = "replaces it (user_id changed)"
	default:
		return
	}
	resp.Diagnostics.AddError("Point User Deletion Prevented",
		fmt.Sprintf("Point user %q has deletion_policy = \"PREVENT\", and this plan %s. The provider stopped the plan, so nothing was changed or revoked. "+
			"To stop managing the user, first set deletion_policy to \"ABANDON\" (or \"REVOKE\" to also revoke its refresh token) and apply that change on its own, then run this plan again; "+
			"or forget the user without destroying it, with a removed block whose lifecycle has destroy = false. Point has no endpoint that deletes users.", state.UserID.ValueString(), action))
}

func (r *userResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state userResourceModel
	if !getInto(ctx, req.State, &state, &resp.Diagnostics) {
		return
	}
	userID := state.UserID.ValueString()

	switch state.DeletionPolicy.ValueString() {
	case deletionPrevent:
		// ModifyPlan refuses such plans; this guards a plan made by a
		// Terraform that does not plan destroys with the provider.
		resp.Diagnostics.AddError("Point User Deletion Prevented",
			fmt.Sprintf("Point user %q has deletion_policy = \"PREVENT\", so the provider refuses to destroy it. "+
				"To stop managing it, set deletion_policy to \"ABANDON\" (or \"REVOKE\" to also revoke its refresh token) and apply, then destroy; "+
				"or forget it with a removed block whose lifecycle has destroy = false. Point has no endpoint that deletes users.", userID))
		return
	case deletionRevoke:
		ctx, cancel := withTimeout(ctx, state.Timeouts.Delete, &resp.Diagnostics)
		defer cancel()
		client := r.data.apiKeyClient("revoke a Point user's refresh token", &resp.Diagnostics)
		if resp.Diagnostics.HasError() {
			return
		}
		if err := revokeCurrentRefreshToken(ctx, client, userID); err != nil {
			resp.Diagnostics.AddError("Error Revoking Point User's Refresh Token",
				apiErrorDetail(fmt.Sprintf("revoke the refresh token of Point user %q; the user stays in state", userID), err))
			return
		}
		resp.Diagnostics.AddWarning("Point User Abandoned",
			fmt.Sprintf("Point has no endpoint that deletes users. The provider revoked the refresh token of user %q and removed it from state; the user still exists in Point.", userID))
	default:
		ctx, cancel := withTimeout(ctx, state.Timeouts.Delete, &resp.Diagnostics)
		defer cancel()
		resp.Diagnostics.AddWarning("Point User Abandoned",
			fmt.Sprintf("Point has no endpoint that deletes users. The provider removed user %q from state; the user still exists in Point. %s", userID, r.tokenLeft(ctx, userID)))
	}
}

// tokenLeft says whether the user that an ABANDON destroy leaves holds a
// refresh token, which then stays valid. The API key reads it; without
// one, or when the read fails, the words say what may be left.
func (r *userResource) tokenLeft(ctx context.Context, userID string) string {
	const revokeAdvice = "To revoke it, invoke the point_revoke_refresh_token action for the user, or destroy with deletion_policy = \"REVOKE\"."
	if r.data != nil && r.data.client != nil && r.data.client.HasAPIKey() {
		user, err := r.data.client.GetUser(ctx, userID)
		switch {
		case err == nil && user.CurrentRefreshToken() == "":
			return "It holds no refresh token."
		case err == nil:
			return "Its current refresh token stays valid: deletion_policy = \"ABANDON\" does not revoke it, and no point_refresh_token revoked it. " + revokeAdvice
		}
	}
	return "This resource did not revoke the user's refresh token, and could not read whether the user holds one: a point_refresh_token revokes the token it tracks when it is destroyed, " +
		"and warns when that token was replaced and a newer one stays valid. " + revokeAdvice
}

func (r *userResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if importByUserID(ctx, req, resp) {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("deletion_policy"), deletionAbandon)...)
	}
}
