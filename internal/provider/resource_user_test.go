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

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

func TestAccUser_deletionPolicy(t *testing.T) {
	for _, policy := range []string{deletionAbandon, deletionRevoke, deletionPrevent} {
		t.Run(policy, func(t *testing.T) {
			env := acctest.NewEnv(t, sandbox.Options{})
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
					Config: acctest.PointUserConfig(env, userID, policy),
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
						return acctest.ExpectRequests(env, sandbox.RouteCreateUser, 1)
					},
				},
				{
					Config: acctest.PointUserConfig(env, userID, policy),
					ConfigPlanChecks: resource.ConfigPlanChecks{
						PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
					},
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
						Config:  acctest.PointUserConfig(env, userID, policy),
						Destroy: true,
						ExpectError: acctest.DiagnosticMatching("Point User Deletion Prevented",
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
						Config: acctest.PointUserConfig(env, userID, deletionAbandon),
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
						if err := acctest.ExpectRequests(env, sandbox.RouteRevokeRefreshToken, 1); err != nil {
							return err
						}
						return env.CheckRefreshTokenRefused(userID, createdToken)
					}
					if token != createdToken {
						return fmt.Errorf("refresh token of %q changed by a %s destroy", userID, policy)
					}
					if err := acctest.ExpectRequests(env, sandbox.RouteRevokeRefreshToken, 0); err != nil {
						return err
					}
					return env.CheckRefreshTokenAccepted(userID, createdToken)
				},
			})
		})
	}
}

func TestAccUser_alreadyExists(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	env.RequireCreateConflict()
	userID := env.UserID("taken")
	token := env.AddUser(userID)

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{
			{
				Config: acctest.PointUserConfig(env, userID, deletionAbandon),
				ExpectError: acctest.DiagnosticMatching(
					"Point User Already Exists",
					fmt.Sprintf("Point already has a user with id %q, so it cannot be created. To manage the existing user, import it: add an import block and apply,", userID),
					fmt.Sprintf("import { to = point_user.<name> id = %q }", userID),
					"or run the import command with the same address and id.",
				),
			},
		},
	})

	if env.Sandbox != nil {
		if got := env.Sandbox.UserIDs(); !slices.Equal(got, []string{userID}) {
			t.Errorf("sandbox users = %v, want only %q", got, userID)
		}
	}
	if got := env.CurrentRefreshToken(userID); got != token {
		t.Error("the failed create changed the existing user's refresh token")
	}
	if err := env.CheckRefreshTokenAccepted(userID, token); err != nil {
		t.Error(err)
	}
	if err := acctest.ExpectRequests(env, sandbox.RouteCreateUser, 1); err != nil {
		t.Error(err)
	}
}

// TestAccUser_idempotentCreateAdopts: a Point that answers 200 with the
// existing user to its creation lets point_user adopt it, token and all.
func TestAccUser_idempotentCreateAdopts(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	env.RequireIdempotentCreate()
	userID := env.UserID("adopted")
	token := env.AddUser(userID)

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{
			{
				Config: acctest.PointUserConfig(env, userID, deletionAbandon),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("point_user.test", tfjsonpath.New("id"), knownvalue.StringExact(userID)),
					statecheck.ExpectKnownValue("point_user.test", tfjsonpath.New("user_id"), knownvalue.StringExact(userID)),
				},
				Check: func(*terraform.State) error {
					if env.Sandbox != nil {
						if got := env.Sandbox.UserIDs(); !slices.Equal(got, []string{userID}) {
							return fmt.Errorf("sandbox users = %v, want only %q", got, userID)
						}
					}
					if got := env.CurrentRefreshToken(userID); got != token {
						return fmt.Errorf("adopting the user changed its refresh token")
					}
					if err := env.CheckRefreshTokenAccepted(userID, token); err != nil {
						return err
					}
					return acctest.ExpectRequests(env, sandbox.RouteCreateUser, 1)
				},
			},
		},
	})
}

func TestAccUser_userIDMaxLength(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("")
	userID += strings.Repeat("x", 128-len(userID))

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{
			{
				Config: acctest.PointUserConfig(env, userID, deletionAbandon),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("point_user.test", tfjsonpath.New("user_id"), knownvalue.StringExact(userID)),
				},
				Check: func(*terraform.State) error {
					if !env.HasUser(userID) {
						return fmt.Errorf("128-character user id not registered in Point")
					}
					return nil
				},
			},
		},
	})
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

func TestAccUser_invalidInput(t *testing.T) {
	for _, tc := range []struct {
		name           string
		userID         string
		deletionPolicy string
		want           *regexp.Regexp
	}{
		{name: "empty", userID: "", want: acctest.DiagnosticMatching("Invalid Attribute Value", "Attribute user_id must not be empty.")},
		{name: "129 characters", userID: strings.Repeat("x", 129),
			want: acctest.DiagnosticMatching("Attribute user_id must be at most 128 characters long, got 129.")},
		{name: "slash", userID: "team/alice",
			want: acctest.DiagnosticMatching(`Attribute user_id must not contain "/", which Point cannot accept in a user id.`)},
		{name: "email", userID: "alice@example.com",
			want: acctest.DiagnosticMatching(`Attribute user_id must not contain "@": Point asks that user ids carry no personal information, such as email addresses; use your application's own opaque id for the user.`)},
		{name: "space", userID: "alice smith", want: acctest.DiagnosticMatching("Attribute user_id must not contain whitespace.")},
		{name: "tab", userID: "alice\tsmith", want: acctest.DiagnosticMatching("Attribute user_id must not contain whitespace.")},
		{name: "newline", userID: "alice\nsmith", want: acctest.DiagnosticMatching("Attribute user_id must not contain whitespace.")},
		{name: "control character", userID: "alice\x01", want: acctest.DiagnosticMatching("Attribute user_id must not contain control characters.")},
		{name: "deletion policy", userID: "alice", deletionPolicy: "DELETE",
			want: acctest.DiagnosticMatching(`Attribute deletion_policy value must be one of: ["ABANDON" "REVOKE" "PREVENT"], got: "DELETE"`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := acctest.NewEnv(t, sandbox.Options{})
			policy := tc.deletionPolicy
			if policy == "" {
				policy = deletionAbandon
			}
			config := env.ProviderBlock() + fmt.Sprintf(`
resource "point_user" "test" {
  user_id         = %[1]s
  deletion_policy = %[2]q
}
`, userTestHCLString(tc.userID), policy)

			resource.ParallelTest(t, resource.TestCase{
				ProtoV6ProviderFactories: env.Factories(),
				Steps:                    []resource.TestStep{{Config: config, PlanOnly: true, ExpectError: tc.want}},
			})
			acctest.ExpectNoRequests(t, env, "invalid configuration")
		})
	}
}

func TestAccUser_invalidImportID(t *testing.T) {
	for _, kind := range []resource.ImportStateKind{resource.ImportCommandWithID, resource.ImportBlockWithID} {
		t.Run(kind.String(), func(t *testing.T) {
			env := acctest.NewEnv(t, sandbox.Options{})
			userID := env.UserID("alice")

			resource.ParallelTest(t, resource.TestCase{
				ProtoV6ProviderFactories: env.Factories(),
				Steps: []resource.TestStep{
					{
						Config:          acctest.PointUserConfig(env, userID, deletionAbandon),
						ResourceName:    "point_user.test",
						ImportState:     true,
						ImportStateKind: kind,
						ImportStateId:   "a@b",
						ExpectError: acctest.DiagnosticMatching("Invalid Import ID",
							`The import ID is the Point user id, which must not contain "@": Point asks that user ids carry no personal information, such as email addresses`,
							`Got "a@b".`),
					},
				},
			})
			acctest.ExpectNoRequests(t, env, "invalid import ID")
			if env.HasUser(userID) {
				t.Errorf("an invalid import ID let Point register %q", userID)
			}
		})
	}
}

func TestAccUser_scale(t *testing.T) {
	const count = 100
	env := acctest.NewEnv(t, sandbox.Options{})
	prefix := env.UserID("scale-")
	config := env.ProviderBlock() + fmt.Sprintf(`
resource "point_user" "test" {
  count   = %[2]d
  user_id = format("%%s%%03d", %[1]q, count.index)
}
`, prefix, count)

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("point_user.test[99]", tfjsonpath.New("id"), knownvalue.StringExact(prefix+"099")),
				},
				Check: func(s *terraform.State) error {
					if n := len(s.RootModule().Resources); n != count {
						return fmt.Errorf("state holds %d users, want %d", n, count)
					}
					for i := range count {
						if id := fmt.Sprintf("%s%03d", prefix, i); !env.HasUser(id) {
							return fmt.Errorf("user %q not in Point", id)
						}
					}
					if env.Sandbox != nil && len(env.Sandbox.UserIDs()) != count {
						return fmt.Errorf("sandbox holds %d users, want %d", len(env.Sandbox.UserIDs()), count)
					}
					return acctest.ExpectRequests(env, sandbox.RouteCreateUser, count)
				},
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					return acctest.ExpectRequests(env, sandbox.RouteCreateUser, count)
				},
			},
		},
	})
}
