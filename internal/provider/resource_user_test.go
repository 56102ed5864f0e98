package provider

import (
	"encoding/json"
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

// stateUserIs checks the string attributes of a resource in state.
func stateUserIs(addr string, attrs map[string]string) []statecheck.StateCheck {
	var checks []statecheck.StateCheck
	for attr, want := range attrs {
		checks = append(checks, statecheck.ExpectKnownValue(addr, tfjsonpath.New(attr), knownvalue.StringExact(want)))
	}
	return checks
}

func pointUserBlock(name, userID string) string {
	return fmt.Sprintf("resource \"point_user\" %q {\n  user_id = %q\n}\n", name, userID)
}

// TestAccUser_lifecycle: user ids Point would refuse fail before any request; then a user of each
// deletion policy goes through create, import (which sets ABANDON) and the destroy its policy shapes,
// once PREVENT is lifted (the destroy PREVENT stops is TestAccStateSafety_nothingLostOrRevoked's).
func TestAccUser_lifecycle(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	invalidID := env.UserID("alice")
	var steps []resource.TestStep
	// The import steps come first: an import block step after others reads
	// the state they left, and failed steps leave none.
	for _, kind := range []resource.ImportStateKind{resource.ImportBlockWithID, resource.ImportCommandWithID} {
		steps = append(steps, resource.TestStep{
			Config:       acctest.PointUserConfig(env, invalidID, deletionAbandon),
			ResourceName: "point_user.test", ImportState: true, ImportStateKind: kind, ImportStateId: "a@b",
			ExpectError: acctest.DiagnosticMatching("Invalid Import ID",
				`The import ID is the Point user id, which must not contain "@": Point asks that user ids carry no personal information, such as email addresses`,
				`Got "a@b".`),
		})
	}
	diag, whitespace := acctest.DiagnosticMatching, acctest.DiagnosticMatching("Attribute user_id must not contain whitespace.")
	// A tab in user_id and an unknown deletion_policy are rows of TestAccBadInput_catalogue.
	for userID, want := range map[string]*regexp.Regexp{
		"":                       diag("Invalid Attribute Value", "Attribute user_id must not be empty."),
		strings.Repeat("x", 129): diag("Attribute user_id must be at most 128 characters long, got 129."),
		"team/alice":             diag(`Attribute user_id must not contain "/", which Point cannot accept in a user id.`),
		"alice@example.com":      diag(`Attribute user_id must not contain "@": Point asks that user ids carry no personal information, such as email addresses; use your application's own opaque id for the user.`),
		"alice smith":            whitespace,
		"alice\nsmith":           whitespace,
		"alice\x01":              diag("Attribute user_id must not contain control characters."),
	} {
		// JSON's string escapes (\n, \u0001) are HCL's too; %q writes \x01.
		quoted, _ := json.Marshal(userID)
		steps = append(steps, resource.TestStep{
			Config:      env.ProviderBlock() + fmt.Sprintf("resource \"point_user\" \"test\" {\n  user_id = %s\n}\n", quoted),
			PlanOnly:    true,
			ExpectError: want,
		})
	}
	policies := []string{deletionAbandon, deletionRevoke, deletionPrevent}
	ids, addr, created := map[string]string{}, map[string]string{}, map[string]*string{}
	var createdChecks []statecheck.StateCheck
	for _, p := range policies {
		ids[p], addr[p], created[p] = env.UserID("policy-"+strings.ToLower(p)), "point_user."+strings.ToLower(p), new(string)
		createdChecks = append(createdChecks,
			stateUserIs(addr[p], map[string]string{"id": ids[p], "user_id": ids[p], "deletion_policy": p})...)
	}
	config := func(preventPolicy string) string {
		c := env.ProviderBlock()
		for _, p := range policies {
			policy := map[bool]string{true: preventPolicy, false: p}[p == deletionPrevent]
			c += fmt.Sprintf("resource \"point_user\" %q {\n  user_id         = %q\n  deletion_policy = %q\n}\n",
				strings.ToLower(p), ids[p], policy)
		}
		return c
	}
	creates := func(*terraform.State) error {
		return acctest.ExpectRequests(env, sandbox.RouteCreateUser, len(policies))
	}
	steps = append(steps, resource.TestStep{
		PreConfig: func() {
			acctest.ExpectNoRequests(t, env, "invalid configuration or import ID")
			if env.HasUser(invalidID) {
				t.Errorf("an invalid import ID let Point register %q", invalidID)
			}
		},
		Config:            config(deletionPrevent),
		ConfigStateChecks: createdChecks,
		Check: func(s *terraform.State) error {
			for _, p := range policies {
				if *created[p] = env.CurrentRefreshToken(ids[p]); *created[p] == "" {
					return fmt.Errorf("user %q has no refresh token after create", ids[p])
				}
			}
			return creates(s)
		},
	}, resource.TestStep{Config: config(deletionPrevent), ConfigPlanChecks: preApply(plancheck.ExpectEmptyPlan()), Check: creates})
	for _, p := range policies {
		importAction, verifyIgnore := plancheck.ResourceActionNoop, []string(nil)
		if p != deletionAbandon {
			importAction, verifyIgnore = plancheck.ResourceActionUpdate, []string{"deletion_policy"}
		}
		steps = append(steps, resource.TestStep{
			ResourceName: addr[p], ImportState: true, ImportStateId: ids[p],
			ImportStateVerify: true, ImportStateVerifyIgnore: verifyIgnore,
			ImportStateCheck: func(states []*terraform.InstanceState) error {
				if len(states) != 1 || states[0].Attributes["deletion_policy"] != deletionAbandon {
					return fmt.Errorf("imported %d instances (%v), want 1 with deletion_policy %q", len(states), states, deletionAbandon)
				}
				return nil
			},
		}, resource.TestStep{
			ResourceName: addr[p], ImportState: true, ImportStateKind: resource.ImportBlockWithID, ImportStateId: ids[p],
			ExpectNonEmptyPlan: p != deletionAbandon,
			ImportPlanChecks: resource.ImportPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(addr[p], importAction),
				plancheck.ExpectKnownValue(addr[p], tfjsonpath.New("user_id"), knownvalue.StringExact(ids[p])),
				plancheck.ExpectKnownValue(addr[p], tfjsonpath.New("deletion_policy"), knownvalue.StringExact(p)),
			}},
		})
	}
	steps = append(steps, resource.TestStep{
		Config: config(deletionAbandon),
		ConfigPlanChecks: preApplyActions(addr[deletionPrevent], plancheck.ResourceActionUpdate,
			addr[deletionAbandon], plancheck.ResourceActionNoop, addr[deletionRevoke], plancheck.ResourceActionNoop),
		ConfigStateChecks: stateUserIs(addr[deletionPrevent], map[string]string{"deletion_policy": deletionAbandon}),
	})

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps:                    steps,
		CheckDestroy: resource.ComposeAggregateTestCheckFunc(
			acctest.RefreshTokenUnchanged(env, ids[deletionAbandon], created[deletionAbandon]),
			acctest.RefreshTokenUnchanged(env, ids[deletionPrevent], created[deletionPrevent]),
			acctest.NoCurrentRefreshToken(env, ids[deletionRevoke]),
			acctest.RefreshTokenRefused(env, ids[deletionRevoke], created[deletionRevoke]),
			func(*terraform.State) error {
				for _, id := range ids {
					if !env.HasUser(id) {
						return fmt.Errorf("user %q gone from Point after destroy; Point cannot delete users", id)
					}
				}
				if env.Sandbox != nil {
					if _, ok := env.Sandbox.CurrentRefreshToken(ids[deletionRevoke]); ok {
						return fmt.Errorf("sandbox still holds a refresh token for %q", ids[deletionRevoke])
					}
				}
				return acctest.ExpectRequests(env, sandbox.RouteRevokeRefreshToken, 1)
			}),
	})
}

// TestAccUser_scale registers a hundred users with count, and one whose id has the most characters
// Point accepts, 128; a test case of its own so that the lifecycle's steps do not each plan them all.
func TestAccUser_scale(t *testing.T) {
	const count = 100
	env := acctest.NewEnv(t, sandbox.Options{})
	prefix, longest := env.UserID("scale-"), env.UserID("")
	longest += strings.Repeat("x", 128-len(longest))
	config := env.ProviderBlock() + fmt.Sprintf(`
resource "point_user" "test" {
  count   = %[2]d
  user_id = format("%%s%%03d", %[1]q, count.index)
}

resource "point_user" "longest" { user_id = %[3]q }
`, prefix, count, longest)
	everyone := append(acctest.NumberedUserIDs(env, "scale", count), longest)
	creates := func(*terraform.State) error {
		return acctest.ExpectRequests(env, sandbox.RouteCreateUser, len(everyone))
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{{
			Config: config,
			ConfigStateChecks: append(stateUserIs("point_user.test[99]", map[string]string{"id": prefix + "099"}),
				stateUserIs("point_user.longest", map[string]string{"user_id": longest})...),
			Check: func(s *terraform.State) error {
				if n := len(s.RootModule().Resources); n != len(everyone) {
					return fmt.Errorf("state holds %d users, want %d", n, len(everyone))
				}
				for _, id := range everyone {
					if !env.HasUser(id) {
						return fmt.Errorf("user %q not in Point after create", id)
					}
				}
				if env.Sandbox != nil && len(env.Sandbox.UserIDs()) != len(everyone) {
					return fmt.Errorf("sandbox holds %d users, want %d", len(env.Sandbox.UserIDs()), len(everyone))
				}
				return creates(s)
			},
		}, {Config: config, ConfigPlanChecks: preApply(plancheck.ExpectEmptyPlan()), Check: creates}},
	})
}

// TestAccUser_existingUser: creating a user Point already has fails with how to import it where Point
// answers 409, and adopts the user, token and all, where Point answers 200; either way Point holds
// that user alone, with its token unchanged.
func TestAccUser_existingUser(t *testing.T) {
	for _, idempotent := range []bool{false, true} {
		t.Run(fmt.Sprintf("idempotent=%t", idempotent), func(t *testing.T) {
			env := acctest.NewEnv(t, sandbox.Options{})
			userID := env.UserID(map[bool]string{false: "taken", true: "adopted"}[idempotent])
			step := resource.TestStep{Config: acctest.PointUserConfig(env, userID, deletionAbandon)}
			if idempotent {
				env.RequireIdempotentCreate()
				step.ConfigStateChecks = stateUserIs("point_user.test", map[string]string{"id": userID, "user_id": userID})
			} else {
				env.RequireCreateConflict()
				step.ExpectError = acctest.DiagnosticMatching("Point User Already Exists",
					fmt.Sprintf("Point already has a user with id %q, so it cannot be created. To manage the existing user, import it: add an import block and apply,", userID),
					fmt.Sprintf("import { to = point_user.<name> id = %q }", userID),
					"or run the import command with the same address and id.")
			}
			token := env.AddUser(userID)
			// Checked before the destroy that ends an adoption.
			step.Check = func(*terraform.State) error {
				if env.Sandbox != nil && !slices.Equal(env.Sandbox.UserIDs(), []string{userID}) {
					return fmt.Errorf("sandbox users = %v, want only %q", env.Sandbox.UserIDs(), userID)
				}
				if err := acctest.RefreshTokenUnchanged(env, userID, &token)(nil); err != nil {
					return err
				}
				return acctest.ExpectRequests(env, sandbox.RouteCreateUser, 1)
			}
			resource.ParallelTest(t, resource.TestCase{ProtoV6ProviderFactories: env.Factories(), Steps: []resource.TestStep{step}})
			if !idempotent { // a failed step runs no Check
				expectNoError(t, step.Check(nil))
			}
		})
	}
}

// TestAccUser_importAndDriftCLI: what terraform-plugin-testing cannot observe, the apply of generated
// configuration for an import and (sandbox only: Point cannot delete users) the warning for a user
// deleted behind Terraform's back. A user Point never had is TestAccUserGone_neverInPointCLI's.
func TestAccUser_importAndDriftCLI(t *testing.T) {
	t.Parallel()
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("generated-cli")
	token := env.AddUser(userID)
	cli := acctest.NewCLI(t)
	cli.WriteConfig(env, importBlock("point_user.alice", userID))

	out := cli.MustRun(0, "plan", "-input=false", "-no-color", "-generate-config-out=generated.tf")
	acctest.ExpectOutputShows(t, out, "1 to import")
	generated, err := os.ReadFile(filepath.Join(cli.Dir, "generated.tf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`resource "point_user" "alice" {`, fmt.Sprintf(`user_id         = %q`, userID),
		`deletion_policy = "ABANDON"`} {
		if !strings.Contains(string(generated), want) {
			t.Errorf("generated.tf lacks %s:\n%s", want, generated)
		}
	}
	out = cli.MustRun(0, "apply", "-input=false", "-no-color", "-auto-approve")
	acctest.ExpectOutputShows(t, out, "1 imported, 0 added, 0 changed, 0 destroyed")
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	expectNoError(t, acctest.ExpectRequests(env, sandbox.RouteCreateUser, 0), acctest.RefreshTokenUnchanged(env, userID, &token)(nil))
	if env.Sandbox == nil {
		return
	}
	if !slices.Equal(env.Sandbox.UserIDs(), []string{userID}) {
		t.Errorf("sandbox users = %v, want only %q", env.Sandbox.UserIDs(), userID)
	}
	if env.Sandbox.RequestCounts()[sandbox.RouteGetUser] == 0 {
		t.Error("import did not read the user from Point")
	}

	env.Sandbox.DeleteUser(userID)
	out = cli.MustRun(2, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	acctest.ExpectOutputShows(t, out, "Warning: Point User Not Found", "point_user.alice will be created",
		fmt.Sprintf("Point has no user with id %q any more, so the provider removed it from state.", userID))
	if env.HasUser(userID) {
		t.Error("a plan registered the user again")
	}
	cli.MustRun(0, "apply", "-input=false", "-no-color", "-auto-approve")
	if !env.HasUser(userID) {
		t.Errorf("user %q not registered again after drift", userID)
	}
	expectNoError(t, acctest.ExpectRequests(env, sandbox.RouteCreateUser, 1))
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")
}
