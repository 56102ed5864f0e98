package provider

import (
	"fmt"
	"strings"
	"testing"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// The table "When tokens are issued and revoked" of the guide "Using access
// tokens": how many access tokens each command issues and revokes, for a
// point_access_token per user whose token a write-only argument takes, as
// in the guide's example. Terraform opens every instance of an ephemeral
// resource whose arguments are known in every plan and every apply.
// OpenTofu opens it in an apply only when that apply changes something that
// uses its value, and then every instance; and a plan in which its for_each
// gained a key whose user_id is unknown opens none of its instances.

// accessTokenOpenings is the number of access tokens one command issued,
// each of which it also revoked, under Terraform and under OpenTofu.
type accessTokenOpenings struct{ terraform, openTofu int }

func TestAccAccessToken_openingsPerCommand(t *testing.T) {
	acctest.SkipBelowTerraform(t, acctest.CLIVersionWriteOnly, "the guide's write-only argument")
	env := acctest.NewEnv(t, sandbox.Options{})
	env.RequireSandbox() // request counts
	store := newWOStore()
	cli := acctest.NewInProcessCLI(t, factoriesWith(env, store), "")
	alice, bob := env.UserID("openings-alice"), env.UserID("openings-bob")
	config := func(secretVersion int, userIDs ...string) string {
		return env.ProviderBlock() + fmt.Sprintf(`
resource "point_user" "user" {
  for_each = toset(["%[1]s"])
  user_id  = each.key
}

ephemeral "point_access_token" "user" {
  for_each = point_user.user
  user_id  = each.value.id
}

resource "wostore_secret" "user" {
  for_each = point_user.user
  name     = each.key
}

resource "wostore_secret_version" "user" {
  for_each                 = point_user.user
  secret_id                = wostore_secret.user[each.key].id
  secret_string_wo         = ephemeral.point_access_token.user[each.key].token
  secret_string_wo_version = %[2]d
}
`, strings.Join(userIDs, `", "`), secretVersion)
	}
	onOpenTofu := acctest.TestCLI(t).OpenTofu()
	issued, revoked := 0, 0
	expect := func(command string, want accessTokenOpenings) {
		t.Helper()
		counts := env.Sandbox.RequestCounts()
		gotIssued := counts[sandbox.RouteIssueAccessToken] - issued
		gotRevoked := counts[sandbox.RouteRevokeAccessToken] - revoked
		issued, revoked = counts[sandbox.RouteIssueAccessToken], counts[sandbox.RouteRevokeAccessToken]
		n := want.terraform
		if onOpenTofu {
			n = want.openTofu
		}
		if gotIssued != n || gotRevoked != n {
			t.Errorf("%s: %d access tokens issued and %d revoked, want %d of each", command, gotIssued, gotRevoked, n)
		}
	}

	cli.WriteMain(config(1, alice))
	cli.MustRun(0, "init", "-no-color")
	expect("init", accessTokenOpenings{0, 0})
	// user_id is unknown at plan time: the plan defers opening to the apply.
	cli.MustRun(0, "apply", "-auto-approve", "-no-color")
	expect("the first apply", accessTokenOpenings{1, 1})
	if got := len(store.Writes(alice)); got != 1 {
		t.Fatalf("the first apply wrote the access token %d times, want once", got)
	}

	cli.MustRun(0, "plan", "-no-color")
	expect("plan", accessTokenOpenings{1, 1})
	cli.MustRun(0, "apply", "-auto-approve", "-no-color")
	expect("apply with no change", accessTokenOpenings{2, 1})

	cli.WriteMain(config(2, alice))
	cli.MustRun(0, "apply", "-auto-approve", "-no-color")
	expect("apply that writes the token again", accessTokenOpenings{2, 2})
	if got := len(store.Writes(alice)); got != 2 {
		t.Errorf("the apply that changed secret_string_wo_version left %d writes, want 2", got)
	}

	// bob's user_id is unknown at plan time, alice's is not.
	cli.WriteMain(config(2, alice, bob))
	cli.MustRun(0, "plan", "-no-color")
	expect("plan, for_each gained a key", accessTokenOpenings{1, 0})
	cli.MustRun(0, "apply", "-auto-approve", "-no-color")
	expect("apply, for_each gained a key", accessTokenOpenings{3, 2})
	if got := len(store.Writes(bob)); got != 1 {
		t.Errorf("the apply that added bob wrote his access token %d times, want once", got)
	}

	cli.MustRun(0, "destroy", "-auto-approve", "-no-color")
	expect("destroy", accessTokenOpenings{2, 2})
	if n := len(env.Sandbox.AccessTokens()); n != issued {
		t.Errorf("the sandbox holds %d access tokens, the requests issued %d", n, issued)
	}
	accessTokenRequireIssued(t, env, true)
}
