package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/identityschema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/areyoupoint/terraform-provider-point/internal/validators"
)

// Resource identity (Terraform 1.12 and later): point_user and
// point_refresh_token are both identified by the Point user id, so both
// share one identity schema, { user_id }. Terraform before 1.12 neither
// sends nor stores identities; the framework still requires one after
// every Create, Read and Update, so each of them sets it, Read included
// before it removes a resource.

var (
	_ resource.ResourceWithIdentity = &userResource{}
	_ resource.ResourceWithIdentity = &refreshTokenResource{}
)

// userIdentityModel is the identity of point_user and point_refresh_token.
type userIdentityModel struct {
	UserID types.String `tfsdk:"user_id"`
}

func userIdentitySchema(resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identityschema.Schema{
		Attributes: map[string]identityschema.Attribute{
			"user_id": identityschema.StringAttribute{
				Description:       "Your organisation's own id for the Point user, as in the resource's user_id.",
				RequiredForImport: true,
			},
		},
	}
}

func (r *userResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	userIdentitySchema(resp)
}

func (r *refreshTokenResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	userIdentitySchema(resp)
}

// setUserIdentity records userID as the resource's identity. identity is
// nil only for a resource without an identity schema.
func setUserIdentity(ctx context.Context, identity *tfsdk.ResourceIdentity, userID types.String, diags *diag.Diagnostics) {
	if identity == nil || userID.IsNull() || userID.IsUnknown() {
		return
	}
	diags.Append(identity.Set(ctx, userIdentityModel{UserID: userID})...)
}

// importUserID returns the Point user id an import names: the import ID
// (terraform import, or an import block with id), or the user_id of the
// identity (an import block with identity, Terraform 1.12 and later). It
// reports a diagnostic, and returns false, when the id is not a valid user
// id.
func importUserID(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) (string, bool) {
	// The framework hands an import by ID a null identity.
	if req.ID != "" || req.Identity == nil || req.Identity.Raw.IsNull() {
		if problem := validators.UserIDProblem(req.ID); problem != "" {
			resp.Diagnostics.AddError("Invalid Import ID",
				fmt.Sprintf("The import ID is the Point user id, which %s. Got %q. Correct the id in the import block or the import command.", problem, req.ID))
			return "", false
		}
		return req.ID, true
	}

	var identity userIdentityModel
	resp.Diagnostics.Append(req.Identity.Get(ctx, &identity)...)
	if resp.Diagnostics.HasError() {
		return "", false
	}
	userID := identity.UserID.ValueString()
	if problem := validators.UserIDProblem(userID); identity.UserID.IsNull() || identity.UserID.IsUnknown() || problem != "" {
		if problem == "" {
			problem = "must be known when the import is planned"
		}
		resp.Diagnostics.AddAttributeError(path.Root("user_id"), "Invalid Import Identity",
			fmt.Sprintf("The user_id of the import identity is the Point user id, which %s. Got %q. Correct identity.user_id in the import block.", problem, userID))
		return "", false
	}
	return userID, true
}
