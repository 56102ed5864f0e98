package provider

import (
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/areyoupoint/terraform-provider-point/internal/point"
	"github.com/areyoupoint/terraform-provider-point/internal/validators"
)

// The attributes that several resources share: their rules are stated
// here once, and each resource describes them in its own words.

// idAttribute is a resource's computed id, which equals its user_id.
func idAttribute() schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: "Same as `user_id`.",
		Computed:            true,
		PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
}

// userIDAttribute is a resource's user_id: required, checked against
// Point's rules, and replacing the resource when it changes.
func userIDAttribute(description string) schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: description,
		Required:            true,
		Validators:          []validator.String{validators.UserID()},
		PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
	}
}

// userIDsAttribute is the user_ids of a bulk resource. It is a list, not a
// set: Terraform compares the elements of a set attribute pairwise, in
// plan and apply alike, which at 5,000 elements takes minutes even with no
// provider involved; lists and maps cost time in proportion to their size.
// A set given in configuration converts to a list in sorted order.
func userIDsAttribute(description string) schema.ListAttribute {
	return schema.ListAttribute{
		MarkdownDescription: description,
		ElementType:         types.StringType,
		Required:            true,
		Validators:          []validator.List{bulkUserIDs{}},
	}
}

func maxConcurrencyAttribute() schema.Int64Attribute {
	return schema.Int64Attribute{
		MarkdownDescription: fmt.Sprintf("How many requests to Point this resource makes at once, from 1 to %d. Defaults to `%d`, "+
			"the default `-parallelism` of Terraform and OpenTofu, so that the users of one resource put no more load on Point than the same users as separate resources. "+
			"Each request in flight uses one connection, which later requests reuse. Raise it to go faster where Point's rate limits allow; "+
			"lower it when Point answers 429 (rate limited).", point.MaxConcurrency, defaultMaxConcurrency),
		Optional:   true,
		Computed:   true,
		Default:    int64default.StaticInt64(defaultMaxConcurrency),
		Validators: []validator.Int64{int64validator.Between(1, point.MaxConcurrency)},
	}
}

// deletionPolicyAttribute is the deletion_policy of point_user and
// point_users, ABANDON by default.
func deletionPolicyAttribute(description string) schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: description,
		Optional:            true,
		Computed:            true,
		Default:             stringdefault.StaticString(deletionAbandon),
		Validators:          []validator.String{stringvalidator.OneOf(deletionAbandon, deletionRevoke, deletionPrevent)},
	}
}

// storeTokenAttribute is the store_token of the refresh token resources,
// true by default.
func storeTokenAttribute(description string) schema.BoolAttribute {
	return schema.BoolAttribute{
		MarkdownDescription: description,
		Optional:            true,
		Computed:            true,
		Default:             booldefault.StaticBool(true),
	}
}

// rotateAfterAttribute is the rotate_after of the refresh token resources:
// a duration.
func rotateAfterAttribute(description string) schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: description,
		Optional:            true,
		Validators:          []validator.String{validators.Duration()},
	}
}

// rotationTriggersAttribute is the rotation_triggers of the refresh token
// resources: any map of strings.
func rotationTriggersAttribute(description string) schema.MapAttribute {
	return schema.MapAttribute{
		MarkdownDescription: description,
		ElementType:         types.StringType,
		Optional:            true,
	}
}
