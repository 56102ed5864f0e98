package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// checkTokensRefused checks that Point refuses each of the tokens: they were
// replaced or revoked.
func checkTokensRefused(env *acctest.Env, ids []string, tokens *map[string]string) func(*terraform.State) error {
	return func(*terraform.State) error {
		for _, id := range ids {
			if err := env.CheckRefreshTokenRefused(id, (*tokens)[id]); err != nil {
				return err
			}
		}
		return nil
	}
}

// TestAccRefreshTokens_rotation: each token rotates when its own rotate_at
// passes, and the plan shows only those tokens as unknown; a change of
// rotation_triggers rotates all of them; removing a user revokes that
// user's token, and destroy revokes the rest.
func TestAccRefreshTokens_rotation(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	front, endpoint := acctest.NewCountingFront(t, env)
	provider := acctest.ProviderBlockFor(env, endpoint, 3)
	ids := acctest.NumberedUserIDs(env, "rotation", 20)
	early, late := ids[:10], ids[10:]
	t0 := env.Clock.Now()
	rotateAfter := "  rotate_after = \"2h\"\n"
	triggers := rotateAfter + "  rotation_triggers = { generation = \"1\" }\n"
	var initial, afterAdd, afterDue, afterTriggers map[string]string

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, ids...),
		Steps: []resource.TestStep{
			{
				Config: acctest.BulkConfig(provider, early, "", rotateAfter),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectSensitiveValue(acctest.RefreshTokensAddr, tfjsonpath.New("tokens")),
					statecheck.ExpectKnownValue(acctest.RefreshTokensAddr, tfjsonpath.New("issued_at").AtMapKey(early[0]), knownvalue.StringExact(acctest.FormatRFC3339(t0))),
					statecheck.ExpectKnownValue(acctest.RefreshTokensAddr, tfjsonpath.New("rotate_at").AtMapKey(early[0]), knownvalue.StringExact(acctest.FormatRFC3339(t0.Add(2*time.Hour)))),
				},
				Check: acctest.CheckStateTokens(env, early, &initial),
			},
			{
				// An hour later, ten more users: only their tokens are issued.
				PreConfig: func() { env.Clock.Advance(time.Hour); front.Reset() },
				Config:    acctest.BulkConfig(provider, ids, "", rotateAfter),
				ConfigPlanChecks: preApply(
					acctest.PlanUnknownKeys{Addr: acctest.RefreshTokensAddr, Attr: "issued_at", Keys: late},
					acctest.PlanUnknownKeys{Addr: acctest.RefreshTokensAddr, Attr: "tokens", Keys: late},
				),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(acctest.RefreshTokensAddr, tfjsonpath.New("issued_at").AtMapKey(early[0]), knownvalue.StringExact(acctest.FormatRFC3339(t0))),
					statecheck.ExpectKnownValue(acctest.RefreshTokensAddr, tfjsonpath.New("issued_at").AtMapKey(late[0]), knownvalue.StringExact(acctest.FormatRFC3339(t0.Add(time.Hour)))),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CheckStateTokens(env, ids, &afterAdd),
					acctest.SameStateTokens(early, &initial),
					frontExpects(front, sandbox.RouteIssueRefreshToken, late, 1),
				),
			},
			{
				// At t0+2h30m the first ten are due and the others are not.
				PreConfig: func() { env.Clock.Advance(90 * time.Minute); front.Reset() },
				Config:    acctest.BulkConfig(provider, ids, "", rotateAfter),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokensAddr, plancheck.ResourceActionUpdate),
						acctest.PlanUnknownKeys{Addr: acctest.RefreshTokensAddr, Attr: "tokens", Keys: early},
						acctest.PlanUnknownKeys{Addr: acctest.RefreshTokensAddr, Attr: "issued_at", Keys: early},
						acctest.PlanUnknownKeys{Addr: acctest.RefreshTokensAddr, Attr: "rotate_at", Keys: early},
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CheckStateTokens(env, ids, &afterDue),
					acctest.SameStateTokens(late, &afterAdd),
					checkTokensRefused(env, early, &afterAdd),
					frontExpects(front, sandbox.RouteIssueRefreshToken, early, 1),
				),
			},
			{
				// Triggers set for the first time rotate every token that
				// Terraform issued: here, all of them.
				PreConfig:        front.Reset,
				Config:           acctest.BulkConfig(provider, ids, "", triggers),
				ConfigPlanChecks: preApply(acctest.PlanUnknownKeys{Addr: acctest.RefreshTokensAddr, Attr: "tokens", Keys: ids}),
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CheckStateTokens(env, ids, &afterTriggers),
					checkTokensRefused(env, ids, &afterDue),
					frontExpects(front, sandbox.RouteIssueRefreshToken, ids, 1),
				),
			},
			{
				// Removing users revokes their tokens and no others.
				PreConfig: front.Reset,
				Config:    acctest.BulkConfig(provider, ids[:15], "", triggers),
				ConfigPlanChecks: preApply(
					acctest.PlanListChange{Addr: acctest.RefreshTokensAddr, Attr: "user_ids", Removed: ids[15:]},
					acctest.PlanUnknownKeys{Addr: acctest.RefreshTokensAddr, Attr: "tokens"},
				),
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CheckStateTokens(env, ids[:15], nil),
					acctest.SameStateTokens(ids[:15], &afterTriggers),
					acctest.NoCurrentRefreshToken(env, ids[15:]...),
					frontExpects(front, sandbox.RouteRevokeRefreshToken, ids[15:], 1),
					frontExpects(front, sandbox.RouteIssueRefreshToken, nil, 0),
				),
			},
		},
	})
}

// noTokensInState fails when any token current in Point for ids
// appears anywhere in state, and checks that every fingerprint in state is
// the SHA-256 of the user's current token.
func noTokensInState(env *acctest.Env, ids []string) statecheck.StateCheck {
	return stateCheckFunc(func(s *tfjson.State) error {
		raw, err := json.Marshal(s)
		if err != nil {
			return err
		}
		fingerprints := map[string]any{}
		for _, r := range s.Values.RootModule.Resources {
			if r.Address == acctest.RefreshTokensAddr {
				if r.AttributeValues["tokens"] != nil {
					return fmt.Errorf("tokens is %v in state, want null", r.AttributeValues["tokens"])
				}
				fingerprints, _ = r.AttributeValues["token_sha256"].(map[string]any)
			}
		}
		for _, id := range ids {
			current := env.CurrentRefreshToken(id)
			if current == "" {
				return fmt.Errorf("Point user %q has no current refresh token", id)
			}
			if bytes.Contains(raw, []byte(current)) {
				return fmt.Errorf("state holds the refresh token of %q", id)
			}
			if fingerprints[id] != tokenSHA256(current) {
				return fmt.Errorf("token_sha256 of %q is not the fingerprint of its current token", id)
			}
		}
		return nil
	})
}

// stateCheckFunc is a state check made of a function.
type stateCheckFunc func(*tfjson.State) error

func (f stateCheckFunc) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	if req.State == nil || req.State.Values == nil || req.State.Values.RootModule == nil {
		resp.Error = fmt.Errorf("no state to check")
		return
	}
	resp.Error = f(req.State)
}

func everyVersion(ids []string, version int64) knownvalue.Check {
	checks := map[string]knownvalue.Check{}
	for _, id := range ids {
		checks[id] = knownvalue.Int64Exact(version)
	}
	return knownvalue.MapExact(checks)
}

// TestAccRefreshTokens_tokenFree: with store_token = false no token
// reaches state; each is tracked by its fingerprint and version, through
// rotation, an out-of-band rotation and revocation, a switch to
// store_token = true and back (which neither rotates nor revokes), an
// import that never writes the tokens, and destroy.
func TestAccRefreshTokens_tokenFree(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	front, endpoint := acctest.NewCountingFront(t, env)
	provider := acctest.ProviderBlockFor(env, endpoint, 3)
	ids := acctest.NumberedUserIDs(env, "tokenfree", 12)
	rotated, revoked := ids[2], ids[6]
	free := "  store_token = false\n"
	triggers := free + "  rotation_triggers = { generation = \"1\" }\n"
	var fingerprintsBefore map[string]string
	captureFingerprints := stateCheckFunc(func(s *tfjson.State) error {
		fingerprintsBefore = map[string]string{}
		for _, id := range ids {
			fingerprintsBefore[id] = tokenSHA256(env.CurrentRefreshToken(id))
		}
		return nil
	})
	sameTokens := stateCheckFunc(func(*tfjson.State) error {
		for _, id := range ids {
			if tokenSHA256(env.CurrentRefreshToken(id)) != fingerprintsBefore[id] {
				return fmt.Errorf("the token of %q changed", id)
			}
		}
		return noWriteSucceeded(front)
	})

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, ids...),
		Steps: []resource.TestStep{
			{
				Config: acctest.BulkConfig(provider, ids, "", free),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectKnownValue(acctest.RefreshTokensAddr, tfjsonpath.New("tokens"), knownvalue.Null())},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					noTokensInState(env, ids),
					statecheck.ExpectKnownValue(acctest.RefreshTokensAddr, tfjsonpath.New("token_version"), everyVersion(ids, 1)),
				},
			},
			{
				// Rotation by triggers: every version grows, no token shows.
				PreConfig: front.Reset,
				Config:    acctest.BulkConfig(provider, ids, "", triggers),
				ConfigPlanChecks: preApply(
					plancheck.ExpectKnownValue(acctest.RefreshTokensAddr, tfjsonpath.New("tokens"), knownvalue.Null()),
					plancheck.ExpectKnownValue(acctest.RefreshTokensAddr, tfjsonpath.New("token_version"), everyVersion(ids, 2)),
					acctest.PlanUnknownKeys{Addr: acctest.RefreshTokensAddr, Attr: "token_sha256", Keys: ids},
				),
				ConfigStateChecks: []statecheck.StateCheck{
					noTokensInState(env, ids),
					statecheck.ExpectKnownValue(acctest.RefreshTokensAddr, tfjsonpath.New("token_version"), everyVersion(ids, 2)),
					stateCheckFunc(func(*tfjson.State) error { return front.Expect(sandbox.RouteIssueRefreshToken, ids, 1) }),
				},
			},
			{
				// Out of band: one rotated (adopted, its version grows), one
				// revoked (issued again, its version grows).
				PreConfig: func() {
					env.RotateRefreshToken(rotated)
					env.RevokeRefreshToken(revoked)
					front.Reset()
				},
				Config: acctest.BulkConfig(provider, ids, "", triggers),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						acctest.PlanUnknownKeys{Addr: acctest.RefreshTokensAddr, Attr: "token_sha256", Keys: []string{revoked}},
						plancheck.ExpectKnownValue(acctest.RefreshTokensAddr, tfjsonpath.New("token_version").AtMapKey(revoked), knownvalue.Int64Exact(3)),
						plancheck.ExpectKnownValue(acctest.RefreshTokensAddr, tfjsonpath.New("token_version").AtMapKey(rotated), knownvalue.Int64Exact(3)),
						plancheck.ExpectKnownValue(acctest.RefreshTokensAddr, tfjsonpath.New("token_version").AtMapKey(ids[0]), knownvalue.Int64Exact(2)),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					noTokensInState(env, ids),
					stateCheckFunc(func(*tfjson.State) error {
						return front.Expect(sandbox.RouteIssueRefreshToken, []string{revoked}, 1)
					}),
					captureFingerprints,
				},
			},
			{
				// Back into state, without rotation.
				PreConfig:         front.Reset,
				Config:            acctest.BulkConfig(provider, ids, "", "  rotation_triggers = { generation = \"1\" }\n"),
				ConfigPlanChecks:  preApply(acctest.PlanUnknownKeys{Addr: acctest.RefreshTokensAddr, Attr: "tokens", Keys: ids}),
				ConfigStateChecks: []statecheck.StateCheck{sameTokens},
				Check:             acctest.CheckStateTokens(env, ids, nil),
			},
			{
				// And out again, with a warning, without rotation.
				PreConfig: front.Reset,
				Config:    acctest.BulkConfig(provider, ids, "", triggers),
				ConfigStateChecks: []statecheck.StateCheck{
					noTokensInState(env, ids),
					sameTokens,
				},
			},
			{
				// Import without the tokens ever reaching state.
				PreConfig: front.Reset,
				Config: acctest.BulkConfig(provider, ids, "", triggers) + fmt.Sprintf("\nimport {\n  to = %s\n  id = %q\n}\n",
					"point_refresh_tokens.imported", strings.Join(ids[:4], ",")+importSuffixTokenFree) +
					fmt.Sprintf("\nresource \"point_refresh_tokens\" \"imported\" {\n  user_ids    = %s\n  store_token = false\n}\n", acctest.HCLList(ids[:4])),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("point_refresh_tokens.imported", tfjsonpath.New("tokens"), knownvalue.Null()),
					statecheck.ExpectKnownValue("point_refresh_tokens.imported", tfjsonpath.New("token_version"), everyVersion(ids[:4], 1)),
					noTokensInState(env, ids),
					sameTokens,
				},
			},
			{
				// Forget the imported copy without revoking what the other owns.
				Config:            acctest.BulkConfig(provider, ids, "", triggers) + "\nremoved {\n  from = point_refresh_tokens.imported\n  lifecycle {\n    destroy = false\n  }\n}\n",
				ConfigStateChecks: []statecheck.StateCheck{sameTokens},
			},
		},
	})
}
