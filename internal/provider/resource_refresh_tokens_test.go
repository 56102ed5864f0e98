package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

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
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						acctest.PlanUnknownKeys{Addr: acctest.RefreshTokensAddr, Attr: "issued_at", Keys: late},
						acctest.PlanUnknownKeys{Addr: acctest.RefreshTokensAddr, Attr: "tokens", Keys: late},
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(acctest.RefreshTokensAddr, tfjsonpath.New("issued_at").AtMapKey(early[0]), knownvalue.StringExact(acctest.FormatRFC3339(t0))),
					statecheck.ExpectKnownValue(acctest.RefreshTokensAddr, tfjsonpath.New("issued_at").AtMapKey(late[0]), knownvalue.StringExact(acctest.FormatRFC3339(t0.Add(time.Hour)))),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CheckStateTokens(env, ids, &afterAdd),
					acctest.SameStateTokens(early, &initial),
					func(*terraform.State) error { return front.Expect(sandbox.RouteIssueRefreshToken, late, 1) },
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
					func(*terraform.State) error { return front.Expect(sandbox.RouteIssueRefreshToken, early, 1) },
				),
			},
			{
				// Triggers set for the first time rotate every token that
				// Terraform issued: here, all of them.
				PreConfig: front.Reset,
				Config:    acctest.BulkConfig(provider, ids, "", triggers),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{acctest.PlanUnknownKeys{Addr: acctest.RefreshTokensAddr, Attr: "tokens", Keys: ids}},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CheckStateTokens(env, ids, &afterTriggers),
					checkTokensRefused(env, ids, &afterDue),
					func(*terraform.State) error { return front.Expect(sandbox.RouteIssueRefreshToken, ids, 1) },
				),
			},
			{
				// Removing users revokes their tokens and no others.
				PreConfig: front.Reset,
				Config:    acctest.BulkConfig(provider, ids[:15], "", triggers),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						acctest.PlanListChange{Addr: acctest.RefreshTokensAddr, Attr: "user_ids", Removed: ids[15:]},
						acctest.PlanUnknownKeys{Addr: acctest.RefreshTokensAddr, Attr: "tokens"},
					},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CheckStateTokens(env, ids[:15], nil),
					acctest.SameStateTokens(ids[:15], &afterTriggers),
					acctest.NoCurrentRefreshToken(env, ids[15:]...),
					func(*terraform.State) error { return front.Expect(sandbox.RouteRevokeRefreshToken, ids[15:], 1) },
					func(*terraform.State) error { return front.Expect(sandbox.RouteIssueRefreshToken, nil, 0) },
				),
			},
		},
	})
}

// TestAccRefreshTokens_outOfBand: a token rotated outside Terraform is
// adopted, and one revoked outside Terraform is issued again, each for its
// own user alone.
func TestAccRefreshTokens_outOfBand(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	front, endpoint := acctest.NewCountingFront(t, env)
	provider := acctest.ProviderBlockFor(env, endpoint, 3)
	ids := acctest.NumberedUserIDs(env, "oob", 20)
	rotated, revoked := ids[3], ids[5]
	config := acctest.BulkConfig(provider, ids, "", "")
	var before map[string]string
	var outside string

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, ids...),
		Steps: []resource.TestStep{
			{
				Config: config,
				Check:  acctest.CheckStateTokens(env, ids, &before),
			},
			{
				PreConfig: func() {
					outside = env.RotateRefreshToken(rotated)
					env.RevokeRefreshToken(revoked)
					front.Reset()
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.UsersAddr, plancheck.ResourceActionNoop),
						plancheck.ExpectResourceAction(acctest.RefreshTokensAddr, plancheck.ResourceActionUpdate),
						acctest.PlanUnknownKeys{Addr: acctest.RefreshTokensAddr, Attr: "tokens", Keys: []string{revoked}},
						acctest.PlanUnknownKeys{Addr: acctest.RefreshTokensAddr, Attr: "issued_at", Keys: []string{revoked}},
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(acctest.RefreshTokensAddr, tfjsonpath.New("tokens").AtMapKey(rotated), knownvalue.StringFunc(func(v string) error {
						if v != outside {
							return fmt.Errorf("the token rotated outside Terraform was not adopted")
						}
						return nil
					})),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CheckStateTokens(env, ids, nil),
					acctest.SameStateTokens(without(ids, []string{rotated, revoked}), &before),
					func(s *terraform.State) error {
						issued, err := acctest.StateMap(s, acctest.RefreshTokensAddr, "issued_at")
						if err != nil {
							return err
						}
						if _, ok := issued[rotated]; ok {
							return fmt.Errorf("issued_at still has the token rotated outside Terraform")
						}
						if _, ok := issued[revoked]; !ok {
							return fmt.Errorf("issued_at has no entry for the token issued again")
						}
						return nil
					},
					func(*terraform.State) error {
						return front.Expect(sandbox.RouteIssueRefreshToken, []string{revoked}, 1)
					},
				),
			},
		},
	})
}

// TestAccBulk_import adopts users that exist in Point, and their current
// tokens, without rotating them; triggers then set for the first time are
// recorded without rotation too.
func TestAccBulk_import(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	front, endpoint := acctest.NewCountingFront(t, env)
	provider := acctest.ProviderBlockFor(env, endpoint, 3)
	ids := acctest.NumberedUserIDs(env, "import", 20)
	existing := map[string]string{}
	for _, id := range ids {
		existing[id] = env.AddUser(id)
	}
	// The import id refers to a literal list: an import block cannot refer to
	// the resource it imports.
	config := func(tokensArgs string) string {
		return acctest.BulkConfig(provider, ids, "", tokensArgs) + fmt.Sprintf(`
import {
  to = point_users.test
  id = %[1]q
}

import {
  to = point_refresh_tokens.test
  id = %[1]q
}
`, strings.Join(ids, ","))
	}

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_5_0)},
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, ids...),
		Steps: []resource.TestStep{
			{
				PreConfig: front.Reset,
				Config:    config(""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(acctest.RefreshTokensAddr, tfjsonpath.New("issued_at"), knownvalue.MapExact(map[string]knownvalue.Check{})),
					statecheck.ExpectKnownValue(acctest.UsersAddr, tfjsonpath.New("deletion_policy"), knownvalue.StringExact(deletionAbandon)),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CheckStateTokens(env, ids, nil),
					acctest.SameStateTokens(ids, &existing),
					func(*terraform.State) error { return front.Expect(sandbox.RouteCreateUser, nil, 0) },
					func(*terraform.State) error { return front.Expect(sandbox.RouteIssueRefreshToken, nil, 0) },
				),
			},
			{
				PreConfig: front.Reset,
				Config:    config("  rotation_triggers = { generation = \"1\" }\n"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(acctest.RefreshTokensAddr, plancheck.ResourceActionUpdate),
						acctest.PlanUnknownKeys{Addr: acctest.RefreshTokensAddr, Attr: "tokens"},
					},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.SameStateTokens(ids, &existing),
					func(*terraform.State) error { return front.Expect(sandbox.RouteIssueRefreshToken, nil, 0) },
				),
			},
		},
	})
}

// TestAccBulk_importErrors: an import ID that is not a list of valid ids,
// a user Point does not have, and a user without a token each fail the
// import with the provider's own error.
func TestAccBulk_importErrors(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	provider := env.ProviderBlock()
	ids := acctest.NumberedUserIDs(env, "import-err", 3)
	env.AddUser(ids[0])
	env.AddUser(ids[1])
	env.RevokeRefreshToken(ids[1])
	missing := ids[2]
	importBlock := func(to, id string) string {
		return fmt.Sprintf("\nimport {\n  to = %s\n  id = %q\n}\n", to, id)
	}

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_5_0)},
		Steps: []resource.TestStep{
			{
				Config:      acctest.PointUsersConfig(provider, ids[:1], "") + importBlock(acctest.UsersAddr, ids[0]+",,"+ids[1]),
				ExpectError: acctest.DiagnosticMatching("Invalid Import ID", "a list of Point user ids separated by commas", `Got ""`),
			},
			{
				Config:      acctest.PointUsersConfig(provider, []string{ids[0], missing}, "") + importBlock(acctest.UsersAddr, ids[0]+","+missing),
				ExpectError: acctest.DiagnosticMatching("Cannot Import Point Users", fmt.Sprintf("Point has no users with 1 of the ids imported (%q)", missing)),
			},
			{
				Config: acctest.BulkConfig(provider, ids[:2], "", "") + importBlock(acctest.UsersAddr, ids[0]+","+ids[1]) +
					importBlock(acctest.RefreshTokensAddr, ids[0]+","+ids[1]),
				ExpectError: acctest.DiagnosticMatching("Cannot Import Point Refresh Tokens", fmt.Sprintf("The users %q have no current refresh token", ids[1])),
			},
		},
	})
}

// TestAccBulk_moveBetweenShapesCLI moves users and tokens from point_user
// and point_refresh_token with for_each to the bulk resources, and back,
// with removed blocks and import blocks, as the guide shows: no user is
// registered again and no token rotated or revoked. It drives the CLI:
// terraform-plugin-testing cannot read state with for_each instances.
func TestAccBulk_moveBetweenShapesCLI(t *testing.T) {
	cli := acctest.NewCLI(t)
	env := acctest.NewEnv(t, sandbox.Options{})
	t.Parallel()
	front, endpoint := acctest.NewCountingFront(t, env)
	provider := acctest.ProviderBlockFor(env, endpoint, 3)
	ids := acctest.NumberedUserIDs(env, "move", 15)
	locals := fmt.Sprintf("locals {\n  user_ids = %s\n}\n", acctest.HCLList(ids))
	singular := `
resource "point_user" "u" {
  for_each = toset(local.user_ids)
  user_id  = each.key
}

resource "point_refresh_token" "u" {
  for_each = toset(local.user_ids)
  user_id  = point_user.u[each.key].user_id
}
`
	bulk := `
resource "point_users" "all" {
  user_ids = local.user_ids
}

resource "point_refresh_tokens" "all" {
  user_ids = point_users.all.user_ids
}
`
	forget := func(addrs ...string) string {
		var b strings.Builder
		for _, addr := range addrs {
			fmt.Fprintf(&b, "\nremoved {\n  from = %s\n  lifecycle {\n    destroy = false\n  }\n}\n", addr)
		}
		return b.String()
	}
	toBulk := provider + locals + bulk + forget("point_user.u", "point_refresh_token.u") + `
import {
  to = point_users.all
  id = join(",", local.user_ids)
}

import {
  to = point_refresh_tokens.all
  id = join(",", local.user_ids)
}
`
	toSingular := provider + locals + singular + forget("point_users.all", "point_refresh_tokens.all") + `
import {
  for_each = toset(local.user_ids)
  to       = point_user.u[each.key]
  id       = each.key
}

import {
  for_each = toset(local.user_ids)
  to       = point_refresh_token.u[each.key]
  id       = each.key
}
`
	// The tokens of the singular shape, by user id, from state.
	singularTokens := func() map[string]string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(cli.Dir, "terraform.tfstate"))
		if err != nil {
			t.Fatal(err)
		}
		var state struct {
			Resources []struct {
				Type      string
				Instances []struct {
					IndexKey   string         `json:"index_key"`
					Attributes map[string]any `json:"attributes"`
				}
			}
		}
		if err := json.Unmarshal(b, &state); err != nil {
			t.Fatal(err)
		}
		tokens := map[string]string{}
		for _, r := range state.Resources {
			for _, inst := range r.Instances {
				if r.Type == "point_refresh_token" {
					tokens[inst.IndexKey], _ = inst.Attributes["token"].(string)
				}
			}
		}
		return tokens
	}
	unchanged := func(step string, got map[string]string, want map[string]string) {
		t.Helper()
		for _, id := range ids {
			if want[id] == "" || got[id] != want[id] {
				t.Errorf("%s: the token of %q is not the one from before the moves", step, id)
			}
			if env.CurrentRefreshToken(id) != want[id] {
				t.Errorf("%s: the token of %q is no longer the user's current one in Point", step, id)
			}
		}
		if err := noWriteSucceeded(front); err != nil {
			t.Errorf("%s: %v", step, err)
		}
	}
	apply := func(config string) {
		t.Helper()
		front.Reset()
		cli.WriteMain(config)
		cli.MustRun(0, "apply", "-input=false", "-auto-approve", "-no-color")
		cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	}

	cli.WriteMain(provider + locals + singular)
	cli.MustRun(0, "apply", "-input=false", "-auto-approve", "-no-color")
	before := singularTokens()
	if len(before) != len(ids) {
		t.Fatalf("state holds %d point_refresh_token.u, want %d", len(before), len(ids))
	}

	apply(toBulk)
	state := acctest.ReadStateFile(t, cli)
	if got := singularTokens(); len(got) != 0 {
		t.Errorf("point_refresh_token.u is still in state after the move: %d instances", len(got))
	}
	unchanged("to the bulk shape", acctest.StateFileTokens(state, "point_refresh_tokens.all"), before)
	if got := acctest.StateFileUserIDs(state, "point_users.all"); !acctest.SameElements(got, ids) {
		t.Errorf("point_users.all holds %v, want %v", got, ids)
	}

	apply(toSingular)
	if got := acctest.ReadStateFile(t, cli); got.Status("point_users.all") != "absent" || got.Status("point_refresh_tokens.all") != "absent" {
		t.Error("the bulk resources are still in state after the move back")
	}
	unchanged("back to the singular shape", singularTokens(), before)

	cli.WriteMain(provider + locals + singular)
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	out := cli.MustRun(0, "destroy", "-input=false", "-auto-approve", "-no-color")
	acctest.ExpectOutput(t, out, "Destroy complete!")
	if err := acctest.NoCurrentRefreshToken(env, ids...)(nil); err != nil {
		t.Error(err)
	}
}

// noWriteSucceeded fails when the front saw a request that registers a
// user or issues or revokes a refresh token succeed.
func noWriteSucceeded(front *acctest.CountingFront) error {
	for _, route := range []string{sandbox.RouteCreateUser, sandbox.RouteIssueRefreshToken, sandbox.RouteRevokeRefreshToken} {
		if err := front.Expect(route, nil, 0); err != nil {
			return err
		}
	}
	return nil
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
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectKnownValue(acctest.RefreshTokensAddr, tfjsonpath.New("tokens"), knownvalue.Null()),
						plancheck.ExpectKnownValue(acctest.RefreshTokensAddr, tfjsonpath.New("token_version"), everyVersion(ids, 2)),
						acctest.PlanUnknownKeys{Addr: acctest.RefreshTokensAddr, Attr: "token_sha256", Keys: ids},
					},
				},
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
				PreConfig: front.Reset,
				Config:    acctest.BulkConfig(provider, ids, "", "  rotation_triggers = { generation = \"1\" }\n"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{acctest.PlanUnknownKeys{Addr: acctest.RefreshTokensAddr, Attr: "tokens", Keys: ids}},
				},
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
