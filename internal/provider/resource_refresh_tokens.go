package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/areyoupoint/terraform-provider-point/internal/point"
)

var (
	_ resource.ResourceWithConfigure   = &refreshTokensResource{}
	_ resource.ResourceWithModifyPlan  = &refreshTokensResource{}
	_ resource.ResourceWithImportState = &refreshTokensResource{}
)

// privateKeyRotationOwed lists the users whose rotation an apply planned
// but could not carry out. A failed rotation keeps the old token, and the
// change of rotation_triggers that asked for it is in state already, so
// without this the next plan would not rotate them.
const privateKeyRotationOwed = "rotation_owed"

func newRefreshTokensResource() resource.Resource { return &refreshTokensResource{} }

type refreshTokensResource struct {
	configuredResource
}

// refreshTokensResourceModel is the plan and state of a point_refresh_tokens;
// its maps are keyed by user id.
type refreshTokensResourceModel struct {
	UserIDs          types.List     `tfsdk:"user_ids"`
	StoreToken       types.Bool     `tfsdk:"store_token"`
	Tokens           types.Map      `tfsdk:"tokens"`
	TokenSHA256      types.Map      `tfsdk:"token_sha256"`
	TokenVersion     types.Map      `tfsdk:"token_version"`
	IssuedAt         types.Map      `tfsdk:"issued_at"`
	RotateAfter      types.String   `tfsdk:"rotate_after"`
	RotateAt         types.Map      `tfsdk:"rotate_at"`
	RotationTriggers types.Map      `tfsdk:"rotation_triggers"`
	MaxConcurrency   types.Int64    `tfsdk:"max_concurrency"`
	Timeouts         timeouts.Value `tfsdk:"timeouts"`
}

// storesToken reports whether the tokens belong in state.
func (m *refreshTokensResourceModel) storesToken() bool {
	return m.StoreToken.IsNull() || m.StoreToken.IsUnknown() || m.StoreToken.ValueBool()
}

func (r *refreshTokensResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_refresh_tokens"
}

func (r *refreshTokensResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Issues and rotates the refresh tokens of any number of Point users as one resource: `point_refresh_token` for thousands of users, without the cost of a resource instance per user. " +
			"Each user's token rotates in place, on its own schedule or on demand; adding a user issues its token, and removing one, or destroying the resource, revokes it. " +
			"Requests run concurrently, `max_concurrency` at a time. With `store_token = false` no token reaches plan or state.",
		Attributes: map[string]schema.Attribute{
			"user_ids": userIDsAttribute("Ids of the Point users whose refresh tokens this resource owns, usually `point_users.<name>.user_ids`, in any order and each once. " +
				"Adding an id issues the user's token; removing one revokes it. Changing the list never replaces the resource."),
			"store_token": storeTokenAttribute("Whether to keep the tokens in state. Defaults to `true`. With `false`, `tokens` is null in plan and state, and the resource tracks each token by `token_sha256` and `token_version`: " +
				"read a token with the `point_refresh_token` ephemeral resource, or let `point_access_token` read it (omit its `refresh_token`). " +
				"Rotation, detection of changes made elsewhere, import and revocation work as with `true`; revocation then needs the organisation API key, with which it reads each token to revoke. " +
				"Changing it neither rotates nor revokes a token: `false` removes the tokens from state, `true` reads them with the API key and puts them back."),
			"tokens": schema.MapAttribute{
				MarkdownDescription: "The refresh tokens, by user id. Sensitive, and stored in state: protect state accordingly, and prefer the `point_access_token` ephemeral resource where a short-lived token will do. " +
					"Null when `store_token` is false.",
				ElementType: types.StringType,
				Computed:    true,
				Sensitive:   true,
			},
			"token_sha256": schema.MapAttribute{
				MarkdownDescription: "SHA-256 of each token, in lowercase hex, by user id: a fingerprint that identifies the token without revealing it. " +
					"Each refresh compares it with the user's current token in Point. A user whose token was revoked elsewhere has no entry until the next apply issues a new one.",
				ElementType: types.StringType,
				Computed:    true,
			},
			"token_version": schema.MapAttribute{
				MarkdownDescription: "By user id, a number that grows by one each time the token this resource tracks for the user changes: when this resource issues or rotates it, " +
					"and when a refresh finds it rotated elsewhere. It starts at 1 when the user is added or imported. " +
					"Use it as the `*_wo_version` of a write-only argument that receives the user's token, so that every new token is written and nothing else writes it again.",
				ElementType: types.Int64Type,
				Computed:    true,
			},
			"issued_at": schema.MapAttribute{
				MarkdownDescription: "When this provider issued each token (RFC 3339), by user id. A user whose token was adopted rather than issued by this resource (on import, or after it was rotated elsewhere) has no entry.",
				ElementType:         types.StringType,
				Computed:            true,
			},
			"rotate_after": rotateAfterAttribute("Rotate each token once this long has passed since its `issued_at`, as a duration such as `2160h` (90 days). " +
				"The first plan made after a token's `rotate_at` rotates that token alone: whether `rotate_at` has passed is decided by the refresh before the plan, so a saved plan applied later rotates only the tokens it showed, and with `-refresh=false` a plan rotates only the tokens that the last refresh saved in state found due. " +
				"Has no effect on a token without `issued_at` until this resource next issues one."),
			"rotate_at": schema.MapAttribute{
				MarkdownDescription: "When each token becomes due for rotation (RFC 3339), by user id: its `issued_at` plus `rotate_after`. Empty without `rotate_after`; a token without `issued_at` has no entry.",
				ElementType:         types.StringType,
				Computed:            true,
			},
			"rotation_triggers": rotationTriggersAttribute("Arbitrary values that rotate every token in place when any of them changes, for example `{ quarter = time_rotating.quarterly.id }`. " +
				"Set for the first time, they are recorded without rotating the tokens that have no `issued_at` (imported, or rotated elsewhere)."),
			"max_concurrency": maxConcurrencyAttribute(),
			"timeouts":        timeouts.Attributes(ctx, timeouts.Opts{Create: true, Read: true, Update: true, Delete: true}),
		},
	}
}

func (r *refreshTokensResource) now() time.Time {
	if r.data == nil {
		return time.Now()
	}
	return r.data.now()
}

// tokenRecord is what state records of one user's token.
type tokenRecord struct {
	token   string // "" when kept out of state
	sha256  string // "" once the token was revoked elsewhere, or the user is gone
	issued  string // "" for a token Terraform adopted rather than issued
	version int64
}

// tokenRecords are the records of a resource, by user id.
type tokenRecords map[string]*tokenRecord

func recordsOf(m refreshTokensResourceModel) tokenRecords {
	recs := tokenRecords{}
	get := func(id string) *tokenRecord {
		if recs[id] == nil {
			recs[id] = &tokenRecord{}
		}
		return recs[id]
	}
	tokens, _, _ := stringMap(m.Tokens)
	fingerprints, _, _ := stringMap(m.TokenSHA256)
	issued, _, _ := stringMap(m.IssuedAt)
	versions := int64Map(m.TokenVersion)
	for id, v := range fingerprints {
		get(id).sha256 = v
	}
	for id, v := range tokens {
		get(id).token = v
		if get(id).sha256 == "" {
			get(id).sha256 = tokenSHA256(v)
		}
	}
	for id, v := range issued {
		get(id).issued = v
	}
	for id, v := range versions {
		get(id).version = v
	}
	return recs
}

// record writes recs into m. With order, user_ids becomes the users of
// recs, in that order as far as it goes.
func (recs tokenRecords) record(m *refreshTokensResourceModel, order []string) {
	tokens, fingerprints, issued, rotate := map[string]string{}, map[string]string{}, map[string]string{}, map[string]string{}
	versions := map[string]int64{}
	for id, rec := range recs {
		if rec.token != "" {
			tokens[id] = rec.token
		}
		if rec.sha256 != "" {
			fingerprints[id] = rec.sha256
		}
		if rec.issued != "" {
			issued[id] = rec.issued
			if at := rotateAt(types.StringValue(rec.issued), m.RotateAfter); !at.IsNull() && !at.IsUnknown() {
				rotate[id] = at.ValueString()
			}
		}
		if rec.version > 0 {
			versions[id] = rec.version
		}
	}
	m.Tokens = types.MapNull(types.StringType)
	if m.storesToken() {
		m.Tokens = stringMapOf(tokens, nil)
	}
	m.TokenSHA256 = stringMapOf(fingerprints, nil)
	m.IssuedAt = stringMapOf(issued, nil)
	m.RotateAt = stringMapOf(rotate, nil)
	m.TokenVersion = int64MapOf(versions)
	if order != nil {
		m.UserIDs = idList(ordered(order, mapKeySet(recs)))
	}
}

// track records token as the user's current one.
func (rec *tokenRecord) track(token string, store bool) {
	rec.sha256 = tokenSHA256(token)
	rec.token = ""
	if store {
		rec.token = token
	}
}

// ModifyPlan decides which tokens an update issues: those of added users,
// of users whose token was revoked outside Terraform, those whose rotate_at
// had passed at the last refresh (privateKeyRefreshedAt: never the clock, so
// that the apply of a saved plan decides as the plan did), every one when
// rotation_triggers changed, and those whose rotation an earlier apply
// could not carry out. Only these show as unknown; the others keep their
// values.
func (r *refreshTokensResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		// Destroying tokens kept out of state reads them with the API key.
		var store types.Bool
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("store_token"), &store)...)
		if !store.IsNull() && !store.ValueBool() {
			r.data.refuseWithoutAPIKey("revoke Point refresh tokens kept out of state (store_token = false), which are read with the API key", &resp.Diagnostics)
		}
		return
	}
	if req.State.Raw.IsNull() {
		r.data.refuseWithoutAPIKey("issue Point refresh tokens", &resp.Diagnostics)
		// Everything else stays unknown: the apply that creates the resource
		// may record fewer tokens than planned.
		var store types.Bool
		resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("store_token"), &store)...)
		if !store.IsUnknown() && !store.IsNull() && !store.ValueBool() {
			resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("tokens"), types.MapNull(types.StringType))...)
		}
		return
	}
	owed := getPrivateIDs(ctx, req.Private, privateKeyRotationOwed, &resp.Diagnostics)
	// A token is due when its rotate_at had passed at the last refresh.
	refreshed := lastRefresh(ctx, req.Private, &resp.Diagnostics)
	// Most plans change nothing; then only a token missing, a rotation
	// that fell due, or one owed, matters, and reading three attributes is
	// far cheaper than the whole model.
	if req.Plan.Raw.Equal(req.State.Raw) && len(owed) == 0 {
		var scheduled, fingerprints types.Map
		var ids types.List
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("rotate_at"), &scheduled)...)
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("token_sha256"), &fingerprints)...)
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("user_ids"), &ids)...)
		// Every user tracked has a fingerprint: one missing is a token to issue.
		due := len(fingerprints.Elements()) < len(ids.Elements())
		times, _, _ := stringMap(scheduled)
		for _, at := range times {
			if dueBy(types.StringValue(at), refreshed) {
				due = true
				break
			}
		}
		if !due {
			return
		}
	}
	var plan, state refreshTokensResourceModel
	if !getInto(ctx, req.Plan, &plan, &resp.Diagnostics) || !getInto(ctx, req.State, &state, &resp.Diagnostics) {
		return
	}
	ids, known := listIDs(plan.UserIDs)
	if !known {
		r.data.refuseWithoutAPIKey("issue Point refresh tokens", &resp.Diagnostics)
		plan.Tokens, plan.TokenSHA256, plan.IssuedAt, plan.RotateAt = types.MapUnknown(types.StringType), types.MapUnknown(types.StringType), types.MapUnknown(types.StringType), types.MapUnknown(types.StringType)
		plan.TokenVersion = types.MapUnknown(types.Int64Type)
		if !plan.StoreToken.IsUnknown() && !plan.storesToken() {
			plan.Tokens = types.MapNull(types.StringType)
		}
		resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
		return
	}
	issue, putBack := planTokens(&plan, state, ids, owed, refreshed)
	if len(issue) > 0 {
		r.data.refuseWithoutAPIKey("issue Point refresh tokens", &resp.Diagnostics)
	} else if len(putBack) > 0 {
		r.data.refuseWithoutAPIKey("put Point refresh tokens back into state (store_token = true), which reads them with the API key", &resp.Diagnostics)
	}
	if !plan.StoreToken.IsUnknown() && !plan.storesToken() && state.storesToken() && len(state.Tokens.Elements()) > 0 {
		resp.Diagnostics.AddAttributeWarning(path.Root("store_token"), "Point Refresh Tokens Leave State",
			fmt.Sprintf("store_token is now false, so this apply removes the refresh tokens of %d users from state without rotating them. "+
				"Copies made before (state backups, the state history your backend keeps, saved plans) still hold them; to make those copies worthless, "+
				"also rotate the tokens, for example by changing rotation_triggers. To import tokens without them ever reaching plan or state, end the import ID with %q.",
				len(state.Tokens.Elements()), importSuffixTokenFree))
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
}

// planTokens sets the planned tokens, fingerprints, versions, issued_at and
// rotate_at of plan for the users ids, from state, with the tokens due at
// the refresh time refreshed. It returns the users whose token is issued,
// and those whose token goes back into state.
func planTokens(plan *refreshTokensResourceModel, state refreshTokensResourceModel, ids []string, owed map[string]bool, refreshed time.Time) (issue, putBack []string) {
	recs := recordsOf(state)
	triggersChanged := !plan.RotationTriggers.Equal(state.RotationTriggers)
	// Triggers set for the first time only rotate tokens Terraform issued,
	// so that importing tokens in use does not rotate them.
	firstTriggers := state.RotationTriggers.IsNull()

	tokens, fingerprints, issued, rotate := map[string]string{}, map[string]string{}, map[string]string{}, map[string]string{}
	versions := map[string]int64{}
	var unknownTokens, unknownRotate []string
	for _, id := range ids {
		rec := recs[id]
		if rec == nil {
			rec = &tokenRecord{}
		}
		at := types.StringNull()
		if rec.issued != "" {
			at = rotateAt(types.StringValue(rec.issued), plan.RotateAfter)
		}
		if rec.sha256 == "" || dueBy(at, refreshed) || owed[id] || (triggersChanged && (rec.issued != "" || !firstTriggers)) {
			issue = append(issue, id)
			unknownTokens = append(unknownTokens, id)
			versions[id] = rec.version + 1
			if !plan.RotateAfter.IsNull() {
				unknownRotate = append(unknownRotate, id)
			}
			continue
		}
		fingerprints[id] = rec.sha256
		versions[id] = rec.version
		if rec.issued != "" {
			issued[id] = rec.issued
		}
		switch {
		case at.IsUnknown():
			unknownRotate = append(unknownRotate, id)
		case !at.IsNull():
			rotate[id] = at.ValueString()
		}
		if rec.token != "" {
			tokens[id] = rec.token
		} else {
			putBack = append(putBack, id)
			unknownTokens = append(unknownTokens, id)
		}
	}
	switch {
	case plan.StoreToken.IsUnknown():
		plan.Tokens = types.MapUnknown(types.StringType)
	case !plan.storesToken():
		plan.Tokens = types.MapNull(types.StringType)
		putBack = nil
	default:
		plan.Tokens = stringMapOf(tokens, unknownTokens)
	}
	plan.TokenSHA256 = stringMapOf(fingerprints, issue)
	plan.IssuedAt = stringMapOf(issued, issue)
	plan.RotateAt = stringMapOf(rotate, unknownRotate)
	plan.TokenVersion = int64MapOf(versions)
	return issue, putBack
}

// issuing is the outcome of issuing tokens for a batch of users.
type issuing struct {
	*bulkResult
	tokens map[string]string
}

func (r *refreshTokensResource) issue(ctx context.Context, client *point.Client, ids []string, n int) *issuing {
	out := &issuing{tokens: map[string]string{}}
	var mu sync.Mutex
	out.bulkResult = forEachUser(ctx, ids, n, func(ctx context.Context, id string) error {
		token, err := client.IssueRefreshToken(ctx, id)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		out.tokens[id] = token
		return nil
	})
	return out
}

// report adds the diagnostics of issuing: errors, or warnings when the
// apply creates the resource, where an error would taint it.
func (g *issuing) report(ctx context.Context, total int, creating bool, diags *diag.Diagnostics) {
	w := bulkWording{
		add:             diags.AddAttributeError,
		at:              path.Root("user_ids"),
		operation:       "update",
		failedTitle:     "Error Issuing Point Refresh Tokens",
		notStartedTitle: "Point Refresh Tokens Not Issued",
		action:          "issue refresh tokens for",
		next:            "Users that had a token keep it; the next apply issues the others: its plan shows their tokens as unknown.",
		unanswered: "The requests may have reached Point without their answers coming back. Where one did, Point issued the user a new refresh token, " +
			"which replaced the current one and which state does not hold: the next refresh finds it, as rotated elsewhere, for a user whose token state held; " +
			"for the others the next apply issues another, which replaces it. If such a user leaves the configuration instead, revoke its token with " +
			"the point_revoke_refresh_token action, or with deletion_policy = \"REVOKE\" on its point_users.",
		hint: func(err error) string {
			if point.IsUserNotFound(err) {
				return ": Point has no such users; register them first, for example with point_users " +
					"(a point_users that could not register them in an earlier apply does so at the next apply with refresh)"
			}
			return ""
		},
	}
	if creating {
		w.add, w.operation = diags.AddAttributeWarning, "create"
		w.next = "Their tokens are not in state, and the next apply issues them: its plan shows their tokens as unknown. " +
			"The apply that creates point_refresh_tokens reports this as a warning rather than an error, because the CLI would mark the resource as tainted after an error, and the next apply would replace it, revoking every token."
		if len(g.tokens) == 0 {
			w.add = diags.AddAttributeError
			w.next = "No token was issued, so point_refresh_tokens was not created; the next apply creates it."
		}
	}
	g.bulkResult.report(ctx, total, w)
}

func (r *refreshTokensResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan refreshTokensResourceModel
	if !getInto(ctx, req.Plan, &plan, &resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Create, &resp.Diagnostics)
	defer cancel()
	client := r.data.apiKeyClient("issue Point refresh tokens", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	ids, _ := listIDs(plan.UserIDs)

	got := r.issue(ctx, client, ids, workers(plan.MaxConcurrency))
	got.report(ctx, len(ids), true, &resp.Diagnostics)
	if len(got.tokens) == 0 && len(ids) > 0 {
		return
	}
	issuedAt := r.now().UTC().Format(time.RFC3339)
	recs := tokenRecords{}
	for id, token := range got.tokens {
		rec := &tokenRecord{issued: issuedAt, version: 1}
		rec.track(token, plan.storesToken())
		recs[id] = rec
	}
	// user_ids stays as planned, or Terraform would call the result
	// inconsistent; a user without a token shows in the next plan as a
	// token to issue.
	recs.record(&plan, nil)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *refreshTokensResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state refreshTokensResourceModel
	if !getInto(ctx, req.State, &state, &resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, state.Timeouts.Read, &resp.Diagnostics)
	defer cancel()
	client := r.data.apiKeyClient("read Point users' refresh tokens", &resp.Diagnostics)
	ids, _ := listIDs(state.UserIDs)
	importing := takeImportMark(ctx, resp.Private, &resp.Diagnostics)
	owed := getPrivateIDs(ctx, resp.Private, privateKeyRotationOwed, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if state.StoreToken.IsNull() {
		state.StoreToken = types.BoolValue(true)
	}
	store := state.storesToken()
	recs := recordsOf(state)
	// Users the last apply could not issue a token for have no record:
	// nothing to read, and the next plan issues them one.
	var check []string
	for _, id := range ids {
		if recs[id] != nil || importing {
			check = append(check, id)
		}
	}

	var mu sync.Mutex
	var gone, revoked, rotated []string
	res := forEachUser(ctx, check, workers(state.MaxConcurrency), func(ctx context.Context, id string) error {
		user, err := client.GetUser(ctx, id)
		mu.Lock()
		defer mu.Unlock()
		rec := recs[id]
		if rec == nil {
			rec = &tokenRecord{}
			recs[id] = rec
		}
		current := ""
		if err == nil {
			current = user.CurrentRefreshToken()
		}
		switch {
		case point.IsUserNotFound(err):
			gone = append(gone, id)
			*rec = tokenRecord{version: rec.version}
		case err != nil:
			return err
		case current == "":
			if rec.sha256 != "" || importing {
				revoked = append(revoked, id)
			}
			*rec = tokenRecord{version: rec.version}
		case importing:
			// Adopt the token the user holds now, without rotating it.
			*rec = tokenRecord{version: 1}
			rec.track(current, store)
		case tokenSHA256(current) != rec.sha256:
			rotated = append(rotated, id)
			*rec = tokenRecord{version: rec.version + 1}
			rec.track(current, store)
		case store && rec.token == "":
			rec.token = current
		}
		return nil
	})
	res.failNotStartedReads(ctx)
	failed := &res.failed

	at := path.Root("user_ids")
	if importing {
		if len(gone)+len(revoked) > 0 {
			var why []string
			if len(gone) > 0 {
				why = append(why, fmt.Sprintf("Point has no user with the ids %s.", quoteIDs(gone)))
			}
			if len(revoked) > 0 {
				why = append(why, fmt.Sprintf("The users %s have no current refresh token: none was issued, or it was revoked.", quoteIDs(revoked)))
			}
			resp.Diagnostics.AddAttributeError(at, "Cannot Import Point Refresh Tokens",
				fmt.Sprintf("Cannot import the refresh tokens of %d of the users imported. %s "+
					"Leave them out of the import ID, and let apply issue their tokens once they are in user_ids; if an id is wrong, correct it.",
					len(gone)+len(revoked), strings.Join(why, " ")))
		}
		failed.each(func(ids []string, err error) {
			resp.Diagnostics.AddAttributeError(at, "Error Reading Point Refresh Tokens",
				apiErrorDetail(fmt.Sprintf("read the refresh tokens of %s to import them", countOf(len(ids), len(check), "user")), err))
		})
		if resp.Diagnostics.HasError() {
			return
		}
	} else if !readFailuresTolerable(failed, len(check), "refresh token", &resp.Diagnostics) {
		return
	}
	if len(gone) > 0 {
		resp.Diagnostics.AddAttributeWarning(at, "Point Users Not Found",
			fmt.Sprintf("Point has no users with %d of the ids in user_ids any more (%s), so the provider removed their refresh tokens from state. "+
				"The next apply issues new ones if the users exist again.", len(gone), quoteIDs(gone)))
	}
	if len(revoked) > 0 {
		resp.Diagnostics.AddAttributeWarning(at, "Point Refresh Tokens Revoked Elsewhere",
			fmt.Sprintf("%d users of user_ids have no current refresh token (%s): it was revoked elsewhere. The provider removed those tokens from state; the next apply issues new ones.",
				len(revoked), quoteIDs(revoked)))
	}
	if len(rotated) > 0 {
		resp.Diagnostics.AddAttributeWarning(at, "Point Refresh Tokens Rotated Elsewhere",
			fmt.Sprintf("The refresh tokens of %d users (%s) were replaced elsewhere. The resource now tracks the new tokens and raised their token_version; "+
				"their issued_at and rotate_at are cleared because their issue time is unknown.",
				len(rotated), quoteIDs(rotated)))
	}
	for id := range owed {
		if rec := recs[id]; rec == nil || rec.sha256 == "" {
			delete(owed, id)
		}
	}
	// user_ids stays as it is: a user whose token is missing shows in the
	// next plan as a token to issue.
	recs.record(&state, nil)
	setPrivateIDs(ctx, resp.Private, privateKeyRotationOwed, owed, &resp.Diagnostics)
	recordRefreshTime(ctx, resp.Private, r.now(), &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *refreshTokensResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state refreshTokensResourceModel
	if !getInto(ctx, req.Plan, &plan, &resp.Diagnostics) || !getInto(ctx, req.State, &state, &resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Update, &resp.Diagnostics)
	defer cancel()
	ids, _ := listIDs(plan.UserIDs)
	stateIDs, _ := listIDs(state.UserIDs)
	owed := getPrivateIDs(ctx, req.Private, privateKeyRotationOwed, &resp.Diagnostics)
	refreshed := lastRefresh(ctx, req.Private, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	store := plan.storesToken()
	recs := recordsOf(state)
	plannedVersions := int64Map(plan.TokenVersion)

	// Issue exactly the tokens the plan left unknown.
	_, toIssue, planKnown := stringMap(plan.TokenSHA256)
	_, toPutBack, _ := stringMap(plan.Tokens)
	if !planKnown {
		decided := plan
		toIssue, toPutBack = planTokens(&decided, state, ids, owed, refreshed)
		plannedVersions = int64Map(decided.TokenVersion)
	}
	toPutBack = without(toPutBack, toIssue)
	inPlan := toSet(ids)
	var toRevoke []string
	for id, rec := range recs {
		switch {
		case inPlan[id]:
		case rec.sha256 == "":
			delete(recs, id)
		default:
			toRevoke = append(toRevoke, id)
		}
	}
	n := workers(plan.MaxConcurrency)

	// Tokens kept out of state are read with the API key to be revoked.
	needKey := len(toIssue) > 0 || len(toPutBack) > 0
	for _, id := range toRevoke {
		needKey = needKey || recs[id].token == ""
	}
	var client *point.Client
	if needKey {
		client = r.data.apiKeyClient("issue Point refresh tokens, or read those kept out of state", &resp.Diagnostics)
	} else {
		client = r.data.tokenClient("revoke Point refresh tokens", &resp.Diagnostics)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	got := r.issue(ctx, client, toIssue, n)
	got.report(ctx, len(toIssue), false, &resp.Diagnostics)
	issuedAt := r.now().UTC().Format(time.RFC3339)
	for id, token := range got.tokens {
		rec := recs[id]
		if rec == nil {
			rec = &tokenRecord{}
			recs[id] = rec
		}
		version := rec.version + 1
		if planned, ok := plannedVersions[id]; ok {
			version = planned
		}
		*rec = tokenRecord{issued: issuedAt, version: version}
		rec.track(token, store)
		delete(owed, id)
	}
	for _, id := range slices.Concat(got.failed.ids(), got.notStarted) {
		if rec := recs[id]; rec != nil && rec.sha256 != "" {
			owed[id] = true
		}
	}
	if len(toPutBack) > 0 {
		r.putBack(ctx, client, recs, toPutBack, n, &resp.Diagnostics)
	}
	// Revoked before the tokens leave state, which would make revoking
	// them need the API key.
	for _, id := range r.revoke(ctx, client, "update", recs, toRevoke, n, &resp.Diagnostics) {
		delete(recs, id)
		delete(owed, id)
	}
	if !store {
		for _, rec := range recs {
			rec.token = ""
		}
	}
	recs.record(&plan, slices.Concat(ids, stateIDs))
	setPrivateIDs(ctx, resp.Private, privateKeyRotationOwed, owed, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

// putBack reads the tokens of ids with the API key, when store_token turns
// true, and records them. Each must still be the token its fingerprint
// names: the plan promised no rotation.
func (r *refreshTokensResource) putBack(ctx context.Context, client *point.Client, recs tokenRecords, ids []string, n int, diags *diag.Diagnostics) {
	var mu sync.Mutex
	var changed []string
	res := forEachUser(ctx, ids, n, func(ctx context.Context, id string) error {
		user, err := client.GetUser(ctx, id)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		rec := recs[id]
		if current := user.CurrentRefreshToken(); current == "" || tokenSHA256(current) != rec.sha256 {
			changed = append(changed, id)
		} else {
			rec.token = current
		}
		return nil
	})
	at := path.Root("store_token")
	res.report(ctx, len(ids), bulkWording{
		add:             diags.AddAttributeError,
		at:              at,
		operation:       "update",
		failedTitle:     "Error Reading Point Refresh Tokens",
		notStartedTitle: "Point Refresh Tokens Not Read",
		action:          "read the refresh tokens of",
		after:           " to put them back into state; they stay out of state until the next apply",
	})
	if len(changed) > 0 {
		diags.AddAttributeError(at, "Point Refresh Tokens Changed Since the Plan",
			fmt.Sprintf("The refresh tokens of %s (%s) were rotated or revoked elsewhere after the plan, so this apply did not put them back into state. "+
				"Apply again: its refresh picks up the change, and store_token = true then stores the current tokens.", countOf(len(changed), len(ids), "user"), quoteIDs(changed)))
	}
}

// revoke revokes the tokens of ids and returns the users whose token is
// revoked, or was no longer current. A token kept out of state is read
// with the API key first, and revoked only while it is the one recorded.
func (r *refreshTokensResource) revoke(ctx context.Context, client *point.Client, operation string, recs tokenRecords, ids []string, n int, diags *diag.Diagnostics) []string {
	var mu sync.Mutex
	left := map[trackedRevocation][]string{}
	res := forEachUser(ctx, ids, n, func(ctx context.Context, id string) error {
		outcome, err := revokeTracked(ctx, client, id, recs[id].token, recs[id].sha256)
		mu.Lock()
		defer mu.Unlock()
		left[outcome] = append(left[outcome], id)
		return err
	})
	for _, outcome := range []trackedRevocation{trackedReplaced, trackedStale} {
		warnTokenLeftValid(outcome, left[outcome], len(ids), "point_refresh_tokens", func(summary, detail string) {
			diags.AddAttributeWarning(path.Root("user_ids"), summary, detail)
		})
	}
	res.report(ctx, len(ids), bulkWording{
		add:             diags.AddAttributeError,
		at:              path.Root("user_ids"),
		operation:       operation,
		failedTitle:     "Error Revoking Point Refresh Tokens",
		notStartedTitle: "Point Refresh Tokens Not Revoked",
		action:          "revoke the refresh tokens of",
		after:           "; they stay in state, and the next apply or destroy tries again",
	})
	return res.done
}

func (r *refreshTokensResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state refreshTokensResourceModel
	if !getInto(ctx, req.State, &state, &resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, state.Timeouts.Delete, &resp.Diagnostics)
	defer cancel()
	client := r.data.tokenClient("revoke Point refresh tokens", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	ids, _ := listIDs(state.UserIDs)
	recs := recordsOf(state)
	var toRevoke []string
	for id, rec := range recs {
		if rec.sha256 != "" {
			toRevoke = append(toRevoke, id)
		}
	}
	done := r.revoke(ctx, client, "delete", recs, toRevoke, workers(state.MaxConcurrency), &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		// What is left in state is exactly what is still to revoke.
		for _, id := range done {
			delete(recs, id)
		}
		for id, rec := range recs {
			if rec.sha256 == "" {
				delete(recs, id)
			}
		}
		recs.record(&state, ids)
		resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
	}
}

func (r *refreshTokensResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if refuseImportIdentity(req, resp, "point_refresh_tokens") {
		return
	}
	id, tokenFree := strings.CutSuffix(req.ID, importSuffixTokenFree)
	id, _ = strings.CutSuffix(id, importSuffixTokenStored)
	ids, ok := importUserIDs(id, &resp.Diagnostics)
	if !ok {
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("user_ids"), idList(ids))...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("store_token"), !tokenFree)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("max_concurrency"), int64(defaultMaxConcurrency))...)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateKeyImported, []byte(`true`))...)
}
