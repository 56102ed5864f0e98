package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
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

// One pair (both store_token modes) from creation to destroy: rotations, changes that keep the token,
// tokens rotated and revoked outside Terraform, a user deleted, and a destroy that refreshes first.
func TestAccRefreshToken_lifecycle(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	p := newRTPair(env, "rt-life", "")
	t0, t1 := env.Clock.Now(), env.Clock.Now().Add(25*time.Hour)
	at := func(afterT1 time.Duration) knownvalue.Check { return rtAt(t1.Add(afterT1)) }
	first, second, third, outside, sixth, newer := rtTokens(), rtTokens(), rtTokens(), rtTokens(), rtTokens(), rtTokens()
	var issuedBefore, revocationsBefore int
	revocations := func() int { return requestCounts(env)[sandbox.RouteRevokeRefreshToken] }
	const timeouts = "  timeouts = { read = \"2m\" }\n"
	config := func(rotateAfter, quarter, extra string) string {
		if rotateAfter != "" {
			extra += fmt.Sprintf("  rotate_after = %q\n", rotateAfter)
		}
		if quarter != "" {
			extra += fmt.Sprintf("  rotation_triggers = { quarter = %q }\n", quarter)
		}
		return p.configFor(env.ProviderBlock(), extra)
	}
	stored, free := p.addr(rtStored), p.addr(rtFree)
	createPlan := rtEach(func(m rtMode) []plancheck.PlanCheck {
		return []plancheck.PlanCheck{plancheck.ExpectResourceAction(p.addr(m), plancheck.ResourceActionCreate), p.plannedToken(m, true),
			rtPlanKnown(p.addr(m), "store_token", knownvalue.Bool(m.store)), rtPlanUnknown(p.addr(m), "token_sha256"),
			rtPlanKnown(p.addr(m), "token_version", knownvalue.Int64Exact(1))}
	})
	created := append(rtEach(func(m rtMode) []statecheck.StateCheck {
		return []statecheck.StateCheck{rtStateKnown(p.addr(m), "id", knownvalue.StringExact(p.users[m])),
			rtStateKnown(p.addr(m), "user_id", knownvalue.StringExact(p.users[m]))}
	}), statecheck.ExpectSensitiveValue(stored, tfjsonpath.New("token")), rtStateKnown(free, "token", knownvalue.Null()),
		rtStateKnown(stored, "token", acctest.IsCurrentRefreshToken(env, p.users[rtStored])))
	created = append(created, p.stateTimes(rtAt(t0), rtAt(t0.Add(24*time.Hour)))...)

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, p.ids()...),
		Steps: []resource.TestStep{
			rtStep(nil, config("24h", "Q1", ""), createPlan, created, p.check(1), p.capture(first)),
			rtStep(func() { env.Clock.Advance(23 * time.Hour) }, config("24h", "Q1", ""), rtNoChange,
				p.stateTimes(rtAt(t0), rtAt(t0.Add(24*time.Hour))), p.check(1), p.unchanged(first)),
			// rotate_after has passed: a new token in place, never in the plan.
			rtStep(func() { env.Clock.Advance(2 * time.Hour) }, config("24h", "Q1", ""), p.planUpdate(2, true),
				p.stateTimes(at(0), at(24*time.Hour)), p.check(2), p.refused(first), p.capture(second)),
			// Lengthening rotate_after before it is due, or changing timeouts, keeps the tokens.
			rtStep(nil, config("48h", "Q1", timeouts), append(p.planUpdate(2, false), rtEach(func(m rtMode) []plancheck.PlanCheck {
				return []plancheck.PlanCheck{rtPlanKnown(p.addr(m), "rotate_at", at(48*time.Hour))}
			})...), p.stateTimes(at(0), at(48*time.Hour)), p.check(2), p.unchanged(second)),
			// A trigger change rotates; the token_version the plan shows is the one the apply records.
			rtStep(func() { issuedBefore = acctest.RefreshTokensIssued(env) }, config("48h", "Q2", timeouts),
				p.planUpdate(3, true), nil,
				p.check(3), p.refused(second), p.capture(third), acctest.CheckRefreshTokensIssued(env, &issuedBefore, 2)),
			// Shortening rotate_after so that the token is already due rotates at once.
			rtStep(func() { env.Clock.Advance(2 * time.Hour) }, config("1h", "Q2", timeouts), p.planUpdate(4, true),
				p.stateTimes(at(2*time.Hour), at(3*time.Hour)), p.check(4), p.refused(third)),
			// The refresh finds a token replaced outside by its fingerprint and adopts it, without issuing.
			rtStep(func() { p.rotateOutside(outside); issuedBefore = acctest.RefreshTokensIssued(env) }, config("1h", "Q2", timeouts),
				rtNoChange, p.stateTimes(knownvalue.Null(), knownvalue.Null()),
				p.check(5), p.unchanged(outside), acctest.CheckRefreshTokensIssued(env, &issuedBefore, 0)),
			// An adopted token has no issue time, so rotate_after leaves it alone.
			rtStep(func() { env.Clock.Advance(48 * time.Hour) }, config("1h", "Q2", timeouts), rtNoChange, nil,
				p.check(5), p.unchanged(outside)),
			// Removing the triggers is a change of triggers too.
			rtStep(nil, config("1h", "", timeouts), p.planUpdate(6, true), p.stateTimes(at(50*time.Hour), at(51*time.Hour)),
				p.check(6), p.refused(outside), p.capture(sixth)),
			// Revoked outside Terraform: in state, the resource is created again; out of state, it gets a new
			// token in place, token_version grows, and id is unknown in the plan so that readers wait for it.
			rtStep(func() { env.RevokeRefreshToken(p.users[rtStored]); env.RevokeRefreshToken(p.users[rtFree]) },
				config("", "", ""), append(preApplyActions(stored, plancheck.ResourceActionCreate, "point_user.stored", plancheck.ResourceActionNoop,
					free, plancheck.ResourceActionUpdate, "point_user.free", plancheck.ResourceActionNoop).PreApply,
					rtPlanKnown(free, "token", knownvalue.Null()), rtPlanUnknown(free, "token_sha256"),
					rtPlanKnown(free, "token_version", knownvalue.Int64Exact(7)), rtPlanUnknown(free, "id"),
				), p.stateTimes(at(50*time.Hour), knownvalue.Null()), p.checkModes(1, 7), p.refused(sixth)),
			{
				// A user deleted outside Terraform is registered again; Point has no endpoint to delete one.
				PreConfig: func() {
					if env.Sandbox == nil {
						t.Log("skipping the step of a user deleted outside Terraform: only the sandbox can delete a user")
					} else {
						env.Sandbox.DeleteUser(p.users[rtStored])
					}
				},
				SkipFunc: func() (bool, error) { return env.Sandbox == nil, nil },
				Config:   config("", "", ""),
				ConfigPlanChecks: preApplyActions("point_user.stored", plancheck.ResourceActionCreate,
					stored, plancheck.ResourceActionCreate, "point_user.free", plancheck.ResourceActionNoop),
				Check: p.checkModes(1, 7),
			},
			{
				// Destroy refreshes first, so it adopts and revokes the token rotated outside, once per resource.
				PreConfig: func() { p.rotateOutside(newer); revocationsBefore = revocations() },
				Config:    config("", "", ""), Destroy: true,
				Check: resource.ComposeAggregateTestCheckFunc(p.tracks(newer), acctest.NoCurrentRefreshToken(env, p.ids()...),
					func(*terraform.State) error {
						if n := revocations() - revocationsBefore; env.Sandbox != nil && n != len(rtModes) {
							return fmt.Errorf("destroy made %d revoke requests, want 1 for each of the %d resources", n, len(rtModes))
						}
						return nil
					}, p.refused(newer)),
			},
		},
	})
}

// Tokens replaced with create_before_destroy, to another user and to the same one, whose old token's
// destroy must not touch the new one; and users with deletion_policy = "REVOKE". The post-test destroy
// runs with -refresh=false on stale tokens: in state, it presents the token once and takes Point's
// refusal as revoked; out of state, it sees the current token is not its own and revokes nothing.
func TestAccRefreshToken_replaceAndDestroy(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	a, b, same := newRTPair(env, "rt-cbd-a", "moved_"), newRTPair(env, "rt-cbd-b", "moved_"), newRTPair(env, "rt-cbd-same", "same_")
	dependent, independent := env.UserID("rt-revoke-dep"), env.UserID("rt-revoke-indep")
	firstA, firstSame, replaced, newer := rtTokens(), rtTokens(), rtTokens(), rtTokens()
	presentedBefore, allBefore := map[rtMode]int{}, map[rtMode]int{}
	front, revocations := acctest.StartRevocationCounter(t, env)
	config := func(owner, generation string) string {
		c := same.configFor(acctest.ProviderBlockFor(env, front, 3),
			"  lifecycle {\n    create_before_destroy = true\n    replace_triggered_by  = [terraform_data.generation]\n  }\n") +
			rtBlock("resource", "terraform_data", "generation", fmt.Sprintf("input = %q", generation))
		for _, m := range rtModes {
			c += rtBlock("resource", "point_user", "a_"+m.name, fmt.Sprintf("user_id = %q", a.users[m])) +
				rtBlock("resource", "point_user", "b_"+m.name, fmt.Sprintf("user_id = %q", b.users[m])) +
				rtBlock("resource", "point_refresh_token", "moved_"+m.name,
					fmt.Sprintf("user_id = point_user.%s_%s.user_id", owner, m.name), strings.TrimSpace(m.arg),
					"lifecycle { create_before_destroy = true }")
		}
		for name, userID := range map[string]string{"dependent": dependent, "independent": independent} {
			c += rtBlock("resource", "point_user", name, fmt.Sprintf("user_id = %q", userID), `deletion_policy = "REVOKE"`)
		}
		c += rtBlock("resource", "point_refresh_token", "dependent", "user_id = point_user.dependent.user_id")
		if owner == "b" { // once its user exists
			c += rtBlock("resource", "point_refresh_token", "independent", fmt.Sprintf("user_id = %q", independent))
		}
		return c
	}
	revoking := rtCheckTracked(env, "point_refresh_token.dependent", dependent, true, 1, nil)
	moved := rtEach(func(m rtMode) []statecheck.StateCheck {
		return []statecheck.StateCheck{rtStateKnown(b.addr(m), "user_id", knownvalue.StringExact(b.users[m])),
			rtStateKnown(b.addr(m), "id", knownvalue.StringExact(b.users[m]))}
	})

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy: resource.ComposeAggregateTestCheckFunc(
			acctest.NoCurrentRefreshToken(env, append(append(a.ids(), b.ids()...), dependent, independent)...),
			same.unchanged(newer), same.refused(replaced),
			same.each(func(m rtMode, userID string) error {
				switch presented, all := revocations.Presenting(userID)-presentedBefore[m], revocations.All(userID)-allBefore[m]; {
				case m.store && presented != 1:
					return fmt.Errorf("destroy presented the token of %q to revoke it %d times, want once", userID, presented)
				case !m.store && all != 0:
					return fmt.Errorf("destroy made %d revoke requests for %q, want none", all, userID)
				}
				return nil
			}),
		),
		Steps: []resource.TestStep{
			rtStep(nil, config("a", "1"), nil, nil, a.check(1), a.capture(firstA), same.check(1), same.capture(firstSame), revoking),
			rtStep(nil, config("b", "2"), append(b.planReplaced(), same.planReplaced()...), moved,
				b.check(1), acctest.NoCurrentRefreshToken(env, a.ids()...), a.refused(firstA),
				same.check(1), same.refused(firstSame), same.capture(replaced),
				revoking, rtCheckTracked(env, "point_refresh_token.independent", independent, true, 1, nil)),
			{
				// Plans do not write state: state keeps the replaced token.
				PreConfig: func() {
					same.rotateOutside(newer)
					for _, m := range rtModes {
						presentedBefore[m], allBefore[m] = revocations.Presenting(same.users[m]), revocations.All(same.users[m])
					}
				},
				Config:   config("b", "2"),
				PlanOnly: true,
			},
		},
	})
}

// Imports (by the plain id, with "/store_token=false", and into store_token = false), switches of
// store_token, and failed reads: neither imports nor switches rotate, and a failed read (a front
// answers 503 while on) leaves state alone.
func TestAccRefreshToken_importAndSwitch(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	names := []string{"test", "stored", "free", "plain"}
	users, existing := map[string]string{}, map[string]string{}
	for _, name := range names {
		users[name] = env.UserID("rt-import-" + name)
		if name != "test" {
			existing[name] = env.AddUser(users[name])
		}
	}
	const test = acctest.RefreshTokenAddr
	addr := func(name string) string { return "point_refresh_token." + name }
	stored, free, plain := addr("stored"), addr("free"), addr("plain")
	seen, seenTest := acctest.SeenTokens{}, acctest.SeenTokens{}
	var issuedBefore int
	var token string // of "test"
	sameSum, kept := statecheck.CompareValue(compare.ValuesSame()), statecheck.CompareValue(compare.ValuesSame())
	var readsFail atomic.Bool
	var failedReads atomic.Int32
	front := acctest.StartFront(t, env, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if id := acctest.UserIDOfPath(r.URL.Path); readsFail.Load() && sandbox.RouteOf(r) == sandbox.RouteGetUser &&
			(id == users["stored"] || id == users["free"]) {
			failedReads.Add(1)
			acctest.AnswerJSON(http.StatusServiceUnavailable, `{"error":"unavailable","message":"service temporarily unavailable"}`)(w, r, next)
			return
		}
		next.ServeHTTP(w, r)
	})
	managed := func(m rtMode) string {
		return rtTokenConfig(env, acctest.ProviderBlockFor(env, front, 1), users["test"],
			m.arg+"  rotate_after = \"2160h\"\n  rotation_triggers = { quarter = \"2025-Q1\" }\n")
	}
	config := func(n string, testMode rtMode) string {
		c := managed(testMode)
		for _, name := range names[1:] {
			args := rtFree.arg
			if name == "stored" {
				args = fmt.Sprintf("rotate_after = \"24h\"\n  rotation_triggers = { n = %q }", n)
			}
			c += rtBlock("resource", "point_refresh_token", name, fmt.Sprintf("user_id = %q", users[name]), strings.TrimSpace(args))
		}
		return c
	}
	readFailed := func(name string) string {
		return acctest.DiagnosticPattern(fmt.Sprintf("Could not read the refresh token of Point user %q; its state is unchanged. "+
			"Point or a proxy in front of it failed, and the retries ran out after 2 attempts (max_retries = 1).", users[name])).String()
	}
	tracked := func(name string, store bool) resource.TestCheckFunc {
		return resource.ComposeAggregateTestCheckFunc(rtCheckTracked(env, addr(name), users[name], store, 1, seen),
			acctest.RefreshTokenUnchanged(env, users[name], new(existing[name])))
	}
	imported := func(name string, want map[string]string) resource.ImportStateCheckFunc {
		return func(states []*terraform.InstanceState) error {
			found := slices.DeleteFunc(slices.Clone(states), func(s *terraform.InstanceState) bool { return s.Attributes["user_id"] != users[name] })
			if len(found) != 1 {
				return fmt.Errorf("imported %d objects for %s, want 1", len(found), name)
			}
			for attr, v := range want {
				switch got := found[0].Attributes[attr]; {
				case attr == "token" && (got != v || v == "" && want["store_token"] == "true"):
					return fmt.Errorf("the import of %s did not take the user's current refresh token as it should", name)
				case got != v:
					return fmt.Errorf("imported %s.%s = %q, want %q", name, attr, got, v)
				}
			}
			return nil
		}
	}
	importCommand := func(name, id string, want map[string]string) resource.TestStep {
		return resource.TestStep{Config: config("1", rtStored), ResourceName: addr(name), ImportState: true, ImportStateId: id,
			ImportStatePersist: true, ImportStateCheck: imported(name, want)}
	}
	importBlock := func(config, name, id string, nonEmpty bool, checks ...plancheck.PlanCheck) resource.TestStep {
		return resource.TestStep{Config: config, ResourceName: addr(name), ImportState: true, ImportStateId: id,
			ImportStateKind: resource.ImportBlockWithID, ExpectNonEmptyPlan: nonEmpty,
			ImportPlanChecks: resource.ImportPlanChecks{PreApply: checks}}
	}
	update, noop := plancheck.ResourceActionUpdate, plancheck.ResourceActionNoop

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, slices.Collect(maps.Values(users))...),
		Steps: []resource.TestStep{
			rtStep(nil, managed(rtStored), nil, []statecheck.StateCheck{
				rtStateKnown(test, "store_token", knownvalue.Bool(true)), rtStateKnown(test, "token_version", knownvalue.Int64Exact(1)),
				rtStateKnown(test, "token", acctest.IsCurrentRefreshToken(env, users["test"])),
				sameSum.AddStateValue(test, tfjsonpath.New("token_sha256")),
			}, acctest.CheckStateTokenCurrent(env, users["test"]), acctest.CaptureStateToken(&token),
				func(*terraform.State) error { issuedBefore = acctest.RefreshTokensIssued(env); return nil }),
			{
				ResourceName: test, ImportState: true, ImportStateVerify: true,
				ImportStateVerifyIgnore: []string{"issued_at", "rotate_at", "rotate_after", "rotation_triggers"},
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					if len(states) != 1 {
						return fmt.Errorf("imported %d objects, want 1", len(states))
					}
					current := env.CurrentRefreshToken(users["test"])
					return imported("test", map[string]string{"token": current, "store_token": "true", "issued_at": ""})(states)
				},
			},
			importBlock(managed(rtStored), "test", "", true, plancheck.ExpectResourceAction(test, update),
				rtPlanKnown(test, "token", acctest.IsCurrentRefreshToken(env, users["test"])),
				rtPlanKnown(test, "issued_at", knownvalue.Null()), rtPlanKnown(test, "rotate_at", knownvalue.Null())),
			importBlock(acctest.RefreshTokenConfig(env, users["test"], ""), "test", "", false,
				rtPlanKnown(test, "token", acctest.IsCurrentRefreshToken(env, users["test"])),
				rtPlanKnown(test, "issued_at", knownvalue.Null())),
			importCommand("stored", users["stored"], map[string]string{"token": existing["stored"], "store_token": "true"}),
			importCommand("free", users["free"]+importSuffixTokenFree, map[string]string{"token": "", "token_sha256": tokenSHA256(existing["free"]),
				"token_version": "1", "store_token": "false", "id": users["free"], "issued_at": ""}),
			importCommand("plain", users["plain"], map[string]string{"token": existing["plain"], "store_token": "true"}),
			rtStep(nil, config("1", rtFree), []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(stored, update), rtPlanKnown(stored, "token", knownvalue.NotNull()),
				plancheck.ExpectResourceAction(free, noop),
				plancheck.ExpectResourceAction(plain, update), rtPlanKnown(plain, "token", knownvalue.Null()),
				rtPlanKnown(plain, "token_sha256", knownvalue.StringExact(tokenSHA256(existing["plain"]))),
				plancheck.ExpectResourceAction(test, update), rtPlanKnown(test, "token", knownvalue.Null()),
				rtPlanKnown(test, "token_sha256", knownvalue.NotNull()), rtPlanKnown(test, "token_version", knownvalue.Int64Exact(1)),
				rtPlanKnown(test, "issued_at", knownvalue.NotNull()), rtPlanKnown(test, "id", knownvalue.StringExact(users["test"])),
			}, []statecheck.StateCheck{
				rtStateKnown(stored, "issued_at", knownvalue.Null()), rtStateKnown(stored, "rotate_at", knownvalue.Null()),
				rtStateKnown(stored, "rotation_triggers", knownvalue.MapExact(map[string]knownvalue.Check{"n": knownvalue.StringExact("1")})),
				sameSum.AddStateValue(test, tfjsonpath.New("token_sha256")),
			}, tracked("stored", true), tracked("free", false), tracked("plain", false),
				rtCheckTracked(env, test, users["test"], false, 1, seenTest), acctest.RefreshTokenUnchanged(env, users["test"], &token),
				acctest.CheckRefreshTokensIssued(env, &issuedBefore, 0)),
			rtStep(func() { issuedBefore = acctest.RefreshTokensIssued(env) }, config("2", rtStored), []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(stored, update), rtPlanUnknown(stored, "token"),
				plancheck.ExpectResourceAction(free, noop), plancheck.ExpectResourceAction(plain, noop),
				plancheck.ExpectResourceAction(test, update), rtPlanUnknown(test, "token"),
				rtPlanKnown(test, "token_sha256", knownvalue.NotNull()), rtPlanKnown(test, "token_version", knownvalue.Int64Exact(1)),
			}, []statecheck.StateCheck{
				rtStateKnown(stored, "issued_at", rtAt(env.Clock.Now())),
				rtStateKnown(stored, "rotate_at", rtAt(env.Clock.Now().Add(24*time.Hour))),
				sameSum.AddStateValue(test, tfjsonpath.New("token_sha256")),
				rtStateKnown(test, "token_version", knownvalue.Int64Exact(1)),
			}, rtCheckTracked(env, stored, users["stored"], true, 2, nil),
				acctest.RefreshTokenRefused(env, users["stored"], new(existing["stored"])),
				tracked("free", false), tracked("plain", false), resource.TestCheckResourceAttrPtr(test, "token", &token),
				acctest.CheckStateTokenCurrent(env, users["test"]), acctest.CheckRefreshTokensIssued(env, &issuedBefore, 1)),
			// Switching and rotating at once: the new token never reaches state.
			rtStep(func() { env.Clock.Advance(2161 * time.Hour) }, config("2", rtFree), []plancheck.PlanCheck{
				rtPlanKnown(test, "token", knownvalue.Null()), rtPlanUnknown(test, "token_sha256"),
				rtPlanKnown(test, "token_version", knownvalue.Int64Exact(2)),
			}, []statecheck.StateCheck{kept.AddStateValue(stored, tfjsonpath.New("token"))},
				rtCheckTracked(env, test, users["test"], false, 2, seenTest), acctest.RefreshTokenRefused(env, users["test"], &token)),
			{
				PreConfig: func() { readsFail.Store(true) },
				Config:    config("2", rtFree),
				ExpectError: regexp.MustCompile(readFailed("stored") + `[\s\S]*` + readFailed("free") +
					"|" + readFailed("free") + `[\s\S]*` + readFailed("stored")),
			},
			rtStep(func() {
				readsFail.Store(false)
				// For each of the two, one attempt and max_retries = 1 retry.
				if n := failedReads.Load(); n != 4 {
					t.Errorf("the failed refresh made %d requests, want 4", n)
				}
				issuedBefore = acctest.RefreshTokensIssued(env)
			}, config("2", rtFree), rtNoChange, []statecheck.StateCheck{kept.AddStateValue(stored, tfjsonpath.New("token"))},
				rtCheckTracked(env, stored, users["stored"], true, 3, nil), tracked("free", false),
				acctest.CheckRefreshTokensIssued(env, &issuedBefore, 0)),
			// Import blocks do as the import command; "/store_token=true" plans what the plain id plans.
			importBlock(config("2", rtFree), "free", users["free"]+importSuffixTokenFree, false,
				plancheck.ExpectResourceAction(free, noop), rtPlanKnown(free, "token", knownvalue.Null()),
				rtPlanKnown(free, "token_sha256", knownvalue.StringExact(tokenSHA256(existing["free"]))),
				rtPlanKnown(free, "token_version", knownvalue.Int64Exact(1))),
			importBlock(config("2", rtFree), "plain", users["plain"]+importSuffixTokenStored, true,
				plancheck.ExpectResourceAction(plain, update), rtPlanKnown(plain, "token", knownvalue.Null()),
				rtPlanKnown(plain, "user_id", knownvalue.StringExact(users["plain"]))),
		},
	})
}

// Issues that fail, in both shapes, in one apply: for a user Point does not have, the provider says to
// register it first; an issue whose answer is lost (the front's 502, as from a gateway) may still
// have issued a token, and both shapes say so, and what to do.
func TestAccRefreshToken_issueErrors(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	ghost, single, bulk := env.UserID("rt-ghost"), env.UserID("no-answer"), env.UserID("no-answer-bulk")
	lost := acctest.AnswerRaw(http.StatusBadGateway, "text/html", "<html>502 Bad Gateway</html>")
	var ghostIssues atomic.Int32 // that present the API key: the 404 is checked without it
	front := acctest.StartFront(t, env, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		switch {
		case sandbox.RouteOf(r) != sandbox.RouteIssueRefreshToken:
		case r.URL.Path != "/organizations/users/"+ghost+"/refresh_token":
			lost(w, r, next)
			return
		case r.Header.Get("Authorization") != "":
			ghostIssues.Add(1)
		}
		next.ServeHTTP(w, r)
	})
	config := rtTokenConfig(env, acctest.BulkConfig(acctest.ProviderBlockFor(env, front, 0), []string{bulk}, "", ""), single, "") +
		rtBlock("resource", "point_refresh_token", "ghost", fmt.Sprintf("user_id = %q", ghost))

	// ExpectError takes one pattern; the error is examined after the test.
	var applyErr error
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		ErrorCheck:               func(err error) error { applyErr = err; return nil },
		Steps:                    []resource.TestStep{{Config: config}},
	})
	if applyErr == nil {
		t.Fatal("the apply succeeded although its issues failed")
	}
	for _, want := range []*regexp.Regexp{
		acctest.DiagnosticPattern(fmt.Sprintf("Could not issue a refresh token for Point user %q: Point has no such user; "+
			"register it first, for example with a point_user resource.", ghost)),
		acctest.DiagnosticMatching("Error Issuing Point Refresh Token", fmt.Sprintf("Could not issue a refresh token for Point user %q", single),
			"The request may have reached Point without its answer coming back. If it did, Point issued the user a new refresh token"),
		acctest.DiagnosticMatching("Error Issuing Point Refresh Tokens", fmt.Sprintf("Could not issue refresh tokens for the user (%q)", bulk),
			"The requests may have reached Point without their answers coming back. Where one did, Point issued the user a new refresh token"),
	} {
		if !want.MatchString(applyErr.Error()) {
			t.Errorf("the error does not match %s:\n%v", want, applyErr)
		}
	}
	if !env.HasUser(single) || !env.HasUser(bulk) || env.HasUser(ghost) {
		t.Errorf("want the users registered before their tokens were asked for, and no user %q in Point", ghost)
	}
	if n := ghostIssues.Load(); n != 1 {
		t.Errorf("made %d issue requests for an unknown user, want 1", n)
	}
}

// Terraform shows warnings but terraform-plugin-testing does not expose
// them, so Read is called through the protocol, on a state holding a token.
func TestRefreshTokenRead_outsideChanges(t *testing.T) {
	t.Parallel()
	env := acctest.NewEnv(t, sandbox.Options{})
	server, schemas := env.ConfiguredServer(t)
	typ := schemas.ResourceSchemas["point_refresh_token"].ValueType()
	str := func(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }
	const stale = "rt_stale-token-from-state"
	for _, tc := range []struct {
		name, summary    string // no diagnostics when summary is ""
		removed, adopted bool
	}{
		{name: "unchanged"},
		{name: "rotated", summary: "Point Refresh Token Rotated Elsewhere", adopted: true},
		{name: "revoked", summary: "Point Refresh Token Revoked Elsewhere", removed: true},
		{name: "user gone", summary: "Point User Not Found", removed: true},
	} {
		userID := env.UserID("rt-read-" + strings.ReplaceAll(tc.name, " ", "-"))
		if tc.name != "user gone" {
			env.AddUser(userID)
		}
		if tc.name == "revoked" {
			env.RevokeRefreshToken(userID)
		}
		current, inState := env.CurrentRefreshToken(userID), stale
		if tc.name == "unchanged" {
			inState = current
		}
		resp, err := server.ReadResource(context.Background(), &tfprotov6.ReadResourceRequest{TypeName: "point_refresh_token",
			CurrentState: acctest.DynamicValue(t, typ, map[string]tftypes.Value{"id": str(userID), "user_id": str(userID),
				"token": str(inState), "issued_at": str(acctest.FormatRFC3339(env.Clock.Now()))})})
		if err != nil {
			t.Fatal(err)
		}
		diags := resp.Diagnostics
		switch {
		case tc.summary == "" && len(diags) > 0:
			t.Errorf("%s: unexpected diagnostics: %s: %s", tc.name, diags[0].Summary, diags[0].Detail)
		case tc.summary != "" && (len(diags) != 1 || diags[0].Severity != tfprotov6.DiagnosticSeverityWarning || diags[0].Summary != tc.summary):
			t.Errorf("%s: want one warning %q, got %d diagnostics: %+v", tc.name, tc.summary, len(diags), diags)
		}
		for _, d := range diags {
			for _, secret := range []string{stale, current, env.APIKey} {
				if secret != "" && (strings.Contains(d.Summary, secret) || strings.Contains(d.Detail, secret)) {
					t.Errorf("%s: diagnostic %q shows a secret", tc.name, d.Summary)
				}
			}
		}
		state := acctest.DecodeObject(t, typ, resp.NewState) // nil when removed
		if tc.removed || state == nil {
			if tc.removed != (state == nil) {
				t.Errorf("%s: removed from state: %t, want %t", tc.name, state == nil, tc.removed)
			}
			continue
		}
		if got := acctest.StringOrNil(t, state["token"]); got == nil || *got != current {
			t.Errorf("%s: state token is not the user's current token", tc.name)
		}
		// Kept by a plain refresh; an adopted token has no issue time.
		want := acctest.FormatRFC3339(env.Clock.Now())
		issuedAt := acctest.StringOrNil(t, state["issued_at"])
		if tc.adopted != (issuedAt == nil) || issuedAt != nil && *issuedAt != want {
			t.Errorf("%s: issued_at = %v, want %q (null when adopted: %t)", tc.name, state["issued_at"], want, tc.adopted)
		}
	}
}

// The emergency revoke from an action_trigger: the token-free resource stays
// in state, and the next apply issues a new token in place.
func TestAccRefreshToken_tokenFreeRevokeAction(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("free-action")
	var first string
	config := func(incident string) string {
		return acctest.RefreshTokenConfig(env, userID, rtFree.arg) + acctest.IncidentTriggerConfig(incident)
	}
	resource.ParallelTest(t, resource.TestCase{
		TerraformVersionChecks:   acctest.ActionsVersionChecks,
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			rtStep(nil, config("none"), nil, nil, rtCheckTracked(env, acctest.RefreshTokenAddr, userID, false, 1, nil),
				func(*terraform.State) error { first = env.CurrentRefreshToken(userID); return nil }),
			{
				Config:             config("INC-1"),
				ExpectNonEmptyPlan: true,
				Check: resource.ComposeAggregateTestCheckFunc(acctest.NoCurrentRefreshToken(env, userID),
					acctest.RefreshTokenRefused(env, userID, &first)),
			},
			rtStep(nil, config("INC-1"), []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(acctest.RefreshTokenAddr, plancheck.ResourceActionUpdate),
				plancheck.ExpectResourceAction("terraform_data.incident", plancheck.ResourceActionNoop),
				rtPlanKnown(acctest.RefreshTokenAddr, "token_version", knownvalue.Int64Exact(2)),
			}, nil, rtCheckTracked(env, acctest.RefreshTokenAddr, userID, false, 2, nil)),
		},
	})
}

// In token-free state point_access_token reads the refresh token itself: after an issue, an outside
// revocation and a rotation, it presents the current token and writes an access token Point accepts.
func TestAccRefreshToken_tokenFreeAccessToken(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("free-access")
	store := newWOStore()
	var presented atomic.Pointer[string] // by the last access token request
	front := acctest.StartFront(t, env, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if sandbox.RouteOf(r) == sandbox.RouteIssueAccessToken {
			token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			presented.Store(&token)
		}
		next.ServeHTTP(w, r)
	})
	config := func(generation string) string {
		triggers := fmt.Sprintf("  rotation_triggers = { generation = %q }\n", generation)
		return rtTokenConfig(env, acctest.ProviderBlockFor(env, front, 1), userID, rtFree.arg+triggers) +
			rtBlock("ephemeral", "point_access_token", "test", "user_id = point_refresh_token.test.id", "revoke_on_close = false") +
			rtBlock("resource", "wostore_secret", "test", `name = "access"`) +
			rtBlock("resource", "wostore_secret_version", "test", "secret_id = wostore_secret.test.id",
				"secret_string_wo = ephemeral.point_access_token.test.token",
				"secret_string_wo_version = point_refresh_token.test.token_version")
	}
	delivered := func(version int64, writes int) resource.TestCheckFunc {
		tracked := rtCheckTracked(env, acctest.RefreshTokenAddr, userID, false, version, nil)
		return resource.ComposeAggregateTestCheckFunc(tracked, func(*terraform.State) error {
			if last := presented.Load(); last == nil || *last == "" || *last != env.CurrentRefreshToken(userID) {
				return fmt.Errorf("the last access token request did not present the current refresh token of %q", userID)
			}
			if got := len(store.Writes("access")); got != writes {
				return fmt.Errorf("the access token was written %d times, want %d", got, writes)
			}
			return env.CheckAccessTokenLive(userID, store.Secret("access"))
		})
	}

	resource.ParallelTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)},
		ProtoV6ProviderFactories: factoriesWith(env, store),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{Config: config("1"), Check: delivered(1, 1)},
			// Planning must not read the revoked token: it waits for the new one.
			{PreConfig: func() { env.RevokeRefreshToken(userID) }, Config: config("1"), Check: delivered(2, 2)},
			{Config: config("2"), Check: delivered(3, 3)},
		},
	})
}

// The state file, through the CLI: a state from before store_token is upgraded by the first apply (plans
// before it change nothing), store_token = false then drops the token, and without an API key a plan
// to destroy it or put it back fails. A pair shows an instance's size with and without its token.
func TestAccRefreshToken_stateFileCLI(t *testing.T) {
	t.Parallel()
	env := acctest.NewEnv(t, sandbox.Options{})
	cli := acctest.NewInProcessCLI(t, env.Factories(), "")
	userID := env.UserID("free-upgrade")
	sized := newRTPair(env, "size", "")
	token := env.AddUser(userID)
	issuedAt := env.Clock.Now().Add(-time.Hour)
	noKey := fmt.Sprintf("provider \"point\" {\n  endpoint = %q\n}\n", env.Endpoint)
	upgraded := func(providerBlock string, m rtMode) string {
		return rtTokenConfig(env, providerBlock, userID,
			"  rotate_after = \"2160h\"\n  rotation_triggers = { generation = \"1\" }\n"+m.arg)
	}

	// A state of schema version 0, before store_token existed; rotate_at was
	// computed by the provider that wrote it.
	const provider = `"provider": "provider[\"registry.terraform.io/areyoupoint/point\"]"`
	state := fmt.Sprintf(`{"version": 4, "terraform_version": "1.11.4", "serial": 3, "lineage": "6f1f1c1e-0000-4000-8000-00000000v0v0",
  "outputs": {}, "check_results": null, "resources": [
    {"mode": "managed", "type": "point_refresh_token", "name": "test", %[5]s, "instances": [{"schema_version": 0,
      "attributes": {"id": %[1]q, "issued_at": %[3]q, "rotate_after": "2160h", "rotate_at": %[4]q,
        "rotation_triggers": {"generation": "1"}, "timeouts": null, "token": %[2]q, "user_id": %[1]q},
      "sensitive_attributes": [[{"type": "get_attr", "value": "token"}]], "dependencies": ["point_user.test"]}]},
    {"mode": "managed", "type": "point_user", "name": "test", %[5]s, "instances": [{"schema_version": 0,
      "attributes": {"deletion_policy": "ABANDON", "id": %[1]q, "timeouts": null, "user_id": %[1]q}, "sensitive_attributes": []}]}
  ]}
`, userID, token, acctest.FormatRFC3339(issuedAt), acctest.FormatRFC3339(issuedAt.Add(2160*time.Hour)), provider)
	if err := os.WriteFile(filepath.Join(cli.Dir, "terraform.tfstate"), []byte(state), 0o600); err != nil {
		t.Fatal(err)
	}
	cli.WriteMain(upgraded(env.ProviderBlock(), rtStored))
	cli.MustRun(0, "plan", "-refresh=false", "-detailed-exitcode", "-no-color")
	cli.MustRun(0, "plan", "-detailed-exitcode", "-no-color")
	cli.MustRun(0, "apply", "-refresh-only", "-auto-approve", "-no-color")
	version, attrs, _ := rtStateInstance(t, cli, "test")
	if version != 1 || attrs["token"] != token || attrs["store_token"] != true || attrs["token_sha256"] != tokenSHA256(token) ||
		attrs["token_version"] != float64(1) || attrs["issued_at"] != acctest.FormatRFC3339(issuedAt) {
		t.Errorf("the upgraded state (schema_version %d, store_token %v, token_sha256 %v, token_version %v, issued_at %v) should keep "+
			"the token with store_token = true, its fingerprint, version 1 and issued_at",
			version, attrs["store_token"], attrs["token_sha256"], attrs["token_version"], attrs["issued_at"])
	}

	cli.WriteMain(upgraded(env.ProviderBlock(), rtFree) + sized.configFor("", ""))
	out := cli.MustRun(0, "apply", "-auto-approve", "-no-color")
	acctest.ExpectOutputShows(t, out, "Warning: Point Refresh Token Leaves State", "4 added, 1 changed, 0 destroyed")
	_, attrs, _ = rtStateInstance(t, cli, "test")
	if attrs["token"] != nil || attrs["token_sha256"] != tokenSHA256(token) || attrs["token_version"] != float64(1) {
		t.Error("switching to store_token = false should drop the token and keep its fingerprint and version")
	}
	sizes := map[rtMode]int{}
	for _, m := range rtModes {
		_, _, instance := rtStateInstance(t, cli, m.name)
		sizes[m] = len(instance)
		if holdsToken := bytes.Contains(instance, []byte(env.CurrentRefreshToken(sized.users[m]))); holdsToken != m.store {
			t.Errorf("%s holds its token in state: %t", sized.addr(m), holdsToken)
		}
	}
	if sizes[rtFree] >= sizes[rtStored] {
		t.Errorf("state sizes %v: want the token-free one smaller", sizes)
	}
	t.Logf("state size per point_refresh_token instance (compact JSON, as in terraform.tfstate): with the token %d bytes, without it %d bytes",
		sizes[rtStored], sizes[rtFree])

	cli.WriteMain(upgraded(noKey, rtFree) + sized.configFor("", ""))
	out = cli.MustRun(1, "plan", "-destroy", "-refresh=false", "-no-color")
	acctest.ExpectOutputShows(t, out, "Error: Missing Point API Key",
		"Cannot revoke a Point refresh token kept out of state (store_token = false), which is read with the API key: it needs the organisation API key, and none is configured.")
	cli.WriteMain(upgraded(noKey, rtStored) + sized.configFor("", ""))
	out = cli.MustRun(1, "plan", "-refresh=false", "-no-color")
	acctest.ExpectOutputShows(t, out, "Error: Missing Point API Key",
		"Cannot put a Point refresh token back into state (store_token = true), which reads it with the API key")
	if err := acctest.RefreshTokenUnchanged(env, userID, &token)(nil); err != nil {
		t.Error(err)
	}

	cli.WriteMain(upgraded(env.ProviderBlock(), rtFree) + sized.configFor("", ""))
	cli.MustRun(0, "destroy", "-auto-approve", "-no-color")
	err := errors.Join(env.CheckRefreshTokenRefused(userID, token), acctest.NoCurrentRefreshToken(env, sized.ids()...)(nil))
	if err != nil {
		t.Error(err)
	}
}

// rtStateInstance returns the schema version, attributes and compact JSON of point_refresh_token.<name>.
func rtStateInstance(t *testing.T, cli *acctest.InProcessCLI, name string) (int, map[string]any, []byte) {
	t.Helper()
	var state struct {
		Resources []struct {
			Type, Name string
			Instances  []json.RawMessage
		}
	}
	b, err := os.ReadFile(filepath.Join(cli.Dir, "terraform.tfstate"))
	if err = errors.Join(err, json.Unmarshal(b, &state)); err != nil {
		t.Fatal(err)
	}
	for _, r := range state.Resources {
		if r.Type == "point_refresh_token" && r.Name == name && len(r.Instances) == 1 {
			var instance struct {
				SchemaVersion int            `json:"schema_version"`
				Attributes    map[string]any `json:"attributes"`
			}
			var compact bytes.Buffer
			if err := errors.Join(json.Unmarshal(r.Instances[0], &instance), json.Compact(&compact, r.Instances[0])); err != nil {
				t.Fatal(err)
			}
			return instance.SchemaVersion, instance.Attributes, compact.Bytes()
		}
	}
	t.Fatalf("no point_refresh_token.%s in state", name)
	return 0, nil, nil
}

// rtMode is a way of keeping the token: in state (store_token's default) or out of it.
type rtMode struct {
	name  string
	store bool
	arg   string // in the configuration of a point_refresh_token
}

var (
	rtStored = rtMode{name: "stored", store: true}
	rtFree   = rtMode{name: "free", store: false, arg: "  store_token = false\n"}
	rtModes  = []rtMode{rtStored, rtFree}
)

func rtTokens() map[rtMode]string { return map[rtMode]string{} }

// rtStep checks plan before the apply, then state and checks, and that the next plan is empty.
func rtStep(pre func(), config string, plan []plancheck.PlanCheck, state []statecheck.StateCheck,
	checks ...resource.TestCheckFunc,
) resource.TestStep {
	return resource.TestStep{PreConfig: pre, Config: config, ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: plan,
		PostApplyPostRefresh: rtNoChange}, ConfigStateChecks: state, Check: resource.ComposeAggregateTestCheckFunc(checks...)}
}

var rtNoChange = []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}

// rtPair is two users, one for each mode, whose resources are named prefix + the mode's name; seen
// collects the tokens of the token-free one, which no attribute in state may hold.
type rtPair struct {
	env    *acctest.Env
	prefix string
	users  map[rtMode]string
	seen   acctest.SeenTokens
}

func newRTPair(env *acctest.Env, name, prefix string) *rtPair {
	p := &rtPair{env: env, prefix: prefix, users: map[rtMode]string{}, seen: acctest.SeenTokens{}}
	for _, m := range rtModes {
		p.users[m] = env.UserID(name + "-" + m.name)
	}
	return p
}

func (p *rtPair) addr(m rtMode) string { return "point_refresh_token." + p.prefix + m.name }

func (p *rtPair) ids() []string { return []string{p.users[rtStored], p.users[rtFree]} }

func (p *rtPair) configFor(providerBlock, args string) string {
	for _, m := range rtModes {
		providerBlock += rtBlock("resource", "point_user", p.prefix+m.name, fmt.Sprintf("user_id = %q", p.users[m])) +
			rtBlock("resource", "point_refresh_token", p.prefix+m.name,
				fmt.Sprintf("user_id = point_user.%s%s.user_id\n%s%s", p.prefix, m.name, m.arg, args))
	}
	return providerBlock
}

func rtBlock(kind, typ, name string, args ...string) string {
	return fmt.Sprintf("\n%s %q %q {\n  %s\n}\n", kind, typ, name, strings.Join(args, "\n  "))
}

func (p *rtPair) check(version int64) resource.TestCheckFunc { return p.checkModes(version, version) }

func (p *rtPair) checkModes(stored, free int64) resource.TestCheckFunc {
	return resource.ComposeAggregateTestCheckFunc(
		rtCheckTracked(p.env, p.addr(rtStored), p.users[rtStored], true, stored, nil),
		rtCheckTracked(p.env, p.addr(rtFree), p.users[rtFree], false, free, p.seen),
	)
}

func (p *rtPair) rotateOutside(into map[rtMode]string) {
	for _, m := range rtModes {
		into[m] = p.env.RotateRefreshToken(p.users[m])
	}
}

func (p *rtPair) each(check func(m rtMode, userID string) error) resource.TestCheckFunc {
	return func(*terraform.State) error {
		var errs []error
		for _, m := range rtModes {
			errs = append(errs, check(m, p.users[m]))
		}
		return errors.Join(errs...)
	}
}

// capture records each user's current token; the checks that read it fail on a token that is not there.
func (p *rtPair) capture(into map[rtMode]string) resource.TestCheckFunc {
	return p.each(func(m rtMode, userID string) error { into[m] = p.env.CurrentRefreshToken(userID); return nil })
}

func (p *rtPair) refused(tokens map[rtMode]string) resource.TestCheckFunc {
	return p.each(func(m rtMode, userID string) error { return p.env.CheckRefreshTokenRefused(userID, tokens[m]) })
}

func (p *rtPair) unchanged(tokens map[rtMode]string) resource.TestCheckFunc {
	return p.each(func(m rtMode, userID string) error {
		return acctest.RefreshTokenUnchanged(p.env, userID, new(tokens[m]))(nil)
	})
}

// tracks checks, on state alone, that each resource tracks the token recorded in tokens.
func (p *rtPair) tracks(tokens map[rtMode]string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		for _, m := range rtModes {
			rs, ok := s.RootModule().Resources[p.addr(m)]
			if !ok || tokens[m] == "" || rs.Primary.Attributes["token_sha256"] != tokenSHA256(tokens[m]) ||
				m.store && rs.Primary.Attributes["token"] != tokens[m] {
				return fmt.Errorf("%s is not in state with the token recorded for %q", p.addr(m), p.users[m])
			}
		}
		return nil
	}
}

// plannedToken: token is null out of state, else unknown with newToken (issued at the apply) or kept.
func (p *rtPair) plannedToken(m rtMode, newToken bool) plancheck.PlanCheck {
	switch {
	case !m.store:
		return rtPlanKnown(p.addr(m), "token", knownvalue.Null())
	case newToken:
		return rtPlanUnknown(p.addr(m), "token")
	}
	return rtPlanKnown(p.addr(m), "token", knownvalue.NotNull())
}

func rtEach[C any](f func(m rtMode) []C) []C {
	var checks []C
	for _, m := range rtModes {
		checks = append(checks, f(m)...)
	}
	return checks
}

// planUpdate: each resource is updated in place at token_version version; with rotate, token,
// token_sha256, issued_at and rotate_at are unknown until the apply, and without, they are kept.
func (p *rtPair) planUpdate(version int64, rotate bool) []plancheck.PlanCheck {
	return rtEach(func(m rtMode) []plancheck.PlanCheck {
		addr := p.addr(m)
		checks := []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
			p.plannedToken(m, rotate), rtPlanKnown(addr, "id", knownvalue.StringExact(p.users[m])),
			rtPlanKnown(addr, "token_version", knownvalue.Int64Exact(version))}
		if rotate {
			return append(checks, rtPlanUnknown(addr, "token_sha256"), rtPlanUnknown(addr, "issued_at"), rtPlanUnknown(addr, "rotate_at"))
		}
		return append(checks, rtPlanKnown(addr, "token_sha256", knownvalue.NotNull()))
	})
}

func (p *rtPair) planReplaced() []plancheck.PlanCheck {
	return rtEach(func(m rtMode) []plancheck.PlanCheck {
		return []plancheck.PlanCheck{p.plannedToken(m, true),
			plancheck.ExpectResourceAction(p.addr(m), plancheck.ResourceActionCreateBeforeDestroy)}
	})
}

func (p *rtPair) stateTimes(issuedAt, rotateAt knownvalue.Check) []statecheck.StateCheck {
	return rtEach(func(m rtMode) []statecheck.StateCheck {
		return []statecheck.StateCheck{rtStateKnown(p.addr(m), "issued_at", issuedAt), rtStateKnown(p.addr(m), "rotate_at", rotateAt)}
	})
}

// rtCheckTracked: the token at addr is userID's current one, which Point accepts, with its fingerprint
// and version; without store, neither it nor any token in seen is in any attribute in state.
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

func rtPlanUnknown(addr, attr string) plancheck.PlanCheck {
	return plancheck.ExpectUnknownValue(addr, tfjsonpath.New(attr))
}

func rtPlanKnown(addr, attr string, v knownvalue.Check) plancheck.PlanCheck {
	return plancheck.ExpectKnownValue(addr, tfjsonpath.New(attr), v)
}

func rtStateKnown(addr, attr string, v knownvalue.Check) statecheck.StateCheck {
	return statecheck.ExpectKnownValue(addr, tfjsonpath.New(attr), v)
}

func rtAt(t time.Time) knownvalue.Check { return knownvalue.StringExact(acctest.FormatRFC3339(t)) }

func rtTokenConfig(env *acctest.Env, providerBlock, userID, args string) string {
	return providerBlock + strings.TrimPrefix(acctest.RefreshTokenConfig(env, userID, args), env.ProviderBlock())
}
