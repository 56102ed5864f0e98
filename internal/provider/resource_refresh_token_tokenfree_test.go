package provider

import (
	"fmt"
	"strings"
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

	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// Tests of point_refresh_token with store_token = false. Each checks what
// Point holds through testEnv, so all of them run against real Point too;
// only request counts are the sandbox's.

// freeTestConfig is rtTestConfig with store_token = false.
func freeTestConfig(env *testEnv, userID, args string) string {
	return rtTestConfig(env, userID, "  store_token = false\n"+args)
}

// freeTestSeen collects every refresh token of a test's users that was
// current at some check, so that state can be searched for all of them.
type freeTestSeen map[string]bool

// freeTestCheckTracked asserts what token-free state promises: no token in
// the state of rtTestAddr, token_sha256 naming the user's current token in
// Point, token_version as given, and a current token that Point accepts.
// It also searches every attribute of every resource for any token seen.
func freeTestCheckTracked(env *testEnv, userID string, version int64, seen freeTestSeen) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		current := env.CurrentRefreshToken(userID)
		if current == "" {
			return fmt.Errorf("Point user %q has no current refresh token", userID)
		}
		if seen != nil {
			seen[current] = true
		}
		rs, ok := s.RootModule().Resources[rtTestAddr]
		if !ok {
			return fmt.Errorf("%s not in state", rtTestAddr)
		}
		attrs := rs.Primary.Attributes
		if attrs["token"] != "" {
			return fmt.Errorf("%s keeps a token in state with store_token = false", rtTestAddr)
		}
		if got, want := attrs["token_sha256"], tokenSHA256(current); got != want {
			return fmt.Errorf("token_sha256 = %q, want the SHA-256 of the current token of %q, %q", got, userID, want)
		}
		if got, want := attrs["token_version"], fmt.Sprint(version); got != want {
			return fmt.Errorf("token_version = %s, want %s", got, want)
		}
		if err := freeTestNoTokenInState(s, seen, current); err != nil {
			return err
		}
		return env.CheckRefreshTokenAccepted(userID, current)
	}
}

// freeTestNoTokenInState fails when any attribute of any resource in state
// holds one of the tokens.
func freeTestNoTokenInState(s *terraform.State, seen freeTestSeen, extra ...string) error {
	tokens := append([]string(nil), extra...)
	for tok := range seen {
		tokens = append(tokens, tok)
	}
	for addr, rs := range s.RootModule().Resources {
		for name, v := range rs.Primary.Attributes {
			for _, tok := range tokens {
				if tok != "" && strings.Contains(v, tok) {
					return fmt.Errorf("%s.%s holds a refresh token", addr, name)
				}
			}
		}
	}
	return nil
}

// freeTestCapture records the user's current token in Point.
func freeTestCapture(env *testEnv, userID string, into *string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		*into = env.CurrentRefreshToken(userID)
		if *into == "" {
			return fmt.Errorf("Point user %q has no current refresh token", userID)
		}
		return nil
	}
}

// freeTestUnchanged asserts that the user's current token is still the one
// recorded: nothing rotated it.
func freeTestUnchanged(env *testEnv, userID string, token *string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if *token == "" || env.CurrentRefreshToken(userID) != *token {
			return fmt.Errorf("the refresh token of %q changed; it should not have been rotated", userID)
		}
		return env.CheckRefreshTokenAccepted(userID, *token)
	}
}

// freeTestIssued asserts that the sandbox issued exactly n refresh tokens
// since *before; it passes trivially against real Point.
func freeTestIssued(env *testEnv, before *int, n int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if env.Sandbox == nil {
			return nil
		}
		if got := env.Sandbox.RefreshTokensIssued() - *before; got != n {
			return fmt.Errorf("the sandbox issued %d refresh tokens, want %d", got, n)
		}
		return nil
	}
}

func freeTestIssuedCount(env *testEnv) int {
	if env.Sandbox == nil {
		return 0
	}
	return env.Sandbox.RefreshTokensIssued()
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
	env := newTestEnv(t, sandbox.Options{})
	userID := env.UserID("free-basic")
	issued := env.Clock.Now()
	seen := freeTestSeen{}
	config := freeTestConfig(env, userID, `  rotate_after = "2160h"`+"\n")

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             rtTestNoCurrentToken(env, userID),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(rtTestAddr, plancheck.ResourceActionCreate),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token"), freeTestNull),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("store_token"), knownvalue.Bool(false)),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(1)),
						plancheck.ExpectUnknownValue(rtTestAddr, tfjsonpath.New("token_sha256")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token"), freeTestNull),
					statecheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("issued_at"), knownvalue.StringExact(rtTestFormat(issued))),
					statecheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("rotate_at"), knownvalue.StringExact(rtTestFormat(issued.Add(90*24*time.Hour)))),
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
	env := newTestEnv(t, sandbox.Options{})
	userID := env.UserID("free-triggers")
	seen := freeTestSeen{}
	var first, second string
	var issuedBefore int
	triggers := func(v string) string { return fmt.Sprintf("  rotation_triggers = { quarter = %q }\n", v) }

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             rtTestNoCurrentToken(env, userID),
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
				PreConfig: func() { issuedBefore = freeTestIssuedCount(env) },
				Config:    freeTestConfig(env, userID, triggers("2025-Q2")),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(rtTestAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token"), freeTestNull),
						plancheck.ExpectUnknownValue(rtTestAddr, tfjsonpath.New("token_sha256")),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(2)),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("id"), knownvalue.StringExact(userID)),
					},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					freeTestCheckTracked(env, userID, 2, seen),
					rtTestRejected(env, userID, &first),
					freeTestCapture(env, userID, &second),
					freeTestIssued(env, &issuedBefore, 1),
				),
			},
			{
				// An unrelated change keeps the token and its version.
				Config: freeTestConfig(env, userID, triggers("2025-Q2")+"  timeouts = { read = \"2m\" }\n"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(rtTestAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token"), freeTestNull),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token_sha256"), knownvalue.NotNull()),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(2)),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("id"), knownvalue.StringExact(userID)),
					},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					freeTestCheckTracked(env, userID, 2, seen),
					freeTestUnchanged(env, userID, &second),
				),
			},
		},
	})
}

func TestAccRefreshTokenTokenFree_rotateAfter(t *testing.T) {
	env := newTestEnv(t, sandbox.Options{})
	userID := env.UserID("free-rotate-after")
	seen := freeTestSeen{}
	t0 := env.Clock.Now()
	t1 := t0.Add(25 * time.Hour)
	config := freeTestConfig(env, userID, "  rotate_after = \"24h\"\n")
	var first string

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             rtTestNoCurrentToken(env, userID),
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
				Check: freeTestUnchanged(env, userID, &first),
			},
			{
				PreConfig: func() { env.Clock.Advance(2 * time.Hour) },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(rtTestAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token"), freeTestNull),
						plancheck.ExpectUnknownValue(rtTestAddr, tfjsonpath.New("token_sha256")),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(2)),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("issued_at"), knownvalue.StringExact(rtTestFormat(t1))),
					statecheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("rotate_at"), knownvalue.StringExact(rtTestFormat(t1.Add(24*time.Hour)))),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					freeTestCheckTracked(env, userID, 2, seen),
					rtTestRejected(env, userID, &first),
				),
			},
		},
	})
}

// A token replaced outside Terraform is found by its fingerprint: the
// refresh adopts it, raising token_version, without issuing anything.
func TestAccRefreshTokenTokenFree_rotatedOutsideTerraform(t *testing.T) {
	env := newTestEnv(t, sandbox.Options{})
	userID := env.UserID("free-rotated-oob")
	seen := freeTestSeen{}
	config := func(n string) string {
		return freeTestConfig(env, userID, fmt.Sprintf("  rotate_after = \"24h\"\n  rotation_triggers = { n = %q }\n", n))
	}
	var outOfBand string
	var issuedBefore int

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             rtTestNoCurrentToken(env, userID),
		Steps: []resource.TestStep{
			{
				Config: config("1"),
				Check:  freeTestCheckTracked(env, userID, 1, seen),
			},
			{
				PreConfig: func() {
					outOfBand = env.RotateRefreshToken(userID)
					issuedBefore = freeTestIssuedCount(env)
				},
				Config: config("1"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token_sha256"), knownvalue.StringFunc(func(v string) error {
						if v != tokenSHA256(outOfBand) {
							return fmt.Errorf("token_sha256 is not the fingerprint of the token issued outside Terraform")
						}
						return nil
					})),
					statecheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("issued_at"), freeTestNull),
					statecheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("rotate_at"), freeTestNull),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					freeTestCheckTracked(env, userID, 2, seen),
					freeTestUnchanged(env, userID, &outOfBand),
					freeTestIssued(env, &issuedBefore, 0),
				),
			},
			{
				Config: config("2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(rtTestAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(3)),
					},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					freeTestCheckTracked(env, userID, 3, seen),
					rtTestRejected(env, userID, &outOfBand),
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
	env := newTestEnv(t, sandbox.Options{})
	userID := env.UserID("free-revoked-oob")
	seen := freeTestSeen{}
	config := freeTestConfig(env, userID, "")
	var first string

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             rtTestNoCurrentToken(env, userID),
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
						plancheck.ExpectResourceAction(rtTestAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction("point_user.test", plancheck.ResourceActionNoop),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token"), freeTestNull),
						plancheck.ExpectUnknownValue(rtTestAddr, tfjsonpath.New("token_sha256")),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(2)),
						plancheck.ExpectUnknownValue(rtTestAddr, tfjsonpath.New("id")),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("issued_at"), knownvalue.StringExact(rtTestFormat(env.Clock.Now()))),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					freeTestCheckTracked(env, userID, 2, seen),
					rtTestRejected(env, userID, &first),
				),
			},
		},
	})
}

// Import with the ID "<user_id>/store_token=false" adopts the user's token
// without rotating it and without writing it to state, by the import
// command and by an import block.
func TestAccRefreshTokenTokenFree_import(t *testing.T) {
	env := newTestEnv(t, sandbox.Options{})
	userID := env.UserID("free-import")
	seen := freeTestSeen{}
	config := rtTestTokenOnlyConfig(env.ProviderBlock(), userID, "  store_token = false\n")
	var existing string
	var issuedBefore int
	importID := userID + importSuffixTokenFree

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             rtTestNoCurrentToken(env, userID),
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					existing = env.AddUser(userID)
					issuedBefore = freeTestIssuedCount(env)
				},
				Config:             config,
				ResourceName:       rtTestAddr,
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
					freeTestUnchanged(env, userID, &existing),
					freeTestIssued(env, &issuedBefore, 0),
				),
			},
			{
				// The same through an import block: the plan holds no token.
				Config:          config,
				ResourceName:    rtTestAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
				ImportStateId:   importID,
				ImportPlanChecks: resource.ImportPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(rtTestAddr, plancheck.ResourceActionNoop),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token"), freeTestNull),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token_sha256"), freeTestSumOf(&existing)),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(1)),
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
	env := newTestEnv(t, sandbox.Options{})
	userID := env.UserID("free-import-plain")
	seen := freeTestSeen{}
	config := rtTestTokenOnlyConfig(env.ProviderBlock(), userID, "  store_token = false\n")
	var existing string

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             rtTestNoCurrentToken(env, userID),
		Steps: []resource.TestStep{
			{
				PreConfig:          func() { existing = env.AddUser(userID) },
				Config:             config,
				ResourceName:       rtTestAddr,
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
						plancheck.ExpectResourceAction(rtTestAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token"), freeTestNull),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token_sha256"), freeTestSumOf(&existing)),
					},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					freeTestCheckTracked(env, userID, 1, seen),
					freeTestUnchanged(env, userID, &existing),
				),
			},
		},
	})
}

// Switching store_token moves the token out of state and back in, without
// rotating it and without changing its fingerprint or version.
func TestAccRefreshTokenTokenFree_switchStoreToken(t *testing.T) {
	env := newTestEnv(t, sandbox.Options{})
	userID := env.UserID("free-switch")
	seen := freeTestSeen{}
	stored := rtTestConfig(env, userID, "  rotate_after = \"24h\"\n")
	free := freeTestConfig(env, userID, "  rotate_after = \"24h\"\n")
	var token string
	var issuedBefore int
	sameSum := statecheck.CompareValue(compare.ValuesSame())

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             rtTestNoCurrentToken(env, userID),
		Steps: []resource.TestStep{
			{
				Config: stored,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("store_token"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token"), rtTestIsCurrent(env, userID)),
					sameSum.AddStateValue(rtTestAddr, tfjsonpath.New("token_sha256")),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					rtTestCheckCurrent(env, userID),
					rtTestCaptureToken(&token),
					func(*terraform.State) error { issuedBefore = freeTestIssuedCount(env); return nil },
				),
			},
			{
				Config: free,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(rtTestAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token"), freeTestNull),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token_sha256"), knownvalue.NotNull()),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(1)),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("issued_at"), knownvalue.NotNull()),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("id"), knownvalue.StringExact(userID)),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{sameSum.AddStateValue(rtTestAddr, tfjsonpath.New("token_sha256"))},
				Check: resource.ComposeAggregateTestCheckFunc(
					freeTestCheckTracked(env, userID, 1, seen),
					freeTestUnchanged(env, userID, &token),
					freeTestIssued(env, &issuedBefore, 0),
				),
			},
			{
				Config: stored,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(rtTestAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectUnknownValue(rtTestAddr, tfjsonpath.New("token")),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token_sha256"), knownvalue.NotNull()),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(1)),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					sameSum.AddStateValue(rtTestAddr, tfjsonpath.New("token_sha256")),
					statecheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(1)),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttrPtr(rtTestAddr, "token", &token),
					rtTestCheckCurrent(env, userID),
					freeTestIssued(env, &issuedBefore, 0),
				),
			},
			{
				// Switching and rotating at once: the new token never
				// reaches state.
				PreConfig: func() { env.Clock.Advance(25 * time.Hour) },
				Config:    free,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token"), freeTestNull),
						plancheck.ExpectUnknownValue(rtTestAddr, tfjsonpath.New("token_sha256")),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(2)),
					},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					freeTestCheckTracked(env, userID, 2, seen),
					rtTestRejected(env, userID, &token),
				),
			},
		},
	})
}

// Destroy reads the current token with the API key and revokes it when it
// is the tracked one: after a refresh that adopted a token rotated outside
// Terraform, that one.
func TestAccRefreshTokenTokenFree_destroyRefreshesAfterRotationOutsideTerraform(t *testing.T) {
	env := newTestEnv(t, sandbox.Options{})
	userID := env.UserID("free-destroy-refresh")
	var newer string

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             rtTestNoCurrentToken(env, userID),
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
					rtTestNoCurrentToken(env, userID),
					rtTestRejected(env, userID, &newer),
				),
			},
		},
	})
}

// The post-test destroy runs with -refresh=false, so the token Point holds
// is not the one state tracks: it was issued outside Terraform and is left
// alone, as a stored token that Point no longer accepts counts as revoked.
func TestAccRefreshTokenTokenFree_destroyAfterRotationOutsideTerraform(t *testing.T) {
	env := newTestEnv(t, sandbox.Options{})
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
				if n := env.Sandbox.RequestCounts()[rtTestRouteRevokeRefresh] - revokesBefore; n != 0 {
					return fmt.Errorf("destroy made %d revoke requests, want none", n)
				}
			}
			if err := env.CheckRefreshTokenRefused(userID, first); err != nil {
				return err
			}
			return rtTestAccepted(env, userID, newer)
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
						revokesBefore = env.Sandbox.RequestCounts()[rtTestRouteRevokeRefresh]
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
		env := newTestEnv(t, sandbox.Options{})
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
			CheckDestroy:             rtTestNoCurrentToken(env, userID),
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
							plancheck.ExpectResourceAction(rtTestAddr, plancheck.ResourceActionCreateBeforeDestroy),
							plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token"), freeTestNull),
						},
					},
					Check: resource.ComposeAggregateTestCheckFunc(
						freeTestCheckTracked(env, userID, 1, nil),
						rtTestRejected(env, userID, &first),
					),
				},
			},
		})
	})
	t.Run("new user", func(t *testing.T) {
		env := newTestEnv(t, sandbox.Options{})
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
			CheckDestroy:             rtTestNoCurrentToken(env, userA, userB),
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
							plancheck.ExpectResourceAction(rtTestAddr, plancheck.ResourceActionCreateBeforeDestroy),
						},
					},
					Check: resource.ComposeAggregateTestCheckFunc(
						freeTestCheckTracked(env, userB, 1, nil),
						rtTestNoCurrentToken(env, userA),
						rtTestRejected(env, userA, &first),
					),
				},
			},
		})
	})
}

// The emergency revoke from an action_trigger: the token-free resource stays
// in state, and the next apply issues a new token in place.
func TestAccRefreshTokenTokenFree_revokeAction(t *testing.T) {
	env := newTestEnv(t, sandbox.Options{})
	userID := env.UserID("free-action")
	var first string
	config := func(incident string) string {
		return freeTestConfig(env, userID, "") + fmt.Sprintf(`
action "point_revoke_refresh_token" "incident" {
  config {
    user_id = point_user.test.user_id
  }
}

resource "terraform_data" "incident" {
  input = %[1]q

  lifecycle {
    action_trigger {
      events  = [after_update]
      actions = [action.point_revoke_refresh_token.incident]
    }
  }
}
`, incident)
	}
	resource.ParallelTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_14_0), skipOnOpenTofu("no actions")},
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             rtTestNoCurrentToken(env, userID),
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
					rtTestNoCurrentToken(env, userID),
					rtTestRejected(env, userID, &first),
				),
			},
			{
				Config: config("INC-1"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(rtTestAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction("terraform_data.incident", plancheck.ResourceActionNoop),
						plancheck.ExpectKnownValue(rtTestAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(2)),
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
	env := newTestEnv(t, sandbox.Options{})
	cli := newInProcessCLI(t, env.Factories(), "")
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
	actionTestExpectOutput(t, out, "Error: Missing Point API Key",
		"Cannot revoke a Point refresh token kept out of state (store_token = false), which is read with the API key: it needs the organisation API key, and none is configured.")
	cli.WriteMain(noKey + config(true))
	out = cli.MustRun(1, "plan", "-refresh=false", "-no-color")
	actionTestExpectOutput(t, out, "Error: Missing Point API Key",
		"Cannot put a Point refresh token back into state (store_token = true), which reads it with the API key")
	if err := freeTestUnchanged(env, userID, &first)(nil); err != nil {
		t.Error(err)
	}

	cli.WriteMain(env.ProviderBlock() + config(false))
	cli.MustRun(0, "destroy", "-auto-approve", "-no-color")
	if err := env.CheckRefreshTokenRefused(userID, first); err != nil {
		t.Error(err)
	}
}
