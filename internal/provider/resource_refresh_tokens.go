package provider

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/areyoupoint/terraform-provider-point/internal/point"
	"github.com/areyoupoint/terraform-provider-point/internal/validators"
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
	data *providerData
}

type refreshTokensResourceModel struct {
	UserIDs          types.List     `tfsdk:"user_ids"`
	Tokens           types.Map      `tfsdk:"tokens"`
	IssuedAt         types.Map      `tfsdk:"issued_at"`
	RotateAfter      types.String   `tfsdk:"rotate_after"`
	RotateAt         types.Map      `tfsdk:"rotate_at"`
	RotationTriggers types.Map      `tfsdk:"rotation_triggers"`
	MaxConcurrency   types.Int64    `tfsdk:"max_concurrency"`
	Timeouts         timeouts.Value `tfsdk:"timeouts"`
}

func (r *refreshTokensResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_refresh_tokens"
}

func (r *refreshTokensResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Issues and rotates the refresh tokens of any number of Point users as one resource: `point_refresh_token` for thousands of users, without Terraform's cost per resource instance. " +
			"Each user's token rotates in place, on its own schedule or on demand; adding a user issues its token, and removing one, or destroying the resource, revokes it. " +
			"Requests run concurrently, `max_concurrency` at a time.",
		Attributes: map[string]schema.Attribute{
			"user_ids": userIDsAttribute("Ids of the Point users whose refresh tokens this resource owns, usually `point_users.<name>.user_ids`. " +
				"Adding an id issues the user's token; removing one revokes it. Changing the set never replaces the resource."),
			"tokens": schema.MapAttribute{
				MarkdownDescription: "The refresh tokens, by user id. Sensitive, and stored in state: protect state accordingly, and prefer the `point_access_token` ephemeral resource where a short-lived token will do.",
				ElementType:         types.StringType,
				Computed:            true,
				Sensitive:           true,
			},
			"issued_at": schema.MapAttribute{
				MarkdownDescription: "When this provider issued each token (RFC 3339), by user id. A user whose token was adopted rather than issued by Terraform (on import, or after it was rotated outside Terraform) has no entry.",
				ElementType:         types.StringType,
				Computed:            true,
			},
			"rotate_after": schema.StringAttribute{
				MarkdownDescription: "Rotate each token once this long has passed since its `issued_at`, as a duration such as `2160h` (90 days). " +
					"The first plan made after a token's `rotate_at` rotates that token alone. Has no effect on a token without `issued_at` until Terraform next issues one.",
				Optional:   true,
				Validators: []validator.String{validators.Duration()},
			},
			"rotate_at": schema.MapAttribute{
				MarkdownDescription: "When each token becomes due for rotation (RFC 3339), by user id: its `issued_at` plus `rotate_after`. Empty without `rotate_after`; a token without `issued_at` has no entry.",
				ElementType:         types.StringType,
				Computed:            true,
			},
			"rotation_triggers": schema.MapAttribute{
				MarkdownDescription: "Arbitrary values that rotate every token in place when any of them changes, for example `{ quarter = time_rotating.quarterly.id }`. " +
					"Set for the first time, they are recorded without rotating the tokens that have no `issued_at` (imported, or rotated outside Terraform).",
				ElementType: types.StringType,
				Optional:    true,
			},
			"max_concurrency": maxConcurrencyAttribute(),
			"timeouts":        timeouts.Attributes(ctx, timeouts.Opts{Create: true, Read: true, Update: true, Delete: true}),
		},
	}
}

func (r *refreshTokensResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = fromProviderData(req.ProviderData, &resp.Diagnostics)
}

func (r *refreshTokensResource) now() time.Time {
	if r.data == nil {
		return time.Now()
	}
	return r.data.now()
}

// ModifyPlan decides which tokens an update issues: those of added users,
// those whose rotate_at has passed, every one when rotation_triggers
// changed, and those whose rotation an earlier apply could not carry out.
// Only these show as unknown; the others keep their values.
func (r *refreshTokensResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	if req.State.Raw.IsNull() {
		r.data.refuseWithoutAPIKey("issue Point refresh tokens", &resp.Diagnostics)
		return
	}
	owed := getPrivateIDs(ctx, req.Private, privateKeyRotationOwed, &resp.Diagnostics)
	// Most plans change nothing; then only a rotation that fell due, or
	// one owed, matters, and reading one attribute is far cheaper than the
	// whole model.
	if req.Plan.Raw.Equal(req.State.Raw) && len(owed) == 0 {
		var scheduled, tokens types.Map
		var ids types.List
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("rotate_at"), &scheduled)...)
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("tokens"), &tokens)...)
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("user_ids"), &ids)...)
		times, _, _ := stringMap(scheduled)
		now := r.now()
		// Tokens are a subset of user_ids: any missing one is to issue.
		due := len(tokens.Elements()) < len(ids.Elements())
		for _, at := range times {
			if t, err := time.Parse(time.RFC3339, at); err == nil && !now.Before(t) {
				due = true
				break
			}
		}
		if !due {
			return
		}
	}
	var plan, state refreshTokensResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ids, known := listIDs(plan.UserIDs)
	if !known {
		r.data.refuseWithoutAPIKey("issue Point refresh tokens", &resp.Diagnostics)
		plan.Tokens, plan.IssuedAt, plan.RotateAt = types.MapUnknown(types.StringType), types.MapUnknown(types.StringType), types.MapUnknown(types.StringType)
		resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
		return
	}
	issue := r.planTokens(&plan, state, ids, owed)
	if len(issue) > 0 {
		r.data.refuseWithoutAPIKey("issue Point refresh tokens", &resp.Diagnostics)
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
}

// planTokens sets the planned tokens, issued_at and rotate_at of plan, for
// the users ids, from state, and returns the users whose token is issued.
func (r *refreshTokensResource) planTokens(plan *refreshTokensResourceModel, state refreshTokensResourceModel, ids []string, owed map[string]bool) (issue []string) {
	stateTokens, _, _ := stringMap(state.Tokens)
	stateIssued, _, _ := stringMap(state.IssuedAt)
	triggersChanged := !plan.RotationTriggers.Equal(state.RotationTriggers)
	// Triggers set for the first time only rotate tokens Terraform issued,
	// so that importing tokens in use does not rotate them.
	firstTriggers := state.RotationTriggers.IsNull()
	now := r.now()

	tokens := make(map[string]string, len(ids))
	issued := make(map[string]string, len(ids))
	rotate := make(map[string]string, len(ids))
	var unknownRotate []string
	for _, id := range ids {
		token, has := stateTokens[id]
		issuedAt, hasIssued := stateIssued[id]
		at := types.StringNull()
		if hasIssued {
			at = rotateAt(types.StringValue(issuedAt), plan.RotateAfter)
		}
		due := false
		if t, ok := parseTime(at); ok && !now.Before(t) {
			due = true
		}
		if !has || due || owed[id] || (triggersChanged && (hasIssued || !firstTriggers)) {
			issue = append(issue, id)
			if !plan.RotateAfter.IsNull() {
				unknownRotate = append(unknownRotate, id)
			}
			continue
		}
		tokens[id] = token
		if hasIssued {
			issued[id] = issuedAt
		}
		switch {
		case at.IsUnknown():
			unknownRotate = append(unknownRotate, id)
		case !at.IsNull():
			rotate[id] = at.ValueString()
		}
	}
	plan.Tokens = mapOf(tokens, issue)
	plan.IssuedAt = mapOf(issued, issue)
	plan.RotateAt = mapOf(rotate, unknownRotate)
	return issue
}

// tokenSet is what state records of the tokens: by user id, the token,
// and when Terraform issued it, for the tokens it issued.
type tokenSet struct {
	tokens map[string]string
	issued map[string]string
}

// apply records s in m; with order, user_ids becomes the users of s, in
// that order as far as it goes.
func (s tokenSet) apply(m *refreshTokensResourceModel, order []string) {
	m.Tokens = mapOf(s.tokens, nil)
	m.IssuedAt = mapOf(s.issued, nil)
	rotate := map[string]string{}
	for id, issuedAt := range s.issued {
		if at := rotateAt(types.StringValue(issuedAt), m.RotateAfter); !at.IsNull() && !at.IsUnknown() {
			rotate[id] = at.ValueString()
		}
	}
	m.RotateAt = mapOf(rotate, nil)
	if order != nil {
		m.UserIDs = idList(ordered(order, mapKeySet(s.tokens)))
	}
}

// issuing is the outcome of issuing tokens for a batch of users.
type issuing struct {
	mu         sync.Mutex
	tokens     map[string]string
	failed     failures
	notStarted []string
}

func (r *refreshTokensResource) issue(ctx context.Context, client *point.Client, ids []string, n int) *issuing {
	out := &issuing{tokens: map[string]string{}}
	out.notStarted = runBulk(ctx, ids, n, func(ctx context.Context, id string) {
		token, err := client.IssueRefreshToken(ctx, id)
		out.mu.Lock()
		defer out.mu.Unlock()
		if err != nil {
			out.failed.add(id, err)
			return
		}
		out.tokens[id] = token
	})
	return out
}

// report adds the diagnostics of issuing: errors, or warnings when the
// apply creates the resource, where an error would taint it.
func (g *issuing) report(ctx context.Context, total int, creating bool, diags *diag.Diagnostics) {
	add := diags.AddAttributeError
	operation := "update"
	next := "Users that had a token keep it; the next apply issues the others: its plan shows their tokens as unknown."
	if creating {
		add, operation = diags.AddAttributeWarning, "create"
		next = "Their tokens are not in state, and the next apply issues them: its plan shows them as additions to user_ids. " +
			"The apply that creates point_refresh_tokens reports this as a warning rather than an error, because Terraform would mark the resource as tainted after an error, and the next apply would replace it, revoking every token."
		if len(g.tokens) == 0 {
			add = diags.AddAttributeError
			next = "No token was issued, so point_refresh_tokens was not created; the next apply creates it."
		}
	}
	at := path.Root("user_ids")
	g.failed.each(func(ids []string, err error) {
		action := fmt.Sprintf("issue refresh tokens for %s (%s)", countOf(len(ids), total, "user"), quoteIDs(ids))
		if point.IsUserNotFound(err) {
			action += ": Point has no such users; register them first, for example with point_users"
		}
		add(at, "Error Issuing Point Refresh Tokens", apiErrorDetail(action, err)+"\n\n"+next)
	})
	if len(g.notStarted) > 0 {
		add(at, "Point Refresh Tokens Not Issued",
			fmt.Sprintf("%s before Terraform could issue refresh tokens for %s (%s). %s", stopped(ctx, operation),
				countOf(len(g.notStarted), total, "user"), quoteIDs(g.notStarted), next))
	}
}

func (r *refreshTokensResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan refreshTokensResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Create, &resp.Diagnostics)
	defer cancel()
	client, diags := r.data.apiKeyClient("issue Point refresh tokens")
	resp.Diagnostics.Append(diags...)
	ids, _ := listIDs(plan.UserIDs)
	if resp.Diagnostics.HasError() {
		return
	}

	got := r.issue(ctx, client, ids, workers(plan.MaxConcurrency))
	got.report(ctx, len(ids), true, &resp.Diagnostics)
	if len(got.tokens) == 0 && len(ids) > 0 {
		return
	}
	issuedAt := r.now().UTC().Format(time.RFC3339)
	set := tokenSet{tokens: got.tokens, issued: map[string]string{}}
	for id := range got.tokens {
		set.issued[id] = issuedAt
	}
	// user_ids stays as planned, or Terraform would call the result
	// inconsistent; the next refresh takes out the users without a token.
	set.apply(&plan, nil)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *refreshTokensResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state refreshTokensResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := withTimeout(ctx, state.Timeouts.Read, &resp.Diagnostics)
	defer cancel()
	client, diags := r.data.apiKeyClient("read Point users' refresh tokens")
	resp.Diagnostics.Append(diags...)
	ids, _ := listIDs(state.UserIDs)
	importing := takeImportMark(ctx, resp.Private, &resp.Diagnostics)
	owed := getPrivateIDs(ctx, resp.Private, privateKeyRotationOwed, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	// Import leaves tokens null: every user's current token is adopted.
	adopting := state.Tokens.IsNull()
	stateTokens, _, _ := stringMap(state.Tokens)
	stateIssued, _, _ := stringMap(state.IssuedAt)
	var check []string
	for _, id := range ids {
		if _, ok := stateTokens[id]; ok || adopting {
			check = append(check, id)
		}
	}

	var mu sync.Mutex
	set := tokenSet{tokens: map[string]string{}, issued: map[string]string{}}
	var gone, revoked, rotated []string
	var failed failures
	notStarted := runBulk(ctx, check, workers(state.MaxConcurrency), func(ctx context.Context, id string) {
		user, err := client.GetUser(ctx, id)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case point.IsUserNotFound(err):
			gone = append(gone, id)
		case err != nil:
			failed.add(id, err)
		case user.CurrentRefreshToken() == "":
			revoked = append(revoked, id)
		case adopting:
			set.tokens[id] = user.CurrentRefreshToken()
		case user.CurrentRefreshToken() != stateTokens[id]:
			rotated = append(rotated, id)
			set.tokens[id] = user.CurrentRefreshToken()
		default:
			set.tokens[id] = stateTokens[id]
			if issuedAt, ok := stateIssued[id]; ok {
				set.issued[id] = issuedAt
			}
		}
	})
	for _, id := range notStarted {
		failed.add(id, fmt.Errorf("get user: %s before the request was made", stopped(ctx, "read")))
	}

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
	} else if !readFailuresTolerable(&failed, len(check), "refresh token", &resp.Diagnostics) {
		return
	}
	// A token not read this time stays as it was.
	for _, id := range failed.ids() {
		set.tokens[id] = stateTokens[id]
		if issuedAt, ok := stateIssued[id]; ok {
			set.issued[id] = issuedAt
		}
	}
	if len(gone) > 0 {
		resp.Diagnostics.AddAttributeWarning(at, "Point Users Not Found",
			fmt.Sprintf("Point has no users with %d of the ids in user_ids any more (%s), so Terraform removed their refresh tokens from state. "+
				"The next apply issues new ones if the users exist again.", len(gone), quoteIDs(gone)))
	}
	if len(revoked) > 0 {
		resp.Diagnostics.AddAttributeWarning(at, "Point Refresh Tokens Revoked Outside Terraform",
			fmt.Sprintf("%d users of user_ids have no current refresh token (%s): it was revoked outside Terraform. Terraform removed those tokens from state; the next apply issues new ones.",
				len(revoked), quoteIDs(revoked)))
	}
	if len(rotated) > 0 {
		resp.Diagnostics.AddAttributeWarning(at, "Point Refresh Tokens Rotated Outside Terraform",
			fmt.Sprintf("The refresh tokens of %d users (%s) were replaced outside Terraform. Terraform now tracks the new tokens; their issued_at and rotate_at are cleared because their issue time is unknown.",
				len(rotated), quoteIDs(rotated)))
	}
	for id := range owed {
		if _, ok := set.tokens[id]; !ok {
			delete(owed, id)
		}
	}
	// user_ids stays as it is: a user whose token is missing shows in the
	// next plan as a token to issue.
	set.apply(&state, nil)
	setPrivateIDs(ctx, resp.Private, privateKeyRotationOwed, owed, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *refreshTokensResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state refreshTokensResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Update, &resp.Diagnostics)
	defer cancel()
	ids, _ := listIDs(plan.UserIDs)
	stateIDs, _ := listIDs(state.UserIDs)
	owed := getPrivateIDs(ctx, req.Private, privateKeyRotationOwed, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	stateTokens, _, _ := stringMap(state.Tokens)
	stateIssued, _, _ := stringMap(state.IssuedAt)

	// Issue exactly the tokens the plan left unknown: deciding again now
	// could rotate one more whose rotate_at passed since the plan.
	_, toIssue, planKnown := stringMap(plan.Tokens)
	if !planKnown {
		decided := plan
		toIssue = r.planTokens(&decided, state, ids, owed)
	}
	inPlan := toSet(ids)
	var toRevoke []string
	for id := range stateTokens {
		if !inPlan[id] {
			toRevoke = append(toRevoke, id)
		}
	}
	n := workers(plan.MaxConcurrency)

	set := tokenSet{tokens: map[string]string{}, issued: map[string]string{}}
	for id, token := range stateTokens {
		set.tokens[id] = token
		if issuedAt, ok := stateIssued[id]; ok {
			set.issued[id] = issuedAt
		}
	}
	if len(toIssue) > 0 {
		client, diags := r.data.apiKeyClient("issue Point refresh tokens")
		resp.Diagnostics.Append(diags...)
		if resp.Diagnostics.HasError() {
			return
		}
		got := r.issue(ctx, client, toIssue, n)
		got.report(ctx, len(toIssue), false, &resp.Diagnostics)
		issuedAt := r.now().UTC().Format(time.RFC3339)
		for id, token := range got.tokens {
			set.tokens[id] = token
			set.issued[id] = issuedAt
			delete(owed, id)
		}
		for _, id := range append(got.failed.ids(), got.notStarted...) {
			if _, had := stateTokens[id]; had {
				owed[id] = true
			}
		}
	}
	if len(toRevoke) > 0 {
		client, diags := r.data.tokenClient("revoke Point refresh tokens")
		resp.Diagnostics.Append(diags...)
		if !diags.HasError() {
			for _, id := range r.revoke(ctx, client, stateTokens, toRevoke, n, &resp.Diagnostics) {
				delete(set.tokens, id)
				delete(set.issued, id)
				delete(owed, id)
			}
		}
	}
	set.apply(&plan, slices.Concat(ids, stateIDs))
	setPrivateIDs(ctx, resp.Private, privateKeyRotationOwed, owed, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

// revoke revokes the tokens of ids and returns the users whose token is
// revoked, or was no longer current.
func (r *refreshTokensResource) revoke(ctx context.Context, client *point.Client, tokens map[string]string, ids []string, n int, diags *diag.Diagnostics) []string {
	var mu sync.Mutex
	var done []string
	var failed failures
	notStarted := runBulk(ctx, ids, n, func(ctx context.Context, id string) {
		err := revokeRefreshToken(ctx, client, id, tokens[id])
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failed.add(id, err)
			return
		}
		done = append(done, id)
	})
	at := path.Root("user_ids")
	failed.each(func(failedIDs []string, err error) {
		diags.AddAttributeError(at, "Error Revoking Point Refresh Tokens",
			apiErrorDetail(fmt.Sprintf("revoke the refresh tokens of %s (%s); they stay in state, and the next apply or destroy tries again", countOf(len(failedIDs), len(ids), "user"), quoteIDs(failedIDs)), err))
	})
	if len(notStarted) > 0 {
		diags.AddAttributeError(at, "Point Refresh Tokens Not Revoked",
			fmt.Sprintf("%s before Terraform could revoke the refresh tokens of %s (%s); they stay in state, and the next apply or destroy tries again.",
				stopped(ctx, "delete"), countOf(len(notStarted), len(ids), "user"), quoteIDs(notStarted)))
	}
	return done
}

func (r *refreshTokensResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state refreshTokensResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := withTimeout(ctx, state.Timeouts.Delete, &resp.Diagnostics)
	defer cancel()
	client, diags := r.data.tokenClient("revoke Point refresh tokens")
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ids, _ := listIDs(state.UserIDs)
	tokens, _, _ := stringMap(state.Tokens)
	issued, _, _ := stringMap(state.IssuedAt)
	done := r.revoke(ctx, client, tokens, slices.Collect(maps.Keys(tokens)), workers(state.MaxConcurrency), &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		// What is left in state is exactly what is still to revoke.
		for _, id := range done {
			delete(tokens, id)
			delete(issued, id)
		}
		tokenSet{tokens: tokens, issued: issued}.apply(&state, ids)
		resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
	}
}

func (r *refreshTokensResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if refuseImportIdentity(req, resp, "point_refresh_tokens") {
		return
	}
	ids, ok := importUserIDs(req.ID, &resp.Diagnostics)
	if !ok {
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("user_ids"), idList(ids))...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("max_concurrency"), int64(defaultMaxConcurrency))...)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateKeyImported, []byte(`true`))...)
}
