package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// Resource identity needs Terraform 1.12; the identity tests skip on older
// versions, where the rest of the suite shows that nothing changed.
var identityTestVersions = []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_12_0)}

func identityTestExpect(addr, userID string) statecheck.StateCheck {
	return statecheck.ExpectIdentity(addr, map[string]knownvalue.Check{"user_id": knownvalue.StringExact(userID)})
}

// identityTestImportBlock imports addr by identity.
func identityTestImportBlock(addr, userID string) string {
	return fmt.Sprintf(`
import {
  to = %[1]s
  identity = {
    user_id = %[2]q
  }
}
`, addr, userID)
}

// Create, refresh, update and import of point_user and point_refresh_token
// all record the identity, and a rotation in place keeps it. Import by
// identity and by id both work: point_user adopts ABANDON, and
// point_refresh_token adopts the current token, without a rotation.
func TestAccIdentity_lifecycle(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("identity")
	const userAddr = "point_user.test"
	config := func(deletionPolicy, tokenArgs string) string {
		return env.ProviderBlock() + fmt.Sprintf(`
resource "point_user" "test" {
  user_id         = %[1]q
  deletion_policy = %[2]q
}

resource "point_refresh_token" "test" {
  user_id = point_user.test.user_id
%[3]s}
`, userID, deletionPolicy, tokenArgs)
	}
	triggers := func(n string) string { return fmt.Sprintf("  rotation_triggers = { n = %q }\n", n) }
	var issuedBefore int

	resource.ParallelTest(t, resource.TestCase{
		TerraformVersionChecks:   identityTestVersions,
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				Config: config(deletionAbandon, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					identityTestExpect(userAddr, userID),
					statecheck.ExpectIdentityValueMatchesState(userAddr, tfjsonpath.New("user_id")),
					identityTestExpect(acctest.RefreshTokenAddr, userID),
					statecheck.ExpectIdentityValueMatchesState(acctest.RefreshTokenAddr, tfjsonpath.New("user_id")),
				},
				Check: acctest.CheckStateTokenCurrent(env, userID),
			},
			{
				// An update keeps it, and so does a rotation in place.
				Config:           config(deletionRevoke, triggers("1")),
				ConfigPlanChecks: preApplyActions(userAddr, plancheck.ResourceActionUpdate, acctest.RefreshTokenAddr, plancheck.ResourceActionUpdate),
				ConfigStateChecks: []statecheck.StateCheck{
					identityTestExpect(userAddr, userID),
					identityTestExpect(acctest.RefreshTokenAddr, userID),
				},
			},
			{
				Config:            config(deletionRevoke, triggers("2")),
				ConfigPlanChecks:  preApply(plancheck.ExpectUnknownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"))),
				ConfigStateChecks: []statecheck.StateCheck{identityTestExpect(acctest.RefreshTokenAddr, userID)},
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CheckStateTokenCurrent(env, userID),
					func(*terraform.State) error {
						issuedBefore = acctest.RefreshTokensIssued(env)
						return nil
					},
				),
			},
			{
				Config:          config(deletionAbandon, triggers("2")),
				ResourceName:    userAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithResourceIdentity,
				// The state holds REVOKE, the configuration ABANDON: the
				// import adopts ABANDON, so the plan changes nothing.
				ImportPlanChecks: resource.ImportPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(userAddr, plancheck.ResourceActionNoop),
						plancheck.ExpectKnownValue(userAddr, tfjsonpath.New("user_id"), knownvalue.StringExact(userID)),
						plancheck.ExpectKnownValue(userAddr, tfjsonpath.New("deletion_policy"), knownvalue.StringExact(deletionAbandon)),
					},
				},
			},
			{
				Config:          config(deletionAbandon, triggers("2")),
				ResourceName:    userAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
				ImportPlanChecks: resource.ImportPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(userAddr, plancheck.ResourceActionNoop)},
				},
			},
			{
				ResourceName:      userAddr,
				ImportState:       true,
				ImportStateId:     userID,
				ImportStateVerify: true,
				// The import sets ABANDON; state holds REVOKE from step 2.
				ImportStateVerifyIgnore: []string{"deletion_policy"},
			},
			{
				// The import adopts the current token: no rotation.
				Config:             config(deletionRevoke, triggers("2")),
				ResourceName:       acctest.RefreshTokenAddr,
				ImportState:        true,
				ImportStateKind:    resource.ImportBlockWithResourceIdentity,
				ExpectNonEmptyPlan: true,
				ImportPlanChecks: resource.ImportPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), acctest.IsCurrentRefreshToken(env, userID)),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("issued_at"), knownvalue.Null()),
					},
				},
			},
			{
				Config:          config(deletionRevoke, ""),
				ResourceName:    acctest.RefreshTokenAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithResourceIdentity,
				ImportPlanChecks: resource.ImportPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionNoop),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), acctest.IsCurrentRefreshToken(env, userID)),
					},
				},
			},
			{
				Config:          config(deletionRevoke, ""),
				ResourceName:    acctest.RefreshTokenAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
				ImportPlanChecks: resource.ImportPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), acctest.IsCurrentRefreshToken(env, userID)),
					},
				},
				Check: func(*terraform.State) error {
					if n := acctest.RefreshTokensIssued(env) - issuedBefore; n != 0 {
						return fmt.Errorf("the imports issued %d refresh tokens, want none", n)
					}
					return nil
				},
			},
		},
	})
}

// A user, and the token of another user, registered outside Terraform and
// imported with import blocks that name their identities, then applied:
// Terraform adopts the user and the token the user holds, registering no
// user and issuing no token.
func TestAccIdentity_importByIdentityBlock(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID, tokenUserID := env.UserID("identity-import"), env.UserID("rt-identity-import")
	const userAddr = "point_user.test"
	var userToken, existing string
	config := env.ProviderBlock() + fmt.Sprintf(`
resource "point_user" "test" {
  user_id = %[1]q
}

resource "point_refresh_token" "test" {
  user_id = %[2]q
}
`, userID, tokenUserID)

	resource.ParallelTest(t, resource.TestCase{
		TerraformVersionChecks:   identityTestVersions,
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy: resource.ComposeAggregateTestCheckFunc(
			func(*terraform.State) error {
				// ABANDON: the user and its token stay in Point.
				if !env.HasUser(userID) {
					return fmt.Errorf("user %q is gone from Point", userID)
				}
				if current := env.CurrentRefreshToken(userID); current == "" || current != userToken {
					return fmt.Errorf("destroying the imported user changed its refresh token")
				}
				return nil
			},
			acctest.NoCurrentRefreshToken(env, tokenUserID),
		),
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					userToken = env.AddUser(userID)
					existing = env.AddUser(tokenUserID)
				},
				Config: config + identityTestImportBlock(userAddr, userID) + identityTestImportBlock(acctest.RefreshTokenAddr, tokenUserID),
				ConfigPlanChecks: preApply(
					plancheck.ExpectResourceAction(userAddr, plancheck.ResourceActionNoop),
					plancheck.ExpectKnownValue(userAddr, tfjsonpath.New("deletion_policy"), knownvalue.StringExact(deletionAbandon)),
					plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionNoop),
					plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), acctest.IsCurrentRefreshToken(env, tokenUserID)),
				),
				ConfigStateChecks: []statecheck.StateCheck{
					identityTestExpect(userAddr, userID),
					statecheck.ExpectKnownValue(userAddr, tfjsonpath.New("id"), knownvalue.StringExact(userID)),
					statecheck.ExpectKnownValue(userAddr, tfjsonpath.New("user_id"), knownvalue.StringExact(userID)),
					statecheck.ExpectKnownValue(userAddr, tfjsonpath.New("deletion_policy"), knownvalue.StringExact(deletionAbandon)),
					identityTestExpect(acctest.RefreshTokenAddr, tokenUserID),
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("id"), knownvalue.StringExact(tokenUserID)),
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("issued_at"), knownvalue.Null()),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttrPtr(acctest.RefreshTokenAddr, "token", &existing),
					acctest.CheckStateTokenCurrent(env, tokenUserID),
				),
			},
			{
				Config:            config,
				ConfigPlanChecks:  preApply(plancheck.ExpectEmptyPlan()),
				ConfigStateChecks: []statecheck.StateCheck{identityTestExpect(userAddr, userID)},
				Check:             resource.TestCheckResourceAttrPtr(acctest.RefreshTokenAddr, "token", &existing),
			},
		},
	})
	if err := acctest.ExpectRequests(env, sandbox.RouteCreateUser, 0); err != nil {
		t.Error(err)
	}
	if err := acctest.ExpectRequests(env, sandbox.RouteIssueRefreshToken, 0); err != nil {
		t.Errorf("importing by identity: %v", err)
	}
}

// An import identity with a user id Point would refuse fails at plan,
// before any request, for both resources that have an identity.
func TestAccIdentity_invalidImportIdentity(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("someone")
	var steps []resource.TestStep
	for _, resourceType := range []string{"point_user", "point_refresh_token"} {
		steps = append(steps, resource.TestStep{
			Config: env.ProviderBlock() + identityTestImportBlock(resourceType+".test", "a@b") +
				fmt.Sprintf("\nresource %q \"test\" {\n  user_id = %q\n}\n", resourceType, userID),
			PlanOnly: true,
			ExpectError: acctest.DiagnosticMatching("Invalid Import Identity",
				`The user_id of the import identity is the Point user id, which must not contain "@"`,
				`Got "a@b". Correct identity.user_id in the import block.`),
		})
	}
	resource.ParallelTest(t, resource.TestCase{
		TerraformVersionChecks:   identityTestVersions,
		ProtoV6ProviderFactories: env.Factories(),
		Steps:                    steps,
	})
	acctest.ExpectNoRequests(t, env, "an invalid import identity")
	if env.HasUser(userID) {
		t.Errorf("an invalid import identity let Point register %q", userID)
	}
}

// Terraform before 1.12 never sends a stored identity, and the framework
// fails every Read that returns none, the ones that remove the resource
// included. Whatever the CLI, Read must set it from state.
func TestIdentity_readWithoutStoredIdentity(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		typeName string
		setup    func(env *acctest.Env, userID string) (token string)
		removed  bool
	}{
		"user present": {
			typeName: "point_user",
			setup:    func(env *acctest.Env, userID string) string { return env.AddUser(userID) },
		},
		"user gone": {
			typeName: "point_user",
			setup:    func(*acctest.Env, string) string { return "" },
			removed:  true,
		},
		"token current": {
			typeName: "point_refresh_token",
			setup:    func(env *acctest.Env, userID string) string { return env.AddUser(userID) },
		},
		"token revoked": {
			typeName: "point_refresh_token",
			setup: func(env *acctest.Env, userID string) string {
				token := env.AddUser(userID)
				env.RevokeRefreshToken(userID)
				return token
			},
			removed: true,
		},
		"token's user gone": {
			typeName: "point_refresh_token",
			setup:    func(*acctest.Env, string) string { return "rt_gone" },
			removed:  true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := acctest.NewEnv(t, sandbox.Options{})
			userID := env.UserID("identity-read-" + strings.ReplaceAll(name, " ", "-"))
			token := tc.setup(env, userID)

			resp, resourceType := identityTestRead(t, env, tc.typeName, userID, token)
			for _, d := range resp.Diagnostics {
				if d.Severity == tfprotov6.DiagnosticSeverityError {
					t.Errorf("error: %s: %s", d.Summary, d.Detail)
				}
			}
			if resp.NewIdentity == nil || resp.NewIdentity.IdentityData == nil {
				t.Fatal("Read returned no identity")
			}
			identity, err := resp.NewIdentity.IdentityData.Unmarshal(tftypes.Object{AttributeTypes: map[string]tftypes.Type{"user_id": tftypes.String}})
			if err != nil {
				t.Fatal(err)
			}
			var attrs map[string]tftypes.Value
			if err := identity.As(&attrs); err != nil {
				t.Fatal(err)
			}
			if got := acctest.StringOrNil(t, attrs["user_id"]); got == nil || *got != userID {
				t.Errorf("identity user_id = %v, want %q", got, userID)
			}
			removed := resp.NewState == nil
			if !removed {
				raw, err := resp.NewState.Unmarshal(resourceType)
				if err != nil {
					t.Fatal(err)
				}
				removed = raw.IsNull()
			}
			if removed != tc.removed {
				t.Errorf("removed = %t, want %t", removed, tc.removed)
			}
		})
	}
}

// identityTestRead runs a resource's Read as Terraform 1.11 does: with a
// stored state and no identity. It returns the response and the resource's
// type.
func identityTestRead(t *testing.T, env *acctest.Env, typeName, userID, token string) (*tfprotov6.ReadResourceResponse, tftypes.Type) {
	t.Helper()
	server, schemas := env.ConfiguredServerFor(t, env.Endpoint, env.APIKey, "1.11.4")
	resourceType := schemas.ResourceSchemas[typeName].ValueType()
	given := map[string]tftypes.Value{
		"id":      tftypes.NewValue(tftypes.String, userID),
		"user_id": tftypes.NewValue(tftypes.String, userID),
	}
	if typeName == "point_user" {
		given["deletion_policy"] = tftypes.NewValue(tftypes.String, deletionAbandon)
	} else {
		given["token"] = tftypes.NewValue(tftypes.String, token)
	}
	state, err := tfprotov6.NewDynamicValue(resourceType, acctest.ObjectWithNulls(t, resourceType, given))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := server.ReadResource(context.Background(), &tfprotov6.ReadResourceRequest{TypeName: typeName, CurrentState: &state})
	if err != nil {
		t.Fatal(err)
	}
	return resp, resourceType
}
