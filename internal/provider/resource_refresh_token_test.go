package provider

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

func TestAccRefreshToken_basic(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("rt-basic")
	issued := env.Clock.Now()

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				Config: acctest.RefreshTokenConfig(env, userID, `  rotate_after = "2160h"`+"\n"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("id"), knownvalue.StringExact(userID)),
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("user_id"), knownvalue.StringExact(userID)),
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), acctest.IsCurrentRefreshToken(env, userID)),
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("issued_at"), knownvalue.StringExact(acctest.FormatRFC3339(issued))),
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("rotate_at"), knownvalue.StringExact(acctest.FormatRFC3339(issued.Add(90*24*time.Hour)))),
					statecheck.ExpectSensitiveValue(acctest.RefreshTokenAddr, tfjsonpath.New("token")),
				},
				Check: acctest.CheckStateTokenCurrent(env, userID),
			},
			{
				Config:   acctest.RefreshTokenConfig(env, userID, `  rotate_after = "2160h"`+"\n"),
				PlanOnly: true,
			},
		},
	})
}

func TestAccRefreshToken_rotationTriggers(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("rt-triggers")
	sameToken := statecheck.CompareValue(compare.ValuesSame())
	newToken := statecheck.CompareValue(compare.ValuesDiffer())
	var first, second string

	triggers := func(v string) string { return fmt.Sprintf("  rotation_triggers = { quarter = %[1]q }\n", v) }
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				Config: acctest.RefreshTokenConfig(env, userID, triggers("2025-Q1")),
				ConfigStateChecks: []statecheck.StateCheck{
					sameToken.AddStateValue(acctest.RefreshTokenAddr, tfjsonpath.New("token")),
					newToken.AddStateValue(acctest.RefreshTokenAddr, tfjsonpath.New("token")),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CaptureStateToken(&first),
					acctest.CheckStateTokenCurrent(env, userID),
				),
			},
			{
				// An unrelated change (timeouts) keeps the token.
				Config: acctest.RefreshTokenConfig(env, userID, triggers("2025-Q1")+"  timeouts = { read = \"2m\" }\n"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), knownvalue.NotNull()),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					sameToken.AddStateValue(acctest.RefreshTokenAddr, tfjsonpath.New("token")),
				},
				Check: acctest.CheckStateTokenCurrent(env, userID),
			},
			{
				Config: acctest.RefreshTokenConfig(env, userID, triggers("2025-Q2")+"  timeouts = { read = \"2m\" }\n"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectUnknownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token")),
						plancheck.ExpectUnknownValue(acctest.RefreshTokenAddr, tfjsonpath.New("issued_at")),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					newToken.AddStateValue(acctest.RefreshTokenAddr, tfjsonpath.New("token")),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CaptureStateToken(&second),
					acctest.CheckStateTokenCurrent(env, userID),
					acctest.RefreshTokenRefused(env, userID, &first),
				),
			},
			{
				// Removing the triggers is a change of triggers too.
				Config: acctest.RefreshTokenConfig(env, userID, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectUnknownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token")),
					},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CheckStateTokenCurrent(env, userID),
					acctest.RefreshTokenRefused(env, userID, &second),
				),
			},
		},
	})
}

func TestAccRefreshToken_rotateAfter(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("rt-rotate-after")
	t0 := env.Clock.Now()
	t1 := t0.Add(25 * time.Hour)
	token := statecheck.CompareValue(compare.ValuesSame())
	rotated := statecheck.CompareValue(compare.ValuesDiffer())
	var first string

	rotateAfter := func(d string) string { return fmt.Sprintf("  rotate_after = %[1]q\n", d) }
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				Config: acctest.RefreshTokenConfig(env, userID, rotateAfter("24h")),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("issued_at"), knownvalue.StringExact(acctest.FormatRFC3339(t0))),
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("rotate_at"), knownvalue.StringExact(acctest.FormatRFC3339(t0.Add(24*time.Hour)))),
					rotated.AddStateValue(acctest.RefreshTokenAddr, tfjsonpath.New("token")),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CaptureStateToken(&first),
					acctest.CheckStateTokenCurrent(env, userID),
				),
			},
			{
				PreConfig: func() { env.Clock.Advance(23 * time.Hour) },
				Config:    acctest.RefreshTokenConfig(env, userID, rotateAfter("24h")),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("issued_at"), knownvalue.StringExact(acctest.FormatRFC3339(t0))),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttrPtr(acctest.RefreshTokenAddr, "token", &first),
					acctest.CheckStateTokenCurrent(env, userID),
				),
			},
			{
				PreConfig: func() { env.Clock.Advance(2 * time.Hour) },
				Config:    acctest.RefreshTokenConfig(env, userID, rotateAfter("24h")),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectUnknownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token")),
						plancheck.ExpectUnknownValue(acctest.RefreshTokenAddr, tfjsonpath.New("rotate_at")),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("issued_at"), knownvalue.StringExact(acctest.FormatRFC3339(t1))),
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("rotate_at"), knownvalue.StringExact(acctest.FormatRFC3339(t1.Add(24*time.Hour)))),
					rotated.AddStateValue(acctest.RefreshTokenAddr, tfjsonpath.New("token")),
					token.AddStateValue(acctest.RefreshTokenAddr, tfjsonpath.New("token")),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CheckStateTokenCurrent(env, userID),
					acctest.RefreshTokenRefused(env, userID, &first),
				),
			},
			{
				// Lengthening rotate_after before it is due moves rotate_at only.
				Config: acctest.RefreshTokenConfig(env, userID, rotateAfter("48h")),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), knownvalue.NotNull()),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("rotate_at"), knownvalue.StringExact(acctest.FormatRFC3339(t1.Add(48*time.Hour)))),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("issued_at"), knownvalue.StringExact(acctest.FormatRFC3339(t1))),
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("rotate_at"), knownvalue.StringExact(acctest.FormatRFC3339(t1.Add(48*time.Hour)))),
					token.AddStateValue(acctest.RefreshTokenAddr, tfjsonpath.New("token")),
				},
				Check: acctest.CheckStateTokenCurrent(env, userID),
			},
			{
				// Shortening it so that the token is already due rotates at once.
				PreConfig: func() { env.Clock.Advance(2 * time.Hour) },
				Config:    acctest.RefreshTokenConfig(env, userID, rotateAfter("1h")),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectUnknownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token")),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("issued_at"), knownvalue.StringExact(acctest.FormatRFC3339(t1.Add(2*time.Hour)))),
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("rotate_at"), knownvalue.StringExact(acctest.FormatRFC3339(t1.Add(3*time.Hour)))),
				},
				Check: acctest.CheckStateTokenCurrent(env, userID),
			},
		},
	})
}

func TestAccRefreshToken_rotatedOutsideTerraform(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("rt-rotated-oob")
	var outOfBand string
	var issuedBefore int

	args := func(n string) string {
		return fmt.Sprintf("  rotate_after = \"24h\"\n  rotation_triggers = { n = %[1]q }\n", n)
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				Config: acctest.RefreshTokenConfig(env, userID, args("1")),
				Check:  acctest.CheckStateTokenCurrent(env, userID),
			},
			{
				PreConfig: func() {
					outOfBand = env.RotateRefreshToken(userID)
					if env.Sandbox != nil {
						issuedBefore = env.Sandbox.RefreshTokensIssued()
					}
				},
				Config: acctest.RefreshTokenConfig(env, userID, args("1")),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), acctest.IsCurrentRefreshToken(env, userID)),
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("issued_at"), knownvalue.Null()),
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("rotate_at"), knownvalue.Null()),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttrPtr(acctest.RefreshTokenAddr, "token", &outOfBand),
					acctest.CheckStateTokenCurrent(env, userID),
					func(*terraform.State) error {
						if env.Sandbox == nil {
							return nil // acctest.CheckStateTokenCurrent found the token current at Point
						}
						if n := env.Sandbox.RefreshTokensIssued(); n != issuedBefore {
							return fmt.Errorf("adopting the token issued %d refresh tokens", n-issuedBefore)
						}
						return nil
					},
				),
			},
			{
				// An adopted token has no issue time, so rotate_after leaves it alone.
				PreConfig: func() { env.Clock.Advance(48 * time.Hour) },
				Config:    acctest.RefreshTokenConfig(env, userID, args("1")),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.TestCheckResourceAttrPtr(acctest.RefreshTokenAddr, "token", &outOfBand),
			},
			{
				Config: acctest.RefreshTokenConfig(env, userID, args("2")),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectUnknownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token")),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("issued_at"), knownvalue.StringFunc(func(v string) error {
						if want := acctest.FormatRFC3339(env.Clock.Now()); v != want {
							return fmt.Errorf("issued_at = %s, want %s", v, want)
						}
						return nil
					})),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CheckStateTokenCurrent(env, userID),
					acctest.RefreshTokenRefused(env, userID, &outOfBand),
				),
			},
		},
	})
}

func TestAccRefreshToken_revokedOutsideTerraform(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("rt-revoked-oob")
	reissued := statecheck.CompareValue(compare.ValuesDiffer())

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				Config:            acctest.RefreshTokenConfig(env, userID, ""),
				ConfigStateChecks: []statecheck.StateCheck{reissued.AddStateValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"))},
				Check:             acctest.CheckStateTokenCurrent(env, userID),
			},
			{
				PreConfig: func() { env.RevokeRefreshToken(userID) },
				Config:    acctest.RefreshTokenConfig(env, userID, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionCreate),
						plancheck.ExpectResourceAction("point_user.test", plancheck.ResourceActionNoop),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					reissued.AddStateValue(acctest.RefreshTokenAddr, tfjsonpath.New("token")),
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("issued_at"), knownvalue.StringExact(acctest.FormatRFC3339(env.Clock.Now()))),
				},
				Check: acctest.CheckStateTokenCurrent(env, userID),
			},
		},
	})
}

// TestAccRefreshToken_userDeletedOutsideTerraform needs the sandbox: Point
// has no endpoint that deletes users.
func TestAccRefreshToken_userDeletedOutsideTerraform(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	env.RequireSandbox()
	userID := env.UserID("rt-user-gone")

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				Config: acctest.RefreshTokenConfig(env, userID, ""),
				Check:  acctest.CheckStateTokenCurrent(env, userID),
			},
			{
				PreConfig: func() { env.Sandbox.DeleteUser(userID) },
				Config:    acctest.RefreshTokenConfig(env, userID, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("point_user.test", plancheck.ResourceActionCreate),
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionCreate),
					},
				},
				Check: acctest.CheckStateTokenCurrent(env, userID),
			},
		},
	})
}

// The post-test destroy runs with -refresh=false, so it presents the token
// in state, which Point replaced in the meantime, once: Point refuses it,
// with 401 or 404 as the reference leaves open.
func TestAccRefreshToken_destroyAfterRotationOutsideTerraform(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("rt-destroy-stale")
	var newer, first string
	front, revocations := acctest.StartRevocationCounter(t, env)
	config := strings.Replace(acctest.RefreshTokenConfig(env, userID, ""), env.ProviderBlock(), acctest.ProviderBlockFor(env, front, 3), 1)

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy: func(*terraform.State) error {
			if current := env.CurrentRefreshToken(userID); current == "" || current != newer {
				return fmt.Errorf("the token issued outside Terraform should stay current (current set: %t)", current != "")
			}
			if n := revocations.Load(); n != 1 {
				return fmt.Errorf("destroy presented a token to revoke %d times, want once", n)
			}
			if err := env.CheckRefreshTokenRefused(userID, first); err != nil {
				return err
			}
			return env.CheckRefreshTokenAccepted(userID, newer)
		},
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CaptureStateToken(&first),
					acctest.CheckStateTokenCurrent(env, userID),
				),
			},
			{
				// Plans do not write state, so state keeps the replaced token.
				PreConfig: func() { newer = env.RotateRefreshToken(userID) },
				Config:    config,
				PlanOnly:  true,
			},
		},
	})
}

// terraform destroy refreshes first, so it adopts the token rotated outside
// Terraform and revokes that one.
func TestAccRefreshToken_destroyRefreshesAfterRotationOutsideTerraform(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("rt-destroy-refresh")
	var newer string

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				Config: acctest.RefreshTokenConfig(env, userID, ""),
				Check:  acctest.CheckStateTokenCurrent(env, userID),
			},
			{
				PreConfig: func() { newer = env.RotateRefreshToken(userID) },
				Config:    acctest.RefreshTokenConfig(env, userID, ""),
				Destroy:   true,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttrPtr(acctest.RefreshTokenAddr, "token", &newer),
					acctest.NoCurrentRefreshToken(env, userID),
					func(*terraform.State) error {
						if env.Sandbox != nil {
							if n := env.Sandbox.RequestCounts()[sandbox.RouteRevokeRefreshToken]; n != 1 {
								return fmt.Errorf("destroy made %d revoke requests, want 1", n)
							}
						}
						return env.CheckRefreshTokenRefused(userID, newer)
					},
				),
			},
		},
	})
}

func TestAccRefreshToken_createBeforeDestroyNewUser(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userA, userB := env.UserID("rt-cbd-a"), env.UserID("rt-cbd-b")
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
  user_id = point_user.%[3]s.user_id

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
					acctest.CaptureStateToken(&first),
					acctest.CheckStateTokenCurrent(env, userA),
				),
			},
			{
				Config: config("b"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionCreateBeforeDestroy),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("user_id"), knownvalue.StringExact(userB)),
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("id"), knownvalue.StringExact(userB)),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CheckStateTokenCurrent(env, userB),
					acctest.NoCurrentRefreshToken(env, userA),
					acctest.RefreshTokenRefused(env, userA, &first),
				),
			},
		},
	})
}

// Replacing the token of the same user with create_before_destroy: the new
// token replaces the old one in Point, so destroying the old instance meets
// a 401, which counts as already revoked and must not touch the new token.
func TestAccRefreshToken_createBeforeDestroySameUser(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("rt-cbd-same")
	replaced := statecheck.CompareValue(compare.ValuesDiffer())
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
  user_id = point_user.test.user_id

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
				Config:            config("1"),
				ConfigStateChecks: []statecheck.StateCheck{replaced.AddStateValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"))},
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CaptureStateToken(&first),
					acctest.CheckStateTokenCurrent(env, userID),
				),
			},
			{
				Config: config("2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionCreateBeforeDestroy),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{replaced.AddStateValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"))},
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CheckStateTokenCurrent(env, userID),
					acctest.RefreshTokenRefused(env, userID, &first),
				),
			},
		},
	})
}

func TestAccRefreshToken_import(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("rt-import")
	withSettings := acctest.RefreshTokenConfig(env, userID, "  rotate_after = \"2160h\"\n  rotation_triggers = { quarter = \"2025-Q1\" }\n")

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				Config: withSettings,
				Check:  acctest.CheckStateTokenCurrent(env, userID),
			},
			{
				ResourceName:            acctest.RefreshTokenAddr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"issued_at", "rotate_at", "rotate_after", "rotation_triggers"},
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					if len(states) != 1 {
						return fmt.Errorf("imported %d objects, want 1", len(states))
					}
					attrs := states[0].Attributes
					if attrs["token"] == "" || attrs["token"] != env.CurrentRefreshToken(userID) {
						return fmt.Errorf("imported token is not the current refresh token of %q", userID)
					}
					if v, ok := attrs["issued_at"]; ok && v != "" {
						return fmt.Errorf("imported issued_at = %q, want null", v)
					}
					return nil
				},
			},
			{
				// The settings are only in configuration, so the import plan
				// records them; it must not rotate the adopted token.
				ResourceName:       acctest.RefreshTokenAddr,
				ImportState:        true,
				ImportStateKind:    resource.ImportBlockWithID,
				ExpectNonEmptyPlan: true,
				ImportPlanChecks: resource.ImportPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), acctest.IsCurrentRefreshToken(env, userID)),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("issued_at"), knownvalue.Null()),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("rotate_at"), knownvalue.Null()),
					},
				},
			},
			{
				Config:          acctest.RefreshTokenConfig(env, userID, ""),
				ResourceName:    acctest.RefreshTokenAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
				ImportPlanChecks: resource.ImportPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), acctest.IsCurrentRefreshToken(env, userID)),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("issued_at"), knownvalue.Null()),
					},
				},
			},
		},
	})
}

// A token issued outside Terraform, imported into a configuration that sets
// rotation: the import adopts it, the first apply only records the settings,
// and later trigger changes rotate it.
func TestAccRefreshToken_importThenApply(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("rt-import-apply")
	var existing string
	config := acctest.RefreshTokenOnlyConfig(env.ProviderBlock(), userID, "  rotate_after = \"24h\"\n  rotation_triggers = { n = \"1\" }\n")

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					user, err := env.Client.CreateUser(context.Background(), userID)
					if err != nil {
						t.Fatalf("creating user %q: %v", userID, err)
					}
					existing = user.CurrentRefreshToken()
				},
				Config:             config,
				ResourceName:       acctest.RefreshTokenAddr,
				ImportState:        true,
				ImportStateId:      userID,
				ImportStatePersist: true,
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					if len(states) != 1 || existing == "" || states[0].Attributes["token"] != existing {
						return fmt.Errorf("import did not adopt the user's existing refresh token")
					}
					return nil
				},
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), knownvalue.NotNull()),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("issued_at"), knownvalue.Null()),
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("rotate_at"), knownvalue.Null()),
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("rotation_triggers"), knownvalue.MapExact(map[string]knownvalue.Check{"n": knownvalue.StringExact("1")})),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttrPtr(acctest.RefreshTokenAddr, "token", &existing),
					acctest.CheckStateTokenCurrent(env, userID),
				),
			},
			{
				Config: acctest.RefreshTokenOnlyConfig(env.ProviderBlock(), userID, "  rotate_after = \"24h\"\n  rotation_triggers = { n = \"2\" }\n"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectUnknownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token")),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("issued_at"), knownvalue.StringExact(acctest.FormatRFC3339(env.Clock.Now()))),
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("rotate_at"), knownvalue.StringExact(acctest.FormatRFC3339(env.Clock.Now().Add(24*time.Hour)))),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CheckStateTokenCurrent(env, userID),
					acctest.RefreshTokenRefused(env, userID, &existing),
				),
			},
		},
	})
}

func TestAccRefreshToken_userRevokePolicy(t *testing.T) {
	t.Run("dependent", func(t *testing.T) {
		env := acctest.NewEnv(t, sandbox.Options{})
		userID := env.UserID("rt-revoke-dep")
		resource.ParallelTest(t, resource.TestCase{
			ProtoV6ProviderFactories: env.Factories(),
			CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
			Steps: []resource.TestStep{{
				Config: env.ProviderBlock() + fmt.Sprintf(`
resource "point_user" "test" {
  user_id         = %[1]q
  deletion_policy = "REVOKE"
}

resource "point_refresh_token" "test" {
  user_id = point_user.test.user_id
}
`, userID),
				Check: acctest.CheckStateTokenCurrent(env, userID),
			}},
		})
	})
	// Without a reference Terraform destroys both at once, and either may
	// revoke the token first.
	t.Run("independent", func(t *testing.T) {
		env := acctest.NewEnv(t, sandbox.Options{})
		userID := env.UserID("rt-revoke-indep")
		user := fmt.Sprintf(`
resource "point_user" "test" {
  user_id         = %[1]q
  deletion_policy = "REVOKE"
}
`, userID)
		resource.ParallelTest(t, resource.TestCase{
			ProtoV6ProviderFactories: env.Factories(),
			CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
			Steps: []resource.TestStep{
				{Config: env.ProviderBlock() + user},
				{
					Config: acctest.RefreshTokenOnlyConfig(env.ProviderBlock(), userID, "") + user,
					Check:  acctest.CheckStateTokenCurrent(env, userID),
				},
			},
		})
	})
}

func TestAccRefreshToken_unknownUser(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("rt-ghost")

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy: func(*terraform.State) error {
			if env.HasUser(userID) {
				return fmt.Errorf("user %q exists in Point", userID)
			}
			if env.Sandbox != nil {
				if n := env.Sandbox.RequestCounts()[sandbox.RouteIssueRefreshToken]; n != 1 {
					return fmt.Errorf("made %d issue requests for an unknown user, want 1", n)
				}
			}
			return nil
		},
		Steps: []resource.TestStep{{
			Config: acctest.RefreshTokenOnlyConfig(env.ProviderBlock(), userID, ""),
			ExpectError: acctest.DiagnosticPattern(fmt.Sprintf(
				"Could not issue a refresh token for Point user %q: Point has no such user; register it first, for example with a point_user resource.", userID)),
		}},
	})
}

// A failed read leaves state alone: the token is neither dropped nor
// planned for creation. A front before Point answers the reads with 503
// while it is on.
func TestAccRefreshToken_readAPIError(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("rt-read-error")
	front := acctest.NewRouteFront(env.Upstream(), sandbox.RouteGetUser, acctest.AnswerJSON(http.StatusServiceUnavailable, `{"error":"unavailable","message":"service temporarily unavailable"}`))
	server := httptest.NewServer(front)
	t.Cleanup(server.Close)
	config := acctest.RefreshTokenOnlyConfig(acctest.ProviderBlockFor(env, server.URL, 1), userID, "")
	kept := statecheck.CompareValue(compare.ValuesSame())
	var first string
	var issuedBefore int
	failedReads := func() int {
		return len(front.Hits())
	}

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				PreConfig:         func() { env.AddUser(userID) },
				Config:            config,
				ConfigStateChecks: []statecheck.StateCheck{kept.AddStateValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"))},
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CaptureStateToken(&first),
					acctest.CheckStateTokenCurrent(env, userID),
				),
			},
			{
				PreConfig: func() { front.On.Store(true) },
				Config:    config,
				ExpectError: acctest.DiagnosticPattern(fmt.Sprintf(
					"Could not read the refresh token of Point user %q; its state is unchanged. Point or a proxy in front of it failed, and the retries ran out after 2 attempts (max_retries = 1).", userID)),
			},
			{
				PreConfig: func() {
					front.On.Store(false)
					// One attempt and max_retries = 1 retry.
					if n := failedReads(); n != 2 {
						t.Errorf("the failed refresh made %d requests, want 2", n)
					}
					if env.Sandbox != nil {
						issuedBefore = env.Sandbox.RefreshTokensIssued()
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{kept.AddStateValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"))},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttrPtr(acctest.RefreshTokenAddr, "token", &first),
					acctest.CheckStateTokenCurrent(env, userID),
					func(*terraform.State) error {
						// Against real Point, the checks above find the
						// first token still current.
						if env.Sandbox == nil {
							return nil
						}
						if n := env.Sandbox.RefreshTokensIssued(); n != issuedBefore {
							return fmt.Errorf("%d refresh tokens issued after the failed read", n-issuedBefore)
						}
						return nil
					},
				),
			},
		},
	})
}

// rtTestRead configures the provider for env and runs the refresh token's
// Read on a state holding token for userID, as Terraform does on refresh.
func rtTestRead(t *testing.T, env *acctest.Env, userID, token string) (diags []*tfprotov6.Diagnostic, newState map[string]tftypes.Value) {
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
	config, err := tfprotov6.NewDynamicValue(providerType, acctest.ObjectWithNulls(t, providerType, map[string]tftypes.Value{
		"endpoint": tftypes.NewValue(tftypes.String, env.Endpoint),
		"api_key":  tftypes.NewValue(tftypes.String, env.APIKey),
	}))
	if err != nil {
		t.Fatal(err)
	}
	configured, err := server.ConfigureProvider(ctx, &tfprotov6.ConfigureProviderRequest{TerraformVersion: "1.11.0", Config: &config})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range configured.Diagnostics {
		t.Fatalf("configuring the provider: %s: %s", d.Summary, d.Detail)
	}

	resourceType := schemas.ResourceSchemas["point_refresh_token"].ValueType()
	state, err := tfprotov6.NewDynamicValue(resourceType, acctest.ObjectWithNulls(t, resourceType, map[string]tftypes.Value{
		"id":        tftypes.NewValue(tftypes.String, userID),
		"user_id":   tftypes.NewValue(tftypes.String, userID),
		"token":     tftypes.NewValue(tftypes.String, token),
		"issued_at": tftypes.NewValue(tftypes.String, acctest.FormatRFC3339(env.Clock.Now())),
	}))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := server.ReadResource(ctx, &tfprotov6.ReadResourceRequest{TypeName: "point_refresh_token", CurrentState: &state})
	if err != nil {
		t.Fatal(err)
	}
	if resp.NewState == nil {
		return resp.Diagnostics, nil
	}
	raw, err := resp.NewState.Unmarshal(resourceType)
	if err != nil {
		t.Fatal(err)
	}
	if raw.IsNull() {
		return resp.Diagnostics, nil
	}
	newState = map[string]tftypes.Value{}
	if err := raw.As(&newState); err != nil {
		t.Fatal(err)
	}
	return resp.Diagnostics, newState
}

// Terraform shows warnings but terraform-plugin-testing does not expose
// them, so these cases call Read through the protocol.
func TestRefreshTokenRead_outsideChanges(t *testing.T) {
	t.Parallel()
	const stale = "rt_stale-token-from-state"
	cases := map[string]struct {
		setup   func(env *acctest.Env, userID string)
		summary string // "" for no diagnostics
		removed bool
		adopted bool
	}{
		"unchanged": {
			setup: func(env *acctest.Env, userID string) { env.AddUser(userID) },
		},
		"rotated": {
			setup:   func(env *acctest.Env, userID string) { env.AddUser(userID) },
			summary: "Point Refresh Token Rotated Elsewhere",
			adopted: true,
		},
		"revoked": {
			setup: func(env *acctest.Env, userID string) {
				env.AddUser(userID)
				env.RevokeRefreshToken(userID)
			},
			summary: "Point Refresh Token Revoked Elsewhere",
			removed: true,
		},
		"user gone": {
			setup:   func(*acctest.Env, string) {},
			summary: "Point User Not Found",
			removed: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := acctest.NewEnv(t, sandbox.Options{})
			userID := env.UserID("rt-read")
			tc.setup(env, userID)
			current := env.CurrentRefreshToken(userID)
			inState := stale
			if name == "unchanged" {
				inState = current
			}

			diags, state := rtTestRead(t, env, userID, inState)

			switch {
			case tc.summary == "" && len(diags) > 0:
				t.Errorf("unexpected diagnostics: %s: %s", diags[0].Summary, diags[0].Detail)
			case tc.summary != "" && (len(diags) != 1 || diags[0].Severity != tfprotov6.DiagnosticSeverityWarning || diags[0].Summary != tc.summary):
				t.Errorf("want one warning %q, got %d diagnostics: %+v", tc.summary, len(diags), diags)
			}
			for _, d := range diags {
				for _, secret := range []string{stale, current, env.APIKey} {
					if secret != "" && (strings.Contains(d.Summary, secret) || strings.Contains(d.Detail, secret)) {
						t.Errorf("diagnostic %q shows a secret", d.Summary)
					}
				}
			}
			if tc.removed {
				if state != nil {
					t.Error("the resource should be removed from state")
				}
				return
			}
			if state == nil {
				t.Fatal("the resource was removed from state")
			}
			if got := acctest.StringOrNil(t, state["token"]); got == nil || *got != current {
				t.Error("state token is not the user's current token")
			}
			issuedAt := acctest.StringOrNil(t, state["issued_at"])
			if tc.adopted && issuedAt != nil {
				t.Errorf("issued_at = %q after adopting a token, want null", *issuedAt)
			}
			if !tc.adopted && (issuedAt == nil || *issuedAt != acctest.FormatRFC3339(env.Clock.Now())) {
				t.Errorf("issued_at changed on a plain refresh: %v", issuedAt)
			}
		})
	}
}
