package provider

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
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
					Config:           acctest.PointUserConfig(env, userID, policy),
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

// TestAccUser_existingUser: creating a user Point already has fails with
// how to import it where Point answers 409, and adopts the user, token and
// all, where Point answers 200 with it. Either way Point holds that user
// alone, with its token unchanged.
func TestAccUser_existingUser(t *testing.T) {
	for _, idempotent := range []bool{false, true} {
		t.Run(fmt.Sprintf("idempotent=%t", idempotent), func(t *testing.T) {
			env := acctest.NewEnv(t, sandbox.Options{})
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
				step.ExpectError = acctest.DiagnosticMatching(
					"Point User Already Exists",
					fmt.Sprintf("Point already has a user with id %q, so it cannot be created. To manage the existing user, import it: add an import block and apply,", userID),
					fmt.Sprintf("import { to = point_user.<name> id = %q }", userID),
					"or run the import command with the same address and id.",
				)
			}
			token := env.AddUser(userID)
			step.Config = acctest.PointUserConfig(env, userID, deletionAbandon)
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
				return acctest.ExpectRequests(env, sandbox.RouteCreateUser, 1)
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
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("alice")
	var steps []resource.TestStep
	// The import steps come first: an import block step after others reads
	// the state they left, and failed steps leave none.
	for _, kind := range []resource.ImportStateKind{resource.ImportBlockWithID, resource.ImportCommandWithID} {
		steps = append(steps, resource.TestStep{
			Config:          acctest.PointUserConfig(env, userID, deletionAbandon),
			ResourceName:    "point_user.test",
			ImportState:     true,
			ImportStateKind: kind,
			ImportStateId:   "a@b",
			ExpectError: acctest.DiagnosticMatching("Invalid Import ID",
				`The import ID is the Point user id, which must not contain "@": Point asks that user ids carry no personal information, such as email addresses`,
				`Got "a@b".`),
		})
	}
	for _, tc := range []struct {
		userID, deletionPolicy string
		want                   *regexp.Regexp
	}{
		{userID: "", want: acctest.DiagnosticMatching("Invalid Attribute Value", "Attribute user_id must not be empty.")},
		{userID: strings.Repeat("x", 129), want: acctest.DiagnosticMatching("Attribute user_id must be at most 128 characters long, got 129.")},
		{userID: "team/alice", want: acctest.DiagnosticMatching(`Attribute user_id must not contain "/", which Point cannot accept in a user id.`)},
		{userID: "alice@example.com",
			want: acctest.DiagnosticMatching(`Attribute user_id must not contain "@": Point asks that user ids carry no personal information, such as email addresses; use your application's own opaque id for the user.`)},
		{userID: "alice smith", want: acctest.DiagnosticMatching("Attribute user_id must not contain whitespace.")},
		{userID: "alice\tsmith", want: acctest.DiagnosticMatching("Attribute user_id must not contain whitespace.")},
		{userID: "alice\nsmith", want: acctest.DiagnosticMatching("Attribute user_id must not contain whitespace.")},
		{userID: "alice\x01", want: acctest.DiagnosticMatching("Attribute user_id must not contain control characters.")},
		{userID: "alice", deletionPolicy: "DELETE",
			want: acctest.DiagnosticMatching(`Attribute deletion_policy value must be one of: ["ABANDON" "REVOKE" "PREVENT"], got: "DELETE"`)},
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
	acctest.ExpectNoRequests(t, env, "invalid configuration or import ID")
	if env.HasUser(userID) {
		t.Errorf("an invalid import ID let Point register %q", userID)
	}
}

// TestAccUser_scale registers a hundred users with count, and one whose id
// has the most characters Point accepts, 128.
func TestAccUser_scale(t *testing.T) {
	const count = 100
	env := acctest.NewEnv(t, sandbox.Options{})
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
					return acctest.ExpectRequests(env, sandbox.RouteCreateUser, count+1)
				},
			},
			{
				Config:           config,
				ConfigPlanChecks: preApply(plancheck.ExpectEmptyPlan()),
				Check: func(*terraform.State) error {
					return acctest.ExpectRequests(env, sandbox.RouteCreateUser, count+1)
				},
			},
		},
	})
}

// These tests drive the Terraform CLI directly, with the provider built as
// a binary, for what terraform-plugin-testing cannot observe: an apply of
// generated configuration, and warnings.

// newUserTestCLI is a Terraform working directory with config after the
// provider block.
func newUserTestCLI(t *testing.T, env *acctest.Env, config string) *acctest.CLI {
	t.Helper()
	cli := acctest.NewCLI(t)
	cli.WriteConfig(env, config)
	return cli
}

func TestAccUser_generateConfigCLI(t *testing.T) {
	t.Parallel()
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("generated-cli")
	token := env.AddUser(userID)
	cli := newUserTestCLI(t, env, fmt.Sprintf(`
import {
  to = point_user.alice
  id = %[1]q
}
`, userID))

	out := cli.MustRun(0, "plan", "-input=false", "-no-color", "-generate-config-out=generated.tf")
	if !strings.Contains(out, "1 to import") {
		t.Errorf("plan does not import the user:\n%s", out)
	}
	generated, err := os.ReadFile(filepath.Join(cli.Dir, "generated.tf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`resource "point_user" "alice" {`,
		fmt.Sprintf(`user_id         = %q`, userID),
		`deletion_policy = "ABANDON"`,
	} {
		if !strings.Contains(string(generated), want) {
			t.Errorf("generated.tf lacks %s:\n%s", want, generated)
		}
	}

	out = cli.MustRun(0, "apply", "-input=false", "-no-color", "-auto-approve")
	if !strings.Contains(out, "1 imported, 0 added, 0 changed, 0 destroyed") {
		t.Errorf("apply did not import exactly the user:\n%s", out)
	}
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")

	if env.Sandbox != nil {
		if got := env.Sandbox.UserIDs(); !slices.Equal(got, []string{userID}) {
			t.Errorf("sandbox users = %v, want only %q", got, userID)
		}
	}
	if err := acctest.ExpectRequests(env, sandbox.RouteCreateUser, 0); err != nil {
		t.Error(err)
	}
	if env.Sandbox != nil && env.Sandbox.RequestCounts()[sandbox.RouteGetUser] == 0 {
		t.Error("import did not read the user from Point")
	}
	if got := env.CurrentRefreshToken(userID); got != token {
		t.Error("importing the user changed its refresh token")
	}
}

func TestAccUser_driftWarningCLI(t *testing.T) {
	t.Parallel()
	config := func(userID string) string {
		return fmt.Sprintf(`
resource "point_user" "alice" {
  user_id = %[1]q
}
`, userID)
	}

	// The user goes from Point behind Terraform's back. Only the sandbox can
	// do that: Point has no endpoint that deletes users.
	t.Run("deleted in Point", func(t *testing.T) {
		t.Parallel()
		env := acctest.NewEnv(t, sandbox.Options{})
		env.RequireSandbox()
		userID := env.UserID("drifted-cli")
		cli := newUserTestCLI(t, env, config(userID))

		cli.MustRun(0, "apply", "-input=false", "-no-color", "-auto-approve")
		env.Sandbox.DeleteUser(userID)
		userTestDriftPlan(t, env, cli, userID)
	})

	// State names a user that Point does not have, as a state restored from
	// another environment would: the same drift, in any Point.
	t.Run("never in Point", func(t *testing.T) {
		t.Parallel()
		env := acctest.NewEnv(t, sandbox.Options{})
		registered, gone := env.UserID("drifted-cli"), env.UserID("drifted-cli-gone")
		cli := newUserTestCLI(t, env, config(registered))

		cli.MustRun(0, "apply", "-input=false", "-no-color", "-auto-approve")
		statePath := filepath.Join(cli.Dir, "terraform.tfstate")
		state, err := os.ReadFile(statePath)
		if err != nil {
			t.Fatal(err)
		}
		quoted := []byte(fmt.Sprintf("%q", registered))
		if !bytes.Contains(state, quoted) {
			t.Fatalf("the state does not name %q:\n%s", registered, state)
		}
		if err := os.WriteFile(statePath, bytes.ReplaceAll(state, quoted, []byte(fmt.Sprintf("%q", gone))), 0o600); err != nil {
			t.Fatal(err)
		}
		cli.WriteConfig(env, config(gone))
		if env.HasUser(gone) {
			t.Fatalf("Point already has %q", gone)
		}
		userTestDriftPlan(t, env, cli, gone)
	})
}

// userTestDriftPlan plans with point_user.alice in state for a user that
// Point does not have: a warning, and the user planned for creation, which
// the apply that follows registers again.
func userTestDriftPlan(t *testing.T, env *acctest.Env, cli *acctest.CLI, userID string) {
	t.Helper()
	out := cli.MustRun(2, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	for _, want := range []string{
		"Warning: Point User Not Found",
		fmt.Sprintf("Point has no user with id %q any more, so the provider removed it from state.", userID),
		"point_user.alice will be created",
	} {
		if !acctest.DiagnosticPattern(want).MatchString(out) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	if env.HasUser(userID) {
		t.Error("a plan registered the user again")
	}
	cli.MustRun(0, "apply", "-input=false", "-no-color", "-auto-approve")
	if !env.HasUser(userID) {
		t.Errorf("user %q not registered again after drift", userID)
	}
	if err := acctest.ExpectRequests(env, sandbox.RouteCreateUser, 2); err != nil {
		t.Error(err)
	}
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")
}
