package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/areyoupoint/terraform-provider-point/internal/point"
	"github.com/areyoupoint/terraform-provider-point/internal/validators"
)

var (
	_ resource.ResourceWithConfigure   = &refreshTokenResource{}
	_ resource.ResourceWithModifyPlan  = &refreshTokenResource{}
	_ resource.ResourceWithImportState = &refreshTokenResource{}
)

func newRefreshTokenResource() resource.Resource { return &refreshTokenResource{} }

type refreshTokenResource struct {
	data *providerData
}

type refreshTokenResourceModel struct {
	ID               types.String   `tfsdk:"id"`
	UserID           types.String   `tfsdk:"user_id"`
	Token            types.String   `tfsdk:"token"`
	IssuedAt         types.String   `tfsdk:"issued_at"`
	RotateAfter      types.String   `tfsdk:"rotate_after"`
	RotateAt         types.String   `tfsdk:"rotate_at"`
	RotationTriggers types.Map      `tfsdk:"rotation_triggers"`
	Timeouts         timeouts.Value `tfsdk:"timeouts"`
}

func (r *refreshTokenResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_refresh_token"
}

func (r *refreshTokenResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Issues and rotates the refresh token of a Point user. A Point user has one current refresh token, which never expires; " +
			"this resource owns it. Rotation happens in place: the new token is issued before the old one stops working, so there is no moment without a valid token. " +
			"Destroy revokes the token.",
		Attributes: map[string]schema.Attribute{
			"id":      idAttribute(),
			"user_id": userIDAttribute("Id of the Point user whose refresh token this is, usually `point_user.<name>.user_id`. Changing it replaces the resource."),
			"token": schema.StringAttribute{
				MarkdownDescription: "The refresh token. Sensitive, and stored in state: protect state accordingly, and prefer the `point_access_token` ephemeral resource where a short-lived token will do.",
				Computed:            true,
				Sensitive:           true,
			},
			"issued_at": schema.StringAttribute{
				MarkdownDescription: "When this provider issued the token (RFC 3339). Null when the token was adopted rather than issued by Terraform: on import, or after it was rotated outside Terraform.",
				Computed:            true,
			},
			"rotate_after": schema.StringAttribute{
				MarkdownDescription: "Rotate the token once this long has passed since `issued_at`, as a duration such as `2160h` (90 days). " +
					"The first plan made after `rotate_at` rotates it. Has no effect on a token with no `issued_at` until Terraform next issues one.",
				Optional:   true,
				Validators: []validator.String{validators.Duration()},
			},
			"rotate_at": schema.StringAttribute{
				MarkdownDescription: "When the token becomes due for rotation (RFC 3339): `issued_at` plus `rotate_after`. Null when either is null.",
				Computed:            true,
			},
			"rotation_triggers": schema.MapAttribute{
				MarkdownDescription: "Arbitrary values that rotate the token in place when any of them changes, for example `{ quarter = time_rotating.quarterly.id }`. " +
					"Set for the first time on a token with no `issued_at` (imported, or rotated outside Terraform), they are recorded without rotating it.",
				ElementType: types.StringType,
				Optional:    true,
			},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Read: true, Update: true, Delete: true}),
		},
	}
}

func (r *refreshTokenResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = fromProviderData(req.ProviderData, &resp.Diagnostics)
}

// ModifyPlan decides whether an update rotates the token. Rotation shows as
// an unknown token; everything else keeps the values in state.
func (r *refreshTokenResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	if req.State.Raw.IsNull() {
		r.data.refuseWithoutAPIKey("issue a Point refresh token", &resp.Diagnostics)
		return
	}
	// Most plans change nothing; then only a rotation that fell due matters,
	// and reading one attribute is far cheaper than the whole model.
	if req.Plan.Raw.Equal(req.State.Raw) {
		var scheduled types.String
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("rotate_at"), &scheduled)...)
		if due, ok := parseTime(scheduled); !ok || r.now().Before(due) {
			return
		}
	}
	var plan, state refreshTokenResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !plan.UserID.Equal(state.UserID) {
		return
	}

	// Triggers first set on an adopted token (imported, or rotated outside
	// Terraform) are only recorded, so that importing a token in use does
	// not rotate it.
	firstTriggersOnAdopted := state.IssuedAt.IsNull() && state.RotationTriggers.IsNull()
	rotate := !firstTriggersOnAdopted && !plan.RotationTriggers.Equal(state.RotationTriggers)
	plan.RotateAt = rotateAt(state.IssuedAt, plan.RotateAfter)
	if due, ok := parseTime(plan.RotateAt); ok && !r.now().Before(due) {
		tflog.Info(ctx, "Refresh token is due for rotation", map[string]any{"rotate_at": plan.RotateAt.ValueString()})
		rotate = true
	}
	if rotate {
		r.data.refuseWithoutAPIKey("rotate a Point refresh token", &resp.Diagnostics)
		plan.Token = types.StringUnknown()
		plan.IssuedAt = types.StringUnknown()
		plan.RotateAt = types.StringUnknown()
		if plan.RotateAfter.IsNull() {
			plan.RotateAt = types.StringNull()
		}
	} else {
		plan.Token = state.Token
		plan.IssuedAt = state.IssuedAt
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
}

func (r *refreshTokenResource) now() time.Time {
	if r.data == nil {
		return time.Now()
	}
	return r.data.now()
}

// rotateAt is issuedAt plus rotateAfter, null when either is null and
// unknown when either is unknown.
func rotateAt(issuedAt, rotateAfter types.String) types.String {
	if issuedAt.IsUnknown() || rotateAfter.IsUnknown() {
		return types.StringUnknown()
	}
	issued, ok := parseTime(issuedAt)
	if !ok || rotateAfter.IsNull() {
		return types.StringNull()
	}
	after, err := time.ParseDuration(rotateAfter.ValueString())
	if err != nil {
		return types.StringNull()
	}
	return types.StringValue(issued.Add(after).UTC().Format(time.RFC3339))
}

func parseTime(v types.String) (time.Time, bool) {
	if v.IsNull() || v.IsUnknown() {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, v.ValueString())
	return t, err == nil
}

func (r *refreshTokenResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan refreshTokenResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Create, &resp.Diagnostics)
	defer cancel()
	if resp.Diagnostics.HasError() {
		return
	}

	plan.ID = plan.UserID
	r.issue(ctx, &plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
	setUserIdentity(ctx, resp.Identity, plan.UserID, &resp.Diagnostics)
}

// issue asks Point for a new token and records it, with its times, in m.
func (r *refreshTokenResource) issue(ctx context.Context, m *refreshTokenResourceModel, diags *diag.Diagnostics) {
	client, clientDiags := r.data.apiKeyClient("issue a Point refresh token")
	diags.Append(clientDiags...)
	if diags.HasError() {
		return
	}
	userID := m.UserID.ValueString()
	token, err := client.IssueRefreshToken(ctx, userID)
	if err != nil {
		action := fmt.Sprintf("issue a refresh token for Point user %q", userID)
		if point.IsUserNotFound(err) {
			action += ": Point has no such user; register it first, for example with a point_user resource"
		}
		diags.AddError("Error Issuing Point Refresh Token", apiErrorDetail(action, err))
		return
	}
	m.Token = types.StringValue(token)
	m.IssuedAt = types.StringValue(r.now().UTC().Format(time.RFC3339))
	m.RotateAt = rotateAt(m.IssuedAt, m.RotateAfter)
}

func (r *refreshTokenResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state refreshTokenResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// First, so that a resource removed below has one too.
	setUserIdentity(ctx, resp.Identity, state.UserID, &resp.Diagnostics)
	ctx, cancel := withTimeout(ctx, state.Timeouts.Read, &resp.Diagnostics)
	defer cancel()
	client, diags := r.data.apiKeyClient("read a Point user's refresh token")
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}

	userID := state.UserID.ValueString()
	importing := takeImportMark(ctx, resp.Private, &resp.Diagnostics)
	user, err := client.GetUser(ctx, userID)
	if importing && (point.IsUserNotFound(err) || (err == nil && user.CurrentRefreshToken() == "")) {
		reason := "Point has no user with this id"
		if err == nil {
			reason = "the user has no current refresh token: none was issued, or it was revoked"
		}
		resp.Diagnostics.AddError("Cannot Import Point Refresh Token",
			fmt.Sprintf("Cannot import the refresh token of Point user %q: %s. "+
				"Remove the import, and let apply issue a new token with this point_refresh_token resource; "+
				"if the id is wrong, correct it.", userID, reason))
		return
	}
	if point.IsUserNotFound(err) {
		resp.Diagnostics.AddWarning("Point User Not Found",
			fmt.Sprintf("Point has no user with id %q any more, so Terraform removed its refresh token from state. The next apply will issue a new one if the user exists again.", userID))
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Error Reading Point Refresh Token",
			apiErrorDetail(fmt.Sprintf("read the refresh token of Point user %q; its state is unchanged", userID), err))
		return
	}

	current := user.CurrentRefreshToken()
	switch {
	case current == "":
		resp.Diagnostics.AddWarning("Point Refresh Token Revoked Outside Terraform",
			fmt.Sprintf("Point user %q has no current refresh token: it was revoked outside Terraform. Terraform removed it from state; the next apply issues a new one.", userID))
		resp.State.RemoveResource(ctx)
		return
	case state.Token.IsNull():
		// Import: adopt the token the user holds now.
		state.Token = types.StringValue(current)
		state.IssuedAt = types.StringNull()
		state.RotateAt = types.StringNull()
	case current != state.Token.ValueString():
		resp.Diagnostics.AddWarning("Point Refresh Token Rotated Outside Terraform",
			fmt.Sprintf("The refresh token of Point user %q was replaced outside Terraform. Terraform now tracks the new token; issued_at and rotate_at are cleared because its issue time is unknown.", userID))
		state.Token = types.StringValue(current)
		state.IssuedAt = types.StringNull()
		state.RotateAt = types.StringNull()
	}
	state.ID = state.UserID
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *refreshTokenResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan refreshTokenResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if plan.Token.IsUnknown() {
		ctx, cancel := withTimeout(ctx, plan.Timeouts.Update, &resp.Diagnostics)
		defer cancel()
		if resp.Diagnostics.HasError() {
			return
		}
		r.issue(ctx, &plan, &resp.Diagnostics)
		if resp.Diagnostics.HasError() {
			return
		}
	} else {
		plan.RotateAt = rotateAt(plan.IssuedAt, plan.RotateAfter)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
	setUserIdentity(ctx, resp.Identity, plan.UserID, &resp.Diagnostics)
}

func (r *refreshTokenResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state refreshTokenResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := withTimeout(ctx, state.Timeouts.Delete, &resp.Diagnostics)
	defer cancel()
	client, diags := r.data.tokenClient("revoke a Point refresh token")
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}

	userID := state.UserID.ValueString()
	if err := revokeRefreshToken(ctx, client, userID, state.Token.ValueString()); err != nil {
		resp.Diagnostics.AddError("Error Revoking Point Refresh Token",
			apiErrorDetail(fmt.Sprintf("revoke the refresh token of Point user %q; it stays in state", userID), err))
	}
}

func (r *refreshTokenResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importByUserID(ctx, req, resp)
}
