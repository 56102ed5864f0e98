package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/compare"
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

// Tests of point_refresh_token with store_token = false. Each checks what
// Point holds through acctest.Env, so all of them run against real Point too;
// only request counts are the sandbox's.

// freeTestConfig is acctest.RefreshTokenConfig with store_token = false.
func freeTestConfig(env *acctest.Env, userID, args string) string {
	return acctest.RefreshTokenConfig(env, userID, "  store_token = false\n"+args)
}

// freeTestCheckTracked asserts what token-free state promises: no token in
// the state of acctest.RefreshTokenAddr, token_sha256 naming the user's current
// token in Point, token_version as given, and a current token that Point
// accepts. It also searches every attribute of every resource for any token
// seen.
func freeTestCheckTracked(env *acctest.Env, userID string, version int64, seen acctest.SeenTokens) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		current := env.CurrentRefreshToken(userID)
		if current == "" {
			return fmt.Errorf("Point user %q has no current refresh token", userID)
		}
		if seen != nil {
			seen[current] = true
		}
		rs, ok := s.RootModule().Resources[acctest.RefreshTokenAddr]
		if !ok {
			return fmt.Errorf("%s not in state", acctest.RefreshTokenAddr)
		}
		attrs := rs.Primary.Attributes
		if attrs["token"] != "" {
			return fmt.Errorf("%s keeps a token in state with store_token = false", acctest.RefreshTokenAddr)
		}
		if got, want := attrs["token_sha256"], tokenSHA256(current); got != want {
			return fmt.Errorf("token_sha256 = %q, want the SHA-256 of the current token of %q, %q", got, userID, want)
		}
		if got, want := attrs["token_version"], fmt.Sprint(version); got != want {
			return fmt.Errorf("token_version = %s, want %s", got, want)
		}
		if err := acctest.NoSeenTokenInState(s, seen, current); err != nil {
			return err
		}
		return env.CheckRefreshTokenAccepted(userID, current)
	}
}

// freeTestCapture records the user's current token in Point.
func freeTestCapture(env *acctest.Env, userID string, into *string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		*into = env.CurrentRefreshToken(userID)
		if *into == "" {
			return fmt.Errorf("Point user %q has no current refresh token", userID)
		}
		return nil
	}
}

var freeTestNull = knownvalue.Null()

// freeTestSumOf checks a token_sha256 against the fingerprint of *token,
// read when the check runs.
func freeTestSumOf(token *string) knownvalue.Check {
	return knownvalue.StringFunc(func(v string) error {
		if *token == "" || v != tokenSHA256(*token) {
			return fmt.Errorf("token_sha256 is not the fingerprint of the expected token")
		}
		return nil
	})
}

func TestAccRefreshTokenTokenFree_basic(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("free-basic")
	issued := env.Clock.Now()
	seen := acctest.SeenTokens{}
	config := freeTestConfig(env, userID, `  rotate_after = "2160h"`+"\n")

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionCreate),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), freeTestNull),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("store_token"), knownvalue.Bool(false)),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(1)),
						plancheck.ExpectUnknownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_sha256")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), freeTestNull),
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("issued_at"), knownvalue.StringExact(acctest.FormatRFC3339(issued))),
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("rotate_at"), knownvalue.StringExact(acctest.FormatRFC3339(issued.Add(90*24*time.Hour)))),
				},
				Check: freeTestCheckTracked(env, userID, 1, seen),
			},
			{
				Config:   config,
				PlanOnly: true,
			},
		},
	})
}

func TestAccRefreshTokenTokenFree_rotationTriggers(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("free-triggers")
	seen := acctest.SeenTokens{}
	var first, second string
	var issuedBefore int
	triggers := func(v string) string { return fmt.Sprintf("  rotation_triggers = { quarter = %q }\n", v) }

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				Config: freeTestConfig(env, userID, triggers("2025-Q1")),
				Check: resource.ComposeAggregateTestCheckFunc(
					freeTestCheckTracked(env, userID, 1, seen),
					freeTestCapture(env, userID, &first),
				),
			},
			{
				// A rotation: a new token in place, never in the plan; the
				// version the plan shows is the one the apply records.
				PreConfig: func() { issuedBefore = acctest.RefreshTokensIssued(env) },
				Config:    freeTestConfig(env, userID, triggers("2025-Q2")),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), freeTestNull),
						plancheck.ExpectUnknownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_sha256")),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(2)),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("id"), knownvalue.StringExact(userID)),
					},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					freeTestCheckTracked(env, userID, 2, seen),
					acctest.RefreshTokenRefused(env, userID, &first),
					freeTestCapture(env, userID, &second),
					acctest.CheckRefreshTokensIssued(env, &issuedBefore, 1),
				),
			},
			{
				// An unrelated change keeps the token and its version.
				Config: freeTestConfig(env, userID, triggers("2025-Q2")+"  timeouts = { read = \"2m\" }\n"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), freeTestNull),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_sha256"), knownvalue.NotNull()),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(2)),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("id"), knownvalue.StringExact(userID)),
					},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					freeTestCheckTracked(env, userID, 2, seen),
					acctest.RefreshTokenUnchanged(env, userID, &second),
				),
			},
		},
	})
}

func TestAccRefreshTokenTokenFree_rotateAfter(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("free-rotate-after")
	seen := acctest.SeenTokens{}
	t0 := env.Clock.Now()
	t1 := t0.Add(25 * time.Hour)
	config := freeTestConfig(env, userID, "  rotate_after = \"24h\"\n")
	var first string

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: resource.ComposeAggregateTestCheckFunc(
					freeTestCheckTracked(env, userID, 1, seen),
					freeTestCapture(env, userID, &first),
				),
			},
			{
				PreConfig: func() { env.Clock.Advance(23 * time.Hour) },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: acctest.RefreshTokenUnchanged(env, userID, &first),
			},
			{
				PreConfig: func() { env.Clock.Advance(2 * time.Hour) },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), freeTestNull),
						plancheck.ExpectUnknownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_sha256")),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(2)),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("issued_at"), knownvalue.StringExact(acctest.FormatRFC3339(t1))),
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("rotate_at"), knownvalue.StringExact(acctest.FormatRFC3339(t1.Add(24*time.Hour)))),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					freeTestCheckTracked(env, userID, 2, seen),
					acctest.RefreshTokenRefused(env, userID, &first),
				),
			},
		},
	})
}

// A token replaced outside Terraform is found by its fingerprint: the
// refresh adopts it, raising token_version, without issuing anything.
func TestAccRefreshTokenTokenFree_rotatedOutsideTerraform(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("free-rotated-oob")
	seen := acctest.SeenTokens{}
	config := func(n string) string {
		return freeTestConfig(env, userID, fmt.Sprintf("  rotate_after = \"24h\"\n  rotation_triggers = { n = %q }\n", n))
	}
	var outOfBand string
	var issuedBefore int

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				Config: config("1"),
				Check:  freeTestCheckTracked(env, userID, 1, seen),
			},
			{
				PreConfig: func() {
					outOfBand = env.RotateRefreshToken(userID)
					issuedBefore = acctest.RefreshTokensIssued(env)
				},
				Config: config("1"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_sha256"), knownvalue.StringFunc(func(v string) error {
						if v != tokenSHA256(outOfBand) {
							return fmt.Errorf("token_sha256 is not the fingerprint of the token issued outside Terraform")
						}
						return nil
					})),
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("issued_at"), freeTestNull),
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("rotate_at"), freeTestNull),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					freeTestCheckTracked(env, userID, 2, seen),
					acctest.RefreshTokenUnchanged(env, userID, &outOfBand),
					acctest.CheckRefreshTokensIssued(env, &issuedBefore, 0),
				),
			},
			{
				Config: config("2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(3)),
					},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					freeTestCheckTracked(env, userID, 3, seen),
					acctest.RefreshTokenRefused(env, userID, &outOfBand),
				),
			},
		},
	})
}

// A token revoked outside Terraform (or by the point_revoke_refresh_token
// action) leaves the resource in state with no fingerprint; the next apply
// issues a new token in place, so that token_version goes on growing and a
// consumer tied to it receives the new token. Its plan shows id unknown,
// so that readers of the token that refer to it wait for the new one.
func TestAccRefreshTokenTokenFree_revokedOutsideTerraform(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("free-revoked-oob")
	seen := acctest.SeenTokens{}
	config := freeTestConfig(env, userID, "")
	var first string

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: resource.ComposeAggregateTestCheckFunc(
					freeTestCheckTracked(env, userID, 1, seen),
					freeTestCapture(env, userID, &first),
				),
			},
			{
				PreConfig: func() { env.RevokeRefreshToken(userID) },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction("point_user.test", plancheck.ResourceActionNoop),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), freeTestNull),
						plancheck.ExpectUnknownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_sha256")),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(2)),
						plancheck.ExpectUnknownValue(acctest.RefreshTokenAddr, tfjsonpath.New("id")),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("issued_at"), knownvalue.StringExact(acctest.FormatRFC3339(env.Clock.Now()))),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					freeTestCheckTracked(env, userID, 2, seen),
					acctest.RefreshTokenRefused(env, userID, &first),
				),
			},
		},
	})
}

// Import with the ID "<user_id>/store_token=false" adopts the user's token
// without rotating it and without writing it to state, by the import
// command and by an import block.
func TestAccRefreshTokenTokenFree_import(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("free-import")
	seen := acctest.SeenTokens{}
	config := acctest.RefreshTokenOnlyConfig(env.ProviderBlock(), userID, "  store_token = false\n")
	var existing string
	var issuedBefore int
	importID := userID + importSuffixTokenFree

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					existing = env.AddUser(userID)
					issuedBefore = acctest.RefreshTokensIssued(env)
				},
				Config:             config,
				ResourceName:       acctest.RefreshTokenAddr,
				ImportState:        true,
				ImportStateId:      importID,
				ImportStatePersist: true,
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					if len(states) != 1 {
						return fmt.Errorf("imported %d objects, want 1", len(states))
					}
					attrs := states[0].Attributes
					switch {
					case attrs["token"] != "":
						return fmt.Errorf("the import wrote the token to state")
					case attrs["token_sha256"] != tokenSHA256(existing):
						return fmt.Errorf("token_sha256 is not the fingerprint of the user's existing token")
					case attrs["token_version"] != "1", attrs["store_token"] != "false", attrs["id"] != userID:
						return fmt.Errorf("imported token_version = %q, store_token = %q, id = %q; want 1, false, %q",
							attrs["token_version"], attrs["store_token"], attrs["id"], userID)
					case attrs["issued_at"] != "":
						return fmt.Errorf("imported issued_at = %q, want null", attrs["issued_at"])
					}
					return nil
				},
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					freeTestCheckTracked(env, userID, 1, seen),
					acctest.RefreshTokenUnchanged(env, userID, &existing),
					acctest.CheckRefreshTokensIssued(env, &issuedBefore, 0),
				),
			},
			{
				// The same through an import block: the plan holds no token.
				Config:          config,
				ResourceName:    acctest.RefreshTokenAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
				ImportStateId:   importID,
				ImportPlanChecks: resource.ImportPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionNoop),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), freeTestNull),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_sha256"), freeTestSumOf(&existing)),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(1)),
					},
				},
			},
		},
	})
}

// An import with the plain user id, as before store_token existed, adopts
// the token into state; a configuration with store_token = false then
// removes it from state at the first apply, without rotating it.
func TestAccRefreshTokenTokenFree_importPlainID(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("free-import-plain")
	seen := acctest.SeenTokens{}
	config := acctest.RefreshTokenOnlyConfig(env.ProviderBlock(), userID, "  store_token = false\n")
	var existing string

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				PreConfig:          func() { existing = env.AddUser(userID) },
				Config:             config,
				ResourceName:       acctest.RefreshTokenAddr,
				ImportState:        true,
				ImportStateId:      userID,
				ImportStatePersist: true,
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					if len(states) != 1 || states[0].Attributes["token"] != existing || states[0].Attributes["store_token"] != "true" {
						return fmt.Errorf("a plain import should adopt the token into state, with store_token = true")
					}
					return nil
				},
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), freeTestNull),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_sha256"), freeTestSumOf(&existing)),
					},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					freeTestCheckTracked(env, userID, 1, seen),
					acctest.RefreshTokenUnchanged(env, userID, &existing),
				),
			},
			{
				// "/store_token=true" says the same as the plain id.
				Config:             config,
				ResourceName:       acctest.RefreshTokenAddr,
				ImportState:        true,
				ImportStateKind:    resource.ImportBlockWithID,
				ImportStateId:      userID + importSuffixTokenStored,
				ExpectNonEmptyPlan: true,
				ImportPlanChecks: resource.ImportPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), freeTestNull),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("user_id"), knownvalue.StringExact(userID)),
					},
				},
			},
		},
	})
}

// Switching store_token moves the token out of state and back in, without
// rotating it and without changing its fingerprint or version.
func TestAccRefreshTokenTokenFree_switchStoreToken(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("free-switch")
	seen := acctest.SeenTokens{}
	stored := acctest.RefreshTokenConfig(env, userID, "  rotate_after = \"24h\"\n")
	free := freeTestConfig(env, userID, "  rotate_after = \"24h\"\n")
	var token string
	var issuedBefore int
	sameSum := statecheck.CompareValue(compare.ValuesSame())

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				Config: stored,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("store_token"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), acctest.IsCurrentRefreshToken(env, userID)),
					sameSum.AddStateValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_sha256")),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CheckStateTokenCurrent(env, userID),
					acctest.CaptureStateToken(&token),
					func(*terraform.State) error { issuedBefore = acctest.RefreshTokensIssued(env); return nil },
				),
			},
			{
				Config: free,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), freeTestNull),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_sha256"), knownvalue.NotNull()),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(1)),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("issued_at"), knownvalue.NotNull()),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("id"), knownvalue.StringExact(userID)),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{sameSum.AddStateValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_sha256"))},
				Check: resource.ComposeAggregateTestCheckFunc(
					freeTestCheckTracked(env, userID, 1, seen),
					acctest.RefreshTokenUnchanged(env, userID, &token),
					acctest.CheckRefreshTokensIssued(env, &issuedBefore, 0),
				),
			},
			{
				Config: stored,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectUnknownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token")),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_sha256"), knownvalue.NotNull()),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(1)),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					sameSum.AddStateValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_sha256")),
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(1)),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttrPtr(acctest.RefreshTokenAddr, "token", &token),
					acctest.CheckStateTokenCurrent(env, userID),
					acctest.CheckRefreshTokensIssued(env, &issuedBefore, 0),
				),
			},
			{
				// Switching and rotating at once: the new token never
				// reaches state.
				PreConfig: func() { env.Clock.Advance(25 * time.Hour) },
				Config:    free,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), freeTestNull),
						plancheck.ExpectUnknownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_sha256")),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(2)),
					},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					freeTestCheckTracked(env, userID, 2, seen),
					acctest.RefreshTokenRefused(env, userID, &token),
				),
			},
		},
	})
}

// Destroy reads the current token with the API key and revokes it when it
// is the tracked one: after a refresh that adopted a token rotated outside
// Terraform, that one.
func TestAccRefreshTokenTokenFree_destroyRefreshesAfterRotationOutsideTerraform(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("free-destroy-refresh")
	var newer string

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				Config: freeTestConfig(env, userID, ""),
				Check:  freeTestCheckTracked(env, userID, 1, nil),
			},
			{
				PreConfig: func() { newer = env.RotateRefreshToken(userID) },
				Config:    freeTestConfig(env, userID, ""),
				Destroy:   true,
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.NoCurrentRefreshToken(env, userID),
					acctest.RefreshTokenRefused(env, userID, &newer),
				),
			},
		},
	})
}

// The post-test destroy runs with -refresh=false, so the token Point holds
// is not the one state tracks: it was issued outside Terraform and is left
// alone, as a stored token that Point no longer accepts counts as revoked.
func TestAccRefreshTokenTokenFree_destroyAfterRotationOutsideTerraform(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("free-destroy-stale")
	var first, newer string
	var revokesBefore int

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy: func(*terraform.State) error {
			if current := env.CurrentRefreshToken(userID); current == "" || current != newer {
				return fmt.Errorf("the token issued outside Terraform should stay current (current set: %t)", current != "")
			}
			if env.Sandbox != nil {
				if n := env.Sandbox.RequestCounts()[sandbox.RouteRevokeRefreshToken] - revokesBefore; n != 0 {
					return fmt.Errorf("destroy made %d revoke requests, want none", n)
				}
			}
			if err := env.CheckRefreshTokenRefused(userID, first); err != nil {
				return err
			}
			return env.CheckRefreshTokenAccepted(userID, newer)
		},
		Steps: []resource.TestStep{
			{
				Config: freeTestConfig(env, userID, ""),
				Check: resource.ComposeAggregateTestCheckFunc(
					freeTestCheckTracked(env, userID, 1, nil),
					freeTestCapture(env, userID, &first),
				),
			},
			{
				// Plans do not write state, so state keeps the old fingerprint.
				PreConfig: func() {
					newer = env.RotateRefreshToken(userID)
					if env.Sandbox != nil {
						revokesBefore = env.Sandbox.RequestCounts()[sandbox.RouteRevokeRefreshToken]
					}
				},
				Config:   freeTestConfig(env, userID, ""),
				PlanOnly: true,
			},
		},
	})
}

func TestAccRefreshTokenTokenFree_createBeforeDestroy(t *testing.T) {
	t.Run("same user", func(t *testing.T) {
		env := acctest.NewEnv(t, sandbox.Options{})
		userID := env.UserID("free-cbd-same")
		var first string
		config := func(generation string) string {
			return env.ProviderBlock() + fmt.Sprintf(`
resource "point_user" "test" {
  user_id = %[1]q
}

resource "terraform_data" "generation" {
  input = %[2]q
}

resource "point_refresh_token" "test" {
  user_id     = point_user.test.user_id
  store_token = false

  lifecycle {
    create_before_destroy = true
    replace_triggered_by  = [terraform_data.generation]
  }
}
`, userID, generation)
		}
		resource.ParallelTest(t, resource.TestCase{
			ProtoV6ProviderFactories: env.Factories(),
			CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
			Steps: []resource.TestStep{
				{
					Config: config("1"),
					Check: resource.ComposeAggregateTestCheckFunc(
						freeTestCheckTracked(env, userID, 1, nil),
						freeTestCapture(env, userID, &first),
					),
				},
				{
					// The old instance's destroy finds the new token current,
					// not its own, and leaves it alone.
					Config: config("2"),
					ConfigPlanChecks: resource.ConfigPlanChecks{
						PreApply: []plancheck.PlanCheck{
							plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionCreateBeforeDestroy),
							plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), freeTestNull),
						},
					},
					Check: resource.ComposeAggregateTestCheckFunc(
						freeTestCheckTracked(env, userID, 1, nil),
						acctest.RefreshTokenRefused(env, userID, &first),
					),
				},
			},
		})
	})
	t.Run("new user", func(t *testing.T) {
		env := acctest.NewEnv(t, sandbox.Options{})
		userA, userB := env.UserID("free-cbd-a"), env.UserID("free-cbd-b")
		var first string
		config := func(owner string) string {
			return env.ProviderBlock() + fmt.Sprintf(`
resource "point_user" "a" {
  user_id = %[1]q
}

resource "point_user" "b" {
  user_id = %[2]q
}

resource "point_refresh_token" "test" {
  user_id     = point_user.%[3]s.user_id
  store_token = false

  lifecycle {
    create_before_destroy = true
  }
}
`, userA, userB, owner)
		}
		resource.ParallelTest(t, resource.TestCase{
			ProtoV6ProviderFactories: env.Factories(),
			CheckDestroy:             acctest.NoCurrentRefreshToken(env, userA, userB),
			Steps: []resource.TestStep{
				{
					Config: config("a"),
					Check: resource.ComposeAggregateTestCheckFunc(
						freeTestCheckTracked(env, userA, 1, nil),
						freeTestCapture(env, userA, &first),
					),
				},
				{
					Config: config("b"),
					ConfigPlanChecks: resource.ConfigPlanChecks{
						PreApply: []plancheck.PlanCheck{
							plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionCreateBeforeDestroy),
						},
					},
					Check: resource.ComposeAggregateTestCheckFunc(
						freeTestCheckTracked(env, userB, 1, nil),
						acctest.NoCurrentRefreshToken(env, userA),
						acctest.RefreshTokenRefused(env, userA, &first),
					),
				},
			},
		})
	})
}

// The emergency revoke from an action_trigger: the token-free resource stays
// in state, and the next apply issues a new token in place.
func TestAccRefreshTokenTokenFree_revokeAction(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("free-action")
	var first string
	config := func(incident string) string {
		return freeTestConfig(env, userID, "") + acctest.IncidentTriggerConfig(incident)
	}
	resource.ParallelTest(t, resource.TestCase{
		TerraformVersionChecks:   acctest.ActionsVersionChecks,
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				Config: config("none"),
				Check: resource.ComposeAggregateTestCheckFunc(
					freeTestCheckTracked(env, userID, 1, nil),
					freeTestCapture(env, userID, &first),
				),
			},
			{
				Config:             config("INC-1"),
				ExpectNonEmptyPlan: true,
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.NoCurrentRefreshToken(env, userID),
					acctest.RefreshTokenRefused(env, userID, &first),
				),
			},
			{
				Config: config("INC-1"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction("terraform_data.incident", plancheck.ResourceActionNoop),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(2)),
					},
				},
				Check: freeTestCheckTracked(env, userID, 2, nil),
			},
		},
	})
}

// Operations that read the token with the API key fail at plan time
// without one: destroying a token kept out of state, and putting it back.
// Every refresh needs the key too, so the plans skip it.
func TestAccRefreshTokenTokenFree_missingAPIKeyCLI(t *testing.T) {
	t.Parallel()
	env := acctest.NewEnv(t, sandbox.Options{})
	cli := acctest.NewInProcessCLI(t, env.Factories(), "")
	userID := env.UserID("free-no-key")
	noKey := fmt.Sprintf("provider \"point\" {\n  endpoint = %q\n}\n", env.Endpoint)
	config := func(store bool) string {
		return fmt.Sprintf("resource \"point_user\" \"test\" {\n  user_id = %q\n}\n\n"+
			"resource \"point_refresh_token\" \"test\" {\n  user_id     = point_user.test.user_id\n  store_token = %t\n}\n", userID, store)
	}
	cli.WriteMain(env.ProviderBlock() + config(false))
	cli.MustRun(0, "apply", "-auto-approve", "-no-color")
	first := env.CurrentRefreshToken(userID)

	cli.WriteMain(noKey + config(false))
	out := cli.MustRun(1, "plan", "-destroy", "-refresh=false", "-no-color")
	acctest.ExpectOutputShows(t, out, "Error: Missing Point API Key",
		"Cannot revoke a Point refresh token kept out of state (store_token = false), which is read with the API key: it needs the organisation API key, and none is configured.")
	cli.WriteMain(noKey + config(true))
	out = cli.MustRun(1, "plan", "-refresh=false", "-no-color")
	acctest.ExpectOutputShows(t, out, "Error: Missing Point API Key",
		"Cannot put a Point refresh token back into state (store_token = true), which reads it with the API key")
	if err := acctest.RefreshTokenUnchanged(env, userID, &first)(nil); err != nil {
		t.Error(err)
	}

	cli.WriteMain(env.ProviderBlock() + config(false))
	cli.MustRun(0, "destroy", "-auto-approve", "-no-color")
	if err := env.CheckRefreshTokenRefused(userID, first); err != nil {
		t.Error(err)
	}
}

// point_access_token reads the refresh token itself when refresh_token is
// omitted, which is how it works with token-free state. A front records
// the refresh token that each access token request presents: at the end of
// every apply, the last one must be the user's current token, after a
// first issue, a revocation outside Terraform and a rotation alike. The
// access token the apply obtained goes to a write-only argument, and Point
// must accept it.
func TestAccRefreshTokenTokenFree_accessToken(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("free-access")
	store := newWOStore()
	var mu sync.Mutex
	var presented []string
	front := acctest.StartFront(t, env, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if sandbox.RouteOf(r) == sandbox.RouteIssueAccessToken {
			mu.Lock()
			presented = append(presented, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
			mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
	config := func(generation string) string {
		return acctest.ProviderBlockFor(env, front, 1) + fmt.Sprintf(`
resource "point_user" "test" {
  user_id = %[1]q
}

resource "point_refresh_token" "test" {
  user_id           = point_user.test.user_id
  store_token       = false
  rotation_triggers = { generation = %[2]q }
}

ephemeral "point_access_token" "test" {
  user_id         = point_refresh_token.test.id
  revoke_on_close = false
}

resource "wostore_secret" "test" {
  name = "access"
}

resource "wostore_secret_version" "test" {
  secret_id                = wostore_secret.test.id
  secret_string_wo         = ephemeral.point_access_token.test.token
  secret_string_wo_version = point_refresh_token.test.token_version
}
`, userID, generation)
	}
	usedCurrent := func(writes int) resource.TestCheckFunc {
		return func(*terraform.State) error {
			mu.Lock()
			last := ""
			if len(presented) > 0 {
				last = presented[len(presented)-1]
			}
			mu.Unlock()
			if current := env.CurrentRefreshToken(userID); last == "" || last != current {
				return fmt.Errorf("the last access token request did not present the current refresh token of %q", userID)
			}
			if got := len(store.Writes("access")); got != writes {
				return fmt.Errorf("the access token was written %d times, want %d", got, writes)
			}
			return env.CheckAccessTokenLive(userID, store.Secret("access"))
		}
	}

	resource.ParallelTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)},
		ProtoV6ProviderFactories: factoriesWith(env, store),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				Config: config("1"),
				Check:  resource.ComposeAggregateTestCheckFunc(freeTestCheckTracked(env, userID, 1, nil), usedCurrent(1)),
			},
			{
				// Planning must not read the revoked token: it waits for
				// the new one.
				PreConfig: func() { env.RevokeRefreshToken(userID) },
				Config:    config("1"),
				Check:     resource.ComposeAggregateTestCheckFunc(freeTestCheckTracked(env, userID, 2, nil), usedCurrent(2)),
			},
			{
				Config: config("2"),
				Check:  resource.ComposeAggregateTestCheckFunc(freeTestCheckTracked(env, userID, 3, nil), usedCurrent(3)),
			},
		},
	})
}

// freeTestV0State is a state written before store_token existed: schema
// version 0 of point_refresh_token, which kept the token, and the user.
func freeTestV0State(userID, token, issuedAt string) string {
	return fmt.Sprintf(`{
  "version": 4,
  "terraform_version": "1.11.4",
  "serial": 3,
  "lineage": "6f1f1c1e-0000-4000-8000-00000000v0v0",
  "outputs": {},
  "resources": [
    {
      "mode": "managed",
      "type": "point_refresh_token",
      "name": "test",
      "provider": "provider[\"registry.terraform.io/areyoupoint/point\"]",
      "instances": [
        {
          "schema_version": 0,
          "attributes": {
            "id": %[1]q,
            "issued_at": %[3]q,
            "rotate_after": "2160h",
            "rotate_at": null,
            "rotation_triggers": {"generation": "1"},
            "timeouts": null,
            "token": %[2]q,
            "user_id": %[1]q
          },
          "sensitive_attributes": [[{"type": "get_attr", "value": "token"}]],
          "dependencies": ["point_user.test"]
        }
      ]
    },
    {
      "mode": "managed",
      "type": "point_user",
      "name": "test",
      "provider": "provider[\"registry.terraform.io/areyoupoint/point\"]",
      "instances": [
        {
          "schema_version": 0,
          "attributes": {"deletion_policy": "ABANDON", "id": %[1]q, "timeouts": null, "user_id": %[1]q},
          "sensitive_attributes": []
        }
      ]
    }
  ],
  "check_results": null
}
`, userID, token, issuedAt)
}

// A state written before store_token existed keeps working: the first plan,
// with or without a refresh, changes nothing; the first apply records the
// upgraded state with the token's fingerprint and version 1, keeping the
// token; and switching to store_token = false then removes it, as for any
// resource.
func TestAccRefreshTokenTokenFree_stateUpgradeCLI(t *testing.T) {
	t.Parallel()
	env := acctest.NewEnv(t, sandbox.Options{})
	cli := acctest.NewInProcessCLI(t, env.Factories(), "")
	userID := env.UserID("free-upgrade")
	token := env.AddUser(userID)
	issuedAt := env.Clock.Now().Add(-time.Hour)
	config := func(storeToken string) string {
		return fmt.Sprintf(`
resource "point_user" "test" {
  user_id = %[1]q
}

resource "point_refresh_token" "test" {
  user_id           = point_user.test.user_id
  rotate_after      = "2160h"
  rotation_triggers = { generation = "1" }
%[2]s}
`, userID, storeToken)
	}
	cli.WriteConfig(env, config(""))
	// rotate_at was computed by the provider that wrote the state.
	state := freeTestV0State(userID, token, acctest.FormatRFC3339(issuedAt))
	state = strings.Replace(state, `"rotate_at": null`, fmt.Sprintf("%q: %q", "rotate_at", acctest.FormatRFC3339(issuedAt.Add(2160*time.Hour))), 1)
	if err := os.WriteFile(filepath.Join(cli.Dir, "terraform.tfstate"), []byte(state), 0o600); err != nil {
		t.Fatal(err)
	}

	cli.MustRun(0, "plan", "-refresh=false", "-detailed-exitcode", "-no-color")
	cli.MustRun(0, "plan", "-detailed-exitcode", "-no-color")
	cli.MustRun(0, "apply", "-refresh-only", "-auto-approve", "-no-color")
	attrs, version := freeTestStateInstance(t, cli)
	switch {
	case version != 1:
		t.Errorf("the state was not upgraded: schema_version %d", version)
	case attrs["token"] != token || attrs["store_token"] != true:
		t.Error("the upgraded state does not keep the token with store_token = true")
	case attrs["token_sha256"] != tokenSHA256(token) || attrs["token_version"] != float64(1):
		t.Errorf("the upgraded state has token_sha256 = %v, token_version = %v; want the token's fingerprint and 1", attrs["token_sha256"], attrs["token_version"])
	case attrs["issued_at"] != acctest.FormatRFC3339(issuedAt):
		t.Errorf("the upgrade changed issued_at to %v", attrs["issued_at"])
	}

	cli.WriteConfig(env, config("  store_token       = false\n"))
	out := cli.MustRun(0, "apply", "-auto-approve", "-no-color")
	acctest.ExpectOutputShows(t, out, "Warning: Point Refresh Token Leaves State", "0 added, 1 changed, 0 destroyed")
	attrs, _ = freeTestStateInstance(t, cli)
	if attrs["token"] != nil || attrs["token_sha256"] != tokenSHA256(token) || attrs["token_version"] != float64(1) {
		t.Error("switching to store_token = false should drop the token and keep its fingerprint and version")
	}
	if err := acctest.RefreshTokenUnchanged(env, userID, &token)(nil); err != nil {
		t.Error(err)
	}
	cli.MustRun(0, "destroy", "-auto-approve", "-no-color")
	if err := env.CheckRefreshTokenRefused(userID, token); err != nil {
		t.Error(err)
	}
}

// freeTestStateInstance returns the attributes and schema version of
// point_refresh_token.test in the working directory's state file.
func freeTestStateInstance(t *testing.T, cli *acctest.InProcessCLI) (map[string]any, int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cli.Dir, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	var state struct {
		Resources []struct {
			Type      string `json:"type"`
			Instances []struct {
				SchemaVersion int            `json:"schema_version"`
				Attributes    map[string]any `json:"attributes"`
			} `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(b, &state); err != nil {
		t.Fatal(err)
	}
	for _, r := range state.Resources {
		if r.Type == "point_refresh_token" && len(r.Instances) == 1 {
			return r.Instances[0].Attributes, r.Instances[0].SchemaVersion
		}
	}
	t.Fatal("no point_refresh_token in state")
	return nil, 0
}

// The size of a point_refresh_token in state, with and without its token:
// each instance's JSON in the state file, as Terraform wrote it.
func TestAccRefreshTokenTokenFree_stateSizeCLI(t *testing.T) {
	t.Parallel()
	env := acctest.NewEnv(t, sandbox.Options{})
	cli := acctest.NewInProcessCLI(t, env.Factories(), "")
	stored, free := env.UserID("size-stored"), env.UserID("size-free")
	cli.WriteConfig(env, fmt.Sprintf(`
resource "point_user" "stored" {
  user_id = %[1]q
}

resource "point_user" "free" {
  user_id = %[2]q
}

resource "point_refresh_token" "stored" {
  user_id = point_user.stored.user_id
}

resource "point_refresh_token" "free" {
  user_id     = point_user.free.user_id
  store_token = false
}
`, stored, free))
	cli.MustRun(0, "apply", "-auto-approve", "-no-color")
	defer cli.MustRun(0, "destroy", "-auto-approve", "-no-color")

	b, err := os.ReadFile(filepath.Join(cli.Dir, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	var state struct {
		Resources []struct {
			Type      string            `json:"type"`
			Name      string            `json:"name"`
			Instances []json.RawMessage `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(b, &state); err != nil {
		t.Fatal(err)
	}
	sizes := map[string]int{}
	for _, r := range state.Resources {
		if r.Type != "point_refresh_token" || len(r.Instances) != 1 {
			continue
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, r.Instances[0]); err != nil {
			t.Fatal(err)
		}
		sizes[r.Name] = compact.Len()
		holdsToken := bytes.Contains(r.Instances[0], []byte(env.CurrentRefreshToken(env.UserID("size-"+r.Name))))
		if holdsToken != (r.Name == "stored") {
			t.Errorf("point_refresh_token.%s holds its token in state: %t", r.Name, holdsToken)
		}
	}
	if sizes["stored"] == 0 || sizes["free"] == 0 || sizes["free"] >= sizes["stored"] {
		t.Fatalf("state sizes %v: want both, and the token-free one smaller", sizes)
	}
	t.Logf("state size per point_refresh_token instance (compact JSON, as in terraform.tfstate): with the token %d bytes, without it %d bytes",
		sizes["stored"], sizes["free"])
}
