package provider

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

func TestAccUser_deletionPolicy(t *testing.T) {
	for _, policy := range []string{deletionAbandon, deletionRevoke, deletionPrevent} {
		t.Run(policy, func(t *testing.T) {
			env := newTestEnv(t, sandbox.Options{})
			userID := env.UserID("policy-" + strings.ToLower(policy))
			var createdToken string

			importAction := plancheck.ResourceActionNoop
			var verifyIgnore []string
			if policy != deletionAbandon {
				// Import sets the default policy, so the configured one is an update.
				importAction = plancheck.ResourceActionUpdate
				verifyIgnore = []string{"deletion_policy"}
			}

			steps := []resource.TestStep{
				{
					Config: pointUserConfig(env, userID, policy),
					ConfigStateChecks: []statecheck.StateCheck{
						statecheck.ExpectKnownValue("point_user.test", tfjsonpath.New("id"), knownvalue.StringExact(userID)),
						statecheck.ExpectKnownValue("point_user.test", tfjsonpath.New("user_id"), knownvalue.StringExact(userID)),
						statecheck.ExpectKnownValue("point_user.test", tfjsonpath.New("deletion_policy"), knownvalue.StringExact(policy)),
					},
					Check: func(*terraform.State) error {
						if !env.HasUser(userID) {
							return fmt.Errorf("user %q not in Point after create", userID)
						}
						if createdToken = env.CurrentRefreshToken(userID); createdToken == "" {
							return fmt.Errorf("user %q has no refresh token after create", userID)
						}
						return expectRequests(env, sandbox.RouteCreateUser, 1)
					},
				},
				{
					Config:           pointUserConfig(env, userID, policy),
					ConfigPlanChecks: preApply(plancheck.ExpectEmptyPlan()),
				},
				{
					ResourceName:            "point_user.test",
					ImportState:             true,
					ImportStateId:           userID,
					ImportStateVerify:       true,
					ImportStateVerifyIgnore: verifyIgnore,
					ImportStateCheck: func(states []*terraform.InstanceState) error {
						if len(states) != 1 {
							return fmt.Errorf("imported %d instances, want 1", len(states))
						}
						if got := states[0].Attributes["deletion_policy"]; got != deletionAbandon {
							return fmt.Errorf("imported deletion_policy = %q, want %q", got, deletionAbandon)
						}
						return nil
					},
				},
				{
					ResourceName:       "point_user.test",
					ImportState:        true,
					ImportStateKind:    resource.ImportBlockWithID,
					ImportStateId:      userID,
					ExpectNonEmptyPlan: policy != deletionAbandon,
					ImportPlanChecks: resource.ImportPlanChecks{
						PreApply: []plancheck.PlanCheck{
							plancheck.ExpectResourceAction("point_user.test", importAction),
							plancheck.ExpectKnownValue("point_user.test", tfjsonpath.New("user_id"), knownvalue.StringExact(userID)),
							plancheck.ExpectKnownValue("point_user.test", tfjsonpath.New("deletion_policy"), knownvalue.StringExact(policy)),
						},
					},
				},
			}
			if policy == deletionPrevent {
				steps = append(steps,
					resource.TestStep{
						Config:  pointUserConfig(env, userID, policy),
						Destroy: true,
						ExpectError: diagnosticMatching("Point User Deletion Prevented",
							fmt.Sprintf(`Point user %q has deletion_policy = "PREVENT", and this plan destroys it. The provider stopped the plan, so nothing was changed or revoked.`, userID),
							`set deletion_policy to "ABANDON"`),
					},
					resource.TestStep{
						PreConfig: func() {
							if !env.HasUser(userID) {
								t.Fatalf("user %q left Point after a prevented destroy", userID)
							}
							if got := env.CurrentRefreshToken(userID); got != createdToken {
								t.Fatal("refresh token changed after a prevented destroy")
							}
						},
						Config: pointUserConfig(env, userID, deletionAbandon),
						ConfigPlanChecks: resource.ConfigPlanChecks{
							// An update, not a create: the failed destroy left state intact.
							PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("point_user.test", plancheck.ResourceActionUpdate)},
						},
						ConfigStateChecks: []statecheck.StateCheck{
							statecheck.ExpectKnownValue("point_user.test", tfjsonpath.New("deletion_policy"), knownvalue.StringExact(deletionAbandon)),
						},
					},
				)
			}

			resource.ParallelTest(t, resource.TestCase{
				ProtoV6ProviderFactories: env.Factories(),
				Steps:                    steps,
				CheckDestroy: func(*terraform.State) error {
					if !env.HasUser(userID) {
						return fmt.Errorf("user %q gone from Point after destroy; Point cannot delete users", userID)
					}
					token := env.CurrentRefreshToken(userID)
					if policy == deletionRevoke {
						if token != "" {
							return fmt.Errorf("refresh token of %q still current after a REVOKE destroy", userID)
						}
						if env.Sandbox != nil {
							if _, ok := env.Sandbox.CurrentRefreshToken(userID); ok {
								return fmt.Errorf("sandbox still holds a refresh token for %q", userID)
							}
						}
						if err := expectRequests(env, sandbox.RouteRevokeRefreshToken, 1); err != nil {
							return err
						}
						return env.CheckRefreshTokenRefused(userID, createdToken)
					}
					if token != createdToken {
						return fmt.Errorf("refresh token of %q changed by a %s destroy", userID, policy)
					}
					if err := expectRequests(env, sandbox.RouteRevokeRefreshToken, 0); err != nil {
						return err
					}
					return env.CheckRefreshTokenAccepted(userID, createdToken)
				},
			})
		})
	}
}

// TestAccUser_existingUser: creating a user Point already has fails with
// how to import it where Point answers 409, and adopts the user, token and
// all, where Point answers 200 with it. Either way Point holds that user
// alone, with its token unchanged.
func TestAccUser_existingUser(t *testing.T) {
	for _, idempotent := range []bool{false, true} {
		t.Run(fmt.Sprintf("idempotent=%t", idempotent), func(t *testing.T) {
			env := newTestEnv(t, sandbox.Options{})
			step := resource.TestStep{}
			userID := env.UserID("taken")
			if idempotent {
				env.RequireIdempotentCreate()
				userID = env.UserID("adopted")
				step.ConfigStateChecks = []statecheck.StateCheck{
					statecheck.ExpectKnownValue("point_user.test", tfjsonpath.New("id"), knownvalue.StringExact(userID)),
					statecheck.ExpectKnownValue("point_user.test", tfjsonpath.New("user_id"), knownvalue.StringExact(userID)),
				}
			} else {
				env.RequireCreateConflict()
				step.ExpectError = diagnosticMatching(
					"Point User Already Exists",
					fmt.Sprintf("Point already has a user with id %q, so it cannot be created. To manage the existing user, import it: add an import block and apply,", userID),
					fmt.Sprintf("import { to = point_user.<name> id = %q }", userID),
					"or run the import command with the same address and id.",
				)
			}
			token := env.AddUser(userID)
			step.Config = pointUserConfig(env, userID, deletionAbandon)
			// Checked before the destroy that ends an adoption.
			step.Check = func(*terraform.State) error {
				if env.Sandbox != nil {
					if got := env.Sandbox.UserIDs(); !slices.Equal(got, []string{userID}) {
						return fmt.Errorf("sandbox users = %v, want only %q", got, userID)
					}
				}
				if got := env.CurrentRefreshToken(userID); got != token {
					return fmt.Errorf("creating the existing user changed its refresh token")
				}
				if err := env.CheckRefreshTokenAccepted(userID, token); err != nil {
					return err
				}
				return expectRequests(env, sandbox.RouteCreateUser, 1)
			}

			resource.ParallelTest(t, resource.TestCase{
				ProtoV6ProviderFactories: env.Factories(),
				Steps:                    []resource.TestStep{step},
			})
			if !idempotent {
				// A failed step runs no Check.
				if err := step.Check(nil); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// userTestHCLString quotes s as an HCL string literal; unlike %q it writes
// control characters as \uNNNN, which HCL understands.
func userTestHCLString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// TestAccUser_invalidInput: user ids and settings Point would refuse, in
// configuration or as an import ID, fail before any request.
func TestAccUser_invalidInput(t *testing.T) {
	env := newTestEnv(t, sandbox.Options{})
	userID := env.UserID("alice")
	var steps []resource.TestStep
	// The import steps come first: an import block step after others reads
	// the state they left, and failed steps leave none.
	for _, kind := range []resource.ImportStateKind{resource.ImportBlockWithID, resource.ImportCommandWithID} {
		steps = append(steps, resource.TestStep{
			Config:          pointUserConfig(env, userID, deletionAbandon),
			ResourceName:    "point_user.test",
			ImportState:     true,
			ImportStateKind: kind,
			ImportStateId:   "a@b",
			ExpectError: diagnosticMatching("Invalid Import ID",
				`The import ID is the Point user id, which must not contain "@": Point asks that user ids carry no personal information, such as email addresses`,
				`Got "a@b".`),
		})
	}
	for _, tc := range []struct {
		userID, deletionPolicy string
		want                   *regexp.Regexp
	}{
		{userID: "", want: diagnosticMatching("Invalid Attribute Value", "Attribute user_id must not be empty.")},
		{userID: strings.Repeat("x", 129), want: diagnosticMatching("Attribute user_id must be at most 128 characters long, got 129.")},
		{userID: "team/alice", want: diagnosticMatching(`Attribute user_id must not contain "/", which Point cannot accept in a user id.`)},
		{userID: "alice@example.com",
			want: diagnosticMatching(`Attribute user_id must not contain "@": Point asks that user ids carry no personal information, such as email addresses; use your application's own opaque id for the user.`)},
		{userID: "alice smith", want: diagnosticMatching("Attribute user_id must not contain whitespace.")},
		{userID: "alice\tsmith", want: diagnosticMatching("Attribute user_id must not contain whitespace.")},
		{userID: "alice\nsmith", want: diagnosticMatching("Attribute user_id must not contain whitespace.")},
		{userID: "alice\x01", want: diagnosticMatching("Attribute user_id must not contain control characters.")},
		{userID: "alice", deletionPolicy: "DELETE",
			want: diagnosticMatching(`Attribute deletion_policy value must be one of: ["ABANDON" "REVOKE" "PREVENT"], got: "DELETE"`)},
	} {
		policy := tc.deletionPolicy
		if policy == "" {
			policy = deletionAbandon
		}
		steps = append(steps, resource.TestStep{
			Config: env.ProviderBlock() + fmt.Sprintf(`
resource "point_user" "test" {
  user_id         = %[1]s
  deletion_policy = %[2]q
}
`, userTestHCLString(tc.userID), policy),
			PlanOnly:    true,
			ExpectError: tc.want,
		})
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps:                    steps,
	})
	expectNoRequests(t, env, "invalid configuration or import ID")
	if env.HasUser(userID) {
		t.Errorf("an invalid import ID let Point register %q", userID)
	}
}

// TestAccUser_scale registers a hundred users with count, and one whose id
// has the most characters Point accepts, 128.
func TestAccUser_scale(t *testing.T) {
	const count = 100
	env := newTestEnv(t, sandbox.Options{})
	prefix := env.UserID("scale-")
	longest := env.UserID("")
	longest += strings.Repeat("x", 128-len(longest))
	config := env.ProviderBlock() + fmt.Sprintf(`
resource "point_user" "test" {
  count   = %[2]d
  user_id = format("%%s%%03d", %[1]q, count.index)
}

resource "point_user" "longest" {
  user_id = %[3]q
}
`, prefix, count, longest)

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("point_user.test[99]", tfjsonpath.New("id"), knownvalue.StringExact(prefix+"099")),
					statecheck.ExpectKnownValue("point_user.longest", tfjsonpath.New("user_id"), knownvalue.StringExact(longest)),
				},
				Check: func(s *terraform.State) error {
					if n := len(s.RootModule().Resources); n != count+1 {
						return fmt.Errorf("state holds %d users, want %d", n, count+1)
					}
					for i := range count {
						if id := fmt.Sprintf("%s%03d", prefix, i); !env.HasUser(id) {
							return fmt.Errorf("user %q not in Point", id)
						}
					}
					if !env.HasUser(longest) {
						return fmt.Errorf("128-character user id not registered in Point")
					}
					if env.Sandbox != nil && len(env.Sandbox.UserIDs()) != count+1 {
						return fmt.Errorf("sandbox holds %d users, want %d", len(env.Sandbox.UserIDs()), count+1)
					}
					return expectRequests(env, sandbox.RouteCreateUser, count+1)
				},
			},
			{
				Config:           config,
				ConfigPlanChecks: preApply(plancheck.ExpectEmptyPlan()),
				Check: func(*terraform.State) error {
					return expectRequests(env, sandbox.RouteCreateUser, count+1)
				},
			},
		},
	})
}
