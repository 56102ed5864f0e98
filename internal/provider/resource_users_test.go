package provider

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

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
