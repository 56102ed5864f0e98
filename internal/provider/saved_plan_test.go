package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// savedPlanSubject is a point_refresh_token, or a point_refresh_tokens of 8 users, and the change it gets.
type savedPlanSubject struct {
	name, typ                            string
	store                                bool
	rotateAfter, readTimeout, generation string
	ids                                  []string
	change                               func(*savedPlanSubject)
}

// savedPlanToken is what a user's token is expected to be.
type savedPlanToken struct {
	token   string
	version int64
	issued  time.Time
}

// TestAccSavedPlan_refreshTokens: a plan file applied after tokens fell due rotates exactly what it
// planned, since Terraform plans again when it applies a plan file and refuses a plan that differs from
// the saved one. The provider runs in the test process, so that the test moves its clock between plan
// and apply, against real Point as against the sandbox; the counting front sees every request in both.
func TestAccSavedPlan_refreshTokens(t *testing.T) {
	t.Parallel()
	env := acctest.NewEnv(t, sandbox.Options{})
	front, endpoint := acctest.NewCountingFront(t, env)
	cli := acctest.NewInProcessCLI(t, env.Factories(), "")
	// Tokens due at t0+2h: the singular ones and the first 4 users of each bulk resource; at t0+3h,
	// the other bulk users. The triggered ones rotate with the change instead.
	var subjects []*savedPlanSubject
	var all, triggered, dueFirst, dueLate []string
	// rotate_at moves ten minutes later: still between the plan and the apply.
	changes := map[string]func(*savedPlanSubject){
		"timeouts":          func(s *savedPlanSubject) { s.readTimeout = "2m" },
		"store_token":       func(s *savedPlanSubject) { s.store = !s.store },
		"rotate_after":      func(s *savedPlanSubject) { s.rotateAfter = "2h10m" },
		"rotation_triggers": func(s *savedPlanSubject) { s.generation = "2" },
	}
	for _, typ := range []string{"point_refresh_token", "point_refresh_tokens"} {
		for i, change := range []string{"timeouts", "store_token", "rotate_after", "rotation_triggers"} {
			for _, store := range []bool{true, false} {
				s := &savedPlanSubject{name: fmt.Sprintf("%s_%t", change, store), typ: typ, change: changes[change],
					store: store, rotateAfter: "2h", readTimeout: "1m", generation: "1"}
				id := "saved-plan-" + strings.ReplaceAll(s.name, "_", "-")
				switch {
				case typ == "point_refresh_tokens" && i >= 2:
					continue
				case typ == "point_refresh_tokens":
					s.ids = acctest.NumberedUserIDs(env, id, 8)
					dueFirst, dueLate = append(dueFirst, s.ids[:4]...), append(dueLate, s.ids[4:]...)
				case change == "rotation_triggers":
					s.ids, triggered = []string{env.UserID(id)}, append(triggered, env.UserID(id))
				default:
					s.ids, dueFirst = []string{env.UserID(id)}, append(dueFirst, env.UserID(id))
				}
				subjects, all = append(subjects, s), append(all, s.ids...)
			}
		}
	}
	addr := func(s *savedPlanSubject) string { return s.typ + "." + s.name }
	writeConfig := func(bulkUsers int) {
		config := acctest.ProviderBlockFor(env, endpoint, 3)
		for _, s := range subjects {
			user, attr, ids := "point_user", "user_id", fmt.Sprintf("%q", s.ids[0])
			if s.typ == "point_refresh_tokens" {
				user, attr, ids = "point_users", "user_ids", acctest.HCLList(s.ids[:bulkUsers])
			}
			config += fmt.Sprintf(`
resource %[1]q %[2]q {
  %[3]s = %[4]s
}

resource %[5]q %[2]q {
  %[3]s = %[1]s.%[2]s.%[3]s

  store_token       = %[6]t
  rotate_after      = %[7]q
  rotation_triggers = { generation = %[8]q }
  timeouts          = { read = %[9]q }
}
`, user, s.name, attr, ids, s.typ, s.store, s.rotateAfter, s.generation, s.readTimeout)
		}
		cli.WriteMain(config)
	}

	// expectState checks that the apply carried out the change its plan planned, in Point and in state.
	want := map[string]savedPlanToken{}
	expectState := func() {
		t.Helper()
		state := acctest.ReadStateFile(t, cli.CLI)
		for _, s := range subjects {
			attrs := state.Attributes(addr(s))
			timeouts, _ := attrs["timeouts"].(map[string]any)
			triggers, _ := attrs["rotation_triggers"].(map[string]any)
			if attrs["store_token"] != s.store || attrs["rotate_after"] != s.rotateAfter ||
				timeouts["read"] != s.readTimeout || triggers["generation"] != s.generation {
				t.Errorf("%s: state holds store_token = %v, rotate_after = %v, timeouts = %v, rotation_triggers = %v; want %t, %s, %s, %s",
					addr(s), attrs["store_token"], attrs["rotate_after"], timeouts, triggers, s.store, s.rotateAfter, s.readTimeout, s.generation)
			}
			after, _ := time.ParseDuration(s.rotateAfter)
			for _, id := range s.ids {
				// The singular resource's attributes are named as the bulk's, less the plural s.
				get := func(attr string) any {
					if s.typ == "point_refresh_token" {
						return attrs[strings.TrimSuffix(attr, "s")]
					}
					m, _ := attrs[attr].(map[string]any)
					return m[id]
				}
				w, current := want[id], env.CurrentRefreshToken(id)
				if current == "" || current != w.token {
					t.Errorf("Point's current refresh token of %q is not the one expected", id)
				}
				if stored, _ := get("tokens").(string); (stored == current) != s.store || (!s.store && stored != "") {
					t.Errorf("the token of %q in state: stored %t, want %t", id, stored != "", s.store)
				}
				for attr, expected := range map[string]any{"token_sha256": tokenSHA256(current), "token_version": float64(w.version),
					"issued_at": acctest.FormatRFC3339(w.issued), "rotate_at": acctest.FormatRFC3339(w.issued.Add(after))} {
					if got := get(attr); got != expected {
						t.Errorf("%s of %q in state = %v, want %v", attr, id, got, expected)
					}
				}
			}
		}
	}
	rotated := func(ids []string) {
		t.Helper()
		if err := front.Expect(sandbox.RouteIssueRefreshToken, ids, 1); err != nil {
			t.Error(err)
		}
		for _, id := range ids {
			current := env.CurrentRefreshToken(id)
			if current == want[id].token {
				t.Fatalf("the applied plan rotates the token of %q, but Point still holds the old one", id)
			}
			if err := env.CheckRefreshTokenRefused(id, want[id].token); err != nil {
				t.Error(err)
			}
			want[id] = savedPlanToken{current, 2, env.Clock.Now()}
		}
		expectState()
	}
	// expectPlan checks that file rotates exactly the tokens of ids, and carries the change when changed.
	expectPlan := func(file string, ids []string, changed bool) {
		t.Helper()
		var plan tfjson.Plan
		plan.UseJSONNumber(true) // as plancheck reads numbers
		if err := json.Unmarshal([]byte(cli.MustRun(0, "show", "-json", file)), &plan); err != nil {
			t.Fatal(err)
		}
		sha, version := tfjsonpath.New("token_sha256"), tfjsonpath.New("token_version")
		for _, s := range subjects {
			rotating := slices.DeleteFunc(slices.Clone(s.ids), func(id string) bool { return !slices.Contains(ids, id) })
			var checks []plancheck.PlanCheck
			switch {
			case s.typ == "point_refresh_tokens":
				checks = append(checks, acctest.PlanUnknownKeys{Addr: addr(s), Attr: "token_sha256", Keys: rotating})
			case len(rotating) > 0:
				checks = append(checks, plancheck.ExpectUnknownValue(addr(s), sha), plancheck.ExpectKnownValue(addr(s), version, knownvalue.Int64Exact(2)))
			case changed:
				checks = append(checks, plancheck.ExpectKnownValue(addr(s), sha, knownvalue.NotNull()), plancheck.ExpectKnownValue(addr(s), version, knownvalue.Int64Exact(1)))
			default:
				checks = append(checks, plancheck.ExpectResourceAction(addr(s), plancheck.ResourceActionNoop))
			}
			for _, check := range checks {
				var resp plancheck.CheckPlanResponse
				check.CheckPlan(context.Background(), plancheck.CheckPlanRequest{Plan: &plan}, &resp)
				if resp.Error != nil {
					t.Errorf("%s: %v", file, resp.Error)
				}
			}
		}
	}

	t0 := env.Clock.Now()
	writeConfig(4)
	cli.MustRun(0, "apply", "-auto-approve", "-input=false", "-no-color")
	env.Clock.Advance(time.Hour)
	writeConfig(8)
	cli.MustRun(0, "apply", "-auto-approve", "-input=false", "-no-color")
	for _, id := range all {
		want[id] = savedPlanToken{env.CurrentRefreshToken(id), 1, t0}
	}
	for _, id := range dueLate {
		want[id] = savedPlanToken{want[id].token, 1, t0.Add(time.Hour)}
	}
	expectState()

	// Planned at t0+1h30m, when none is due.
	env.Clock.Advance(30 * time.Minute)
	front.Reset()
	for _, s := range subjects {
		s.change(s)
	}
	writeConfig(8)
	out := cli.MustRun(0, "plan", "-input=false", "-no-color", "-out=change.tfplan")
	acctest.ExpectOutputShows(t, out, fmt.Sprintf("Plan: 0 to add, %d to change, 0 to destroy.", len(subjects)))
	expectPlan("change.tfplan", triggered, true)

	// Reviewed, and applied at t0+2h15m, when the first tokens are due.
	env.Clock.Advance(45 * time.Minute)
	out = cli.MustRun(0, "apply", "-input=false", "-no-color", "change.tfplan")
	acctest.ExpectOutputShows(t, out, fmt.Sprintf("Apply complete! Resources: 0 added, %d changed, 0 destroyed.", len(subjects)))
	rotated(triggered)

	// Without a refresh, a plan reads no clock: nothing was due at the last refresh saved in state.
	// Once a refresh that finds the first tokens due is saved, such a plan rotates them.
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-refresh=false", "-detailed-exitcode")
	cli.MustRun(0, "apply", "-input=false", "-no-color", "-refresh-only", "-auto-approve")
	cli.MustRun(2, "plan", "-input=false", "-no-color", "-refresh=false", "-detailed-exitcode", "-out=unrefreshed.tfplan")
	expectPlan("unrefreshed.tfplan", dueFirst, false)

	// The next plan rotates the first tokens; applied at t0+3h15m, when the late ones are due as well,
	// it rotates the first ones alone. Then the late ones, and nothing more.
	front.Reset()
	cli.MustRun(2, "plan", "-input=false", "-no-color", "-detailed-exitcode", "-out=first.tfplan")
	expectPlan("first.tfplan", dueFirst, false)
	env.Clock.Advance(time.Hour)
	cli.MustRun(0, "apply", "-input=false", "-no-color", "first.tfplan")
	rotated(dueFirst)
	front.Reset()
	cli.MustRun(2, "plan", "-input=false", "-no-color", "-detailed-exitcode", "-out=late.tfplan")
	expectPlan("late.tfplan", dueLate, false)
	cli.MustRun(0, "apply", "-input=false", "-no-color", "late.tfplan")
	rotated(dueLate)
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")

	// A token revoked elsewhere after the last refresh: the destroy, without a refresh, finds that its
	// user holds none, so it has nothing to revoke there and no token left valid to warn of.
	env.RevokeRefreshToken(subjects[0].ids[0])
	out = cli.MustRun(0, "destroy", "-auto-approve", "-input=false", "-no-color", "-refresh=false")
	acctest.ExpectOutputShows(t, out, fmt.Sprintf("Destroy complete! Resources: %d destroyed.", 2*len(subjects)))
	if strings.Contains(out, "Left Valid") {
		t.Errorf("the destroy warns of a token left valid, but the user holds none:\n%s", out)
	}
	if err := acctest.NoCurrentRefreshToken(env, all...)(nil); err != nil {
		t.Error(err)
	}
}
