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

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
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

// bulkUserIDs validates user_ids in one pass: each id must be a valid
// Point user id and appear once. Its diagnostics name the id rather than
// its position, which in a set given as a list is a place in sorted order
// that the configuration never wrote.
type bulkUserIDs struct{}

// maxInvalidUserIDsReported bounds the diagnostics for invalid ids: a few
// show what is wrong, one more counts the rest.
const maxInvalidUserIDsReported = 5

func (bulkUserIDs) Description(context.Context) string {
	return "each element must be a Point user id, and each user id must appear once"
}

func (v bulkUserIDs) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (bulkUserIDs) ValidateList(_ context.Context, req validator.ListRequest, resp *validator.ListResponse) {
	seen := make(map[string]bool, len(req.ConfigValue.Elements()))
	duplicate := ""
	invalid := 0
	for _, e := range req.ConfigValue.Elements() {
		s, ok := e.(types.String)
		if !ok || s.IsNull() || s.IsUnknown() {
			continue
		}
		id := s.ValueString()
		if seen[id] {
			if duplicate == "" {
				duplicate = id
			}
			continue
		}
		seen[id] = true
		if problem := validators.UserIDProblem(id); problem != "" {
			invalid++
			if invalid <= maxInvalidUserIDsReported {
				resp.Diagnostics.AddAttributeError(req.Path, "Invalid User ID",
					fmt.Sprintf("The user id %q in %s %s. Correct it, or remove it from %s.", truncateForDiag(id), req.Path, problem, req.Path))
			}
		}
	}
	if invalid > maxInvalidUserIDsReported {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid User ID",
			fmt.Sprintf("%d more user ids in %s are invalid, as above. Correct them, or remove them from %s.", invalid-maxInvalidUserIDsReported, req.Path, req.Path))
	}
	if duplicate != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Duplicate User ID",
			fmt.Sprintf("%s holds the user id %q more than once; each user may appear once. Remove the duplicate, or pass the ids through toset() or distinct().", req.Path, truncateForDiag(duplicate)))
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

// bulkResult is the outcome of one request per user: the ids whose request
// succeeded, those whose request failed, and those never started.
type bulkResult struct {
	mu         sync.Mutex
	done       []string
	failed     failures
	notStarted []string
}

// forEachUser calls do for each id, at most n at once, and records the
// outcome of each.
func forEachUser(ctx context.Context, ids []string, n int, do func(ctx context.Context, id string) error) *bulkResult {
	res := &bulkResult{}
	res.notStarted = runBulk(ctx, ids, n, func(ctx context.Context, id string) {
		if err := do(ctx, id); err != nil {
			res.failed.add(id, err)
			return
		}
		res.mu.Lock()
		defer res.mu.Unlock()
		res.done = append(res.done, id)
	})
	return res
}

// failNotStartedReads counts the users a refresh never read as failed
// reads, so that their state stays as it was.
func (r *bulkResult) failNotStartedReads(ctx context.Context) {
	for _, id := range r.notStarted {
		r.failed.add(id, fmt.Errorf("get user: %s before the request was made", stopped(ctx, "read")))
	}
	r.notStarted = nil
}

// bulkWording words the diagnostics of the users a bulk operation could
// not serve.
type bulkWording struct {
	// add is diags.AddAttributeError, or AddAttributeWarning where an
	// error would taint a resource being created.
	add func(path.Path, string, string)
	at  path.Path
	// operation is the one whose timeout may cut the work short: create,
	// update or delete.
	operation                    string
	failedTitle, notStartedTitle string
	// action is what the operation does to each user, as in "revoke the
	// refresh tokens of"; after, what became of the users it could not
	// serve, follows their ids; next says what the next run does for them.
	action, after, next string
	// hint, when set, adds words about one kind of error to the action.
	hint func(error) string
	// unanswered, when set, says what Point may have done for users whose
	// requests may have reached it without an answer coming back.
	unanswered string
}

// report adds one diagnostic per group of failed users, and one for the
// users never started, out of total.
func (r *bulkResult) report(ctx context.Context, total int, w bulkWording) {
	r.failed.each(func(ids []string, err error) {
		action := fmt.Sprintf("%s %s (%s)%s", w.action, countOf(len(ids), total, "user"), quoteIDs(ids), w.after)
		if w.hint != nil {
			action += w.hint(err)
		}
		detail := apiErrorDetail(action, err)
		if w.unanswered != "" && answerMayBeLost(err) {
			detail += "\n\n" + w.unanswered
		}
		if w.next != "" {
			detail += "\n\n" + w.next
		}
		w.add(w.at, w.failedTitle, detail)
	})
	if len(r.notStarted) > 0 {
		detail := fmt.Sprintf("%s before the provider could %s %s (%s)%s.", sentence(stopped(ctx, w.operation)),
			w.action, countOf(len(r.notStarted), total, "user"), quoteIDs(r.notStarted), w.after)
		if w.next != "" {
			detail += " " + w.next
		}
		w.add(w.at, w.notStartedTitle, detail)
	}
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

// mapValue builds a map attribute from the known elements, and an unknown
// element for each key of unknown.
func mapValue[V any](elemType attr.Type, known map[string]V, element func(V) attr.Value, unknown []string, unknownElement attr.Value) types.Map {
	elems := make(map[string]attr.Value, len(known)+len(unknown))
	for k, v := range known {
		elems[k] = element(v)
	}
	for _, k := range unknown {
		elems[k] = unknownElement
	}
	return types.MapValueMust(elemType, elems)
}

func stringMapOf(known map[string]string, unknown []string) types.Map {
	return mapValue(types.StringType, known, func(s string) attr.Value { return types.StringValue(s) }, unknown, types.StringUnknown())
}

func int64MapOf(known map[string]int64) types.Map {
	return mapValue(types.Int64Type, known, func(n int64) attr.Value { return types.Int64Value(n) }, nil, nil)
}

// int64Map returns the known elements of a map of numbers: none when the
// map is unknown.
func int64Map(m types.Map) map[string]int64 {
	known := make(map[string]int64, len(m.Elements()))
	for k, e := range m.Elements() {
		if n, ok := e.(types.Int64); ok && !n.IsNull() && !n.IsUnknown() {
			known[k] = n.ValueInt64()
		}
	}
	return known
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

// without returns the elements of a that are not in b.
func without(a, b []string) []string {
	in := toSet(b)
	var out []string
	for _, s := range a {
		if !in[s] {
			out = append(out, s)
		}
	}
	return out
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

// take removes the failures whose error matches and returns their ids.
func (f *failures) take(matches func(error) bool) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for key, g := range f.groups {
		if matches(g.err) {
			ids = append(ids, g.ids...)
			delete(f.groups, key)
		}
	}
	return ids
}

// idsWhere returns the ids whose error matches. Like ids and len, it reads
// the groups without the lock, so it is called once the requests are done;
// add and take are safe at any time.
func (f *failures) idsWhere(matches func(error) bool) []string {
	var ids []string
	for _, g := range f.groups {
		if matches(g.err) {
			ids = append(ids, g.ids...)
		}
	}
	return ids
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
	return "the run was interrupted"
}

// sentence capitalises s, a phrase that starts a sentence.
func sentence(s string) string {
	return strings.ToUpper(s[:1]) + s[1:]
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
					"Correct the id in the import block (for example id = join(\",\", var.user_ids)) or the import command.", problem, userID, truncateForDiag(id)))
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
				"or to the import command; it has no resource identity, since the set of users it holds changes.", typeName))
		return true
	}
	return false
}

// readFailuresTolerable reports the failed reads of a refresh. Transient
// failures of some users leave those users' state as it was, with a
// warning, so that one overloaded moment does not fail a plan of thousands;
// any other failure, or a failure of every read, is an error, and state is
// left as it was.
func readFailuresTolerable(failed *failures, total int, noun string, diags *diag.Diagnostics) bool {
	if failed.len() == 0 {
		return true
	}
	tolerable := failed.len() < total
	failed.each(func(_ []string, err error) {
		if !transient(err) {
			tolerable = false
		}
	})
	failed.each(func(ids []string, err error) {
		if tolerable {
			diags.AddAttributeWarning(path.Root("user_ids"), "Point "+titleNoun(noun)+" Not Read",
				apiErrorDetail(fmt.Sprintf("read %s (%s); their state is unchanged, and the next refresh reads them again", countOf(len(ids), total, noun), quoteIDs(ids)), err))
			return
		}
		diags.AddAttributeError(path.Root("user_ids"), "Error Reading Point "+titleNoun(noun),
			apiErrorDetail(fmt.Sprintf("read %s (%s); the state of every one is unchanged", countOf(len(ids), total, noun), quoteIDs(ids)), err))
	})
	return tolerable
}

// titleNoun is noun in the title case and plural of a diagnostic summary.
func titleNoun(noun string) string {
	switch noun {
	case "user":
		return "Users"
	case "refresh token":
		return "Refresh Tokens"
	}
	return noun
}
