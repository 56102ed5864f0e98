package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
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

// TestAccRefreshTokens_lifecycle runs the bulk pairs test (stored, rotated), free (store_token = false)
// and adopted (imported users, changed out of band), and the point_users policy under the same applies.
func TestAccRefreshTokens_lifecycle(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	front, endpoint := acctest.NewCountingFront(t, env)
	expect := func(route string, ids []string, want int) resource.TestCheckFunc {
		return func(*terraform.State) error { return front.Expect(route, ids, want) }
	}
	refused := func(ids []string, tokens *map[string]string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			for _, id := range ids {
				if err := env.CheckRefreshTokenRefused(id, (*tokens)[id]); err != nil {
					return err
				}
			}
			return nil
		}
	}
	provider := acctest.ProviderBlockFor(env, endpoint, 3)
	ids, free := acctest.NumberedUserIDs(env, "rotation", 20), acctest.NumberedUserIDs(env, "tokenfree", 12)
	adopted, people := acctest.NumberedUserIDs(env, "import", 20), acctest.NumberedUserIDs(env, "users", 60)
	first, second, third := people[:50], people[5:60], people[10:60]
	early, late := ids[:10], ids[10:]
	rotated, revoked := free[2], free[6]
	rotatedOutside, revokedOutside, gone := adopted[3], adopted[5], adopted[7]
	const tokensAddr, freeAddr, adoptedAddr = acctest.RefreshTokensAddr, "point_refresh_tokens.free", "point_refresh_tokens.adopted"
	const policyAddr = "point_users.policy"
	existing := map[string]string{}
	for _, id := range adopted {
		existing[id] = env.AddUser(id)
	}
	pair := func(name string, ids []string, tokensArgs string) string {
		return fmt.Sprintf("\nresource \"point_users\" %[1]q {\n  user_ids = %[2]s\n}\n\nresource \"point_refresh_tokens\" %[1]q {\n"+
			"  user_ids = point_users.%[1]s.user_ids\n%[3]s}\n", name, acctest.HCLList(ids), tokensArgs)
	}
	// The import id is a literal list: an import block cannot refer to the resource it imports.
	config := func(stored []string, storedArgs, freeArgs, adoptedArgs string) string {
		return acctest.BulkConfig(provider, stored, "", storedArgs) + pair("free", free, freeArgs) + pair("adopted", adopted, adoptedArgs) +
			importBlock("point_users.adopted", strings.Join(adopted, ",")) + importBlock(adoptedAddr, strings.Join(adopted, ","))
	}
	users := func(ids []string, args string) string {
		return fmt.Sprintf("\nresource \"point_users\" \"policy\" {\n  user_ids = %s\n%s}\n", acctest.HCLList(ids), args)
	}
	policy := func(name string) string { return fmt.Sprintf("  deletion_policy = %q\n", name) }
	t0 := env.Clock.Now()
	rotateAfter, generation := "  rotate_after = \"2h\"\n", "  rotation_triggers = { generation = \"1\" }\n"
	tokenFree, freeTriggers := "  store_token = false\n", "  store_token = false\n"+generation
	timeAt := func(attr, id string, at time.Time) statecheck.StateCheck {
		return statecheck.ExpectKnownValue(tokensAddr, tfjsonpath.New(attr).AtMapKey(id), knownvalue.StringExact(acctest.FormatRFC3339(at)))
	}
	freeTokensNull := plancheck.ExpectKnownValue(freeAddr, tfjsonpath.New("tokens"), knownvalue.Null())
	everyVersion := func(ids []string, version int64) knownvalue.Check {
		checks := map[string]knownvalue.Check{}
		for _, id := range ids {
			checks[id] = knownvalue.Int64Exact(version)
		}
		return knownvalue.MapExact(checks)
	}
	tokenVersions := func(addr string, ids []string, version int64) statecheck.StateCheck {
		return statecheck.ExpectKnownValue(addr, tfjsonpath.New("token_version"), everyVersion(ids, version))
	}
	usersInPoint := func(ids []string, tokens bool) resource.TestCheckFunc {
		return func(*terraform.State) error {
			for _, id := range ids {
				if !env.HasUser(id) {
					return fmt.Errorf("Point has no user %q", id)
				}
				if has := env.CurrentRefreshToken(id) != ""; has != tokens {
					return fmt.Errorf("Point user %q has a current refresh token: %t, want %t", id, has, tokens)
				}
			}
			return nil
		}
	}
	policyIDs := func(ids []string) statecheck.StateCheck {
		checks := make([]knownvalue.Check, len(ids))
		for i, id := range ids {
			checks[i] = knownvalue.StringExact(id)
		}
		return statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("user_ids"), knownvalue.ListExact(checks))
	}
	unknownKeys := func(addr, attr string, keys ...string) acctest.PlanUnknownKeys {
		return acctest.PlanUnknownKeys{Addr: addr, Attr: attr, Keys: keys}
	}
	plannedVersion := func(id string, version int64) plancheck.PlanCheck {
		return plancheck.ExpectKnownValue(freeAddr, tfjsonpath.New("token_version").AtMapKey(id), knownvalue.Int64Exact(version))
	}
	var initial, afterAdd, afterDue, afterTriggers, afterOutOfBand map[string]string
	fingerprintsBefore, currentFree := map[string]string{}, map[string]knownvalue.Check{}
	for _, id := range free {
		currentFree[id] = acctest.IsCurrentRefreshToken(env, id)
	}
	noFreeTokens := stateCheckFunc(func(s *tfjson.State) error {
		raw, err := json.Marshal(s)
		if err != nil {
			return err
		}
		fingerprints := map[string]any{}
		for _, r := range s.Values.RootModule.Resources {
			if r.Address == freeAddr {
				if r.AttributeValues["tokens"] != nil {
					return fmt.Errorf("tokens is %v in state, want null", r.AttributeValues["tokens"])
				}
				fingerprints, _ = r.AttributeValues["token_sha256"].(map[string]any)
			}
		}
		for _, id := range free {
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
	captureFingerprints := stateCheckFunc(func(s *tfjson.State) error {
		for _, id := range free {
			fingerprintsBefore[id] = tokenSHA256(env.CurrentRefreshToken(id))
		}
		return nil
	})
	sameTokens := stateCheckFunc(func(*tfjson.State) error {
		for _, id := range free {
			if tokenSHA256(env.CurrentRefreshToken(id)) != fingerprintsBefore[id] {
				return fmt.Errorf("the token of %q changed", id)
			}
		}
		return noWriteSucceeded(front)(nil)
	})

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		// The destroy abandons every user of policy.
		CheckDestroy: resource.ComposeAggregateTestCheckFunc(acctest.NoCurrentRefreshToken(env, slices.Concat(ids, free, adopted)...),
			usersInPoint(third, true)),
		Steps: []resource.TestStep{
			{
				Config:           config(early, rotateAfter, tokenFree, "") + users(first, ""),
				ConfigPlanChecks: settles(freeTokensNull),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectSensitiveValue(tokensAddr, tfjsonpath.New("tokens")),
					timeAt("issued_at", early[0], t0), timeAt("rotate_at", early[0], t0.Add(2*time.Hour)),
					noFreeTokens, tokenVersions(freeAddr, free, 1),
					statecheck.ExpectKnownValue(adoptedAddr, tfjsonpath.New("issued_at"), knownvalue.MapExact(map[string]knownvalue.Check{})),
					statecheck.ExpectKnownValue("point_users.adopted", tfjsonpath.New("deletion_policy"), knownvalue.StringExact(deletionAbandon)),
					policyIDs(first),
					statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("deletion_policy"), knownvalue.StringExact(deletionAbandon)),
					statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("max_concurrency"), knownvalue.Int64Exact(10)),
				},
				// The import registers no user and issues no token.
				Check: resource.ComposeAggregateTestCheckFunc(acctest.CheckStateTokens(env, tokensAddr, early, &initial),
					acctest.CheckStateTokens(env, adoptedAddr, adopted, nil), acctest.SameStateTokens(adoptedAddr, adopted, &existing),
					usersInPoint(first, true), expect(sandbox.RouteCreateUser, slices.Concat(early, free, first), 1),
					expect(sandbox.RouteIssueRefreshToken, slices.Concat(early, free), 1)),
			},
			{
				// An hour later, ten more users: only their tokens are issued. Triggers set on adopted for
				// the first time rotate nothing. ABANDON: users removed from policy stay, tokens and all.
				PreConfig: func() { env.Clock.Advance(time.Hour); front.Reset() },
				Config:    config(ids, rotateAfter, tokenFree, generation) + users(second, "  max_concurrency = 3\n"),
				ConfigPlanChecks: settles(unknownKeys(tokensAddr, "issued_at", late...), unknownKeys(tokensAddr, "tokens", late...),
					plancheck.ExpectResourceAction(adoptedAddr, plancheck.ResourceActionUpdate), unknownKeys(adoptedAddr, "tokens"),
					plancheck.ExpectResourceAction(policyAddr, plancheck.ResourceActionUpdate),
					acctest.PlanListChange{Addr: policyAddr, Attr: "user_ids", Added: people[50:60], Removed: people[:5]}),
				ConfigStateChecks: []statecheck.StateCheck{
					timeAt("issued_at", early[0], t0), timeAt("issued_at", late[0], t0.Add(time.Hour)), policyIDs(second),
				},
				Check: resource.ComposeAggregateTestCheckFunc(acctest.CheckStateTokens(env, tokensAddr, ids, &afterAdd),
					acctest.SameStateTokens(tokensAddr, early, &initial), acctest.SameStateTokens(adoptedAddr, adopted, &existing),
					usersInPoint(people, true), expect(sandbox.RouteCreateUser, slices.Concat(late, people[50:60]), 1),
					expect(sandbox.RouteIssueRefreshToken, late, 1), expect(sandbox.RouteRevokeRefreshToken, nil, 0)),
			},
			{
				// At t0+2h30m the first ten are due and the others are not. Out of band, a token of adopted
				// is rotated (the new one is adopted as it is) and one revoked (issued again). A change of
				// deletion_policy alone registers and revokes nothing.
				PreConfig: func() {
					env.Clock.Advance(90 * time.Minute)
					existing[rotatedOutside] = env.RotateRefreshToken(rotatedOutside)
					env.RevokeRefreshToken(revokedOutside)
					front.Reset()
				},
				Config: config(ids, rotateAfter, tokenFree, generation) + users(second, policy(deletionRevoke)),
				ConfigPlanChecks: settles(plancheck.ExpectResourceAction(tokensAddr, plancheck.ResourceActionUpdate),
					unknownKeys(tokensAddr, "tokens", early...), unknownKeys(tokensAddr, "issued_at", early...),
					unknownKeys(tokensAddr, "rotate_at", early...),
					plancheck.ExpectResourceAction("point_users.adopted", plancheck.ResourceActionNoop),
					plancheck.ExpectResourceAction(adoptedAddr, plancheck.ResourceActionUpdate),
					unknownKeys(adoptedAddr, "tokens", revokedOutside), unknownKeys(adoptedAddr, "issued_at", revokedOutside)),
				// issued_at records the token issued again, and no other.
				ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownValue(adoptedAddr, tfjsonpath.New("issued_at"),
					knownvalue.MapExact(map[string]knownvalue.Check{revokedOutside: knownvalue.NotNull()}))},
				Check: resource.ComposeAggregateTestCheckFunc(acctest.CheckStateTokens(env, tokensAddr, ids, &afterDue),
					acctest.SameStateTokens(tokensAddr, late, &afterAdd), refused(early, &afterAdd),
					acctest.CheckStateTokens(env, adoptedAddr, adopted, &afterOutOfBand),
					acctest.SameStateTokens(adoptedAddr, without(adopted, []string{revokedOutside}), &existing),
					expect(sandbox.RouteIssueRefreshToken, append([]string{revokedOutside}, early...), 1),
					expect(sandbox.RouteCreateUser, nil, 0), expect(sandbox.RouteRevokeRefreshToken, nil, 0)),
			},
			{
				// Triggers set for the first time rotate every token Terraform issued: here, all of them,
				// and every version of free grows. REVOKE: removed users' tokens are revoked; the users stay.
				PreConfig: front.Reset,
				Config:    config(ids, rotateAfter+generation, freeTriggers, generation) + users(third, policy(deletionRevoke)),
				ConfigPlanChecks: preApply(unknownKeys(tokensAddr, "tokens", ids...), freeTokensNull,
					acctest.PlanListChange{Addr: policyAddr, Attr: "user_ids", Removed: people[5:10]},
					unknownKeys(freeAddr, "token_sha256", free...),
					plancheck.ExpectKnownValue(freeAddr, tfjsonpath.New("token_version"), everyVersion(free, 2))),
				ConfigStateChecks: []statecheck.StateCheck{noFreeTokens, tokenVersions(freeAddr, free, 2)},
				Check: resource.ComposeAggregateTestCheckFunc(acctest.CheckStateTokens(env, tokensAddr, ids, &afterTriggers),
					refused(ids, &afterDue), expect(sandbox.RouteIssueRefreshToken, slices.Concat(ids, free), 1),
					usersInPoint(people[5:10], false), usersInPoint(third, true),
					expect(sandbox.RouteRevokeRefreshToken, people[5:10], 1)),
			},
			{
				// Removing users revokes their tokens and no others. Out of band, a token of free is rotated
				// (adopted, its version grows) and one revoked (issued again, its version grows). A user of
				// adopted is gone from Point: it is registered again, and its token issued.
				PreConfig: func() {
					env.RotateRefreshToken(rotated)
					env.RevokeRefreshToken(revoked)
					front.Reset()
					front.Vanish(gone)
				},
				Config: config(ids[:15], rotateAfter+generation, freeTriggers, generation) + users(third, policy(deletionPrevent)),
				ConfigPlanChecks: settles(acctest.PlanListChange{Addr: tokensAddr, Attr: "user_ids", Removed: ids[15:]},
					unknownKeys(tokensAddr, "tokens"), unknownKeys(freeAddr, "token_sha256", revoked),
					plannedVersion(revoked, 3), plannedVersion(rotated, 3), plannedVersion(free[0], 2),
					plancheck.ExpectResourceAction("point_users.adopted", plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(adoptedAddr, plancheck.ResourceActionUpdate),
					acctest.PlanListChange{Addr: "point_users.adopted", Attr: "user_ids", Added: []string{gone}},
					unknownKeys(adoptedAddr, "issued_at", gone), unknownKeys(adoptedAddr, "tokens", gone)),
				ConfigStateChecks: []statecheck.StateCheck{noFreeTokens, captureFingerprints},
				Check: resource.ComposeAggregateTestCheckFunc(acctest.CheckStateTokens(env, tokensAddr, ids[:15], nil),
					acctest.SameStateTokens(tokensAddr, ids[:15], &afterTriggers), acctest.NoCurrentRefreshToken(env, ids[15:]...),
					acctest.CheckStateTokens(env, adoptedAddr, adopted, nil),
					acctest.SameStateTokens(adoptedAddr, without(adopted, []string{gone}), &afterOutOfBand),
					expect(sandbox.RouteRevokeRefreshToken, ids[15:], 1), expect(sandbox.RouteCreateUser, []string{gone}, 1),
					expect(sandbox.RouteIssueRefreshToken, []string{revoked, gone}, 1)),
			},
			{
				// PREVENT stops a removal at plan time: nothing is revoked.
				PreConfig: front.Reset,
				Config:    config(ids[:15], rotateAfter+generation, freeTriggers, generation) + users(people[15:60], policy(deletionPrevent)),
				ExpectError: acctest.DiagnosticMatching("Point User Deletion Prevented", "removes 5 users from user_ids",
					"The provider stopped the plan"),
			},
			{
				Config:      config(ids[:15], rotateAfter+generation, freeTriggers, generation) + users(third, policy(deletionPrevent)),
				Destroy:     true,
				ExpectError: acctest.DiagnosticMatching("Point User Deletion Prevented", "this plan destroys it, with its 50 users"),
			},
			{
				// free back into state, without rotation; policy back to ABANDON for the destroy at the end.
				PreConfig:        front.Reset,
				Config:           config(ids[:15], rotateAfter+generation, generation, generation) + users(third, policy(deletionAbandon)),
				ConfigPlanChecks: preApply(unknownKeys(freeAddr, "tokens", free...)),
				ConfigStateChecks: []statecheck.StateCheck{
					sameTokens, statecheck.ExpectKnownValue(freeAddr, tfjsonpath.New("tokens"), knownvalue.MapExact(currentFree)),
				},
				Check: usersInPoint(third, true),
			},
			{
				// And out again, with a warning, without rotation; an import
				// of some of the same tokens never writes them to state.
				PreConfig: front.Reset,
				Config: config(ids[:15], rotateAfter+generation, freeTriggers, generation) + users(third, policy(deletionAbandon)) +
					importBlock("point_refresh_tokens.imported", strings.Join(free[:4], ",")+importSuffixTokenFree) +
					fmt.Sprintf("\nresource \"point_refresh_tokens\" \"imported\" {\n  user_ids    = %s\n  store_token = false\n}\n", acctest.HCLList(free[:4])),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("point_refresh_tokens.imported", tfjsonpath.New("tokens"), knownvalue.Null()),
					tokenVersions("point_refresh_tokens.imported", free[:4], 1), noFreeTokens, sameTokens,
				},
			},
			{
				// Forget the imported copy without revoking what free owns.
				Config: config(ids[:15], rotateAfter+generation, freeTriggers, generation) + users(third, policy(deletionAbandon)) +
					removedBlocks("point_refresh_tokens.imported"),
				ConfigStateChecks: []statecheck.StateCheck{sameTokens},
			},
		},
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
