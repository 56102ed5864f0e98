package acctest

import (
	"context"
	"fmt"
	"slices"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/hashicorp/terraform-plugin-testing/plancheck"
)

// PlanListChange checks that a planned change adds and removes exactly the given elements of a list.
type PlanListChange struct {
	Addr, Attr     string
	Added, Removed []string
}

func (c PlanListChange) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	change, err := planChange(req.Plan, c.Addr)
	if err != nil {
		resp.Error = err
		return
	}
	before, after := listStrings(change.Before, c.Attr), listStrings(change.After, c.Attr)
	added := slices.DeleteFunc(slices.Clone(after), func(s string) bool { return slices.Contains(before, s) })
	removed := slices.DeleteFunc(slices.Clone(before), func(s string) bool { return slices.Contains(after, s) })
	slices.Sort(added)
	slices.Sort(removed)
	if !slices.Equal(added, slices.Sorted(slices.Values(c.Added))) || !slices.Equal(removed, slices.Sorted(slices.Values(c.Removed))) {
		resp.Error = fmt.Errorf("%s.%s: the plan adds %v and removes %v, want %v and %v", c.Addr, c.Attr, added, removed, c.Added, c.Removed)
	}
}

// PlanUnknownKeys checks that exactly Keys of a map attribute are unknown in a planned change.
type PlanUnknownKeys struct {
	Addr, Attr string
	Keys       []string
}

func (c PlanUnknownKeys) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	change, err := planChange(req.Plan, c.Addr)
	if err != nil {
		resp.Error = err
		return
	}
	afterUnknown, _ := change.AfterUnknown.(map[string]any)
	if whole, ok := afterUnknown[c.Attr].(bool); ok && whole {
		resp.Error = fmt.Errorf("%s.%s is wholly unknown in the plan, want only %v unknown", c.Addr, c.Attr, c.Keys)
		return
	}
	var unknown []string
	if m, ok := afterUnknown[c.Attr].(map[string]any); ok {
		for k, v := range m {
			if v == true {
				unknown = append(unknown, k)
			}
		}
	}
	slices.Sort(unknown)
	if !slices.Equal(unknown, slices.Sorted(slices.Values(c.Keys))) {
		resp.Error = fmt.Errorf("%s.%s: the plan leaves %v unknown, want %v", c.Addr, c.Attr, unknown, slices.Sorted(slices.Values(c.Keys)))
	}
}

func planChange(plan *tfjson.Plan, addr string) (*tfjson.Change, error) {
	for _, rc := range plan.ResourceChanges {
		if rc.Address == addr {
			return rc.Change, nil
		}
	}
	return nil, fmt.Errorf("%s is not in the plan", addr)
}

func listStrings(object any, attr string) []string {
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
