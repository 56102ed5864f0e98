package provider

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// usersTestIDs checks the user_ids of point_users in state, in order.
func usersTestIDs(ids []string) statecheck.StateCheck {
	checks := make([]knownvalue.Check, len(ids))
	for i, id := range ids {
		checks[i] = knownvalue.StringExact(id)
	}
	return statecheck.ExpectKnownValue(acctest.UsersAddr, tfjsonpath.New("user_ids"), knownvalue.ListExact(checks))
}

// usersTestInPoint checks that Point has every user, with a current
// refresh token when tokens is true and none when it is false.
func usersTestInPoint(env *acctest.Env, ids []string, tokens bool) func(*terraform.State) error {
	return func(*terraform.State) error {
		for _, id := range ids {
			if !env.HasUser(id) {
				return fmt.Errorf("Point has no user %q", id)
			}
			if has := env.CurrentRefreshToken(id) != ""; has != tokens {
				return fmt.Errorf("Point user %q has a current refresh token: %t, want %t", id, has, tokens)
			}
		}
		return nil
	}
}

// TestAccUsers_lifecycle registers 50 users, adds and removes some under
// each deletion_policy, and checks what Point holds after each step: ABANDON
// leaves users and tokens, REVOKE revokes the tokens of the users removed,
// and PREVENT stops a removal and a destroy at plan time.
func TestAccUsers_lifecycle(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	front, endpoint := acctest.NewCountingFront(t, env)
	expect := frontExpects(front)
	ids := acctest.NumberedUserIDs(env, "users", 60)
	first, second, third := ids[:50], ids[5:60], ids[10:60]
	provider := acctest.ProviderBlockFor(env, endpoint, 3)
	config := func(ids []string, policy string) string {
		return acctest.PointUsersConfig(provider, ids, fmt.Sprintf("  deletion_policy = %q\n", policy))
	}

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{
			{
				Config:           acctest.PointUsersConfig(provider, first, ""),
				ConfigPlanChecks: settles(),
				ConfigStateChecks: []statecheck.StateCheck{
					usersTestIDs(first),
					statecheck.ExpectKnownValue(acctest.UsersAddr, tfjsonpath.New("deletion_policy"), knownvalue.StringExact(deletionAbandon)),
					statecheck.ExpectKnownValue(acctest.UsersAddr, tfjsonpath.New("max_concurrency"), knownvalue.Int64Exact(10)),
				},
				Check: resource.ComposeAggregateTestCheckFunc(usersTestInPoint(env, first, true), expect(sandbox.RouteCreateUser, first, 1)),
			},
			{
				// ABANDON: the users removed stay in Point, tokens and all.
				PreConfig: front.Reset,
				Config:    acctest.PointUsersConfig(provider, second, "  max_concurrency = 3\n"),
				ConfigPlanChecks: settles(plancheck.ExpectResourceAction(acctest.UsersAddr, plancheck.ResourceActionUpdate),
					acctest.PlanListChange{Addr: acctest.UsersAddr, Attr: "user_ids", Added: ids[50:60], Removed: ids[:5]}),
				ConfigStateChecks: []statecheck.StateCheck{usersTestIDs(second)},
				Check: resource.ComposeAggregateTestCheckFunc(usersTestInPoint(env, ids, true),
					expect(sandbox.RouteCreateUser, ids[50:60], 1), expect(sandbox.RouteRevokeRefreshToken, nil, 0)),
			},
			// A change of policy alone makes no request that changes anything.
			{PreConfig: front.Reset, Config: config(second, deletionRevoke), Check: noWriteSucceeded(front)},
			{
				// REVOKE: the tokens of the users removed are revoked; the
				// users stay in Point.
				PreConfig:        front.Reset,
				Config:           config(third, deletionRevoke),
				ConfigPlanChecks: preApply(acctest.PlanListChange{Addr: acctest.UsersAddr, Attr: "user_ids", Removed: ids[5:10]}),
				Check: resource.ComposeAggregateTestCheckFunc(usersTestInPoint(env, ids[5:10], false), usersTestInPoint(env, third, true),
					expect(sandbox.RouteRevokeRefreshToken, ids[5:10], 1)),
			},
			{Config: config(third, deletionPrevent)},
			{
				// PREVENT stops a removal at plan time: nothing is revoked.
				PreConfig:   front.Reset,
				Config:      config(ids[15:60], deletionPrevent),
				ExpectError: acctest.DiagnosticMatching("Point User Deletion Prevented", "removes 5 users from user_ids", "The provider stopped the plan"),
			},
			{
				Config:      config(third, deletionPrevent),
				Destroy:     true,
				ExpectError: acctest.DiagnosticMatching("Point User Deletion Prevented", "this plan destroys it, with its 50 users"),
			},
			{
				Config: config(third, deletionAbandon),
				Check: resource.ComposeAggregateTestCheckFunc(usersTestInPoint(env, third, true),
					expect(sandbox.RouteRevokeRefreshToken, nil, 0)),
			},
		},
	})
	// The destroy at the end abandons every user.
	expectNoError(t, usersTestInPoint(env, third, true)(nil))
}

// TestAccUsers_alreadyExistsCLI: an id Point already has is not adopted. On
// create it is a warning, so that the resource is not tainted, and the next
// plan shows it again as an addition; on update it is an error that shows
// how to import; the other users are registered and recorded either way.
func TestAccUsers_alreadyExistsCLI(t *testing.T) {
	cli := acctest.NewCLI(t)
	env := acctest.NewEnv(t, sandbox.Options{})
	env.RequireCreateConflict()
	t.Parallel()
	front, endpoint := acctest.NewCountingFront(t, env)
	ids := acctest.NumberedUserIDs(env, "exists", 12)
	taken := []string{ids[3], ids[9]}
	for _, id := range taken {
		env.AddUser(id)
	}
	provider := acctest.ProviderBlockFor(env, endpoint, 1)

	cli.WriteMain(acctest.PointUsersConfig(provider, ids[:10], ""))
	out := cli.MustRun(0, "apply", "-input=false", "-auto-approve", "-no-color")
	acctest.ExpectOutput(t, out, "Warning: Point Users Already Exist", "Point already has 2 of the 10 users in user_ids",
		fmt.Sprintf("%q, %q", taken[0], taken[1]), "import point_users with all of its ids")
	acctest.ExpectOutput(t, out, "Apply complete! Resources: 1 added")
	acctest.ExpectNotTainted(t, cli, acctest.UsersAddr)
	expectNoError(t, front.Expect(sandbox.RouteCreateUser, without(ids[:10], taken), 1))

	// The next plan shows the two as additions, and its apply fails on them
	// alone, with an error; the two new ids are registered.
	front.Reset()
	cli.WriteMain(acctest.PointUsersConfig(provider, ids, ""))
	out = cli.MustRun(2, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	acctest.ExpectOutput(t, out, "point_users.test will be updated in-place")
	out = cli.MustRun(1, "apply", "-input=false", "-auto-approve", "-no-color")
	acctest.ExpectOutput(t, out, "Error: Point Users Already Exist", "Point already has 2 of the 4 users")
	expectNoError(t, front.Expect(sandbox.RouteCreateUser, ids[10:], 1))
	if n := front.Count(sandbox.RouteCreateUser, "", http.StatusConflict); n != 2 {
		t.Errorf("the second apply met 409 on %d registrations, want 2: one for each id Point had before", n)
	}
	state := acctest.ReadStateFile(t, cli)
	if got, want := acctest.StateFileUserIDs(state, acctest.UsersAddr), without(ids, taken); !acctest.SameElements(got, want) {
		t.Errorf("state holds %v, want the 10 ids registered by this configuration %v", got, want)
	}
}
