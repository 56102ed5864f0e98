package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
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
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// The lifecycle tests run both ways of keeping the token side by side: a
// point_refresh_token "stored" (store_token left to its default, true) and
// a point_refresh_token "free" (store_token = false), each for a user of
// its own (rtPair), so that the same Terraform commands check both. They
// check what Point holds through acctest.Env, so they run against real Point
// too; only request counts are the sandbox's. What only token-free state
// does is tested further down.

func TestAccRefreshToken_basic(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	p := newRTPair(env, "rt-basic")
	issued := env.Clock.Now()
	config := p.config(`  rotate_after = "2160h"` + "\n")
	var planned []plancheck.PlanCheck
	stateChecks := p.stateTimes(knownvalue.StringExact(acctest.FormatRFC3339(issued)), knownvalue.StringExact(acctest.FormatRFC3339(issued.Add(90*24*time.Hour))))
	for _, m := range rtModes {
		addr, userID := m.addr(), p.users[m]
		planned = append(planned,
			plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate),
			m.plannedToken(true),
			plancheck.ExpectKnownValue(addr, tfjsonpath.New("store_token"), knownvalue.Bool(m.store)),
			plancheck.ExpectUnknownValue(addr, tfjsonpath.New("token_sha256")),
			plancheck.ExpectKnownValue(addr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(1)))
		var token knownvalue.Check = knownvalue.Null()
		if m.store {
			token = acctest.IsCurrentRefreshToken(env, userID)
		}
		stateChecks = append(stateChecks,
			statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact(userID)),
			statecheck.ExpectKnownValue(addr, tfjsonpath.New("user_id"), knownvalue.StringExact(userID)),
			statecheck.ExpectKnownValue(addr, tfjsonpath.New("token"), token))
	}

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, p.ids()...),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             planned,
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: append(stateChecks, statecheck.ExpectSensitiveValue(rtStored.addr(), tfjsonpath.New("token"))),
				Check:             p.check(1),
			},
			{
				Config:   config,
				PlanOnly: true,
			},
		},
	})
}

func TestAccRefreshToken_rotationTriggers(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	p := newRTPair(env, "rt-triggers")
	first, second := map[rtMode]string{}, map[rtMode]string{}
	var issuedBefore int
	const timeouts = "  timeouts = { read = \"2m\" }\n"
	triggers := func(v string) string { return fmt.Sprintf("  rotation_triggers = { quarter = %q }\n", v) }

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, p.ids()...),
		Steps: []resource.TestStep{
			{
				Config: p.config(triggers("2025-Q1")),
				Check:  resource.ComposeAggregateTestCheckFunc(p.check(1), p.capture(first)),
			},
			{
				// An unrelated change (timeouts) keeps the tokens and their
				// version.
				Config:           p.config(triggers("2025-Q1") + timeouts),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: p.planKept(1)},
				Check:            resource.ComposeAggregateTestCheckFunc(p.check(1), p.unchanged(first)),
			},
			{
				// A rotation: a new token in place, never in the plan; the
				// version the plan shows is the one the apply records. One
				// token is issued for each resource.
				PreConfig:        func() { issuedBefore = acctest.RefreshTokensIssued(env) },
				Config:           p.config(triggers("2025-Q2") + timeouts),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: p.planRotation(2)},
				Check: resource.ComposeAggregateTestCheckFunc(
					p.check(2),
					p.refused(first),
					p.capture(second),
					acctest.CheckRefreshTokensIssued(env, &issuedBefore, 2),
				),
			},
			{
				// Removing the triggers is a change of triggers too.
				Config:           p.config(""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: p.planRotation(3)},
				Check:            resource.ComposeAggregateTestCheckFunc(p.check(3), p.refused(second)),
			},
		},
	})
}

func TestAccRefreshToken_rotateAfter(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	p := newRTPair(env, "rt-rotate-after")
	t0 := env.Clock.Now()
	t1 := t0.Add(25 * time.Hour)
	first, second := map[rtMode]string{}, map[rtMode]string{}
	at := func(t time.Time) knownvalue.Check { return knownvalue.StringExact(acctest.FormatRFC3339(t)) }
	config := func(d string) string { return p.config(fmt.Sprintf("  rotate_after = %q\n", d)) }

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, p.ids()...),
		Steps: []resource.TestStep{
			{
				Config:            config("24h"),
				ConfigStateChecks: p.stateTimes(at(t0), at(t0.Add(24*time.Hour))),
				Check:             resource.ComposeAggregateTestCheckFunc(p.check(1), p.capture(first)),
			},
			{
				PreConfig:         func() { env.Clock.Advance(23 * time.Hour) },
				Config:            config("24h"),
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: p.stateTimes(at(t0), at(t0.Add(24*time.Hour))),
				Check:             resource.ComposeAggregateTestCheckFunc(p.check(1), p.unchanged(first)),
			},
			{
				PreConfig: func() { env.Clock.Advance(2 * time.Hour) },
				Config:    config("24h"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: append(p.planRotation(2), rtEach(func(m rtMode) plancheck.PlanCheck {
					return plancheck.ExpectUnknownValue(m.addr(), tfjsonpath.New("rotate_at"))
				})...)},
				ConfigStateChecks: p.stateTimes(at(t1), at(t1.Add(24*time.Hour))),
				Check:             resource.ComposeAggregateTestCheckFunc(p.check(2), p.refused(first), p.capture(second)),
			},
			{
				// Lengthening rotate_after before it is due moves rotate_at only.
				Config: config("48h"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: append(p.planKept(2), rtEach(func(m rtMode) plancheck.PlanCheck {
					return plancheck.ExpectKnownValue(m.addr(), tfjsonpath.New("rotate_at"), at(t1.Add(48*time.Hour)))
				})...)},
				ConfigStateChecks: p.stateTimes(at(t1), at(t1.Add(48*time.Hour))),
				Check:             resource.ComposeAggregateTestCheckFunc(p.check(2), p.unchanged(second)),
			},
			{
				// Shortening it so that the token is already due rotates at once.
				PreConfig:         func() { env.Clock.Advance(2 * time.Hour) },
				Config:            config("1h"),
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: p.planRotation(3)},
				ConfigStateChecks: p.stateTimes(at(t1.Add(2*time.Hour)), at(t1.Add(3*time.Hour))),
				Check:             resource.ComposeAggregateTestCheckFunc(p.check(3), p.refused(second)),
			},
		},
	})
}

// A token replaced outside Terraform is found by its fingerprint: the
// refresh adopts it, raising token_version, without issuing anything.
func TestAccRefreshToken_rotatedOutsideTerraform(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	p := newRTPair(env, "rt-rotated-oob")
	outOfBand := map[rtMode]string{}
	var issuedBefore int
	config := func(n string) string {
		return p.config(fmt.Sprintf("  rotate_after = \"24h\"\n  rotation_triggers = { n = %q }\n", n))
	}

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, p.ids()...),
		Steps: []resource.TestStep{
			{
				Config: config("1"),
				Check:  p.check(1),
			},
			{
				PreConfig: func() {
					for _, m := range rtModes {
						outOfBand[m] = env.RotateRefreshToken(p.users[m])
					}
					issuedBefore = acctest.RefreshTokensIssued(env)
				},
				Config:            config("1"),
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: p.stateTimes(knownvalue.Null(), knownvalue.Null()),
				Check: resource.ComposeAggregateTestCheckFunc(
					p.check(2),
					p.unchanged(outOfBand),
					acctest.CheckRefreshTokensIssued(env, &issuedBefore, 0),
				),
			},
			{
				// An adopted token has no issue time, so rotate_after leaves it alone.
				PreConfig:        func() { env.Clock.Advance(48 * time.Hour) },
				Config:           config("1"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check:            resource.ComposeAggregateTestCheckFunc(p.check(2), p.unchanged(outOfBand)),
			},
			{
				Config:           config("2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: p.planRotation(3)},
				ConfigStateChecks: p.stateTimes(knownvalue.StringFunc(func(v string) error {
					if want := acctest.FormatRFC3339(env.Clock.Now()); v != want {
						return fmt.Errorf("issued_at = %s, want %s", v, want)
					}
					return nil
				}), knownvalue.NotNull()),
				Check: resource.ComposeAggregateTestCheckFunc(p.check(3), p.refused(outOfBand)),
			},
		},
	})
}

// A token revoked outside Terraform (or by the point_revoke_refresh_token
// action). In state, the refresh removes the resource and the next apply
// creates it again. Out of state, the resource stays with no fingerprint
// and the next apply issues a new token in place, so that token_version
// goes on growing and a consumer tied to it receives the new token; its
// plan shows id unknown, so that readers of the token that refer to it
// wait for the new one.
func TestAccRefreshToken_revokedOutsideTerraform(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	p := newRTPair(env, "rt-revoked-oob")
	first := map[rtMode]string{}
	free := rtFree.addr()

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, p.ids()...),
		Steps: []resource.TestStep{
			{
				Config: p.config(""),
				Check:  resource.ComposeAggregateTestCheckFunc(p.check(1), p.capture(first)),
			},
			{
				PreConfig: func() {
					for _, m := range rtModes {
						env.RevokeRefreshToken(p.users[m])
					}
				},
				Config: p.config(""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(rtStored.addr(), plancheck.ResourceActionCreate),
						plancheck.ExpectResourceAction("point_user.stored", plancheck.ResourceActionNoop),
						plancheck.ExpectResourceAction(free, plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction("point_user.free", plancheck.ResourceActionNoop),
						plancheck.ExpectKnownValue(free, tfjsonpath.New("token"), knownvalue.Null()),
						plancheck.ExpectUnknownValue(free, tfjsonpath.New("token_sha256")),
						plancheck.ExpectKnownValue(free, tfjsonpath.New("token_version"), knownvalue.Int64Exact(2)),
						plancheck.ExpectUnknownValue(free, tfjsonpath.New("id")),
					},
				},
				ConfigStateChecks: p.stateTimes(knownvalue.StringExact(acctest.FormatRFC3339(env.Clock.Now())), knownvalue.Null()),
				Check:             resource.ComposeAggregateTestCheckFunc(p.checkModes(1, 2), p.refused(first)),
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

// The post-test destroy runs with -refresh=false, so state still tracks
// the token that Point replaced in the meantime. In state, destroy presents
// it once: Point refuses it, with 401 or 404 as the reference leaves open,
// and it counts as revoked. Out of state, destroy reads the current token
// with the API key, finds it is not the one state tracks, and revokes
// nothing. Either way the token issued outside Terraform stays.
func TestAccRefreshToken_destroyAfterRotationOutsideTerraform(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	p := newRTPair(env, "rt-destroy-stale")
	first, newer := map[rtMode]string{}, map[rtMode]string{}
	front, revocations := startRevocationsByUser(t, env)
	config := p.configFor(acctest.ProviderBlockFor(env, front, 3), "")

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy: func(*terraform.State) error {
			for _, m := range rtModes {
				userID := p.users[m]
				if current := env.CurrentRefreshToken(userID); current == "" || current != newer[m] {
					return fmt.Errorf("the token issued outside Terraform for %q should stay current (current set: %t)", userID, current != "")
				}
				switch presented, all := revocations(userID); {
				case m.store && presented != 1:
					return fmt.Errorf("destroy presented the token of %q to revoke it %d times, want once", userID, presented)
				case !m.store && all != 0:
					return fmt.Errorf("destroy made %d revoke requests for %q, want none", all, userID)
				}
				if err := env.CheckRefreshTokenRefused(userID, first[m]); err != nil {
					return err
				}
				if err := env.CheckRefreshTokenAccepted(userID, newer[m]); err != nil {
					return err
				}
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: config,
				Check:  resource.ComposeAggregateTestCheckFunc(p.check(1), p.capture(first)),
			},
			{
				// Plans do not write state, so state keeps the replaced token
				// and fingerprint.
				PreConfig: func() {
					for _, m := range rtModes {
						newer[m] = env.RotateRefreshToken(p.users[m])
					}
				},
				Config:   config,
				PlanOnly: true,
			},
		},
	})
}

// terraform destroy refreshes first, so it adopts the token rotated outside
// Terraform and revokes that one: one revocation for each resource.
func TestAccRefreshToken_destroyRefreshesAfterRotationOutsideTerraform(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	p := newRTPair(env, "rt-destroy-refresh")
	newer := map[rtMode]string{}

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, p.ids()...),
		Steps: []resource.TestStep{
			{
				Config: p.config(""),
				Check:  p.check(1),
			},
			{
				PreConfig: func() {
					for _, m := range rtModes {
						newer[m] = env.RotateRefreshToken(p.users[m])
					}
				},
				Config:  p.config(""),
				Destroy: true,
				Check: resource.ComposeAggregateTestCheckFunc(
					p.tracks(newer),
					acctest.NoCurrentRefreshToken(env, p.ids()...),
					func(*terraform.State) error {
						if env.Sandbox != nil {
							if n := env.Sandbox.RequestCounts()[sandbox.RouteRevokeRefreshToken]; n != len(rtModes) {
								return fmt.Errorf("destroy made %d revoke requests, want 1 for each of the %d resources", n, len(rtModes))
							}
						}
						return nil
					},
					p.refused(newer),
				),
			},
		},
	})
}

func TestAccRefreshToken_createBeforeDestroyNewUser(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	a, b := newRTPair(env, "rt-cbd-a"), newRTPair(env, "rt-cbd-b")
	first := map[rtMode]string{}

	config := func(owner string) string {
		var c strings.Builder
		c.WriteString(env.ProviderBlock())
		for _, m := range rtModes {
			fmt.Fprintf(&c, `
resource "point_user" "%[1]s_a" {
  user_id = %[2]q
}

resource "point_user" "%[1]s_b" {
  user_id = %[3]q
}

resource "point_refresh_token" %[1]q {
  user_id = point_user.%[1]s_%[4]s.user_id
%[5]s
  lifecycle {
    create_before_destroy = true
  }
}
`, m.name, a.users[m], b.users[m], owner, m.arg())
		}
		return c.String()
	}
	var moved []statecheck.StateCheck
	for _, m := range rtModes {
		moved = append(moved,
			statecheck.ExpectKnownValue(m.addr(), tfjsonpath.New("user_id"), knownvalue.StringExact(b.users[m])),
			statecheck.ExpectKnownValue(m.addr(), tfjsonpath.New("id"), knownvalue.StringExact(b.users[m])))
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, append(a.ids(), b.ids()...)...),
		Steps: []resource.TestStep{
			{
				Config: config("a"),
				Check:  resource.ComposeAggregateTestCheckFunc(a.check(1), a.capture(first)),
			},
			{
				Config:            config("b"),
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: rtPlanReplaced()},
				ConfigStateChecks: moved,
				Check: resource.ComposeAggregateTestCheckFunc(
					b.check(1),
					acctest.NoCurrentRefreshToken(env, a.ids()...),
					a.refused(first),
				),
			},
		},
	})
}

// Replacing the token of the same user with create_before_destroy: the new
// token replaces the old one in Point, so destroying the old instance finds
// its token no longer current and must not touch the new one. In state, it
// presents its token and meets a 401, which counts as already revoked; out
// of state, it finds that the current token is not its own.
func TestAccRefreshToken_createBeforeDestroySameUser(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	p := newRTPair(env, "rt-cbd-same")
	first := map[rtMode]string{}

	config := func(generation string) string {
		var c strings.Builder
		c.WriteString(env.ProviderBlock())
		fmt.Fprintf(&c, "\nresource \"terraform_data\" \"generation\" {\n  input = %q\n}\n", generation)
		for _, m := range rtModes {
			fmt.Fprintf(&c, `
resource "point_user" %[1]q {
  user_id = %[2]q
}

resource "point_refresh_token" %[1]q {
  user_id = point_user.%[1]s.user_id
%[3]s
  lifecycle {
    create_before_destroy = true
    replace_triggered_by  = [terraform_data.generation]
  }
}
`, m.name, p.users[m], m.arg())
		}
		return c.String()
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, p.ids()...),
		Steps: []resource.TestStep{
			{
				Config: config("1"),
				Check:  resource.ComposeAggregateTestCheckFunc(p.check(1), p.capture(first)),
			},
			{
				Config:           config("2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: rtPlanReplaced()},
				Check:            resource.ComposeAggregateTestCheckFunc(p.check(1), p.refused(first)),
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

// Tokens issued outside Terraform, imported by the import command: with the
// plain user id into a configuration that sets rotation ("stored"); with
// "<user_id>/store_token=false", without ever writing it to state
// ("free"); and with the plain id, as before store_token existed, into a
// configuration with store_token = false ("plain"), whose first apply then
// removes it from state. Neither the imports nor the first apply rotate
// anything: that apply only records the settings; a later trigger change
// rotates. Import blocks then do the same: "/store_token=false" plans
// nothing and "/store_token=true" says what the plain id says.
func TestAccRefreshToken_importThenApply(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	names := []string{"stored", "free", "plain"}
	users, existing := map[string]string{}, map[string]string{}
	for _, name := range names {
		users[name] = env.UserID("rt-import-" + name)
	}
	seen := acctest.SeenTokens{}
	var issuedBefore int
	config := func(n string) string {
		return env.ProviderBlock() + fmt.Sprintf(`
resource "point_refresh_token" "stored" {
  user_id           = %[1]q
  rotate_after      = "24h"
  rotation_triggers = { n = %[4]q }
}

resource "point_refresh_token" "free" {
  user_id     = %[2]q
  store_token = false
}

resource "point_refresh_token" "plain" {
  user_id     = %[3]q
  store_token = false
}
`, users["stored"], users["free"], users["plain"], n)
	}
	// imported checks the attributes of what the import command wrote for
	// the user of name.
	imported := func(name string, check func(attrs map[string]string) error) resource.ImportStateCheckFunc {
		return func(states []*terraform.InstanceState) error {
			var found []map[string]string
			for _, s := range states {
				if s.Attributes["user_id"] == users[name] {
					found = append(found, s.Attributes)
				}
			}
			if len(found) != 1 {
				return fmt.Errorf("imported %d objects for %s, want 1", len(found), name)
			}
			return check(found[0])
		}
	}
	sumOf := func(name string) knownvalue.Check {
		return knownvalue.StringFunc(func(v string) error {
			if existing[name] == "" || v != tokenSHA256(existing[name]) {
				return fmt.Errorf("token_sha256 is not the fingerprint of the existing token of %s", name)
			}
			return nil
		})
	}
	addr := func(name string) string { return "point_refresh_token." + name }
	// tracked checks that the resource of name tracks the existing token.
	tracked := func(name string, store bool) resource.TestCheckFunc {
		return func(s *terraform.State) error {
			if err := rtCheckTracked(env, addr(name), users[name], store, 1, seen)(s); err != nil {
				return err
			}
			token := existing[name]
			return acctest.RefreshTokenUnchanged(env, users[name], &token)(s)
		}
	}

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, users["stored"], users["free"], users["plain"]),
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					for _, name := range names {
						existing[name] = env.AddUser(users[name])
					}
					issuedBefore = acctest.RefreshTokensIssued(env)
				},
				Config:             config("1"),
				ResourceName:       addr("stored"),
				ImportState:        true,
				ImportStateId:      users["stored"],
				ImportStatePersist: true,
				ImportStateCheck: imported("stored", func(attrs map[string]string) error {
					if attrs["token"] == "" || attrs["token"] != existing["stored"] || attrs["store_token"] != "true" {
						return fmt.Errorf("import did not adopt the user's existing refresh token into state")
					}
					return nil
				}),
			},
			{
				Config:             config("1"),
				ResourceName:       addr("free"),
				ImportState:        true,
				ImportStateId:      users["free"] + importSuffixTokenFree,
				ImportStatePersist: true,
				ImportStateCheck: imported("free", func(attrs map[string]string) error {
					switch {
					case attrs["token"] != "":
						return fmt.Errorf("the import wrote the token to state")
					case attrs["token_sha256"] != tokenSHA256(existing["free"]):
						return fmt.Errorf("token_sha256 is not the fingerprint of the user's existing token")
					case attrs["token_version"] != "1", attrs["store_token"] != "false", attrs["id"] != users["free"]:
						return fmt.Errorf("imported token_version = %q, store_token = %q, id = %q; want 1, false, %q",
							attrs["token_version"], attrs["store_token"], attrs["id"], users["free"])
					case attrs["issued_at"] != "":
						return fmt.Errorf("imported issued_at = %q, want null", attrs["issued_at"])
					}
					return nil
				}),
			},
			{
				Config:             config("1"),
				ResourceName:       addr("plain"),
				ImportState:        true,
				ImportStateId:      users["plain"],
				ImportStatePersist: true,
				ImportStateCheck: imported("plain", func(attrs map[string]string) error {
					if attrs["token"] != existing["plain"] || attrs["store_token"] != "true" {
						return fmt.Errorf("a plain import should adopt the token into state, with store_token = true")
					}
					return nil
				}),
			},
			{
				// The first apply records the settings of "stored", leaves
				// "free" alone and removes the token of "plain" from state.
				Config: config("1"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(addr("stored"), plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(addr("stored"), tfjsonpath.New("token"), knownvalue.NotNull()),
						plancheck.ExpectResourceAction(addr("free"), plancheck.ResourceActionNoop),
						plancheck.ExpectResourceAction(addr("plain"), plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(addr("plain"), tfjsonpath.New("token"), knownvalue.Null()),
						plancheck.ExpectKnownValue(addr("plain"), tfjsonpath.New("token_sha256"), sumOf("plain")),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr("stored"), tfjsonpath.New("issued_at"), knownvalue.Null()),
					statecheck.ExpectKnownValue(addr("stored"), tfjsonpath.New("rotate_at"), knownvalue.Null()),
					statecheck.ExpectKnownValue(addr("stored"), tfjsonpath.New("rotation_triggers"), knownvalue.MapExact(map[string]knownvalue.Check{"n": knownvalue.StringExact("1")})),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					tracked("stored", true),
					tracked("free", false),
					tracked("plain", false),
					acctest.CheckRefreshTokensIssued(env, &issuedBefore, 0),
				),
			},
			{
				Config: config("2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(addr("stored"), plancheck.ResourceActionUpdate),
						plancheck.ExpectUnknownValue(addr("stored"), tfjsonpath.New("token")),
						plancheck.ExpectResourceAction(addr("free"), plancheck.ResourceActionNoop),
						plancheck.ExpectResourceAction(addr("plain"), plancheck.ResourceActionNoop),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr("stored"), tfjsonpath.New("issued_at"), knownvalue.StringExact(acctest.FormatRFC3339(env.Clock.Now()))),
					statecheck.ExpectKnownValue(addr("stored"), tfjsonpath.New("rotate_at"), knownvalue.StringExact(acctest.FormatRFC3339(env.Clock.Now().Add(24*time.Hour)))),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					rtCheckTracked(env, addr("stored"), users["stored"], true, 2, nil),
					func(*terraform.State) error { return env.CheckRefreshTokenRefused(users["stored"], existing["stored"]) },
					tracked("free", false),
					tracked("plain", false),
				),
			},
			{
				// The same through an import block: the plan holds no token.
				Config:          config("2"),
				ResourceName:    addr("free"),
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
				ImportStateId:   users["free"] + importSuffixTokenFree,
				ImportPlanChecks: resource.ImportPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(addr("free"), plancheck.ResourceActionNoop),
						plancheck.ExpectKnownValue(addr("free"), tfjsonpath.New("token"), knownvalue.Null()),
						plancheck.ExpectKnownValue(addr("free"), tfjsonpath.New("token_sha256"), sumOf("free")),
						plancheck.ExpectKnownValue(addr("free"), tfjsonpath.New("token_version"), knownvalue.Int64Exact(1)),
					},
				},
			},
			{
				// "/store_token=true" says the same as the plain id.
				Config:             config("2"),
				ResourceName:       addr("plain"),
				ImportState:        true,
				ImportStateKind:    resource.ImportBlockWithID,
				ImportStateId:      users["plain"] + importSuffixTokenStored,
				ExpectNonEmptyPlan: true,
				ImportPlanChecks: resource.ImportPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(addr("plain"), plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(addr("plain"), tfjsonpath.New("token"), knownvalue.Null()),
						plancheck.ExpectKnownValue(addr("plain"), tfjsonpath.New("user_id"), knownvalue.StringExact(users["plain"])),
					},
				},
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
	server, schemas := env.ConfiguredServer(t)
	resourceType := schemas.ResourceSchemas["point_refresh_token"].ValueType()
	state := acctest.DynamicValue(t, resourceType, map[string]tftypes.Value{
		"id":        tftypes.NewValue(tftypes.String, userID),
		"user_id":   tftypes.NewValue(tftypes.String, userID),
		"token":     tftypes.NewValue(tftypes.String, token),
		"issued_at": tftypes.NewValue(tftypes.String, acctest.FormatRFC3339(env.Clock.Now())),
	})
	resp, err := server.ReadResource(context.Background(), &tfprotov6.ReadResourceRequest{TypeName: "point_refresh_token", CurrentState: state})
	if err != nil {
		t.Fatal(err)
	}
	if resp.NewState == nil {
		return resp.Diagnostics, nil
	}
	return resp.Diagnostics, acctest.DecodeObject(t, resourceType, resp.NewState)
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

// Token-free state alone: switching to it and back, the emergency revoke,
// the API key it needs, access tokens that read the token, the upgrade of a
// state written before store_token existed, and the size of state.

// Switching store_token moves the token out of state and back in, without
// rotating it and without changing its fingerprint or version.
func TestAccRefreshToken_switchStoreToken(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("free-switch")
	seen := acctest.SeenTokens{}
	stored := acctest.RefreshTokenConfig(env, userID, "  rotate_after = \"24h\"\n")
	free := acctest.RefreshTokenConfig(env, userID, rtFree.arg()+"  rotate_after = \"24h\"\n")
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
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), knownvalue.Null()),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_sha256"), knownvalue.NotNull()),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(1)),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("issued_at"), knownvalue.NotNull()),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("id"), knownvalue.StringExact(userID)),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{sameSum.AddStateValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_sha256"))},
				Check: resource.ComposeAggregateTestCheckFunc(
					rtCheckTracked(env, acctest.RefreshTokenAddr, userID, false, 1, seen),
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
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), knownvalue.Null()),
						plancheck.ExpectUnknownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_sha256")),
						plancheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(2)),
					},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					rtCheckTracked(env, acctest.RefreshTokenAddr, userID, false, 2, seen),
					acctest.RefreshTokenRefused(env, userID, &token),
				),
			},
		},
	})
}

// The emergency revoke from an action_trigger: the token-free resource stays
// in state, and the next apply issues a new token in place.
func TestAccRefreshToken_tokenFreeRevokeAction(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("free-action")
	var first string
	config := func(incident string) string {
		return acctest.RefreshTokenConfig(env, userID, rtFree.arg()) + acctest.IncidentTriggerConfig(incident)
	}
	resource.ParallelTest(t, resource.TestCase{
		TerraformVersionChecks:   acctest.ActionsVersionChecks,
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				Config: config("none"),
				Check: resource.ComposeAggregateTestCheckFunc(
					rtCheckTracked(env, acctest.RefreshTokenAddr, userID, false, 1, nil),
					rtCapture(env, userID, &first),
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
				Check: rtCheckTracked(env, acctest.RefreshTokenAddr, userID, false, 2, nil),
			},
		},
	})
}

// Operations that read the token with the API key fail at plan time
// without one: destroying a token kept out of state, and putting it back.
// Every refresh needs the key too, so the plans skip it.
func TestAccRefreshToken_tokenFreeMissingAPIKeyCLI(t *testing.T) {
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
func TestAccRefreshToken_tokenFreeAccessToken(t *testing.T) {
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
				Check:  resource.ComposeAggregateTestCheckFunc(rtCheckTracked(env, acctest.RefreshTokenAddr, userID, false, 1, nil), usedCurrent(1)),
			},
			{
				// Planning must not read the revoked token: it waits for
				// the new one.
				PreConfig: func() { env.RevokeRefreshToken(userID) },
				Config:    config("1"),
				Check:     resource.ComposeAggregateTestCheckFunc(rtCheckTracked(env, acctest.RefreshTokenAddr, userID, false, 2, nil), usedCurrent(2)),
			},
			{
				Config: config("2"),
				Check:  resource.ComposeAggregateTestCheckFunc(rtCheckTracked(env, acctest.RefreshTokenAddr, userID, false, 3, nil), usedCurrent(3)),
			},
		},
	})
}

// rtTestV0State is a state written before store_token existed: schema
// version 0 of point_refresh_token, which kept the token, and the user.
func rtTestV0State(userID, token, issuedAt string) string {
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
func TestAccRefreshToken_stateUpgradeCLI(t *testing.T) {
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
	state := rtTestV0State(userID, token, acctest.FormatRFC3339(issuedAt))
	state = strings.Replace(state, `"rotate_at": null`, fmt.Sprintf("%q: %q", "rotate_at", acctest.FormatRFC3339(issuedAt.Add(2160*time.Hour))), 1)
	if err := os.WriteFile(filepath.Join(cli.Dir, "terraform.tfstate"), []byte(state), 0o600); err != nil {
		t.Fatal(err)
	}

	cli.MustRun(0, "plan", "-refresh=false", "-detailed-exitcode", "-no-color")
	cli.MustRun(0, "plan", "-detailed-exitcode", "-no-color")
	cli.MustRun(0, "apply", "-refresh-only", "-auto-approve", "-no-color")
	attrs, version := rtTestStateInstance(t, cli)
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
	attrs, _ = rtTestStateInstance(t, cli)
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

// rtTestStateInstance returns the attributes and schema version of
// point_refresh_token.test in the working directory's state file.
func rtTestStateInstance(t *testing.T, cli *acctest.InProcessCLI) (map[string]any, int) {
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
func TestAccRefreshToken_stateSizeCLI(t *testing.T) {
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

// Helpers of the tests above that run both ways of keeping the token.

// rtMode is a way of keeping the token: in state (store_token left to its
// default, true) or out of it (store_token = false). Its name names the
// point_refresh_token and the point_user of that mode in a configuration.
type rtMode struct {
	name  string
	store bool
}

var (
	rtStored = rtMode{name: "stored", store: true}
	rtFree   = rtMode{name: "free", store: false}
	rtModes  = []rtMode{rtStored, rtFree}
)

func (m rtMode) addr() string { return "point_refresh_token." + m.name }

// arg is what the resource's block says of store_token.
func (m rtMode) arg() string {
	if m.store {
		return ""
	}
	return "  store_token = false\n"
}

// plannedToken checks token in a plan: kept or, with newToken, issued
// (unknown until the apply) in state mode, and null out of state.
func (m rtMode) plannedToken(newToken bool) plancheck.PlanCheck {
	switch {
	case !m.store:
		return plancheck.ExpectKnownValue(m.addr(), tfjsonpath.New("token"), knownvalue.Null())
	case newToken:
		return plancheck.ExpectUnknownValue(m.addr(), tfjsonpath.New("token"))
	}
	return plancheck.ExpectKnownValue(m.addr(), tfjsonpath.New("token"), knownvalue.NotNull())
}

// rtEach is check for each mode.
func rtEach(check func(m rtMode) plancheck.PlanCheck) []plancheck.PlanCheck {
	checks := make([]plancheck.PlanCheck, 0, len(rtModes))
	for _, m := range rtModes {
		checks = append(checks, check(m))
	}
	return checks
}

// rtPlanReplaced: each resource is replaced, the new one created before
// the old one is destroyed.
func rtPlanReplaced() []plancheck.PlanCheck {
	return append(rtEach(func(m rtMode) plancheck.PlanCheck {
		return plancheck.ExpectResourceAction(m.addr(), plancheck.ResourceActionCreateBeforeDestroy)
	}), rtEach(func(m rtMode) plancheck.PlanCheck { return m.plannedToken(true) })...)
}

// rtPair is a test's two users, one for each mode, and the tokens of the
// token-free one seen so far, which no attribute in state may hold.
type rtPair struct {
	env   *acctest.Env
	users map[rtMode]string
	seen  acctest.SeenTokens
}

func newRTPair(env *acctest.Env, name string) *rtPair {
	p := &rtPair{env: env, users: map[rtMode]string{}, seen: acctest.SeenTokens{}}
	for _, m := range rtModes {
		p.users[m] = env.UserID(name + "-" + m.name)
	}
	return p
}

func (p *rtPair) ids() []string {
	ids := make([]string, 0, len(rtModes))
	for _, m := range rtModes {
		ids = append(ids, p.users[m])
	}
	return ids
}

// config is, for each mode, a point_user and a point_refresh_token for it,
// with args in the token's block.
func (p *rtPair) config(args string) string { return p.configFor(p.env.ProviderBlock(), args) }

// configFor is config with another provider block.
func (p *rtPair) configFor(providerBlock, args string) string {
	var c strings.Builder
	c.WriteString(providerBlock)
	for _, m := range rtModes {
		fmt.Fprintf(&c, `
resource "point_user" %[1]q {
  user_id = %[2]q
}

resource "point_refresh_token" %[1]q {
  user_id = point_user.%[1]s.user_id
%[3]s%[4]s}
`, m.name, p.users[m], m.arg(), args)
	}
	return c.String()
}

// check is rtCheckTracked for both resources, at token_version version.
func (p *rtPair) check(version int64) resource.TestCheckFunc { return p.checkModes(version, version) }

// checkModes is check with a token_version for each mode.
func (p *rtPair) checkModes(stored, free int64) resource.TestCheckFunc {
	return resource.ComposeAggregateTestCheckFunc(
		rtCheckTracked(p.env, rtStored.addr(), p.users[rtStored], true, stored, nil),
		rtCheckTracked(p.env, rtFree.addr(), p.users[rtFree], false, free, p.seen),
	)
}

// capture records the current token in Point of each user.
func (p *rtPair) capture(into map[rtMode]string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		for _, m := range rtModes {
			var token string
			if err := rtCapture(p.env, p.users[m], &token)(s); err != nil {
				return err
			}
			into[m] = token
		}
		return nil
	}
}

// refused asserts that Point refuses the tokens recorded: they were
// rotated or revoked.
func (p *rtPair) refused(tokens map[rtMode]string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for _, m := range rtModes {
			if tokens[m] == "" {
				return fmt.Errorf("no earlier token recorded for %q", p.users[m])
			}
			if err := p.env.CheckRefreshTokenRefused(p.users[m], tokens[m]); err != nil {
				return err
			}
		}
		return nil
	}
}

// unchanged is acctest.RefreshTokenUnchanged for each user.
func (p *rtPair) unchanged(tokens map[rtMode]string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		for _, m := range rtModes {
			token := tokens[m]
			if err := acctest.RefreshTokenUnchanged(p.env, p.users[m], &token)(s); err != nil {
				return err
			}
		}
		return nil
	}
}

// tracks asserts, on state alone, that each resource tracks the token
// recorded: by its fingerprint, and in state mode by the token itself.
func (p *rtPair) tracks(tokens map[rtMode]string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		for _, m := range rtModes {
			rs, ok := s.RootModule().Resources[m.addr()]
			switch {
			case !ok:
				return fmt.Errorf("%s not in state", m.addr())
			case tokens[m] == "" || rs.Primary.Attributes["token_sha256"] != tokenSHA256(tokens[m]):
				return fmt.Errorf("%s does not track the token recorded for %q", m.addr(), p.users[m])
			case m.store && rs.Primary.Attributes["token"] != tokens[m]:
				return fmt.Errorf("%s does not hold the token recorded for %q", m.addr(), p.users[m])
			}
		}
		return nil
	}
}

// planRotation: the plan rotates each token in place, with the same id:
// the new token_sha256 and issued_at are known only after the apply,
// token_version is version, and the token is unknown in state mode and
// null out of state.
func (p *rtPair) planRotation(version int64) []plancheck.PlanCheck {
	var checks []plancheck.PlanCheck
	for _, m := range rtModes {
		addr := m.addr()
		checks = append(checks,
			plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
			plancheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact(p.users[m])),
			m.plannedToken(true),
			plancheck.ExpectUnknownValue(addr, tfjsonpath.New("token_sha256")),
			plancheck.ExpectUnknownValue(addr, tfjsonpath.New("issued_at")),
			plancheck.ExpectKnownValue(addr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(version)))
	}
	return checks
}

// planKept: the plan updates each resource and keeps its token, its
// fingerprint and token_version (version).
func (p *rtPair) planKept(version int64) []plancheck.PlanCheck {
	var checks []plancheck.PlanCheck
	for _, m := range rtModes {
		addr := m.addr()
		checks = append(checks,
			plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
			plancheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact(p.users[m])),
			m.plannedToken(false),
			plancheck.ExpectKnownValue(addr, tfjsonpath.New("token_sha256"), knownvalue.NotNull()),
			plancheck.ExpectKnownValue(addr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(version)))
	}
	return checks
}

// stateTimes checks issued_at and rotate_at of each resource in state.
func (p *rtPair) stateTimes(issuedAt, rotateAt knownvalue.Check) []statecheck.StateCheck {
	var checks []statecheck.StateCheck
	for _, m := range rtModes {
		checks = append(checks,
			statecheck.ExpectKnownValue(m.addr(), tfjsonpath.New("issued_at"), issuedAt),
			statecheck.ExpectKnownValue(m.addr(), tfjsonpath.New("rotate_at"), rotateAt))
	}
	return checks
}

// rtCheckTracked asserts what a point_refresh_token at addr promises about
// the token it tracks for userID: it is the user's current token in Point,
// which Point accepts, token_sha256 is its fingerprint, and token_version
// is version. With store the token is in state; without, token is null and
// neither the current token nor any in seen (which collects them) is in
// any attribute of any resource in state.
func rtCheckTracked(env *acctest.Env, addr, userID string, store bool, version int64, seen acctest.SeenTokens) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		current := env.CurrentRefreshToken(userID)
		if current == "" {
			return fmt.Errorf("Point user %q has no current refresh token", userID)
		}
		rs, ok := s.RootModule().Resources[addr]
		if !ok {
			return fmt.Errorf("%s not in state", addr)
		}
		attrs := rs.Primary.Attributes
		switch {
		case store && attrs["token"] != current:
			return fmt.Errorf("the token of %s in state is not Point's current refresh token for %q", addr, userID)
		case !store && attrs["token"] != "":
			return fmt.Errorf("%s keeps a token in state with store_token = false", addr)
		case attrs["token_sha256"] != tokenSHA256(current):
			return fmt.Errorf("%s.token_sha256 = %q, want the SHA-256 of the current token of %q", addr, attrs["token_sha256"], userID)
		case attrs["token_version"] != fmt.Sprint(version):
			return fmt.Errorf("%s.token_version = %s, want %d", addr, attrs["token_version"], version)
		}
		if !store {
			if seen != nil {
				seen[current] = true
			}
			if err := acctest.NoSeenTokenInState(s, seen, current); err != nil {
				return err
			}
		}
		return env.CheckRefreshTokenAccepted(userID, current)
	}
}

// rtCapture records the user's current token in Point.
func rtCapture(env *acctest.Env, userID string, into *string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		*into = env.CurrentRefreshToken(userID)
		if *into == "" {
			return fmt.Errorf("Point user %q has no current refresh token", userID)
		}
		return nil
	}
}

// startRevocationsByUser serves a front before Point that counts, for each
// user, the requests to revoke a refresh token: those that present a token,
// and all of them (against a 404 the client may ask again without one, to
// tell whether the answer is Point's own). It returns the front's base URL
// and the counts of a user.
func startRevocationsByUser(t *testing.T, env *acctest.Env) (string, func(userID string) (presenting, all int)) {
	t.Helper()
	var mu sync.Mutex
	presenting, all := map[string]int{}, map[string]int{}
	url := acctest.StartFront(t, env, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if sandbox.RouteOf(r) == sandbox.RouteRevokeRefreshToken {
			rest, _ := strings.CutPrefix(r.URL.Path, "/organizations/users/")
			userID, _, _ := strings.Cut(rest, "/")
			mu.Lock()
			all[userID]++
			if r.Header.Get("Authorization") != "" {
				presenting[userID]++
			}
			mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
	return url, func(userID string) (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return presenting[userID], all[userID]
	}
}

// An issue whose answer never comes back may still have issued a token:
// both shapes say so, and what to do, in the same apply. The front answers
// 502 without passing the request on, which the provider cannot tell from
// a gateway that lost Point's answer.
func TestAccRefreshToken_issueWithoutAnswer(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	single, bulk := env.UserID("no-answer"), env.UserID("no-answer-bulk")
	front := acctest.NewRouteFront(env.Upstream(), sandbox.RouteIssueRefreshToken, acctest.AnswerRaw(http.StatusBadGateway, "text/html", "<html>502 Bad Gateway</html>"))
	front.On.Store(true)
	server := httptest.NewServer(front)
	t.Cleanup(server.Close)
	config := acctest.BulkConfig(acctest.ProviderBlockFor(env, server.URL, 0), []string{bulk}, "", "") + fmt.Sprintf(`
resource "point_user" "test" {
  user_id = %q
}

resource "point_refresh_token" "test" {
  user_id = point_user.test.user_id
}
`, single)

	// ExpectError takes one pattern; the error is examined after the test.
	var applyErr error
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		ErrorCheck: func(err error) error {
			applyErr = err
			return nil
		},
		Steps: []resource.TestStep{{Config: config}},
	})
	if applyErr == nil {
		t.Fatal("the apply succeeded although Point never answered an issue")
	}
	for _, want := range []*regexp.Regexp{
		acctest.DiagnosticMatching("Error Issuing Point Refresh Token", fmt.Sprintf("Could not issue a refresh token for Point user %q", single),
			"The request may have reached Point without its answer coming back. If it did, Point issued the user a new refresh token"),
		acctest.DiagnosticMatching("Error Issuing Point Refresh Tokens", fmt.Sprintf("Could not issue refresh tokens for the user (%q)", bulk),
			"The requests may have reached Point without their answers coming back. Where one did, Point issued the user a new refresh token"),
	} {
		if !want.MatchString(applyErr.Error()) {
			t.Errorf("the error does not match %s:\n%v", want, applyErr)
		}
	}
	if !env.HasUser(single) || !env.HasUser(bulk) {
		t.Errorf("the users were not registered before their tokens were asked for")
	}
}
