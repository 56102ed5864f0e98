package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// Helpers of the point_users and point_refresh_tokens tests, and unit tests
// of what the two resources share.

const (
	bulkTestUsers  = "point_users.test"
	bulkTestTokens = "point_refresh_tokens.test"
)

// bulkTestIDs returns n user ids for this run: name-000, name-001, and so
// on, with the run's prefix against real Point.
func bulkTestIDs(env *testEnv, name string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = env.UserID(fmt.Sprintf("%s-%03d", name, i))
	}
	return ids
}

// bulkTestList writes ids as an HCL list.
func bulkTestList(ids []string) string {
	quoted := make([]string, len(ids))
	for i, id := range ids {
		quoted[i] = fmt.Sprintf("%q", id)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// bulkTestConfig is a point_users for ids and a point_refresh_tokens for
// the same users, with extra arguments for each.
func bulkTestConfig(providerBlock string, ids []string, usersArgs, tokensArgs string) string {
	return providerBlock + fmt.Sprintf(`
resource "point_users" "test" {
  user_ids = %s
%s}

resource "point_refresh_tokens" "test" {
  user_ids = point_users.test.user_ids
%s}
`, bulkTestList(ids), usersArgs, tokensArgs)
}

// bulkTestProvider configures the provider for endpoint with env's key.
func bulkTestProvider(env *testEnv, endpoint string, maxRetries int) string {
	return fmt.Sprintf("provider \"point\" {\n  endpoint    = %q\n  api_key     = %q\n  max_retries = %d\n}\n", endpoint, env.APIKey, maxRetries)
}

// bulkTestStateMap reads a map attribute of a resource from state.
func bulkTestStateMap(s *terraform.State, addr, attr string) (map[string]string, error) {
	rs, ok := s.RootModule().Resources[addr]
	if !ok {
		return nil, fmt.Errorf("%s not in state", addr)
	}
	out := map[string]string{}
	for k, v := range rs.Primary.Attributes {
		if key, ok := strings.CutPrefix(k, attr+"."); ok && key != "%" {
			out[key] = v
		}
	}
	return out, nil
}

// bulkTestCheckTokens checks that state holds a token for exactly ids, each
// the user's current refresh token in Point; into, when not nil, receives
// them.
func bulkTestCheckTokens(env *testEnv, ids []string, into *map[string]string) func(*terraform.State) error {
	return func(s *terraform.State) error {
		tokens, err := bulkTestStateMap(s, bulkTestTokens, "tokens")
		if err != nil {
			return err
		}
		if got, want := slices.Sorted(maps.Keys(tokens)), slices.Sorted(slices.Values(ids)); !slices.Equal(got, want) {
			return fmt.Errorf("state holds tokens of %d users %v, want %d %v", len(got), got, len(want), want)
		}
		for id, token := range tokens {
			if token == "" || token != env.CurrentRefreshToken(id) {
				return fmt.Errorf("the token of %q in state is not its current refresh token in Point", id)
			}
		}
		if into != nil {
			*into = tokens
		}
		return nil
	}
}

// bulkTestSameTokens checks that the tokens of ids in state are those in
// want: none was issued again.
func bulkTestSameTokens(ids []string, want *map[string]string) func(*terraform.State) error {
	return func(s *terraform.State) error {
		tokens, err := bulkTestStateMap(s, bulkTestTokens, "tokens")
		if err != nil {
			return err
		}
		for _, id := range ids {
			if tokens[id] == "" || tokens[id] != (*want)[id] {
				return fmt.Errorf("the token of %q changed", id)
			}
		}
		return nil
	}
}

// bulkTestNoTokens checks that none of the users has a current refresh
// token in Point.
func bulkTestNoTokens(env *testEnv, ids []string) func(*terraform.State) error {
	return func(*terraform.State) error {
		for _, id := range ids {
			if env.CurrentRefreshToken(id) != "" {
				return fmt.Errorf("Point user %q still has a current refresh token", id)
			}
		}
		return nil
	}
}

// bulkTestPlanList checks a list attribute in a planned change: the
// elements added (in after, not before) and removed must be exactly those
// given.
type bulkTestPlanList struct {
	addr, attr     string
	added, removed []string
}

func (c bulkTestPlanList) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	change, err := bulkTestChange(req.Plan, c.addr)
	if err != nil {
		resp.Error = err
		return
	}
	before, after := bulkTestStrings(change.Before, c.attr), bulkTestStrings(change.After, c.attr)
	added, removed := bulkTestMinus(after, before), bulkTestMinus(before, after)
	if !slices.Equal(added, slices.Sorted(slices.Values(c.added))) || !slices.Equal(removed, slices.Sorted(slices.Values(c.removed))) {
		resp.Error = fmt.Errorf("%s.%s: the plan adds %v and removes %v, want %v and %v", c.addr, c.attr, added, removed, c.added, c.removed)
	}
}

// bulkTestPlanUnknownKeys checks that exactly keys of a map attribute are
// unknown in a planned change, and that every other key is known.
type bulkTestPlanUnknownKeys struct {
	addr, attr string
	keys       []string
}

func (c bulkTestPlanUnknownKeys) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	change, err := bulkTestChange(req.Plan, c.addr)
	if err != nil {
		resp.Error = err
		return
	}
	afterUnknown, _ := change.AfterUnknown.(map[string]any)
	if whole, ok := afterUnknown[c.attr].(bool); ok && whole {
		resp.Error = fmt.Errorf("%s.%s is wholly unknown in the plan, want only %v unknown", c.addr, c.attr, c.keys)
		return
	}
	var unknown []string
	if m, ok := afterUnknown[c.attr].(map[string]any); ok {
		for k, v := range m {
			if v == true {
				unknown = append(unknown, k)
			}
		}
	}
	slices.Sort(unknown)
	if !slices.Equal(unknown, slices.Sorted(slices.Values(c.keys))) {
		resp.Error = fmt.Errorf("%s.%s: the plan leaves %v unknown, want %v", c.addr, c.attr, unknown, slices.Sorted(slices.Values(c.keys)))
	}
}

func bulkTestChange(plan *tfjson.Plan, addr string) (*tfjson.Change, error) {
	for _, rc := range plan.ResourceChanges {
		if rc.Address == addr {
			return rc.Change, nil
		}
	}
	return nil, fmt.Errorf("%s is not in the plan", addr)
}

func bulkTestStrings(object any, attr string) []string {
	m, _ := object.(map[string]any)
	list, _ := m[attr].([]any)
	var out []string
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func bulkTestMinus(a, b []string) []string {
	in := toSet(b)
	out := []string{}
	for _, s := range a {
		if !in[s] {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// bulkTestFront stands before Point for the bulk tests, in both modes. It
// counts answers by route, user and status; it can answer a share of
// requests with 503 before they reach Point, as the sandbox's FailureRate
// does; and it can make users vanish: Point's own 404 to reads, and a
// registration answered as a new user's, as if they had been deleted and
// registered again.
type bulkTestFront struct {
	next http.Handler

	mu       sync.Mutex
	rng      *rand.Rand
	failRate float64
	vanished map[string]bool
	answers  map[bulkTestAnswer]int
	injected atomic.Int64
}

type bulkTestAnswer struct {
	route, userID string
	status        int
}

func newBulkTestFront(t *testing.T, env *testEnv) (*bulkTestFront, string) {
	t.Helper()
	f := &bulkTestFront{next: env.Upstream(), rng: rand.New(rand.NewPCG(1, 2)), vanished: map[string]bool{}, answers: map[bulkTestAnswer]int{}}
	server := httptest.NewServer(f)
	t.Cleanup(server.Close)
	return f, server.URL
}

func (f *bulkTestFront) setFailRate(rate float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failRate = rate
}

func (f *bulkTestFront) vanish(ids ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		f.vanished[id] = true
	}
}

func (f *bulkTestFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route := sandbox.RouteOf(r)
	userID := ""
	if rest, ok := strings.CutPrefix(r.URL.Path, "/organizations/users/"); ok {
		userID, _, _ = strings.Cut(rest, "/")
	}
	f.mu.Lock()
	fail := f.failRate > 0 && f.rng.Float64() < f.failRate
	vanished := f.vanished[userID]
	if vanished && route == sandbox.RouteCreateUser {
		delete(f.vanished, userID)
	}
	f.mu.Unlock()

	rec := httptest.NewRecorder()
	switch {
	case fail:
		f.injected.Add(1)
		rec.Header().Set("Content-Type", "application/json")
		rec.WriteHeader(http.StatusServiceUnavailable)
		_, _ = rec.WriteString(`{"error":"unavailable","message":"service temporarily unavailable (injected by the test)"}`)
	case vanished && route == sandbox.RouteGetUser:
		rec.Header().Set("Content-Type", "application/json")
		rec.WriteHeader(http.StatusNotFound)
		_, _ = rec.WriteString(`{"error":"user_not_found","message":"no user with this id"}`)
	case vanished && route == sandbox.RouteCreateUser:
		body, _ := json.Marshal(map[string]any{"user": map[string]any{"id": userID, "refreshToken": nil}})
		rec.Header().Set("Content-Type", "application/json")
		rec.WriteHeader(http.StatusOK)
		_, _ = rec.Write(body)
	default:
		f.next.ServeHTTP(rec, r)
	}
	f.mu.Lock()
	f.answers[bulkTestAnswer{route, userID, rec.Code}]++
	f.mu.Unlock()
	maps.Copy(w.Header(), rec.Header())
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// count returns how many answers matched: route, user (any when "") and a
// status class (200 for any 2xx, or an exact status).
func (f *bulkTestFront) count(route, userID string, status int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for a, c := range f.answers {
		if a.route != route || (userID != "" && a.userID != userID) {
			continue
		}
		if a.status == status || (status == http.StatusOK && a.status >= 200 && a.status < 300) {
			n += c
		}
	}
	return n
}

// reset forgets the answers counted so far.
func (f *bulkTestFront) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.answers)
}

// expect checks that route was answered with success exactly want times
// for each user in ids, and never for any other user.
func (f *bulkTestFront) expect(route string, ids []string, want int) error {
	in := toSet(ids)
	f.mu.Lock()
	defer f.mu.Unlock()
	got := map[string]int{}
	for a, c := range f.answers {
		if a.route == route && a.status >= 200 && a.status < 300 {
			got[a.userID] += c
		}
	}
	for id, n := range got {
		if !in[id] && n > 0 {
			return fmt.Errorf("%s succeeded %d times for %q, which it should not have touched", route, n, id)
		}
	}
	for id := range in {
		if got[id] != want {
			return fmt.Errorf("%s succeeded %d times for %q, want %d", route, got[id], id, want)
		}
	}
	return nil
}

func TestRunBulk_boundsConcurrency(t *testing.T) {
	ids := make([]string, 200)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	var inFlight, peak atomic.Int64
	var mu sync.Mutex
	seen := map[string]int{}
	notStarted := runBulk(context.Background(), ids, 7, func(_ context.Context, id string) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		inFlight.Add(-1)
		mu.Lock()
		seen[id]++
		mu.Unlock()
	})
	if len(notStarted) != 0 {
		t.Errorf("%d ids not started without cancellation", len(notStarted))
	}
	if p := peak.Load(); p > 7 || p < 2 {
		t.Errorf("peak concurrency %d, want between 2 and 7", p)
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("id %s worked on %d times", id, seen[id])
		}
	}
}

func TestRunBulk_stopsWhenCancelled(t *testing.T) {
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var done []string
	notStarted := runBulk(ctx, ids, 4, func(ctx context.Context, id string) {
		mu.Lock()
		done = append(done, id)
		if len(done) == 10 {
			cancel()
		}
		mu.Unlock()
	})
	if len(done)+len(notStarted) != len(ids) {
		t.Fatalf("%d worked on and %d not started, want %d in all", len(done), len(notStarted), len(ids))
	}
	if len(notStarted) == 0 || len(done) > 10+4 {
		t.Errorf("after cancellation %d ids were still started", len(done)-10)
	}
	for _, id := range notStarted {
		if slices.Contains(done, id) {
			t.Errorf("id %s reported as not started was worked on", id)
		}
	}
}

func TestImportUserIDs(t *testing.T) {
	for _, tc := range []struct {
		id      string
		want    []string
		problem string
	}{
		{id: "alice", want: []string{"alice"}},
		{id: "alice, bob,carol", want: []string{"alice", "bob", "carol"}},
		{id: "alice,bob,alice", want: []string{"alice", "bob"}},
		{id: "alice,,bob", problem: `Got "" in "alice,,bob"`},
		{id: "alice,a/b", problem: `Got "a/b"`},
		{id: "", problem: `Got ""`},
	} {
		var diags diag.Diagnostics
		got, ok := importUserIDs(tc.id, &diags)
		if tc.problem != "" {
			if ok || !diags.HasError() || !strings.Contains(diags[0].Detail(), tc.problem) {
				t.Errorf("importUserIDs(%q) = %v, %v, %v; want an error mentioning %s", tc.id, got, ok, diags, tc.problem)
			}
			continue
		}
		if !ok || !slices.Equal(got, tc.want) {
			t.Errorf("importUserIDs(%q) = %v, %v, %v; want %v", tc.id, got, ok, diags, tc.want)
		}
	}
}

func TestQuoteIDs(t *testing.T) {
	if got := quoteIDs([]string{"b", "a"}); got != `"a", "b"` {
		t.Errorf("quoteIDs = %s", got)
	}
	many := make([]string, 25)
	for i := range many {
		many[i] = fmt.Sprintf("u%02d", i)
	}
	if got := quoteIDs(many); !strings.HasSuffix(got, `"u09" and 15 more`) || !strings.HasPrefix(got, `"u00", `) {
		t.Errorf("quoteIDs of 25 = %s", got)
	}
}

func TestOrdered(t *testing.T) {
	got := ordered([]string{"c", "a", "x", "c"}, toSet([]string{"a", "c", "z", "b"}))
	if want := []string{"c", "a", "b", "z"}; !slices.Equal(got, want) {
		t.Errorf("ordered = %v, want %v", got, want)
	}
}

func TestFailures_groupsByError(t *testing.T) {
	var f failures
	f.add("user-1", errors.New("boom"))
	f.add("user-2", errors.New("boom"))
	f.add("user-3", errors.New("other"))
	// An answer that quotes the path groups with the same answer for others.
	f.add("user-4", errors.New("proxy refused GET /organizations/users/user-4"))
	f.add("user 5", errors.New("proxy refused GET /organizations/users/user%205"))
	var groups []string
	f.each(func(ids []string, err error) {
		groups = append(groups, fmt.Sprintf("%v:%v", slices.Sorted(slices.Values(ids)), err))
	})
	want := []string{"[user 5 user-4]:proxy refused GET /organizations/users/user-4", "[user-1 user-2]:boom", "[user-3]:other"}
	slices.Sort(groups)
	if !slices.Equal(groups, want) {
		t.Errorf("groups = %q, want %q", groups, want)
	}
	if f.len() != 5 {
		t.Errorf("len = %d", f.len())
	}
}

func TestFailures_boundsDiagnostics(t *testing.T) {
	var f failures
	for i := range 8 {
		for j := range 8 - i {
			f.add(fmt.Sprintf("user-%d-%d", i, j), fmt.Errorf("error %d", i))
		}
	}
	var reports []string
	total := 0
	f.each(func(ids []string, err error) {
		reports = append(reports, err.Error())
		total += len(ids)
	})
	if len(reports) != maxFailureGroups || total != f.len() {
		t.Fatalf("%d reports covering %d ids, want %d covering %d: %q", len(reports), total, maxFailureGroups, f.len(), reports)
	}
	if last := reports[len(reports)-1]; last != "error 4 (and 3 other errors; the first is shown)" {
		t.Errorf("last report = %q", last)
	}
}

// bulkTestExpectOutput fails unless out matches texts, in order, each
// tolerant of Terraform's line wrapping.
func bulkTestExpectOutput(t *testing.T, out string, texts ...string) {
	t.Helper()
	if want := diagnosticMatching(texts...); !want.MatchString(out) {
		t.Errorf("output does not match %s:\n%s", want, out)
	}
}

// bulkTestStateFile is what the tests read of a terraform.tfstate.
type bulkTestStateFile struct {
	Resources []struct {
		Type, Name string
		Instances  []struct {
			Status     string         `json:"status"`
			Attributes map[string]any `json:"attributes"`
		}
	}
}

func bulkTestShowState(t *testing.T, cli *terraformCLI) bulkTestStateFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cli.Dir, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	var state bulkTestStateFile
	if err := json.Unmarshal(b, &state); err != nil {
		t.Fatal(err)
	}
	return state
}

// attributes returns the attributes of the single instance at addr, or nil.
func (s bulkTestStateFile) attributes(addr string) map[string]any {
	for _, r := range s.Resources {
		if r.Type+"."+r.Name == addr && len(r.Instances) == 1 {
			return r.Instances[0].Attributes
		}
	}
	return nil
}

// status returns the status of the single instance at addr: "" when it is
// ready, "tainted", or "absent".
func (s bulkTestStateFile) status(addr string) string {
	for _, r := range s.Resources {
		if r.Type+"."+r.Name == addr && len(r.Instances) == 1 {
			return r.Instances[0].Status
		}
	}
	return "absent"
}

func bulkTestStateIDs(s bulkTestStateFile, addr string) []string {
	var ids []string
	list, _ := s.attributes(addr)["user_ids"].([]any)
	for _, e := range list {
		if id, ok := e.(string); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

func bulkTestStateTokens(s bulkTestStateFile, addr string) map[string]string {
	tokens := map[string]string{}
	m, _ := s.attributes(addr)["tokens"].(map[string]any)
	for id, v := range m {
		tokens[id], _ = v.(string)
	}
	return tokens
}

// bulkTestExpectNotTainted fails when the resource at addr is tainted or
// absent from state.
func bulkTestExpectNotTainted(t *testing.T, cli *terraformCLI, addrs ...string) {
	t.Helper()
	state := bulkTestShowState(t, cli)
	for _, addr := range addrs {
		if status := state.status(addr); status != "" {
			t.Errorf("%s is %s in state, want it ready", addr, status)
		}
	}
}

func slicesEqualSorted(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}
