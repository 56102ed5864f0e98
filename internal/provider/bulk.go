package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/areyoupoint/terraform-provider-point/internal/point"
	"github.com/areyoupoint/terraform-provider-point/internal/validators"
)

// What point_users and point_refresh_tokens share: the set of user ids,
// the bounded pool of workers that makes one request per user, and the
// diagnostics that sum up thousands of outcomes in a few messages.

// defaultMaxConcurrency matches Terraform's default -parallelism, so that a
// bulk resource puts no more load on Point than the same users as separate
// resources would.
const defaultMaxConcurrency = 10

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
		Validators:          []validator.List{listvalidator.ValueStringsAre(validators.UserID()), distinctUserIDs{}},
	}
}

// distinctUserIDs fails a list that holds an id twice, in one pass.
type distinctUserIDs struct{}

func (distinctUserIDs) Description(context.Context) string {
	return "each user id must appear once"
}

func (v distinctUserIDs) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (distinctUserIDs) ValidateList(_ context.Context, req validator.ListRequest, resp *validator.ListResponse) {
	seen := make(map[string]bool, len(req.ConfigValue.Elements()))
	for _, e := range req.ConfigValue.Elements() {
		s, ok := e.(types.String)
		if !ok || s.IsNull() || s.IsUnknown() {
			continue
		}
		if seen[s.ValueString()] {
			resp.Diagnostics.AddAttributeError(req.Path, "Duplicate User ID",
				fmt.Sprintf("%s holds the user id %q more than once; each user may appear once. Remove the duplicate, or pass the ids through toset() or distinct().", req.Path, s.ValueString()))
			return
		}
		seen[s.ValueString()] = true
	}
}

// listIDs returns the ids in a list, and false when the list or any of its
// elements is unknown.
func listIDs(v types.List) ([]string, bool) {
	if v.IsUnknown() {
		return nil, false
	}
	elems := v.Elements()
	ids := make([]string, 0, len(elems))
	for _, e := range elems {
		s, ok := e.(types.String)
		if !ok || s.IsUnknown() {
			return nil, false
		}
		if !s.IsNull() {
			ids = append(ids, s.ValueString())
		}
	}
	return ids, true
}

// idList returns ids as a list, in their order.
func idList(ids []string) types.List {
	elems := make([]attr.Value, len(ids))
	for i, id := range ids {
		elems[i] = types.StringValue(id)
	}
	return types.ListValueMust(types.StringType, elems)
}

// ordered returns the ids of keep that are in order, in that order, then
// the others of keep in sorted order: the list a resource records when it
// holds keep and configuration asked for order.
func ordered(order []string, keep map[string]bool) []string {
	out := make([]string, 0, len(keep))
	placed := make(map[string]bool, len(keep))
	for _, id := range order {
		if keep[id] && !placed[id] {
			out = append(out, id)
			placed[id] = true
		}
	}
	var rest []string
	for id := range keep {
		if !placed[id] {
			rest = append(rest, id)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

func maxConcurrencyAttribute() schema.Int64Attribute {
	return schema.Int64Attribute{
		MarkdownDescription: fmt.Sprintf("How many requests to Point this resource makes at once, from 1 to %d. Defaults to `%d`, "+
			"Terraform's own default `-parallelism`, so that the users of one resource put no more load on Point than the same users as separate resources. "+
			"Each request in flight uses one connection, which later requests reuse. Raise it to go faster where Point's rate limits allow; "+
			"lower it when Point answers 429 (rate limited).", point.MaxConcurrency, defaultMaxConcurrency),
		Optional:   true,
		Computed:   true,
		Default:    int64default.StaticInt64(defaultMaxConcurrency),
		Validators: []validator.Int64{int64validator.Between(1, point.MaxConcurrency)},
	}
}

func workers(v types.Int64) int {
	if v.IsNull() || v.IsUnknown() || v.ValueInt64() < 1 {
		return defaultMaxConcurrency
	}
	return int(min(v.ValueInt64(), point.MaxConcurrency))
}

// runBulk calls work for each id, with at most n calls at once. Once ctx
// ends it starts no more, and returns the ids it never started.
func runBulk(ctx context.Context, ids []string, n int, work func(ctx context.Context, id string)) (notStarted []string) {
	if len(ids) == 0 {
		return nil
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, min(n, len(ids))) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(ids) {
					return
				}
				work(ctx, ids[i])
			}
		})
	}
	wg.Wait()
	return ids[min(int(next.Load()), len(ids)):]
}

// stringMap returns the known elements of a map of strings. Unknown ones
// are left out and listed in unknown; a wholly unknown map reports ok false.
func stringMap(m types.Map) (known map[string]string, unknown []string, ok bool) {
	if m.IsUnknown() {
		return nil, nil, false
	}
	known = make(map[string]string, len(m.Elements()))
	for k, e := range m.Elements() {
		s, isString := e.(types.String)
		switch {
		case !isString:
		case s.IsUnknown():
			unknown = append(unknown, k)
		case !s.IsNull():
			known[k] = s.ValueString()
		}
	}
	return known, unknown, true
}

func mapOf(known map[string]string, unknown []string) types.Map {
	elems := make(map[string]attr.Value, len(known)+len(unknown))
	for k, v := range known {
		elems[k] = types.StringValue(v)
	}
	for _, k := range unknown {
		elems[k] = types.StringUnknown()
	}
	return types.MapValueMust(types.StringType, elems)
}

func mapKeySet[V any](m map[string]V) map[string]bool {
	set := make(map[string]bool, len(m))
	for k := range m {
		set[k] = true
	}
	return set
}

func toSet(ids []string) map[string]bool {
	set := make(map[string]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	return set
}

// quoteIDs names ids in sorted order, the first few of them when there are many.
func quoteIDs(ids []string) string {
	const shown = 10
	sorted := slices.Sorted(slices.Values(ids))
	quoted := make([]string, 0, min(len(sorted), shown))
	for _, id := range sorted[:min(len(sorted), shown)] {
		quoted = append(quoted, fmt.Sprintf("%q", id))
	}
	text := strings.Join(quoted, ", ")
	if len(sorted) > shown {
		text += fmt.Sprintf(" and %d more", len(sorted)-shown)
	}
	return text
}

// countOf says "3 of the 100 users" or "the user".
func countOf(n, total int, noun string) string {
	if total == 1 {
		return "the " + noun
	}
	return fmt.Sprintf("%d of the %d %ss", n, total, noun)
}

// failures groups the ids whose request failed by the text of the error,
// which names the operation and the answer but never the user, so that a
// thousand failures of one kind make one diagnostic.
type failures struct {
	mu     sync.Mutex
	groups map[string]*failureGroup
}

type failureGroup struct {
	err error
	ids []string
}

func (f *failures) add(id string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.groups == nil {
		f.groups = map[string]*failureGroup{}
	}
	// An answer that quotes the request path names the user; without it,
	// the same failure for every user makes one group.
	key := strings.ReplaceAll(err.Error(), id, "{userId}")
	if escaped := url.PathEscape(id); escaped != id {
		key = strings.ReplaceAll(key, escaped, "{userId}")
	}
	g := f.groups[key]
	if g == nil {
		g = &failureGroup{err: err}
		f.groups[key] = g
	}
	g.ids = append(g.ids, id)
}

func (f *failures) ids() []string {
	var ids []string
	for _, g := range f.groups {
		ids = append(ids, g.ids...)
	}
	return ids
}

func (f *failures) len() int {
	n := 0
	for _, g := range f.groups {
		n += len(g.ids)
	}
	return n
}

// maxFailureGroups bounds the diagnostics of one operation: past it, the
// remaining groups are reported together, with the error of the largest.
const maxFailureGroups = 5

// each calls report once per group, largest first, at most
// maxFailureGroups times.
func (f *failures) each(report func(ids []string, err error)) {
	groups := slices.Collect(maps.Values(f.groups))
	slices.SortFunc(groups, func(a, b *failureGroup) int {
		if len(a.ids) != len(b.ids) {
			return len(b.ids) - len(a.ids)
		}
		return strings.Compare(a.err.Error(), b.err.Error())
	})
	for i, g := range groups {
		if i == maxFailureGroups-1 && len(groups) > maxFailureGroups {
			var rest []string
			for _, other := range groups[i:] {
				rest = append(rest, other.ids...)
			}
			report(rest, fmt.Errorf("%w (and %d other errors; the first is shown)", g.err, len(groups)-i-1))
			return
		}
		report(g.ids, g.err)
	}
}

// transient reports whether a failure may pass on its own: no answer came,
// or Point (or a proxy) was overloaded or failing. Such failures leave the
// user's state as it was rather than failing a refresh of thousands.
func transient(err error) bool {
	var transportErr *point.TransportError
	if errors.As(err, &transportErr) {
		return true
	}
	var apiErr *point.Error
	return errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusTooManyRequests || apiErr.StatusCode >= 500)
}

// stopped explains why work was cut short: ctx is the operation's context,
// bounded by timeouts.<operation>.
func stopped(ctx context.Context, operation string) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("the operation ran out of time (timeouts.%s, %s by default)", operation, defaultOperationTimeout)
	}
	return "Terraform was interrupted"
}

// Private state of the bulk resources: sets of user ids as JSON arrays.
func getPrivateIDs(ctx context.Context, private privateState, key string, diags *diag.Diagnostics) map[string]bool {
	raw, getDiags := private.GetKey(ctx, key)
	diags.Append(getDiags...)
	var ids []string
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &ids); err != nil {
			diags.AddError("Unreadable Private State", fmt.Sprintf("The provider's private state under %q is not what it wrote. This is a bug in the provider; please report it. Error: %s", key, err))
		}
	}
	return toSet(ids)
}

func setPrivateIDs(ctx context.Context, private privateState, key string, ids map[string]bool, diags *diag.Diagnostics) {
	if len(ids) == 0 {
		diags.Append(private.SetKey(ctx, key, nil)...)
		return
	}
	raw, err := json.Marshal(slices.Sorted(maps.Keys(ids)))
	if err != nil {
		diags.AddError("Unwritable Private State", err.Error())
		return
	}
	diags.Append(private.SetKey(ctx, key, raw)...)
}

// importUserIDs reads the import ID of a bulk resource: user ids separated
// by commas.
func importUserIDs(id string, diags *diag.Diagnostics) ([]string, bool) {
	seen := map[string]bool{}
	var ids []string
	for part := range strings.SplitSeq(id, ",") {
		userID := strings.TrimSpace(part)
		if problem := validators.UserIDProblem(userID); problem != "" {
			diags.AddError("Invalid Import ID",
				fmt.Sprintf("The import ID is a list of Point user ids separated by commas, such as \"alice,bob\"; each id %s. Got %q in %q. "+
					"Correct the id in the import block (for example id = join(\",\", var.user_ids)) or the terraform import command.", problem, userID, truncateForDiag(id)))
			return nil, false
		}
		if !seen[userID] {
			seen[userID] = true
			ids = append(ids, userID)
		}
	}
	return ids, true
}

func truncateForDiag(s string) string {
	if len(s) <= 200 {
		return s
	}
	return s[:200] + "…"
}

// refuseImportIdentity rejects an import by identity: a bulk resource has
// none, since the set of users it holds changes.
func refuseImportIdentity(req resource.ImportStateRequest, resp *resource.ImportStateResponse, typeName string) bool {
	if req.ID == "" {
		resp.Diagnostics.AddError("Invalid Import ID",
			fmt.Sprintf("%s is imported by a list of Point user ids separated by commas, given as the import block's id (for example id = join(\",\", var.user_ids)) "+
				"or to terraform import; it has no resource identity, since the set of users it holds changes.", typeName))
		return true
	}
	return false
}
