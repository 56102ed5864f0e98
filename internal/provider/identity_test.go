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

func identityTestImportBlock(addr, userID string) string {
	return fmt.Sprintf("\nimport {\n  to = %s\n  identity = {\n    user_id = %q\n  }\n}\n", addr, userID)
}

func identityTestImport(config, addr string, kind resource.ImportStateKind, checks ...plancheck.PlanCheck) resource.TestStep {
	return resource.TestStep{Config: config, ResourceName: addr, ImportState: true, ImportStateKind: kind,
		ImportPlanChecks: resource.ImportPlanChecks{PreApply: checks}}
}

// Create, refresh, update and import of point_user and point_refresh_token record the identity, and a
// rotation in place keeps it. Import by identity and by id both work: point_user adopts ABANDON, and
// point_refresh_token the current token, without a rotation.
func TestAccIdentity_lifecycle(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("identity")
	const userAddr, tokenAddr = "point_user.test", acctest.RefreshTokenAddr
	config := func(deletionPolicy, triggers string) string {
		if triggers != "" {
			triggers = fmt.Sprintf("  rotation_triggers = { n = %q }\n", triggers)
		}
		return env.ProviderBlock() + fmt.Sprintf(`
resource "point_user" "test" {
  user_id         = %[1]q
  deletion_policy = %[2]q
}

resource "point_refresh_token" "test" {
  user_id = point_user.test.user_id
%[3]s}
`, userID, deletionPolicy, triggers)
	}
	var issuedBefore int
	current := acctest.IsCurrentRefreshToken(env, userID)
	// State holds REVOKE, the configuration ABANDON, which the import adopts: the plan changes nothing.
	importUser := identityTestImport(config(deletionAbandon, "2"), userAddr, resource.ImportBlockWithResourceIdentity,
		plancheck.ExpectResourceAction(userAddr, plancheck.ResourceActionNoop),
		rtPlanKnown(userAddr, "user_id", knownvalue.StringExact(userID)),
		rtPlanKnown(userAddr, "deletion_policy", knownvalue.StringExact(deletionAbandon)))
	importUser.PreConfig = func() { issuedBefore = acctest.RefreshTokensIssued(env) }
	importToken := identityTestImport(config(deletionRevoke, "2"), tokenAddr, resource.ImportBlockWithResourceIdentity,
		plancheck.ExpectResourceAction(tokenAddr, plancheck.ResourceActionUpdate),
		rtPlanKnown(tokenAddr, "token", current), rtPlanKnown(tokenAddr, "issued_at", knownvalue.Null()))
	importToken.ExpectNonEmptyPlan = true
	importTokenByID := identityTestImport(config(deletionRevoke, ""), tokenAddr, resource.ImportBlockWithID,
		rtPlanKnown(tokenAddr, "token", current))
	importTokenByID.Check = acctest.CheckRefreshTokensIssued(env, &issuedBefore, 0)

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
					identityTestExpect(tokenAddr, userID),
					statecheck.ExpectIdentityValueMatchesState(tokenAddr, tfjsonpath.New("user_id")),
				},
				Check: acctest.CheckStateTokenCurrent(env, userID),
			},
			{
				Config:            config(deletionRevoke, "1"),
				ConfigPlanChecks:  preApplyActions(userAddr, plancheck.ResourceActionUpdate, tokenAddr, plancheck.ResourceActionUpdate),
				ConfigStateChecks: []statecheck.StateCheck{identityTestExpect(userAddr, userID), identityTestExpect(tokenAddr, userID)},
			},
			{
				Config:            config(deletionRevoke, "2"),
				ConfigPlanChecks:  preApply(plancheck.ExpectUnknownValue(tokenAddr, tfjsonpath.New("token"))),
				ConfigStateChecks: []statecheck.StateCheck{identityTestExpect(tokenAddr, userID)},
				Check:             acctest.CheckStateTokenCurrent(env, userID),
			},
			importUser,
			identityTestImport(config(deletionAbandon, "2"), userAddr, resource.ImportBlockWithID,
				plancheck.ExpectResourceAction(userAddr, plancheck.ResourceActionNoop)),
			// The import sets ABANDON; state holds REVOKE from step 2.
			{ResourceName: userAddr, ImportState: true, ImportStateId: userID, ImportStateVerify: true,
				ImportStateVerifyIgnore: []string{"deletion_policy"}},
			importToken,
			identityTestImport(config(deletionRevoke, ""), tokenAddr, resource.ImportBlockWithResourceIdentity,
				plancheck.ExpectResourceAction(tokenAddr, plancheck.ResourceActionNoop), rtPlanKnown(tokenAddr, "token", current)),
			importTokenByID,
		},
	})
}

// An import identity with a user id Point would refuse fails at plan, before any request. Import
// blocks that name the identities of a user, and of another user's token, both registered outside
// Terraform, adopt them as they are: no user is registered and no token issued.
func TestAccIdentity_importByIdentityBlock(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID, tokenUserID, invalidID := env.UserID("identity-import"), env.UserID("rt-identity-import"), env.UserID("someone")
	const userAddr, tokenAddr = "point_user.test", acctest.RefreshTokenAddr
	var userToken, existing string
	config := env.ProviderBlock() + fmt.Sprintf(`
resource "point_user" "test" {
  user_id = %[1]q
}

resource "point_refresh_token" "test" {
  user_id = %[2]q
}
`, userID, tokenUserID)
	var steps []resource.TestStep
	for _, resourceType := range []string{"point_user", "point_refresh_token"} {
		steps = append(steps, resource.TestStep{
			Config: env.ProviderBlock() + identityTestImportBlock(resourceType+".test", "a@b") +
				fmt.Sprintf("\nresource %q \"test\" {\n  user_id = %q\n}\n", resourceType, invalidID),
			PlanOnly: true,
			ExpectError: acctest.DiagnosticMatching("Invalid Import Identity",
				`The user_id of the import identity is the Point user id, which must not contain "@"`,
				`Got "a@b". Correct identity.user_id in the import block.`),
		})
	}
	steps = append(steps, resource.TestStep{
		PreConfig: func() {
			acctest.ExpectNoRequests(t, env, "an invalid import identity")
			if env.HasUser(invalidID) {
				t.Errorf("an invalid import identity let Point register %q", invalidID)
			}
			userToken, existing = env.AddUser(userID), env.AddUser(tokenUserID)
		},
		Config: config + identityTestImportBlock(userAddr, userID) + identityTestImportBlock(tokenAddr, tokenUserID),
		ConfigPlanChecks: preApply(
			plancheck.ExpectResourceAction(userAddr, plancheck.ResourceActionNoop),
			rtPlanKnown(userAddr, "deletion_policy", knownvalue.StringExact(deletionAbandon)),
			plancheck.ExpectResourceAction(tokenAddr, plancheck.ResourceActionNoop),
			rtPlanKnown(tokenAddr, "token", acctest.IsCurrentRefreshToken(env, tokenUserID)),
		),
		ConfigStateChecks: []statecheck.StateCheck{
			identityTestExpect(userAddr, userID),
			statecheck.ExpectKnownValue(userAddr, tfjsonpath.New("id"), knownvalue.StringExact(userID)),
			statecheck.ExpectKnownValue(userAddr, tfjsonpath.New("user_id"), knownvalue.StringExact(userID)),
			statecheck.ExpectKnownValue(userAddr, tfjsonpath.New("deletion_policy"), knownvalue.StringExact(deletionAbandon)),
			identityTestExpect(tokenAddr, tokenUserID),
			statecheck.ExpectKnownValue(tokenAddr, tfjsonpath.New("id"), knownvalue.StringExact(tokenUserID)),
			statecheck.ExpectKnownValue(tokenAddr, tfjsonpath.New("issued_at"), knownvalue.Null()),
		},
		Check: resource.ComposeAggregateTestCheckFunc(
			resource.TestCheckResourceAttrPtr(tokenAddr, "token", &existing),
			acctest.CheckStateTokenCurrent(env, tokenUserID),
		),
	}, resource.TestStep{
		Config:            config,
		ConfigPlanChecks:  preApply(plancheck.ExpectEmptyPlan()),
		ConfigStateChecks: []statecheck.StateCheck{identityTestExpect(userAddr, userID)},
		Check:             resource.TestCheckResourceAttrPtr(tokenAddr, "token", &existing),
	})

	resource.ParallelTest(t, resource.TestCase{
		TerraformVersionChecks:   identityTestVersions,
		ProtoV6ProviderFactories: env.Factories(),
		// ABANDON: the user stays in Point, holding the token it had.
		CheckDestroy: resource.ComposeAggregateTestCheckFunc(acctest.RefreshTokenUnchanged(env, userID, &userToken),
			acctest.NoCurrentRefreshToken(env, tokenUserID)),
		Steps: steps,
	})
	if err := acctest.ExpectRequests(env, sandbox.RouteCreateUser, 0); err != nil {
		t.Error(err)
	}
	if err := acctest.ExpectRequests(env, sandbox.RouteIssueRefreshToken, 0); err != nil {
		t.Errorf("importing by identity: %v", err)
	}
}

// Terraform before 1.12 never sends a stored identity, and the framework fails every Read that returns
// none, even one that removes the resource; so Read sets it from state. Here Read runs as Terraform
// 1.11 runs it, with a stored state and no identity.
func TestIdentity_readWithoutStoredIdentity(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, typeName              string
		registered, revoke, removed bool
	}{
		{"user present", "point_user", true, false, false},
		{"user gone", "point_user", false, false, true},
		{"token current", "point_refresh_token", true, false, false},
		{"token revoked", "point_refresh_token", true, true, true},
		{"token's user gone", "point_refresh_token", false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := acctest.NewEnv(t, sandbox.Options{})
			userID := env.UserID("identity-read-" + strings.ReplaceAll(tc.name, " ", "-"))
			token := "rt_gone"
			if tc.registered {
				token = env.AddUser(userID)
			}
			if tc.revoke {
				env.RevokeRefreshToken(userID)
			}
			server, schemas := env.ConfiguredServerFor(t, env.Endpoint, env.APIKey, "1.11.4")
			resourceType := schemas.ResourceSchemas[tc.typeName].ValueType()
			str := func(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }
			given := map[string]tftypes.Value{"id": str(userID), "user_id": str(userID), "token": str(token)}
			if tc.typeName == "point_user" {
				given = map[string]tftypes.Value{"id": str(userID), "user_id": str(userID), "deletion_policy": str(deletionAbandon)}
			}
			resp, err := server.ReadResource(context.Background(),
				&tfprotov6.ReadResourceRequest{TypeName: tc.typeName, CurrentState: acctest.DynamicValue(t, resourceType, given)})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range resp.Diagnostics {
				if d.Severity == tfprotov6.DiagnosticSeverityError {
					t.Errorf("error: %s: %s", d.Summary, d.Detail)
				}
			}
			if resp.NewIdentity == nil || resp.NewIdentity.IdentityData == nil {
				t.Fatal("Read returned no identity")
			}
			identityType := tftypes.Object{AttributeTypes: map[string]tftypes.Type{"user_id": tftypes.String}}
			identity := acctest.DecodeObject(t, identityType, resp.NewIdentity.IdentityData)
			if got := acctest.StringOrNil(t, identity["user_id"]); got == nil || *got != userID {
				t.Errorf("identity user_id = %v, want %q", got, userID)
			}
			if removed := resp.NewState == nil || acctest.DecodeObject(t, resourceType, resp.NewState) == nil; removed != tc.removed {
				t.Errorf("removed = %t, want %t", removed, tc.removed)
			}
		})
	}
}
