package provider

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	tfconfig "github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/devenv"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

const actionTestType = "point_revoke_refresh_token"

// requestCounts returns the sandbox's request counts by route; nil (all 0) against real Point.
func requestCounts(env *acctest.Env) map[string]int {
	if env.Sandbox == nil {
		return nil
	}
	return env.Sandbox.RequestCounts()
}

func preApply(checks ...plancheck.PlanCheck) resource.ConfigPlanChecks {
	return resource.ConfigPlanChecks{PreApply: checks}
}

// preApplyActions checks the action planned for each address, given in pairs: address, action.
func preApplyActions(pairs ...any) resource.ConfigPlanChecks {
	var checks []plancheck.PlanCheck
	for i := 0; i+1 < len(pairs); i += 2 {
		addr, _ := pairs[i].(string)
		action, _ := pairs[i+1].(plancheck.ResourceActionType)
		checks = append(checks, plancheck.ExpectResourceAction(addr, action))
	}
	return preApply(checks...)
}

// actionTestExample returns the docs' action_trigger example of the action.
func actionTestExample(t *testing.T) string {
	t.Helper()
	root, err := devenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join(root, "examples", "actions", actionTestType, "action-trigger.tf"))
	if err != nil {
		t.Fatal(err)
	}
	return "\n" + string(example)
}

// The incident runbook through the CLI: invoking the action revokes the token in Point and leaves
// state alone; again, finds nothing to revoke; the apply issues a new token. A user Point lacks fails.
func TestAccRevokeRefreshTokenAction_invoke(t *testing.T) {
	cli := acctest.NewCLI(t)
	acctest.SkipWithoutActions(t, "Invoking an action")
	env := acctest.NewEnv(t, sandbox.Options{})
	userID, ghostID := env.UserID("action-invoke"), env.UserID("action-ghost")
	cli.WriteMain(acctest.RefreshTokenConfig(env, userID, "") + fmt.Sprintf(`
action "point_revoke_refresh_token" "incident" {
  config {
    user_id = point_user.test.user_id
  }
}

action "point_revoke_refresh_token" "ghost" {
  config {
    user_id = %q
  }
}
`, ghostID))
	apply := func(code int, args ...string) string {
		return cli.MustRun(code, append([]string{"apply", "-auto-approve", "-no-color"}, args...)...)
	}
	stateToken := func() string {
		token, _ := acctest.ReadStateFile(t, cli).Attributes(acctest.RefreshTokenAddr)["token"].(string)
		return token
	}
	// The sandbox's revocations; that the action issues no token, the user's lack of one shows.
	revocations := func() int { return requestCounts(env)[sandbox.RouteRevokeRefreshToken] }
	const invokeIncident = "-invoke=action." + actionTestType + ".incident"
	apply(0)
	defer cli.MustRun(0, "destroy", "-auto-approve", "-no-color")
	first := env.CurrentRefreshToken(userID)
	if first == "" || stateToken() != first {
		t.Fatal("the apply did not store the user's current refresh token")
	}

	before := revocations()
	acctest.ExpectOutputShows(t, apply(0, invokeIncident), fmt.Sprintf("Reading the current refresh token of Point user %q.", userID),
		fmt.Sprintf("Revoked the refresh token of Point user %q.", userID))
	if env.CurrentRefreshToken(userID) != "" {
		t.Fatalf("Point user %q still has a current refresh token after the action", userID)
	}
	if err := env.CheckRefreshTokenRefused(userID, first); err != nil {
		t.Error(err)
	}
	if n := revocations() - before; env.Sandbox != nil && n != 1 {
		t.Errorf("the action made %d revocation requests, want 1", n)
	}
	if stateToken() != first {
		t.Error("invoking the action changed the token in state")
	}

	before = revocations()
	acctest.ExpectOutputShows(t, apply(0, invokeIncident), "Point Refresh Token Already Revoked",
		fmt.Sprintf("Point user %q has no current refresh token, so there was nothing to revoke.", userID))
	if n := revocations() - before; env.Sandbox != nil && n != 0 {
		t.Errorf("the action made %d revocation requests with nothing to revoke", n)
	}

	acctest.ExpectOutputShows(t, apply(0), "Point Refresh Token Revoked Elsewhere",
		fmt.Sprintf("Point user %q has no current refresh token: it was revoked elsewhere.", userID), "1 added, 0 changed, 0 destroyed")
	second := env.CurrentRefreshToken(userID)
	if second == "" || second == first {
		t.Fatal("the apply after the action did not issue a new refresh token")
	}
	if stateToken() != second {
		t.Error("state does not hold the new refresh token")
	}
	if err := env.CheckRefreshTokenAccepted(userID, second); err != nil {
		t.Error(err)
	}

	acctest.ExpectOutputShows(t, apply(1, "-invoke=action."+actionTestType+".ghost"), "Point User Not Found",
		fmt.Sprintf("Point has no user with id %q, so there is no refresh token to revoke.", ghostID))
	if env.CurrentRefreshToken(userID) != second {
		t.Error("the failed action changed another user's refresh token")
	}
}

// The action from action_trigger: as in the incident runbook, changing the marker revokes the token and
// the next apply issues a new one; in the docs' example, listing the user revokes, unlisting changes
// nothing. Listed steps use statecheck, as Check's legacy state cannot hold for_each instances; a
// reissued token differs from the revoked one, as Point accepts it and refuses that one.
func TestAccRevokeRefreshTokenAction_trigger(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("action-trigger")
	runbook := func(incident string) string {
		return acctest.RefreshTokenConfig(env, userID, "") + acctest.IncidentTriggerConfig(incident)
	}
	example := acctest.RefreshTokenConfig(env, userID, "") + actionTestExample(t)
	listed := tfconfig.Variables{"compromised_users": tfconfig.SetVariable(tfconfig.StringVariable(userID))}
	var unlisted tfconfig.Variables // the default: nobody
	const marker = "terraform_data.incident"
	incident := fmt.Sprintf("terraform_data.incident[%q]", userID)
	inPoint := func(check func() error) statecheck.StateCheck {
		return stateCheckFunc(func(*tfjson.State) error { return check() })
	}
	var first, second, third string

	resource.ParallelTest(t, resource.TestCase{
		TerraformVersionChecks:   acctest.ActionsVersionChecks,
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				// Creating the marker does not trigger the action.
				Config: runbook("none"),
				Check: resource.ComposeAggregateTestCheckFunc(acctest.CaptureStateToken(&first),
					acctest.CheckStateTokenCurrent(env, userID)),
			},
			{
				// Changing it does. State still holds the revoked token, so the next plan is not empty.
				Config:             runbook("INC-1"),
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks:   preApplyActions(marker, plancheck.ResourceActionUpdate, acctest.RefreshTokenAddr, plancheck.ResourceActionNoop),
				Check: resource.ComposeAggregateTestCheckFunc(resource.TestCheckResourceAttrPtr(acctest.RefreshTokenAddr, "token", &first),
					acctest.NoCurrentRefreshToken(env, userID), acctest.RefreshTokenRefused(env, userID, &first)),
			},
			{
				// The next apply issues a new token, as after a revocation elsewhere, and triggers nothing.
				Config:           runbook("INC-1"),
				ConfigPlanChecks: preApplyActions(acctest.RefreshTokenAddr, plancheck.ResourceActionCreate, marker, plancheck.ResourceActionNoop),
				Check: resource.ComposeAggregateTestCheckFunc(acctest.CaptureStateToken(&second),
					acctest.CheckStateTokenCurrent(env, userID)),
			},
			{
				Config:           example,
				ConfigVariables:  unlisted,
				ConfigPlanChecks: preApplyActions(marker, plancheck.ResourceActionDestroy, acctest.RefreshTokenAddr, plancheck.ResourceActionNoop),
				Check: resource.ComposeAggregateTestCheckFunc(resource.TestCheckResourceAttrPtr(acctest.RefreshTokenAddr, "token", &second),
					acctest.CheckStateTokenCurrent(env, userID)),
			},
			{
				Config:             example,
				ConfigVariables:    listed,
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks:   preApplyActions(incident, plancheck.ResourceActionCreate, acctest.RefreshTokenAddr, plancheck.ResourceActionNoop),
				ConfigStateChecks: []statecheck.StateCheck{
					inPoint(func() error { return acctest.NoCurrentRefreshToken(env, userID)(nil) }),
					inPoint(func() error { return env.CheckRefreshTokenRefused(userID, second) }),
				},
			},
			{
				Config:           example,
				ConfigVariables:  listed,
				ConfigPlanChecks: preApplyActions(acctest.RefreshTokenAddr, plancheck.ResourceActionCreate, incident, plancheck.ResourceActionNoop),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), acctest.IsCurrentRefreshToken(env, userID)),
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), knownvalue.StringFunc(func(v string) error {
						third = v
						return env.CheckRefreshTokenAccepted(userID, v)
					})),
				},
			},
			{
				Config:           example,
				ConfigVariables:  unlisted,
				ConfigPlanChecks: preApplyActions(incident, plancheck.ResourceActionDestroy, acctest.RefreshTokenAddr, plancheck.ResourceActionNoop),
				Check: resource.ComposeAggregateTestCheckFunc(resource.TestCheckResourceAttrPtr(acctest.RefreshTokenAddr, "token", &third),
					acctest.CheckStateTokenCurrent(env, userID)),
			},
		},
	})
}

// actionTestInvoke runs the action for userID through the protocol as Terraform does, plan then invoke,
// with the provider configured for endpoint and apiKey ("" for none): its progress and diagnostics.
func actionTestInvoke(t *testing.T, env *acctest.Env, endpoint, apiKey, userID string) (progress []string, diags []*tfprotov6.Diagnostic) {
	t.Helper()
	ctx := context.Background()
	server, schemas := env.ConfiguredServerFor(t, endpoint, apiKey, "1.14.0")
	actionSchema, ok := schemas.ActionSchemas[actionTestType]
	if !ok {
		t.Fatalf("the provider has no action %s", actionTestType)
	}
	config := acctest.DynamicValue(t, actionSchema.Schema.ValueType(),
		map[string]tftypes.Value{"user_id": tftypes.NewValue(tftypes.String, userID)})
	actions, ok := server.(tfprotov6.ActionServer)
	if !ok {
		t.Fatal("the provider server does not serve actions")
	}
	planned, err := actions.PlanAction(ctx, &tfprotov6.PlanActionRequest{ActionType: actionTestType, Config: config})
	if err != nil {
		t.Fatal(err)
	}
	diags = append(diags, planned.Diagnostics...)
	for _, d := range planned.Diagnostics {
		if d.Severity == tfprotov6.DiagnosticSeverityError {
			return progress, diags
		}
	}
	stream, err := actions.InvokeAction(ctx, &tfprotov6.InvokeActionRequest{ActionType: actionTestType, Config: config})
	if err != nil {
		t.Fatal(err)
	}
	for event := range stream.Events {
		switch e := event.Type.(type) {
		case tfprotov6.ProgressInvokeActionEventType:
			progress = append(progress, e.Message)
		case tfprotov6.CompletedInvokeActionEventType:
			diags = append(diags, e.Diagnostics...)
		}
	}
	return progress, diags
}

// Through the protocol, the action's outcomes a CLI cannot arrange: a token replaced mid-revocation,
// a 404 not Point's own.
func TestRevokeRefreshTokenAction_outcomes(t *testing.T) {
	t.Parallel()
	const (
		warning, failure           = tfprotov6.DiagnosticSeverityWarning, tfprotov6.DiagnosticSeverityError
		alreadyRevoked, revokeFail = "Point Refresh Token Already Revoked", "Error Revoking Point Refresh Token"
		reading                    = "Reading the current refresh token of Point user %q."
	)
	// notPoints404 answers method with a plain 404, as a proxy or a wrong path prefix would.
	notPoints404 := func(method string) func(*testing.T, *acctest.Env, string) string {
		return func(t *testing.T, env *acctest.Env, _ string) string {
			return acctest.StartFront(t, env, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				if r.Method == method {
					http.NotFound(w, r)
					return
				}
				next.ServeHTTP(w, r)
			})
		}
	}
	cases := map[string]struct {
		setup                     func(t *testing.T, env *acctest.Env, userID string) string
		noUser, noAPIKey          bool
		severity                  tfprotov6.DiagnosticSeverity // 0 for no diagnostic
		summary, detail, progress string
		whole, revoked, kept      bool
	}{
		"revokes the current token": {revoked: true,
			progress: "Revoked the refresh token of Point user %q. The next apply issues a new one where a point_refresh_token manages it."},
		"no current token": {
			setup: func(t *testing.T, env *acctest.Env, userID string) string {
				env.RevokeRefreshToken(userID)
				return env.Endpoint
			},
			severity: warning, summary: alreadyRevoked, revoked: true,
			detail:   "Point user %q has no current refresh token, so there was nothing to revoke.",
			progress: "Point user %q has no current refresh token: it is already revoked.",
		},
		"token replaced while revoking": {
			// Another client rotates the token right after the action read it.
			setup: func(t *testing.T, env *acctest.Env, userID string) string {
				return acctest.StartFront(t, env, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
					next.ServeHTTP(w, r)
					if r.Method == http.MethodGet {
						env.RotateRefreshToken(userID)
					}
				})
			},
			severity: warning, summary: alreadyRevoked,
			detail:   "The refresh token that Point user %q held when the action read it was revoked or replaced before the action could revoke it",
			progress: "The refresh token of Point user %q was already revoked or replaced.",
		},
		"foreign 404 on read": {setup: notPoints404(http.MethodGet), severity: failure, summary: revokeFail,
			progress: reading, kept: true,
			detail: "Could not read the current refresh token of Point user %q; nothing was revoked. The 404 answer is not Point's own"},
		"foreign 404 on revoke": {setup: notPoints404(http.MethodDelete), severity: failure, summary: revokeFail,
			progress: reading, kept: true,
			detail: "Could not revoke the current refresh token of Point user %q; it may still be valid, so invoke the action again. The 404 answer is not Point's own"},
		// The plan fails before any request (the tests clear POINT_API_KEY when they start).
		"no API key": {noAPIKey: true, severity: failure, summary: "Missing Point API Key", whole: true, kept: true,
			detail: "Cannot revoke a Point user's refresh token with the point_revoke_refresh_token action: it needs the organisation API key, and none is configured. " +
				"Set api_key in the provider block, or the POINT_API_KEY environment variable."},
		"user not found": {noUser: true, severity: failure, summary: "Point User Not Found", progress: reading, revoked: true,
			detail: "Point has no user with id %q, so there is no refresh token to revoke. Check user_id in the action's config block"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := acctest.NewEnv(t, sandbox.Options{})
			userID := env.UserID("action-" + strings.ReplaceAll(name, " ", "-"))
			endpoint, apiKey := env.Endpoint, env.APIKey
			if !tc.noUser {
				env.AddUser(userID)
			}
			if tc.setup != nil {
				endpoint = tc.setup(t, env, userID)
			}
			if tc.noAPIKey {
				apiKey = ""
			}
			before := env.CurrentRefreshToken(userID)
			progress, diags := actionTestInvoke(t, env, endpoint, apiKey, userID)

			quoted := strconv.Quote(userID) // the user as %q writes it in the texts
			detail, wantProgress := strings.ReplaceAll(tc.detail, "%q", quoted), strings.ReplaceAll(tc.progress, "%q", quoted)
			switch {
			case tc.summary == "" && len(diags) > 0:
				t.Errorf("unexpected diagnostics: %s", actionTestDiags(diags))
			case tc.summary != "" && (len(diags) != 1 || diags[0].Severity != tc.severity || diags[0].Summary != tc.summary ||
				!strings.Contains(diags[0].Detail, detail) || (tc.whole && diags[0].Detail != detail)):
				t.Errorf("want one diagnostic %q: %q, got %s", tc.summary, detail, actionTestDiags(diags))
			}
			userIDPath := tftypes.NewAttributePath().WithAttributeName("user_id").String()
			if name == "user not found" && len(diags) == 1 && (diags[0].Attribute == nil || diags[0].Attribute.String() != userIDPath) {
				t.Errorf("the error names %v, want user_id", diags[0].Attribute)
			}
			switch {
			case wantProgress == "" && len(progress) > 0:
				t.Errorf("the action ran: progress = %q", progress)
			case wantProgress != "" && (len(progress) == 0 || progress[len(progress)-1] != wantProgress):
				t.Errorf("progress = %q, want it to end with %q", progress, wantProgress)
			}
			after := env.CurrentRefreshToken(userID)
			if tc.revoked && after != "" {
				t.Error("the user still has a current refresh token")
			}
			if tc.kept && after != before {
				t.Error("the action changed the user's refresh token")
			}
			for _, d := range diags {
				for _, secret := range []string{before, env.APIKey} {
					if secret != "" && (strings.Contains(d.Summary, secret) || strings.Contains(d.Detail, secret)) {
						t.Errorf("diagnostic %q shows a secret", d.Summary)
					}
				}
			}
		})
	}
}

func TestRevokeRefreshTokenAction_schema(t *testing.T) {
	server, schemas := acctest.NewEnv(t, sandbox.Options{}).ConfiguredServer(t)
	s, ok := schemas.ActionSchemas[actionTestType]
	if !ok {
		t.Fatalf("action %s missing", actionTestType)
	}
	if len(s.Schema.Block.Attributes) != 1 || s.Schema.Block.Attributes[0].Name != "user_id" || !s.Schema.Block.Attributes[0].Required {
		t.Errorf("the action's schema should have one required attribute, user_id: %+v", s.Schema.Block.Attributes)
	}
	identities, err := server.GetResourceIdentitySchemas(context.Background(), &tfprotov6.GetResourceIdentitySchemasRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"point_user", "point_refresh_token"} {
		id, ok := identities.IdentitySchemas[name]
		if !ok || len(id.IdentityAttributes) != 1 || id.IdentityAttributes[0].Name != "user_id" || !id.IdentityAttributes[0].RequiredForImport {
			t.Errorf("%s: want the identity { user_id }, required for import", name)
		}
	}
}

func actionTestDiags(diags []*tfprotov6.Diagnostic) string {
	var b strings.Builder
	for _, d := range diags {
		fmt.Fprintf(&b, "\n  %s: %s: %s", d.Severity, d.Summary, d.Detail)
	}
	return fmt.Sprintf("%d diagnostics:%s", len(diags), b.String())
}

// The docs' action_trigger example with an access token consumer: every incident apply succeeds, whichever
// of the action and the access token runs first, and revokes the token; the consumer gets an access token
// issued before it (revoked on close) or none, with the warning the docs quote. The next apply reissues.
func TestAccRevokeRefreshTokenAction_incidentWithConsumer(t *testing.T) {
	cli := acctest.NewCLI(t)
	acctest.SkipWithoutActions(t, "The incident runbook's action_trigger")
	env := acctest.NewEnv(t, sandbox.Options{})
	t.Parallel()
	userID := env.UserID("incident-consumer")
	recorder := acctest.NewRecordingFront(env.Upstream())
	front := acctest.StartFront(t, env, func(w http.ResponseWriter, r *http.Request, _ http.Handler) { recorder.ServeHTTP(w, r) })
	// What an incident apply meets in practice: a token kept out of state, and a consumer, replaced every
	// apply, of the API-key access token; it writes the SHA-256 of what it got, or "none", to consumer.txt.
	cli.WriteMain(acctest.ProviderBlockFor(env, front, 1) + fmt.Sprintf(`
resource "point_user" "test" {
  user_id = %q
}

resource "point_refresh_token" "test" {
  user_id     = point_user.test.user_id
  store_token = false
}

ephemeral "point_access_token" "consumer" {
  user_id = point_refresh_token.test.id
}

resource "terraform_data" "consumer" {
  triggers_replace = timestamp()

  provisioner "local-exec" {
    command = "if [ \"$TOKEN\" = none ]; then echo none > consumer.txt; else printf %%s \"$TOKEN\" | sha256sum > consumer.txt; fi"
    environment = {
      TOKEN = coalesce(ephemeral.point_access_token.consumer.token, "none")
    }
  }
}
`, userID) + actionTestExample(t))
	listed := fmt.Sprintf("-var=compromised_users=[%q]", userID)

	checked := map[string]bool{} // access tokens already found revoked
	// consumerGot returns the access token the consumer got last (all must be revoked by now), or "".
	consumerGot := func(step string) string {
		t.Helper()
		got, err := os.ReadFile(filepath.Join(cli.Dir, "consumer.txt"))
		if err != nil {
			t.Fatalf("%s: the consumer did not run: %v", step, err)
		}
		_, access := recorder.Tokens()
		match := ""
		for _, tok := range access {
			if !checked[tok] {
				if err := env.CheckAccessTokenRevoked(userID, tok); err != nil {
					t.Errorf("%s: %v", step, err)
				}
				checked[tok] = true
			}
			if strings.HasPrefix(string(got), tokenSHA256(tok)) {
				match = tok
			}
		}
		if match == "" && strings.TrimSpace(string(got)) != "none" {
			t.Fatalf("%s: the consumer got something other than an access token Point issued, or none", step)
		}
		return match
	}

	cli.MustRun(0, "apply", "-auto-approve", "-no-color")
	defer cli.MustRun(0, "destroy", "-auto-approve", "-no-color")
	if consumerGot("first apply") == "" {
		t.Fatal("the consumer got no access token from the first apply")
	}

	const incidents = 10
	sawBefore, sawAfter, out := 0, 0, ""
	for i := 1; i <= incidents; i++ {
		leaked := env.CurrentRefreshToken(userID)
		if leaked == "" {
			t.Fatalf("incident %d: the user has no refresh token to revoke", i)
		}
		step := fmt.Sprintf("incident apply %d", i)
		if out = cli.MustRun(0, "apply", "-auto-approve", "-no-color", listed); strings.Contains(out, "Error") {
			t.Errorf("%s reports an error:\n%s", step, out)
		}
		if env.CurrentRefreshToken(userID) != "" {
			t.Errorf("%s: Point user %q still has a current refresh token", step, userID)
		}
		if err := env.CheckRefreshTokenRefused(userID, leaked); err != nil {
			t.Errorf("%s: %v", step, err)
		}
		warned := acctest.DiagnosticMatching("Warning: Point Refresh Token Revoked In This Apply",
			fmt.Sprintf("The point_revoke_refresh_token action revoked the refresh token of Point user %q during this apply, so no access token was issued: "+
				"token, authorization_header, expires_in and expires_at are null. The next apply issues the user a new refresh token where a point_refresh_token manages it, "+
				"and the access token opens after it.", userID)).MatchString(out)
		if consumerGot(step) == "" {
			sawAfter++
			if !warned {
				t.Errorf("%s: the consumer got no access token, and the apply does not say why:\n%s", step, out)
			}
		} else {
			sawBefore++
		}

		step = fmt.Sprintf("apply after incident %d", i)
		out = cli.MustRun(0, "apply", "-auto-approve", "-no-color")
		current := env.CurrentRefreshToken(userID)
		if current == "" || current == leaked {
			t.Fatalf("%s did not issue a new refresh token", step)
		}
		if consumerGot(step) == "" {
			t.Errorf("%s: the consumer got no access token:\n%s", step, out)
		}
	}
	t.Logf("the consumer got an access token in %d incident applies and none in %d", sawBefore, sawAfter)
}
