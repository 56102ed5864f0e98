package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/areyoupoint/terraform-provider-point/internal/point"
)

var (
	_ resource.ResourceWithConfigure   = &usersResource{}
	_ resource.ResourceWithModifyPlan  = &usersResource{}
	_ resource.ResourceWithImportState = &usersResource{}
)

// Private state of point_users. Creation cannot report a failure as an
// error without Terraform tainting the resource, so the ids it could not
// register are kept here until the next refresh takes them out of
// user_ids, where the next plan shows them as additions.
const (
	// privateKeyUnregistered: ids in user_ids that are not registered yet.
	privateKeyUnregistered = "unregistered"
	// privateKeyUnanswered: ids whose registration reached Point without a
	// usable answer, so that a later 409 means this configuration most
	// likely registered them.
	privateKeyUnanswered = "unanswered"
)

func newUsersResource() resource.Resource { return &usersResource{} }

type usersResource struct {
	configuredResource
}

// usersResourceModel is the plan and state of a point_users.
type usersResourceModel struct {
	UserIDs        types.List     `tfsdk:"user_ids"`
	DeletionPolicy types.String   `tfsdk:"deletion_policy"`
	MaxConcurrency types.Int64    `tfsdk:"max_concurrency"`
	Timeouts       timeouts.Value `tfsdk:"timeouts"`
}

func (r *usersResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_users"
}

func (r *usersResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Registers any number of users with Point as one resource: `point_user` for thousands of users, without the cost of a resource instance per user. " +
			"Adding an id registers the user; removing one applies `deletion_policy` to that user alone. Requests run concurrently, `max_concurrency` at a time. " +
			"Like `point_user`, it keeps no profile data in state.",
		Attributes: map[string]schema.Attribute{
			"user_ids": userIDsAttribute("Your organisation's own ids for the users, each as `point_user`'s `user_id` requires: 1 to 128 characters, " +
				"with no `/`, whitespace, control characters or `@`, and not `.` or `..`. Adding an id registers the user; removing one applies `deletion_policy` to it. " +
				"Changing the set never replaces the resource."),
			"deletion_policy": deletionPolicyAttribute("What happens to a user whose id leaves `user_ids`, and to every user on destroy, since Point cannot delete users. " +
				"`ABANDON` (default) forgets the user and leaves it in Point; `REVOKE` first revokes the user's current refresh token; " +
				"`PREVENT` makes any plan that would remove a user, or destroy the resource, fail at plan time. The policy recorded in state by the last apply is the one that applies."),
			"max_concurrency": maxConcurrencyAttribute(),
			"timeouts":        timeouts.Attributes(ctx, timeouts.Opts{Create: true, Read: true, Update: true, Delete: true}),
		},
	}
}

// ModifyPlan fails, at plan time, a plan whose apply could not succeed: one
// that removes users, or destroys the resource, while the policy in state
// is PREVENT; or one that registers users, or revokes their tokens, without
// an API key.
func (r *usersResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.State.Raw.IsNull() {
		if !req.Plan.Raw.IsNull() {
			r.data.refuseWithoutAPIKey("register Point users", &resp.Diagnostics)
		}
		return
	}
	if req.Plan.Raw.Equal(req.State.Raw) {
		unregistered := getPrivateIDs(ctx, req.Private, privateKeyUnregistered, &resp.Diagnostics)
		if len(unregistered) > 0 {
			resp.Diagnostics.AddWarning("Point Users Not Yet Registered",
				fmt.Sprintf("%d users of user_ids (%s) are not registered yet, and this plan was made without refreshing, so it does not show them. "+
					"Plan with refresh (without -refresh=false) to register them.", len(unregistered), quoteIDs(slices.Collect(maps.Keys(unregistered)))))
		}
		return
	}
	var state usersResourceModel
	if !getInto(ctx, req.State, &state, &resp.Diagnostics) {
		return
	}
	stateIDs, _ := listIDs(state.UserIDs)
	policy := state.DeletionPolicy.ValueString()
	if req.Plan.Raw.IsNull() {
		if policy == deletionPrevent {
			resp.Diagnostics.AddError("Point User Deletion Prevented",
				fmt.Sprintf("point_users has deletion_policy = \"PREVENT\", and this plan destroys it, with its %d users (%s). The provider stopped the plan, so nothing was changed or revoked. %s",
					len(stateIDs), quoteIDs(stateIDs), usersPreventAdvice))
		}
		return
	}
	var planned types.List
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("user_ids"), &planned)...)
	plannedIDs, known := listIDs(planned)
	if resp.Diagnostics.HasError() || !known {
		return
	}
	inPlan, inState := toSet(plannedIDs), toSet(stateIDs)
	var added, removed []string
	for _, id := range plannedIDs {
		if !inState[id] {
			added = append(added, id)
		}
	}
	for _, id := range stateIDs {
		if !inPlan[id] {
			removed = append(removed, id)
		}
	}
	if len(removed) > 0 && policy == deletionPrevent {
		resp.Diagnostics.AddAttributeError(path.Root("user_ids"), "Point User Deletion Prevented",
			fmt.Sprintf("point_users has deletion_policy = \"PREVENT\", and this plan removes %d users from user_ids (%s). The provider stopped the plan, so nothing was changed or revoked. %s",
				len(removed), quoteIDs(removed), usersPreventAdvice))
		return
	}
	if len(added) > 0 {
		r.data.refuseWithoutAPIKey("register Point users", &resp.Diagnostics)
	} else if len(removed) > 0 && policy == deletionRevoke {
		r.data.refuseWithoutAPIKey("revoke the refresh tokens of Point users", &resp.Diagnostics)
	}
}

const usersPreventAdvice = "To stop managing these users, first set deletion_policy to \"ABANDON\" (or \"REVOKE\" to also revoke their refresh tokens) and apply that change on its own, then run this plan again; " +
	"or forget the whole resource without destroying anything, with a removed block whose lifecycle has destroy = false. Point has no endpoint that deletes users."

// registration is the outcome of registering a batch of users: done holds
// those registered.
type registration struct {
	*bulkResult
	// unconfirmed were adopted after a request without a usable answer.
	unconfirmed    []string
	unconfirmedErr error
	// conflicts already existed in Point.
	conflicts []string
	// unanswered failed after a request that may have reached Point.
	unanswered []string
}

// register registers ids, at most n at once. An id in unanswered met a
// request without a usable answer before, so a 409 now means that request
// most likely registered it.
func register(ctx context.Context, client *point.Client, ids []string, n int, unanswered map[string]bool) *registration {
	out := &registration{}
	var mu sync.Mutex
	out.bulkResult = forEachUser(ctx, ids, n, func(ctx context.Context, id string) error {
		_, err := client.CreateUser(ctx, id)
		var unconfirmed *point.UnconfirmedCreateError
		if errors.As(err, &unconfirmed) {
			err = nil
		} else if point.IsConflict(err) && unanswered[id] {
			unconfirmed = &point.UnconfirmedCreateError{Err: errors.New("an earlier apply's request to register the user got no usable answer, and Point now answers 409: the user exists")}
			err = nil
		}
		if err == nil && unconfirmed != nil {
			mu.Lock()
			defer mu.Unlock()
			out.unconfirmed = append(out.unconfirmed, id)
			out.unconfirmedErr = unconfirmed.Err
		}
		return err
	})
	// Failures are grouped by their error text, which carries the HTTP
	// status, so a group's first error tells for every id in it.
	out.conflicts = out.failed.take(point.IsConflict)
	out.unanswered = out.failed.idsWhere(transient)
	return out
}

// How an apply reports the users it could not register.
type registrationReport int

const (
	// reportUpdate: errors; state records exactly what was registered.
	reportUpdate registrationReport = iota
	// reportCreatePartial: warnings, since an error would taint the new
	// resource; private state records what was not registered.
	reportCreatePartial
	// reportCreateNothing: errors, and no resource is created.
	reportCreateNothing
)

// report adds the diagnostics of a registration of total users.
func (g *registration) report(ctx context.Context, total int, mode registrationReport, diags *diag.Diagnostics) {
	w := bulkWording{
		add:             diags.AddAttributeError,
		at:              path.Root("user_ids"),
		operation:       "update",
		failedTitle:     "Error Registering Point Users",
		notStartedTitle: "Point Users Not Registered",
		action:          "register",
		next:            "The next apply registers them: its plan shows them as additions to user_ids.",
	}
	switch mode {
	case reportCreatePartial:
		w.add, w.operation = diags.AddAttributeWarning, "create"
		w.next = "They are not recorded as registered: the next refresh takes them out of user_ids, so the next plan shows them as additions, and the next apply registers them. " +
			"The apply that creates point_users reports this as a warning rather than an error, because the CLI would mark the resource as tainted after an error, and the next apply would replace it."
	case reportCreateNothing:
		w.operation = "create"
		w.next = "No user was registered, so point_users was not created; the next apply creates it."
	}
	if len(g.unconfirmed) > 0 {
		diags.AddAttributeWarning(w.at, "Point Users Registered Without an Answer",
			fmt.Sprintf("No usable answer came to the requests that registered %s (%s), and Point has them now, so the provider recorded them in state. "+
				"The provider could not confirm whether this configuration registered them or they existed before; if they existed before, this configuration now manages them, "+
				"and removing them follows deletion_policy.\n\nError: %s", countOf(len(g.unconfirmed), total, "user"), quoteIDs(g.unconfirmed), g.unconfirmedErr))
	}
	if len(g.conflicts) > 0 {
		w.add(w.at, "Point Users Already Exist",
			fmt.Sprintf("Point already has %s in user_ids (%s), so they cannot be registered. "+
				"To manage users that already exist, import point_users with all of its ids, for example with an import block whose id is join(\",\", <the same list as user_ids>), "+
				"after forgetting the resource without touching Point (a removed block with destroy = false, or the state rm command) if it is in state already. "+
				"Or remove these ids from user_ids.", countOf(len(g.conflicts), total, "user"), quoteIDs(g.conflicts)))
	}
	g.bulkResult.report(ctx, total, w)
}

func (r *usersResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan usersResourceModel
	if !getInto(ctx, req.Plan, &plan, &resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Create, &resp.Diagnostics)
	defer cancel()
	client := r.data.apiKeyClient("register Point users", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	ids, _ := listIDs(plan.UserIDs)

	reg := register(ctx, client, ids, workers(plan.MaxConcurrency), nil)
	// Nothing registered, and nothing that may have been: an error leaves
	// no resource, and the next apply creates it afresh.
	if len(reg.done) == 0 && len(reg.unanswered) == 0 && len(ids) > 0 {
		reg.report(ctx, len(ids), reportCreateNothing, &resp.Diagnostics)
		return
	}
	reg.report(ctx, len(ids), reportCreatePartial, &resp.Diagnostics)
	registered := toSet(reg.done)
	unregistered := map[string]bool{}
	for _, id := range ids {
		if !registered[id] {
			unregistered[id] = true
		}
	}
	setPrivateIDs(ctx, resp.Private, privateKeyUnregistered, unregistered, &resp.Diagnostics)
	setPrivateIDs(ctx, resp.Private, privateKeyUnanswered, toSet(reg.unanswered), &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *usersResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state usersResourceModel
	if !getInto(ctx, req.State, &state, &resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, state.Timeouts.Read, &resp.Diagnostics)
	defer cancel()
	client := r.data.apiKeyClient("read Point users", &resp.Diagnostics)
	ids, _ := listIDs(state.UserIDs)
	importing := takeImportMark(ctx, resp.Private, &resp.Diagnostics)
	unregistered := getPrivateIDs(ctx, resp.Private, privateKeyUnregistered, &resp.Diagnostics)
	unanswered := getPrivateIDs(ctx, resp.Private, privateKeyUnanswered, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}

	// Ids the last apply could not register leave state without a request,
	// unless a request may have registered them.
	keep := map[string]bool{}
	var check []string
	for _, id := range ids {
		if !unregistered[id] || unanswered[id] {
			check = append(check, id)
		}
	}
	var mu sync.Mutex
	var gone, adopted []string
	res := forEachUser(ctx, check, workers(state.MaxConcurrency), func(ctx context.Context, id string) error {
		_, err := client.GetUser(ctx, id)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			keep[id] = true
			if unregistered[id] {
				adopted = append(adopted, id)
			}
		case point.IsUserNotFound(err):
			if !unregistered[id] {
				gone = append(gone, id)
			}
		case unregistered[id] && point.IsNotFound(err):
			// Never recorded as registered, so it leaves user_ids as the
			// others the last apply could not register do, whoever
			// answered 404: at worst the next apply meets the same 404.
			// Its unanswered mark stays, so that a 409 then adopts it.
		default:
			return err
		}
		return nil
	})
	res.failNotStartedReads(ctx)
	failed := &res.failed

	if importing {
		if len(gone) > 0 {
			resp.Diagnostics.AddAttributeError(path.Root("user_ids"), "Cannot Import Point Users",
				fmt.Sprintf("Point has no users with %d of the ids imported (%s), so there is nothing to import for them. Check the ids, and the provider's environment or endpoint; "+
					"to register new users, leave them out of the import ID and add them to user_ids.", len(gone), quoteIDs(gone)))
		}
		failed.each(func(ids []string, err error) {
			resp.Diagnostics.AddAttributeError(path.Root("user_ids"), "Error Reading Point Users",
				apiErrorDetail(fmt.Sprintf("read %s to import them", countOf(len(ids), len(check), "user")), err))
		})
		if resp.Diagnostics.HasError() {
			return
		}
	} else if !readFailuresTolerable(failed, len(check), "user", &resp.Diagnostics) {
		return
	}
	// An id not read this time stays as it was, marks included.
	stillUnregistered := map[string]bool{}
	for _, id := range failed.ids() {
		keep[id] = true
		if unregistered[id] {
			stillUnregistered[id] = true
		}
	}
	if len(gone) > 0 {
		resp.Diagnostics.AddAttributeWarning(path.Root("user_ids"), "Point Users Not Found",
			fmt.Sprintf("Point has no users with %d of the ids in user_ids any more (%s), so the provider removed them from state. "+
				"The next apply registers them again if they are still in configuration.", len(gone), quoteIDs(gone)))
	}
	if len(adopted) > 0 {
		resp.Diagnostics.AddAttributeWarning(path.Root("user_ids"), "Point Users Registered Without an Answer",
			fmt.Sprintf("No usable answer came to the requests of an earlier apply that registered %d users (%s), and Point has them now, so the provider recorded them in state. "+
				"The provider could not confirm whether that apply registered them or they existed before; if they existed before, this configuration now manages them.",
				len(adopted), quoteIDs(adopted)))
	}
	for id := range keep {
		if !stillUnregistered[id] {
			delete(unanswered, id)
		}
	}
	kept := make([]string, 0, len(keep))
	for _, id := range ids {
		if keep[id] {
			kept = append(kept, id)
		}
	}
	if len(kept) != len(ids) {
		state.UserIDs = idList(kept)
	}
	if state.DeletionPolicy.IsNull() {
		state.DeletionPolicy = types.StringValue(deletionAbandon)
	}
	setPrivateIDs(ctx, resp.Private, privateKeyUnregistered, stillUnregistered, &resp.Diagnostics)
	setPrivateIDs(ctx, resp.Private, privateKeyUnanswered, unanswered, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *usersResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state usersResourceModel
	if !getInto(ctx, req.Plan, &plan, &resp.Diagnostics) || !getInto(ctx, req.State, &state, &resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Update, &resp.Diagnostics)
	defer cancel()
	plannedIDs, _ := listIDs(plan.UserIDs)
	stateIDs, _ := listIDs(state.UserIDs)
	unregistered := getPrivateIDs(ctx, req.Private, privateKeyUnregistered, &resp.Diagnostics)
	unanswered := getPrivateIDs(ctx, req.Private, privateKeyUnanswered, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	inPlan := toSet(plannedIDs)
	registered := map[string]bool{}
	for _, id := range stateIDs {
		if !unregistered[id] {
			registered[id] = true
		}
	}
	var toAdd, toRemove []string
	for _, id := range plannedIDs {
		if !registered[id] {
			toAdd = append(toAdd, id)
		}
	}
	for id := range registered {
		if !inPlan[id] {
			toRemove = append(toRemove, id)
		}
	}
	policy := state.DeletionPolicy.ValueString()
	if len(toRemove) > 0 && policy == deletionPrevent {
		// ModifyPlan refuses such plans when user_ids is known at plan time.
		resp.Diagnostics.AddAttributeError(path.Root("user_ids"), "Point User Deletion Prevented",
			fmt.Sprintf("point_users has deletion_policy = \"PREVENT\", so the provider refuses to remove %d users from user_ids (%s). Nothing was changed. %s",
				len(toRemove), quoteIDs(toRemove), usersPreventAdvice))
		return
	}
	n := workers(plan.MaxConcurrency)
	var client *point.Client
	if len(toAdd) > 0 || (len(toRemove) > 0 && policy == deletionRevoke) {
		client = r.data.apiKeyClient("register Point users, or revoke their refresh tokens", &resp.Diagnostics)
		if resp.Diagnostics.HasError() {
			return
		}
	}

	reg := register(ctx, client, toAdd, n, unanswered)
	reg.report(ctx, len(toAdd), reportUpdate, &resp.Diagnostics)
	for _, id := range reg.done {
		registered[id] = true
		delete(unanswered, id)
	}
	for _, id := range reg.unanswered {
		unanswered[id] = true
	}
	for id := range unanswered {
		if !inPlan[id] {
			delete(unanswered, id)
		}
	}

	released := r.release(ctx, client, "update", policy, toRemove, n, &resp.Diagnostics)
	for _, id := range released {
		delete(registered, id)
	}

	plan.UserIDs = idList(ordered(slices.Concat(plannedIDs, stateIDs), registered))
	setPrivateIDs(ctx, resp.Private, privateKeyUnregistered, nil, &resp.Diagnostics)
	setPrivateIDs(ctx, resp.Private, privateKeyUnanswered, unanswered, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

// release applies policy to users leaving Terraform and returns those that
// may leave state: all of them, except those whose token REVOKE could not
// revoke.
func (r *usersResource) release(ctx context.Context, client *point.Client, operation, policy string, ids []string, n int, diags *diag.Diagnostics) []string {
	if len(ids) == 0 {
		return nil
	}
	if policy != deletionRevoke {
		diags.AddAttributeWarning(path.Root("user_ids"), "Point Users Abandoned",
			fmt.Sprintf("Point has no endpoint that deletes users. The provider stopped managing %d users (%s); they still exist in Point. "+
				"point_users did not revoke their refresh tokens (deletion_policy = \"ABANDON\"): a token a user still holds stays valid. "+
				"A point_refresh_tokens (or point_refresh_token) revokes the tokens it tracks when they leave it, and warns about any it found replaced, whose newer token stays valid; "+
				"deletion_policy = \"REVOKE\" revokes whatever token a user holds.", len(ids), quoteIDs(ids)))
		return ids
	}
	res := forEachUser(ctx, ids, n, func(ctx context.Context, id string) error {
		return revokeCurrentRefreshToken(ctx, client, id)
	})
	res.report(ctx, len(ids), bulkWording{
		add:             diags.AddAttributeError,
		at:              path.Root("user_ids"),
		operation:       operation,
		failedTitle:     "Error Revoking Point Users' Refresh Tokens",
		notStartedTitle: "Point Users' Refresh Tokens Not Revoked",
		action:          "revoke the refresh tokens of",
		after:           "; they stay in state, and the next apply tries again",
	})
	revoked := res.done
	if len(revoked) > 0 {
		diags.AddAttributeWarning(path.Root("user_ids"), "Point Users Abandoned",
			fmt.Sprintf("Point has no endpoint that deletes users. The provider revoked the refresh tokens of %d users (%s) and stopped managing them; they still exist in Point.",
				len(revoked), quoteIDs(revoked)))
	}
	return revoked
}

func (r *usersResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state usersResourceModel
	if !getInto(ctx, req.State, &state, &resp.Diagnostics) {
		return
	}
	ids, _ := listIDs(state.UserIDs)
	unregistered := getPrivateIDs(ctx, req.Private, privateKeyUnregistered, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	policy := state.DeletionPolicy.ValueString()
	if policy == deletionPrevent {
		// ModifyPlan refuses such plans; this guards a plan made by a
		// Terraform that does not plan destroys with the provider.
		resp.Diagnostics.AddError("Point User Deletion Prevented",
			fmt.Sprintf("point_users has deletion_policy = \"PREVENT\", so the provider refuses to destroy it, with its %d users. %s", len(ids), usersPreventAdvice))
		return
	}
	ctx, cancel := withTimeout(ctx, state.Timeouts.Delete, &resp.Diagnostics)
	defer cancel()
	var client *point.Client
	if policy == deletionRevoke {
		client = r.data.apiKeyClient("revoke the refresh tokens of Point users", &resp.Diagnostics)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	var registered []string
	for _, id := range ids {
		if !unregistered[id] {
			registered = append(registered, id)
		}
	}
	released := toSet(r.release(ctx, client, "delete", policy, registered, workers(state.MaxConcurrency), &resp.Diagnostics))
	if resp.Diagnostics.HasError() {
		var remaining []string
		for _, id := range registered {
			if !released[id] {
				remaining = append(remaining, id)
			}
		}
		state.UserIDs = idList(remaining)
		resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
	}
}

func (r *usersResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if refuseImportIdentity(req, resp, "point_users") {
		return
	}
	ids, ok := importUserIDs(req.ID, &resp.Diagnostics)
	if !ok {
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("user_ids"), idList(ids))...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("deletion_policy"), deletionAbandon)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("max_concurrency"), int64(defaultMaxConcurrency))...)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateKeyImported, []byte(`true`))...)
}
