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

// Create, refresh, update and import of point_user all record the identity;
// import by identity and by id both work and both adopt ABANDON.
func TestAccUser_identity(t *testing.T) {
	env := newTestEnv(t, sandbox.Options{})
	userID := env.UserID("identity")
	const addr = "point_user.test"

	resource.ParallelTest(t, resource.TestCase{
		TerraformVersionChecks:   identityTestVersions,
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{
			{
				Config: pointUserConfig(env, userID, deletionAbandon),
				ConfigStateChecks: []statecheck.StateCheck{
					identityTestExpect(addr, userID),
					statecheck.ExpectIdentityValueMatchesState(addr, tfjsonpath.New("user_id")),
				},
			},
			{
				// An update keeps it.
				Config: pointUserConfig(env, userID, deletionRevoke),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{identityTestExpect(addr, userID)},
			},
			{
				Config:          pointUserConfig(env, userID, deletionAbandon),
				ResourceName:    addr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithResourceIdentity,
				// The state holds REVOKE, the configuration ABANDON: the
				// import adopts ABANDON, so the plan changes nothing.
				ImportPlanChecks: resource.ImportPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(addr, plancheck.ResourceActionNoop),
						plancheck.ExpectKnownValue(addr, tfjsonpath.New("user_id"), knownvalue.StringExact(userID)),
						plancheck.ExpectKnownValue(addr, tfjsonpath.New("deletion_policy"), knownvalue.StringExact(deletionAbandon)),
					},
				},
			},
			{
				Config:          pointUserConfig(env, userID, deletionAbandon),
				ResourceName:    addr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
				ImportPlanChecks: resource.ImportPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionNoop)},
				},
			},
			{
				ResourceName:      addr,
				ImportState:       true,
				ImportStateId:     userID,
				ImportStateVerify: true,
				// The import sets ABANDON; state holds REVOKE from step 2.
				ImportStateVerifyIgnore: []string{"deletion_policy"},
			},
		},
	})
}

// A user registered outside Terraform, imported with an import block that
// names its identity.
func TestAccUser_importByIdentityBlock(t *testing.T) {
	env := newTestEnv(t, sandbox.Options{})
	userID := env.UserID("identity-import")
	const addr = "point_user.test"
	var token string
	resourceBlock := fmt.Sprintf(`
resource "point_user" "test" {
  user_id = %[1]q
}
`, userID)

	resource.ParallelTest(t, resource.TestCase{
		TerraformVersionChecks:   identityTestVersions,
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy: func(*terraform.State) error {
			// ABANDON: the user and its token stay in Point.
			if !env.HasUser(userID) {
				return fmt.Errorf("user %q is gone from Point", userID)
			}
			if current := env.CurrentRefreshToken(userID); current == "" || current != token {
				return fmt.Errorf("destroying the imported user changed its refresh token")
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					token = env.AddUser(userID)
				},
				Config: env.ProviderBlock() + identityTestImportBlock(addr, userID) + resourceBlock,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(addr, plancheck.ResourceActionNoop),
						plancheck.ExpectKnownValue(addr, tfjsonpath.New("deletion_policy"), knownvalue.StringExact(deletionAbandon)),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					identityTestExpect(addr, userID),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact(userID)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("user_id"), knownvalue.StringExact(userID)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("deletion_policy"), knownvalue.StringExact(deletionAbandon)),
				},
			},
			{
				Config: env.ProviderBlock() + resourceBlock,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{identityTestExpect(addr, userID)},
			},
		},
	})
	if err := expectRequests(env, sandbox.RouteCreateUser, 0); err != nil {
		t.Error(err)
	}
}

func TestAccRefreshToken_identity(t *testing.T) {
	env := newTestEnv(t, sandbox.Options{})
	userID := env.UserID("rt-identity")
	var issuedBefore int

	resource.ParallelTest(t, resource.TestCase{
		TerraformVersionChecks:   identityTestVersions,
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             noCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				Config: refreshTokenConfig(env, userID, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					identityTestExpect(refreshTokenAddr, userID),
					identityTestExpect("point_user.test", userID),
					statecheck.ExpectIdentityValueMatchesState(refreshTokenAddr, tfjsonpath.New("user_id")),
				},
				Check: checkStateTokenCurrent(env, userID),
			},
			{
				// A rotation in place keeps it.
				Config: refreshTokenConfig(env, userID, "  rotation_triggers = { n = \"1\" }\n"),
				ConfigStateChecks: []statecheck.StateCheck{
					identityTestExpect(refreshTokenAddr, userID),
				},
			},
			{
				Config: refreshTokenConfig(env, userID, "  rotation_triggers = { n = \"2\" }\n"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectUnknownValue(refreshTokenAddr, tfjsonpath.New("token"))},
				},
				ConfigStateChecks: []statecheck.StateCheck{identityTestExpect(refreshTokenAddr, userID)},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkStateTokenCurrent(env, userID),
					func(*terraform.State) error {
						if env.Sandbox != nil {
							issuedBefore = env.Sandbox.RefreshTokensIssued()
						}
						return nil
					},
				),
			},
			{
				// The import adopts the current token: no rotation.
				Config:             refreshTokenConfig(env, userID, "  rotation_triggers = { n = \"2\" }\n"),
				ResourceName:       refreshTokenAddr,
				ImportState:        true,
				ImportStateKind:    resource.ImportBlockWithResourceIdentity,
				ExpectNonEmptyPlan: true,
				ImportPlanChecks: resource.ImportPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(refreshTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(refreshTokenAddr, tfjsonpath.New("token"), isCurrentRefreshToken(env, userID)),
						plancheck.ExpectKnownValue(refreshTokenAddr, tfjsonpath.New("issued_at"), knownvalue.Null()),
					},
				},
			},
			{
				Config:          refreshTokenConfig(env, userID, ""),
				ResourceName:    refreshTokenAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithResourceIdentity,
				ImportPlanChecks: resource.ImportPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(refreshTokenAddr, plancheck.ResourceActionNoop),
						plancheck.ExpectKnownValue(refreshTokenAddr, tfjsonpath.New("token"), isCurrentRefreshToken(env, userID)),
					},
				},
			},
			{
				Config:          refreshTokenConfig(env, userID, ""),
				ResourceName:    refreshTokenAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
				ImportPlanChecks: resource.ImportPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectKnownValue(refreshTokenAddr, tfjsonpath.New("token"), isCurrentRefreshToken(env, userID)),
					},
				},
				Check: func(*terraform.State) error {
					if env.Sandbox != nil {
						if n := env.Sandbox.RefreshTokensIssued() - issuedBefore; n != 0 {
							return fmt.Errorf("the imports issued %d refresh tokens, want none", n)
						}
					}
					return nil
				},
			},
		},
	})
}

// The token of a user registered outside Terraform, imported with an import
// block that names its identity, then applied: Terraform adopts the token
// the user holds, without issuing another.
func TestAccRefreshToken_importByIdentityBlock(t *testing.T) {
	env := newTestEnv(t, sandbox.Options{})
	userID := env.UserID("rt-identity-import")
	var existing string
	config := refreshTokenOnlyConfig(env.ProviderBlock(), userID, "")

	resource.ParallelTest(t, resource.TestCase{
		TerraformVersionChecks:   identityTestVersions,
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             noCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				PreConfig: func() { existing = env.AddUser(userID) },
				Config:    config + identityTestImportBlock(refreshTokenAddr, userID),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(refreshTokenAddr, plancheck.ResourceActionNoop),
						plancheck.ExpectKnownValue(refreshTokenAddr, tfjsonpath.New("token"), isCurrentRefreshToken(env, userID)),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					identityTestExpect(refreshTokenAddr, userID),
					statecheck.ExpectKnownValue(refreshTokenAddr, tfjsonpath.New("id"), knownvalue.StringExact(userID)),
					statecheck.ExpectKnownValue(refreshTokenAddr, tfjsonpath.New("issued_at"), knownvalue.Null()),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttrPtr(refreshTokenAddr, "token", &existing),
					checkStateTokenCurrent(env, userID),
				),
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.TestCheckResourceAttrPtr(refreshTokenAddr, "token", &existing),
			},
		},
	})
	if env.Sandbox != nil {
		if n := env.Sandbox.RequestCounts()[sandbox.RouteIssueRefreshToken]; n != 0 {
			t.Errorf("importing by identity made %d issue requests, want none", n)
		}
	}
}

// An import identity with a user id Point would refuse fails at plan,
// before any request, for both resources that have an identity.
func TestAccIdentity_invalidImportIdentity(t *testing.T) {
	env := newTestEnv(t, sandbox.Options{})
	userID := env.UserID("someone")
	var steps []resource.TestStep
	for _, resourceType := range []string{"point_user", "point_refresh_token"} {
		steps = append(steps, resource.TestStep{
			Config: env.ProviderBlock() + identityTestImportBlock(resourceType+".test", "a@b") +
				fmt.Sprintf("\nresource %q \"test\" {\n  user_id = %q\n}\n", resourceType, userID),
			PlanOnly: true,
			ExpectError: diagnosticMatching("Invalid Import Identity",
				`The user_id of the import identity is the Point user id, which must not contain "@"`,
				`Got "a@b". Correct identity.user_id in the import block.`),
		})
	}
	resource.ParallelTest(t, resource.TestCase{
		TerraformVersionChecks:   identityTestVersions,
		ProtoV6ProviderFactories: env.Factories(),
		Steps:                    steps,
	})
	expectNoRequests(t, env, "an invalid import identity")
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
		setup    func(env *testEnv, userID string) (token string)
		removed  bool
	}{
		"user present": {
			typeName: "point_user",
			setup:    func(env *testEnv, userID string) string { return env.AddUser(userID) },
		},
		"user gone": {
			typeName: "point_user",
			setup:    func(*testEnv, string) string { return "" },
			removed:  true,
		},
		"token current": {
			typeName: "point_refresh_token",
			setup:    func(env *testEnv, userID string) string { return env.AddUser(userID) },
		},
		"token revoked": {
			typeName: "point_refresh_token",
			setup: func(env *testEnv, userID string) string {
				token := env.AddUser(userID)
				env.RevokeRefreshToken(userID)
				return token
			},
			removed: true,
		},
		"token's user gone": {
			typeName: "point_refresh_token",
			setup:    func(*testEnv, string) string { return "rt_gone" },
			removed:  true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t, sandbox.Options{})
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
			if got := stringOrNil(t, attrs["user_id"]); got == nil || *got != userID {
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

// protocolServer serves the provider for env through the protocol, as
// terraformVersion does, configured for endpoint with apiKey ("" for none),
// and returns it with its schemas.
func protocolServer(t *testing.T, env *testEnv, endpoint, apiKey, terraformVersion string) (tfprotov6.ProviderServer, *tfprotov6.GetProviderSchemaResponse) {
	t.Helper()
	ctx := context.Background()
	server, err := env.Factories()["point"]()
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	providerType := schemas.Provider.ValueType()
	settings := map[string]tftypes.Value{"endpoint": tftypes.NewValue(tftypes.String, endpoint)}
	if apiKey != "" {
		settings["api_key"] = tftypes.NewValue(tftypes.String, apiKey)
	}
	config, err := tfprotov6.NewDynamicValue(providerType, objectWithNulls(t, providerType, settings))
	if err != nil {
		t.Fatal(err)
	}
	configured, err := server.ConfigureProvider(ctx, &tfprotov6.ConfigureProviderRequest{TerraformVersion: terraformVersion, Config: &config})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range configured.Diagnostics {
		t.Fatalf("configuring the provider: %s: %s", d.Summary, d.Detail)
	}
	return server, schemas
}

// identityTestRead runs a resource's Read as Terraform 1.11 does: with a
// stored state and no identity. It returns the response and the resource's
// type.
func identityTestRead(t *testing.T, env *testEnv, typeName, userID, token string) (*tfprotov6.ReadResourceResponse, tftypes.Type) {
	t.Helper()
	server, schemas := protocolServer(t, env, env.Endpoint, env.APIKey, "1.11.4")
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
	state, err := tfprotov6.NewDynamicValue(resourceType, objectWithNulls(t, resourceType, given))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := server.ReadResource(context.Background(), &tfprotov6.ReadResourceRequest{TypeName: typeName, CurrentState: &state})
	if err != nil {
		t.Fatal(err)
	}
	return resp, resourceType
}
