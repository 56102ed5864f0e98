package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/areyoupoint/terraform-provider-point/internal/point"
)

var (
	_ resource.ResourceWithConfigure    = &refreshTokenResource{}
	_ resource.ResourceWithModifyPlan   = &refreshTokenResource{}
	_ resource.ResourceWithImportState  = &refreshTokenResource{}
	_ resource.ResourceWithUpgradeState = &refreshTokenResource{}
)

func newRefreshTokenResource() resource.Resource { return &refreshTokenResource{} }

type refreshTokenResource struct {
	configuredResource
}

// refreshTokenResourceModel is the plan and state of a point_refresh_token.
type refreshTokenResourceModel struct {
	ID               types.String   `tfsdk:"id"`
	UserID           types.String   `tfsdk:"user_id"`
	StoreToken       types.Bool     `tfsdk:"store_token"`
	Token            types.String   `tfsdk:"token"`
	TokenSHA256      types.String   `tfsdk:"token_sha256"`
	TokenVersion     types.Int64    `tfsdk:"token_version"`
	IssuedAt         types.String   `tfsdk:"issued_at"`
	RotateAfter      types.String   `tfsdk:"rotate_after"`
	RotateAt         types.String   `tfsdk:"rotate_at"`
	RotationTriggers types.Map      `tfsdk:"rotation_triggers"`
	Timeouts         timeouts.Value `tfsdk:"timeouts"`
}

// storesToken reports whether the token belongs in state. A state written
// before store_token existed has it null, and kept the token.
func (m *refreshTokenResourceModel) storesToken() bool {
	return m.StoreToken.IsNull() || m.StoreToken.IsUnknown() || m.StoreToken.ValueBool()
}

// track records token as the one the resource tracks: its fingerprint
// always, the token itself only when it belongs in state.
func (m *refreshTokenResourceModel) track(token string) {
	m.TokenSHA256 = types.StringValue(tokenSHA256(token))
	m.Token = types.StringNull()
	if m.storesToken() {
		m.Token = types.StringValue(token)
	}
}

// tokenSHA256 is the fingerprint kept in token_sha256: the SHA-256 of the
// token, in lowercase hex.
func tokenSHA256(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Import IDs may end with one of these, to import the token with
// store_token false (without ever writing it to state) or true. A user id
// cannot hold "/", so a suffix is never part of one.
const (
	importSuffixTokenFree   = "/store_token=false"
	importSuffixTokenStored = "/store_token=true"
)

func (r *refreshTokenResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_refresh_token"
}

func (r *refreshTokenResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = refreshTokenSchema(ctx, true)
}

// refreshTokenSchema is the resource's schema: the current one (version 1),
// or, without the token-free attributes, version 0, which states written
// before store_token existed have.
func refreshTokenSchema(ctx context.Context, current bool) schema.Schema {
	s := schema.Schema{
		MarkdownDescription: "Issues and rotates the refresh token of a Point user. A Point user has one current refresh token, which never expires; " +
			"this resource owns it. Rotation happens in place: the new token is issued before the old one stops working, so there is no moment without a valid token. " +
			"Destroy revokes the token. With `store_token = false` the token never reaches plan or state: the resource tracks it by `token_sha256` and `token_version`, " +
			"and configurations read it when they need it with the `point_refresh_token` ephemeral resource.",
		Attributes: map[string]schema.Attribute{
			"id":      idAttribute(),
			"user_id": userIDAttribute("Id of the Point user whose refresh token this is, usually `point_user.<name>.user_id`. Changing it replaces the resource."),
			"token": schema.StringAttribute{
				MarkdownDescription: "The refresh token. Sensitive, and stored in state: protect state accordingly, and prefer the `point_access_token` ephemeral resource where a short-lived token will do. " +
					"Null when `store_token` is false.",
				Computed:  true,
				Sensitive: true,
			},
			"issued_at": schema.StringAttribute{
				MarkdownDescription: "When this provider issued the token (RFC 3339). Null when the token was adopted rather than issued by this resource: on import, or after it was rotated elsewhere.",
				Computed:            true,
			},
			"rotate_after": rotateAfterAttribute("Rotate the token once this long has passed since `issued_at`, as a duration such as `2160h` (90 days). " +
				"The first plan made after `rotate_at` rotates it: whether `rotate_at` has passed is decided by the refresh before the plan, so a saved plan applied after `rotate_at` does only what it showed, and with `-refresh=false` a plan rotates the token only if the last refresh saved in state found it due. " +
				"Has no effect on a token with no `issued_at` until this resource next issues one."),
			"rotate_at": schema.StringAttribute{
				MarkdownDescription: "When the token becomes due for rotation (RFC 3339): `issued_at` plus `rotate_after`. Null when either is null.",
				Computed:            true,
			},
			"rotation_triggers": rotationTriggersAttribute("Arbitrary values that rotate the token in place when any of them changes, for example `{ quarter = time_rotating.quarterly.id }`. " +
				"Set for the first time on a token with no `issued_at` (imported, or rotated elsewhere), they are recorded without rotating it."),
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Read: true, Update: true, Delete: true}),
		},
	}
	if !current {
		return s
	}
	s.Version = 1
	s.Attributes["store_token"] = storeTokenAttribute("Whether to keep the token in state. Defaults to `true`. With `false`, `token` is null in plan and state, and the resource tracks the token by `token_sha256` and `token_version`: " +
		"read it with the `point_refresh_token` ephemeral resource, or let `point_access_token` read it (omit its `refresh_token`). " +
		"Rotation, detection of changes made elsewhere, import and destroy work as with `true`; destroy then needs the organisation API key, with which it reads the token to revoke. " +
		"Changing it neither rotates nor replaces the token: `false` removes the token from state, `true` reads it with the API key and puts it back.")
	s.Attributes["token_sha256"] = schema.StringAttribute{
		MarkdownDescription: "SHA-256 of the token, in lowercase hex: a fingerprint that identifies the token without revealing it. " +
			"Each refresh compares it with the user's current token in Point. Null only while the token of a resource with `store_token = false` is revoked elsewhere, until the next apply issues a new one.",
		Computed: true,
	}
	s.Attributes["token_version"] = schema.Int64Attribute{
		MarkdownDescription: "Grows by one each time the token this resource tracks changes: when this resource issues or rotates it, and when a refresh finds it rotated elsewhere. " +
			"It starts at 1 when the resource is created or imported, and changing `store_token` leaves it alone. " +
			"Use it as the `*_wo_version` of a write-only argument that receives the token, so that every new token is written and nothing else writes it again.",
		Computed: true,
	}
	return s
}

// UpgradeState brings states of schema version 0, written before
// store_token existed, to version 1: they kept the token, so they keep it,
// and the fingerprint and version of the token they hold are filled in,
// without any request to Point and without a diff in the next plan.
func (r *refreshTokenResource) UpgradeState(ctx context.Context) map[int64]resource.StateUpgrader {
	prior := refreshTokenSchema(ctx, false)
	return map[int64]resource.StateUpgrader{
		0: {
			PriorSchema: &prior,
			StateUpgrader: func(ctx context.Context, req resource.UpgradeStateRequest, resp *resource.UpgradeStateResponse) {
				var old struct {
					ID               types.String   `tfsdk:"id"`
					UserID           types.String   `tfsdk:"user_id"`
					Token            types.String   `tfsdk:"token"`
					IssuedAt         types.String   `tfsdk:"issued_at"`
					RotateAfter      types.String   `tfsdk:"rotate_after"`
					RotateAt         types.String   `tfsdk:"rotate_at"`
					RotationTriggers types.Map      `tfsdk:"rotation_triggers"`
					Timeouts         timeouts.Value `tfsdk:"timeouts"`
				}
				if !getInto(ctx, req.State, &old, &resp.Diagnostics) {
					return
				}
				m := refreshTokenResourceModel{
					ID: old.ID, UserID: old.UserID, Token: old.Token, IssuedAt: old.IssuedAt,
					RotateAfter: old.RotateAfter, RotateAt: old.RotateAt, RotationTriggers: old.RotationTriggers, Timeouts: old.Timeouts,
					StoreToken: types.BoolValue(true), TokenSHA256: types.StringNull(), TokenVersion: types.Int64Null(),
				}
				if !old.Token.IsNull() && !old.Token.IsUnknown() {
					m.track(old.Token.ValueString())
					m.TokenVersion = types.Int64Value(1)
				}
				resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
			},
		},
	}
}

// ModifyPlan decides whether an update rotates the token. Rotation shows as
// an unknown token_sha256 and the next token_version; everything else keeps
// the values in state. Where store_token is false the token is planned as
// null, so that it never reaches a plan. It decides from configuration,
// state and the time of the last refresh, never from the clock, so that
// the apply of a saved plan decides as the plan did (privateKeyRefreshedAt).
func (r *refreshTokenResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		// Destroying a token kept out of state reads it with the API key.
		var store types.Bool
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("store_token"), &store)...)
		if !store.IsNull() && !store.ValueBool() {
			r.data.refuseWithoutAPIKey("revoke a Point refresh token kept out of state (store_token = false), which is read with the API key", &resp.Diagnostics)
		}
		return
	}
	if req.State.Raw.IsNull() {
		r.data.refuseWithoutAPIKey("issue a Point refresh token", &resp.Diagnostics)
		var plan refreshTokenResourceModel
		if !getInto(ctx, req.Plan, &plan, &resp.Diagnostics) {
			return
		}
		if !plan.StoreToken.IsUnknown() && !plan.storesToken() {
			plan.Token = types.StringNull()
		}
		plan.TokenVersion = types.Int64Value(1)
		resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
		return
	}
	// A rotation is due when rotate_at had passed at the last refresh.
	refreshed := lastRefresh(ctx, req.Private, &resp.Diagnostics)
	// Most plans change nothing; then only a rotation that fell due, or a
	// token revoked outside Terraform while kept out of state, matters, and
	// reading two attributes is far cheaper than the whole model.
	if req.Plan.Raw.Equal(req.State.Raw) {
		var scheduled, tracked types.String
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("rotate_at"), &scheduled)...)
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("token_sha256"), &tracked)...)
		if !tracked.IsNull() && !dueBy(scheduled, refreshed) {
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
	if dueBy(plan.RotateAt, refreshed) {
		tflog.Info(ctx, "Refresh token is due for rotation", map[string]any{"rotate_at": plan.RotateAt.ValueString(), "refreshed_at": refreshed.UTC().Format(time.RFC3339)})
		rotate = true
	}
	if state.TokenSHA256.IsNull() {
		tflog.Info(ctx, "Refresh token was revoked elsewhere; planning a new one")
		rotate = true
	}
	plannedOut := !plan.StoreToken.IsUnknown() && !plan.storesToken()
	if rotate {
		r.data.refuseWithoutAPIKey("rotate a Point refresh token", &resp.Diagnostics)
		plan.Token = types.StringUnknown()
		if plannedOut {
			plan.Token = types.StringNull()
		}
		if state.TokenSHA256.IsNull() {
			// The token was revoked, so nothing can read it while planning:
			// an unknown id makes Terraform open an ephemeral
			// point_refresh_token or point_access_token whose user_id
			// refers to it only after this apply has issued the new token.
			plan.ID = types.StringUnknown()
		}
		plan.TokenSHA256 = types.StringUnknown()
		plan.TokenVersion = nextTokenVersion(state.TokenVersion)
		plan.IssuedAt = types.StringUnknown()
		plan.RotateAt = types.StringUnknown()
		if plan.RotateAfter.IsNull() {
			plan.RotateAt = types.StringNull()
		}
		resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
		return
	}

	plan.TokenSHA256 = state.TokenSHA256
	plan.TokenVersion = state.TokenVersion
	plan.IssuedAt = state.IssuedAt
	switch {
	case plannedOut:
		plan.Token = types.StringNull()
		if state.storesToken() {
			userID := state.UserID.ValueString()
			resp.Diagnostics.AddWarning("Point Refresh Token Leaves State",
				fmt.Sprintf("store_token is now false, so this apply removes the refresh token of Point user %q from state without rotating it. "+
					"Copies made before (state backups, the state history your backend keeps, saved plans) still hold it; to make those copies worthless, "+
					"also rotate the token, for example by changing rotation_triggers. To import a token without it ever reaching plan or state, import it with the ID %q.",
					userID, userID+importSuffixTokenFree))
		}
	case !plan.StoreToken.IsUnknown() && state.storesToken():
		plan.Token = state.Token
	default:
		// Going back into state: the apply reads the token with the API key.
		if !plan.StoreToken.IsUnknown() {
			r.data.refuseWithoutAPIKey("put a Point refresh token back into state (store_token = true), which reads it with the API key", &resp.Diagnostics)
		}
		plan.Token = types.StringUnknown()
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
}

// nextTokenVersion is the token_version after the tracked token changes.
func nextTokenVersion(v types.Int64) types.Int64 {
	if v.IsNull() || v.IsUnknown() {
		return types.Int64Unknown()
	}
	return types.Int64Value(v.ValueInt64() + 1)
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

// privateKeyRefreshedAt holds, in the private state of both refresh token
// resources, the provider's clock at the last refresh. Plans decide which
// tokens are due for rotation from it and never from the clock: Terraform
// plans again when it applies a saved plan, with the state that plan
// refreshed, and must get the same plan, however late the apply comes. A
// plan made without refreshing (-refresh=false) uses the last refresh
// saved in state.
const privateKeyRefreshedAt = "refreshed_at"

// recordRefreshTime keeps the time of this refresh in a Read response's
// private state.
func recordRefreshTime(ctx context.Context, private privateState, now time.Time, diags *diag.Diagnostics) {
	raw, err := json.Marshal(now.UTC().Format(time.RFC3339))
	if err != nil {
		diags.AddError("Unwritable Private State", err.Error())
		return
	}
	diags.Append(private.SetKey(ctx, privateKeyRefreshedAt, raw)...)
}

// lastRefresh returns the time of the last refresh that private records,
// or the zero time, before which nothing is due, when none does.
func lastRefresh(ctx context.Context, private privateState, diags *diag.Diagnostics) time.Time {
	raw, getDiags := private.GetKey(ctx, privateKeyRefreshedAt)
	diags.Append(getDiags...)
	var at string
	if len(raw) == 0 {
		return time.Time{}
	}
	if err := json.Unmarshal(raw, &at); err != nil {
		diags.AddError("Unreadable Private State", fmt.Sprintf("The provider's private state under %q is not what it wrote. This is a bug in the provider; please report it. Error: %s", privateKeyRefreshedAt, err))
		return time.Time{}
	}
	t, _ := parseTime(types.StringValue(at))
	return t
}

// dueBy reports whether a token whose rotate_at is at was due at the
// refresh time refreshed.
func dueBy(at types.String, refreshed time.Time) bool {
	t, ok := parseTime(at)
	return ok && !refreshed.Before(t)
}

func (r *refreshTokenResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan refreshTokenResourceModel
	if !getInto(ctx, req.Plan, &plan, &resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Create, &resp.Diagnostics)
	defer cancel()
	client := r.data.apiKeyClient(issueOperation, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}

	plan.ID = plan.UserID
	if !r.issue(ctx, client, &plan, &resp.Diagnostics) {
		return
	}
	plan.TokenVersion = types.Int64Value(1)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
	setUserIdentity(ctx, resp.Identity, plan.UserID, &resp.Diagnostics)
}

const issueOperation = "issue a Point refresh token"

// issuedWithoutAnswer tells what a request to issue a token whose answer
// was lost may have left in Point: a valid token that state does not hold.
const issuedWithoutAnswer = "The request may have reached Point without its answer coming back. If it did, Point issued the user a new refresh token, " +
	"which replaced the current one and which state does not hold: the next refresh finds it, as rotated elsewhere, if state held a token for the user; " +
	"otherwise the next apply issues another, which replaces it. If the user leaves the configuration instead, revoke its token with deletion_policy = \"REVOKE\" " +
	"on its point_user or with the point_revoke_refresh_token action."

// answerMayBeLost reports whether a failed request may have reached Point
// and been carried out: no answer came (a timeout, a dropped connection,
// an interruption), or Point or a proxy answered with a server error.
func answerMayBeLost(err error) bool {
	var transportErr *point.TransportError
	var apiErr *point.Error
	return errors.As(err, &transportErr) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &apiErr) && apiErr.StatusCode >= 500
}

// issue asks Point for a new token and records it, with its times, in m.
// It reports whether it did.
func (r *refreshTokenResource) issue(ctx context.Context, client *point.Client, m *refreshTokenResourceModel, diags *diag.Diagnostics) bool {
	token, err := client.IssueRefreshToken(ctx, m.UserID.ValueString())
	if err != nil {
		action := fmt.Sprintf("issue a refresh token for Point user %q", m.UserID.ValueString())
		if point.IsUserNotFound(err) {
			action += ": Point has no such user; register it first, for example with a point_user resource"
		}
		detail := apiErrorDetail(action, err)
		if answerMayBeLost(err) {
			detail += "\n\n" + issuedWithoutAnswer
		}
		diags.AddError("Error Issuing Point Refresh Token", detail)
		return false
	}
	m.track(token)
	m.IssuedAt = types.StringValue(r.now().UTC().Format(time.RFC3339))
	m.RotateAt = rotateAt(m.IssuedAt, m.RotateAfter)
	return true
}

func (r *refreshTokenResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state refreshTokenResourceModel
	if !getInto(ctx, req.State, &state, &resp.Diagnostics) {
		return
	}
	// First, so that a resource removed below has one too.
	setUserIdentity(ctx, resp.Identity, state.UserID, &resp.Diagnostics)
	ctx, cancel := withTimeout(ctx, state.Timeouts.Read, &resp.Diagnostics)
	defer cancel()
	client := r.data.apiKeyClient("read a Point user's refresh token", &resp.Diagnostics)
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
			fmt.Sprintf("Point has no user with id %q any more, so the provider removed its refresh token from state. The next apply will issue a new one if the user exists again.", userID))
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Error Reading Point Refresh Token",
			apiErrorDetail(fmt.Sprintf("read the refresh token of Point user %q; its state is unchanged", userID), err))
		return
	}

	if state.StoreToken.IsNull() {
		state.StoreToken = types.BoolValue(true)
	}
	tracked := state.TokenSHA256.ValueString()
	if tracked == "" && !state.Token.IsNull() {
		tracked = tokenSHA256(state.Token.ValueString())
	}
	current := user.CurrentRefreshToken()
	switch {
	case importing:
		// Adopt the token the user holds now, without rotating it.
		state.track(current)
		state.TokenVersion = types.Int64Value(1)
		state.IssuedAt = types.StringNull()
		state.RotateAt = types.StringNull()
	case current == "" && state.storesToken():
		resp.Diagnostics.AddWarning("Point Refresh Token Revoked Elsewhere",
			fmt.Sprintf("Point user %q has no current refresh token: it was revoked elsewhere. The provider removed it from state; the next apply issues a new one.", userID))
		resp.State.RemoveResource(ctx)
		return
	case current == "":
		// Kept out of state, the resource stays, so that token_version
		// goes on growing when the next apply issues a new token.
		resp.Diagnostics.AddWarning("Point Refresh Token Revoked Elsewhere",
			fmt.Sprintf("Point user %q has no current refresh token: it was revoked elsewhere. The provider cleared token_sha256; "+
				"the next apply issues a new token in place and raises token_version.", userID))
		state.Token = types.StringNull()
		state.TokenSHA256 = types.StringNull()
		state.IssuedAt = types.StringNull()
		state.RotateAt = types.StringNull()
	case tokenSHA256(current) != tracked:
		resp.Diagnostics.AddWarning("Point Refresh Token Rotated Elsewhere",
			fmt.Sprintf("The refresh token of Point user %q was replaced elsewhere. The resource now tracks the new token and raised token_version; "+
				"issued_at and rotate_at are cleared because its issue time is unknown.", userID))
		state.track(current)
		state.TokenVersion = nextTokenVersion(state.TokenVersion)
		if state.TokenVersion.IsUnknown() {
			state.TokenVersion = types.Int64Value(1)
		}
		state.IssuedAt = types.StringNull()
		state.RotateAt = types.StringNull()
	default:
		// Unchanged; fills in what a state from before store_token lacks.
		state.track(current)
		if state.TokenVersion.IsNull() {
			state.TokenVersion = types.Int64Value(1)
		}
	}
	state.ID = state.UserID
	recordRefreshTime(ctx, resp.Private, r.now(), &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *refreshTokenResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state refreshTokenResourceModel
	if !getInto(ctx, req.Plan, &plan, &resp.Diagnostics) || !getInto(ctx, req.State, &state, &resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Update, &resp.Diagnostics)
	defer cancel()
	if resp.Diagnostics.HasError() {
		return
	}
	plan.ID = plan.UserID
	switch {
	case plan.TokenSHA256.IsUnknown():
		// A rotation, or a new token after one was revoked outside Terraform.
		client := r.data.apiKeyClient(issueOperation, &resp.Diagnostics)
		if client == nil || !r.issue(ctx, client, &plan, &resp.Diagnostics) {
			return
		}
		if plan.TokenVersion.IsUnknown() {
			plan.TokenVersion = nextTokenVersion(state.TokenVersion)
		}
		if plan.TokenVersion.IsUnknown() {
			plan.TokenVersion = types.Int64Value(1)
		}
	case plan.Token.IsUnknown():
		client := r.data.apiKeyClient("put a Point refresh token back into state (store_token = true), which reads it with the API key", &resp.Diagnostics)
		if client == nil || !putTokenBack(ctx, client, &plan, &resp.Diagnostics) {
			return
		}
		plan.RotateAt = rotateAt(plan.IssuedAt, plan.RotateAfter)
	default:
		plan.RotateAt = rotateAt(plan.IssuedAt, plan.RotateAfter)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
	setUserIdentity(ctx, resp.Identity, plan.UserID, &resp.Diagnostics)
}

// putTokenBack reads the tracked token with the API key, when store_token
// turns true, and records it in m. The token must still be the one that
// token_sha256 names: the plan promised no rotation. It reports whether it
// did.
func putTokenBack(ctx context.Context, client *point.Client, m *refreshTokenResourceModel, diags *diag.Diagnostics) bool {
	user, err := client.GetUser(ctx, m.UserID.ValueString())
	if err != nil {
		diags.AddError("Error Reading Point Refresh Token",
			apiErrorDetail(fmt.Sprintf("read the refresh token of Point user %q to put it back into state; its state is unchanged", m.UserID.ValueString()), err))
		return false
	}
	current := user.CurrentRefreshToken()
	if current == "" || tokenSHA256(current) != m.TokenSHA256.ValueString() {
		diags.AddAttributeError(path.Root("store_token"), "Point Refresh Token Changed Since the Plan",
			fmt.Sprintf("The refresh token of Point user %q was rotated or revoked elsewhere after the plan, so this apply did not put it back into state; its state is unchanged. "+
				"Apply again: its refresh picks up the change, and store_token = true then stores the current token.", m.UserID.ValueString()))
		return false
	}
	m.Token = types.StringValue(current)
	return true
}

func (r *refreshTokenResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state refreshTokenResourceModel
	if !getInto(ctx, req.State, &state, &resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, state.Timeouts.Delete, &resp.Diagnostics)
	defer cancel()
	userID := state.UserID.ValueString()
	token := ""
	if state.storesToken() {
		token = state.Token.ValueString()
	}
	var client *point.Client
	if token != "" {
		client = r.data.tokenClient("revoke a Point refresh token", &resp.Diagnostics)
	} else {
		client = r.data.apiKeyClient("revoke a Point refresh token kept out of state (store_token = false), which is read with the API key", &resp.Diagnostics)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	outcome, err := revokeTracked(ctx, client, userID, token, state.TokenSHA256.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Error Revoking Point Refresh Token",
			apiErrorDetail(fmt.Sprintf("revoke the refresh token of Point user %q; it stays in state", userID), err))
		return
	}
	warnTokenLeftValid(outcome, []string{userID}, 1, "point_refresh_token", resp.Diagnostics.AddWarning)
}

func (r *refreshTokenResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	var tokenFree bool
	req.ID, tokenFree = strings.CutSuffix(req.ID, importSuffixTokenFree)
	req.ID, _ = strings.CutSuffix(req.ID, importSuffixTokenStored)
	if importByUserID(ctx, req, resp) {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("store_token"), !tokenFree)...)
	}
}
