package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/areyoupoint/terraform-provider-point/internal/validators"
)

var _ datasource.DataSourceWithConfigure = &userDataSource{}

func newUserDataSource() datasource.DataSource { return &userDataSource{} }

type userDataSource struct {
	configuredDataSource
}

// userDataSourceModel is the configuration and state of the point_user data
// source: the user's profile as Point holds it.
type userDataSourceModel struct {
	ID          types.String  `tfsdk:"id"`
	UserID      types.String  `tfsdk:"user_id"`
	Email       types.String  `tfsdk:"email"`
	Birthday    types.String  `tfsdk:"birthday"`
	Height      types.Float64 `tfsdk:"height"`
	Weight      types.Float64 `tfsdk:"weight"`
	Gender      types.String  `tfsdk:"gender"`
	Pronoun     types.String  `tfsdk:"pronoun"`
	Expectation types.String  `tfsdk:"expectation"`
	FirstName   types.String  `tfsdk:"first_name"`
	Timezone    types.String  `tfsdk:"timezone"`
}

func (d *userDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_user"
}

func (d *userDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	profile := func(what string) schema.StringAttribute {
		return schema.StringAttribute{
			MarkdownDescription: fmt.Sprintf("The user's %s, as the user entered it; null when not set. Sensitive: personal data.", what),
			Computed:            true,
			Sensitive:           true,
		}
	}
	measure := func(what string) schema.Float64Attribute {
		return schema.Float64Attribute{
			MarkdownDescription: fmt.Sprintf("The user's %s, as the user entered it; null when not set. Sensitive: personal data.", what),
			Computed:            true,
			Sensitive:           true,
		}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads an existing Point user's profile. Every profile field is the end user's personal health data and is marked sensitive; " +
			"note that data source results are still written to state. The user's refresh token is not exposed.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{MarkdownDescription: "Same as `user_id`.", Computed: true},
			"user_id": schema.StringAttribute{
				MarkdownDescription: "Your organisation's id for the user.",
				Required:            true,
				Validators:          []validator.String{validators.UserID()},
			},
			"email":       profile("email address"),
			"birthday":    profile("birthday"),
			"height":      measure("height"),
			"weight":      measure("weight"),
			"gender":      profile("gender"),
			"pronoun":     profile("pronoun"),
			"expectation": profile("expectation"),
			"first_name":  profile("first name"),
			"timezone":    profile("time zone"),
		},
	}
}

func (d *userDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg userDataSourceModel
	if !getInto(ctx, req.Config, &cfg, &resp.Diagnostics) {
		return
	}
	client := d.data.apiKeyClient("read a Point user", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	userID := cfg.UserID.ValueString()
	user := getNamedUser(ctx, client, userID, userLookup{
		notFound: "Point has no user with id %q. Check user_id; this data source reads only users that already exist in Point, " +
			"such as those registered with the point_user resource.",
		errorTitle: "Error Reading Point User",
		action:     "read Point user %q",
	}, &resp.Diagnostics)
	if user == nil {
		return
	}
	state := userDataSourceModel{
		ID:          types.StringValue(userID),
		UserID:      cfg.UserID,
		Email:       types.StringPointerValue(user.Email),
		Birthday:    types.StringPointerValue(user.Birthday),
		Height:      types.Float64PointerValue(user.Height),
		Weight:      types.Float64PointerValue(user.Weight),
		Gender:      types.StringPointerValue(user.Gender),
		Pronoun:     types.StringPointerValue(user.Pronoun),
		Expectation: types.StringPointerValue(user.Expectation),
		FirstName:   types.StringPointerValue(user.FirstName),
		Timezone:    types.StringPointerValue(user.Timezone),
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}
