package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
)

// Unit tests of what point_users and point_refresh_tokens share.

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
