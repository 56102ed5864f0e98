package provider

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/compare"
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

// actionTestStateToken returns the token of point_refresh_token.test in the
// working directory's state, or "" when there is none.
func actionTestStateToken(t *testing.T, cli *acctest.CLI) string {
	t.Helper()
	token, _ := acctest.ReadStateFile(t, cli).Attributes(acctest.RefreshTokenAddr)["token"].(string)
	return token
}

// actionTestCounts returns the sandbox's request counts, or nil against
// real Point.
func actionTestCounts(env *acctest.Env) map[string]int {
	if env.Sandbox == nil {
		return nil
	}
	return env.Sandbox.RequestCounts()
}

// actionTestExpectRequests compares the sandbox's requests since before with
// want; it passes trivially against real Point.
func actionTestExpectRequests(t *testing.T, env *acctest.Env, before map[string]int, want map[string]int) {
	t.Helper()
	if env.Sandbox == nil {
		return
	}
	after := env.Sandbox.RequestCounts()
	for route, n := range want {
		if got := after[route] - before[route]; got != n {
			t.Errorf("%s: %d requests, want %d", route, got, n)
		}
	}
}

// preApply runs checks on the plan before the apply.
func preApply(checks ...plancheck.PlanCheck) resource.ConfigPlanChecks {
	return resource.ConfigPlanChecks{PreApply: checks}
}

// preApplyActions checks, before the apply, the action planned for each
// resource address, given in pairs: address, action.
func preApplyActions(pairs ...any) resource.ConfigPlanChecks {
	var checks []plancheck.PlanCheck
	for i := 0; i+1 < len(pairs); i += 2 {
		addr, _ := pairs[i].(string)
		action, _ := pairs[i+1].(plancheck.ResourceActionType)
		checks = append(checks, plancheck.ExpectResourceAction(addr, action))
	}
	return preApply(checks...)
}

// The incident runbook, through the CLI: invoke the action, which revokes
// the token in Point and leaves state alone; invoke it again, which finds
// nothing to revoke; apply, which notices the revocation and issues a new
// token. An action for a user Point does not have fails.
func TestAccRevokeRefreshTokenAction_invoke(t *testing.T) {
	cli := acctest.NewCLI(t)
	acctest.SkipWithoutActions(t, "Invoking an action")
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("action-invoke")
	ghostID := env.UserID("action-ghost")

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
	cli.MustRun(0, "apply", "-auto-approve", "-no-color")
	defer func() {
		cli.MustRun(0, "destroy", "-auto-approve", "-no-color")
		if current := env.CurrentRefreshToken(userID); current != "" {
			t.Errorf("destroy left Point user %q with a current refresh token", userID)
		}
	}()

	first := env.CurrentRefreshToken(userID)
	if first == "" || actionTestStateToken(t, cli) != first {
		t.Fatal("the apply did not store the user's current refresh token")
	}

	before := actionTestCounts(env)
	out := cli.MustRun(0, "apply", "-auto-approve", "-no-color", "-invoke=action."+actionTestType+".incident")
	acctest.ExpectOutputShows(t, out,
		fmt.Sprintf("Reading the current refresh token of Point user %q.", userID),
		fmt.Sprintf("Revoked the refresh token of Point user %q.", userID))
	if strings.Contains(out, first) || strings.Contains(out, env.APIKey) {
		t.Error("the output shows a secret")
	}
	if env.CurrentRefreshToken(userID) != "" {
		t.Fatalf("Point user %q still has a current refresh token after the action", userID)
	}
	if err := acctest.RefreshTokenRefused(env, userID, &first)(nil); err != nil {
		t.Error(err)
	}
	actionTestExpectRequests(t, env, before, map[string]int{
		sandbox.RouteRevokeRefreshToken: 1,
		sandbox.RouteIssueRefreshToken:  0,
	})
	if got := actionTestStateToken(t, cli); got != first {
		t.Error("invoking the action changed the token in state")
	}

	before = actionTestCounts(env)
	out = cli.MustRun(0, "apply", "-auto-approve", "-no-color", "-invoke=action."+actionTestType+".incident")
	acctest.ExpectOutputShows(t, out,
		"Point Refresh Token Already Revoked",
		fmt.Sprintf("Point user %q has no current refresh token, so there was nothing to revoke.", userID))
	actionTestExpectRequests(t, env, before, map[string]int{sandbox.RouteRevokeRefreshToken: 0})

	// The next apply treats the token as revoked outside Terraform.
	out = cli.MustRun(0, "apply", "-auto-approve", "-no-color")
	acctest.ExpectOutputShows(t, out,
		"Point Refresh Token Revoked Elsewhere",
		fmt.Sprintf("Point user %q has no current refresh token: it was revoked elsewhere.", userID),
		"1 added, 0 changed, 0 destroyed")
	second := env.CurrentRefreshToken(userID)
	if second == "" || second == first {
		t.Fatal("the apply after the action did not issue a new refresh token")
	}
	if got := actionTestStateToken(t, cli); got != second {
		t.Error("state does not hold the new refresh token")
	}
	if err := env.CheckRefreshTokenAccepted(userID, second); err != nil {
		t.Error(err)
	}

	out, code := cli.Run("apply", "-auto-approve", "-no-color", "-invoke=action."+actionTestType+".ghost")
	if code != 1 {
		t.Fatalf("invoking the action for a user Point does not have exited %d, want 1:\n%s", code, out)
	}
	acctest.ExpectOutputShows(t, out,
		"Point User Not Found",
		fmt.Sprintf("Point has no user with id %q, so there is no refresh token to revoke.", ghostID))
	if env.CurrentRefreshToken(userID) != second {
		t.Error("the failed action changed another user's refresh token")
	}
}

// The action run from an action_trigger: changing the incident marker
// revokes the token during that apply, and the next apply issues a new one.
func TestAccRevokeRefreshTokenAction_trigger(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("action-trigger")
	reissued := statecheck.CompareValue(compare.ValuesDiffer())
	var first string

	config := func(incident string) string {
		return acctest.RefreshTokenConfig(env, userID, "") + acctest.IncidentTriggerConfig(incident)
	}
	resource.ParallelTest(t, resource.TestCase{
		TerraformVersionChecks:   acctest.ActionsVersionChecks,
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				// Creating the marker does not trigger the action.
				Config:            config("none"),
				ConfigStateChecks: []statecheck.StateCheck{reissued.AddStateValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"))},
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CaptureStateToken(&first),
					acctest.CheckStateTokenCurrent(env, userID),
				),
			},
			{
				// Changing it does. State still holds the token that the
				// action revoked after the refresh, so the plan that follows
				// the apply is not empty.
				Config:             config("INC-1"),
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks:   preApplyActions("terraform_data.incident", plancheck.ResourceActionUpdate, acctest.RefreshTokenAddr, plancheck.ResourceActionNoop),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttrPtr(acctest.RefreshTokenAddr, "token", &first),
					acctest.NoCurrentRefreshToken(env, userID),
					acctest.RefreshTokenRefused(env, userID, &first),
				),
			},
			{
				// The next apply issues a new token, as after a revocation
				// outside Terraform; it does not trigger the action again.
				Config:            config("INC-1"),
				ConfigPlanChecks:  preApplyActions(acctest.RefreshTokenAddr, plancheck.ResourceActionCreate, "terraform_data.incident", plancheck.ResourceActionNoop),
				ConfigStateChecks: []statecheck.StateCheck{reissued.AddStateValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"))},
				Check:             acctest.CheckStateTokenCurrent(env, userID),
			},
		},
	})
}

// The documented action_trigger example, as it is: listing a user in
// compromised_users revokes its token in that apply, the next apply issues
// a new one, and unlisting the user changes nothing in Point.
func TestAccRevokeRefreshTokenAction_triggerExample(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("action-trigger-example")
	root, err := devenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join(root, "examples", "actions", actionTestType, "action-trigger.tf"))
	if err != nil {
		t.Fatal(err)
	}
	config := acctest.RefreshTokenConfig(env, userID, "") + "\n" + string(example)
	listed := tfconfig.Variables{"compromised_users": tfconfig.SetVariable(tfconfig.StringVariable(userID))}
	var unlisted tfconfig.Variables // the default: nobody
	incident := fmt.Sprintf("terraform_data.incident[%q]", userID)
	var first, second string

	resource.ParallelTest(t, resource.TestCase{
		TerraformVersionChecks:   acctest.ActionsVersionChecks,
		ProtoV6ProviderFactories: env.Factories(),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, userID),
		Steps: []resource.TestStep{
			{
				Config:          config,
				ConfigVariables: unlisted,
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.CaptureStateToken(&first),
					acctest.CheckStateTokenCurrent(env, userID),
				),
			},
			{
				// The Checks of these steps go through statecheck: the legacy
				// state that Check functions get cannot hold for_each instances.
				Config:             config,
				ConfigVariables:    listed,
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks:   preApplyActions(incident, plancheck.ResourceActionCreate, acctest.RefreshTokenAddr, plancheck.ResourceActionNoop),
				ConfigStateChecks: []statecheck.StateCheck{
					stateCheckFunc(func(*tfjson.State) error { return acctest.NoCurrentRefreshToken(env, userID)(nil) }),
					stateCheckFunc(func(*tfjson.State) error { return acctest.RefreshTokenRefused(env, userID, &first)(nil) }),
				},
			},
			{
				Config:           config,
				ConfigVariables:  listed,
				ConfigPlanChecks: preApplyActions(acctest.RefreshTokenAddr, plancheck.ResourceActionCreate, incident, plancheck.ResourceActionNoop),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), knownvalue.StringFunc(func(v string) error {
						second = v
						if v == first {
							return fmt.Errorf("the apply after the action kept the revoked token")
						}
						return nil
					})),
					statecheck.ExpectKnownValue(acctest.RefreshTokenAddr, tfjsonpath.New("token"), acctest.IsCurrentRefreshToken(env, userID)),
					stateCheckFunc(func(*tfjson.State) error { return env.CheckRefreshTokenAccepted(userID, second) }),
				},
			},
			{
				Config:           config,
				ConfigVariables:  unlisted,
				ConfigPlanChecks: preApplyActions(incident, plancheck.ResourceActionDestroy, acctest.RefreshTokenAddr, plancheck.ResourceActionNoop),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttrPtr(acctest.RefreshTokenAddr, "token", &second),
					acctest.CheckStateTokenCurrent(env, userID),
				),
			},
		},
	})
}

// actionTestInvoke configures the provider for endpoint and apiKey ("" for
// none) and runs the action for userID through the protocol, as Terraform
// does: plan, then invoke. It returns the progress messages and the
// diagnostics of both.
func actionTestInvoke(t *testing.T, env *acctest.Env, endpoint, apiKey, userID string) (progress []string, diags []*tfprotov6.Diagnostic) {
	t.Helper()
	ctx := context.Background()
	server, schemas := env.ConfiguredServerFor(t, endpoint, apiKey, "1.14.0")
	actionSchema, ok := schemas.ActionSchemas[actionTestType]
	if !ok {
		t.Fatalf("the provider has no action %s", actionTestType)
	}
	actionType := actionSchema.Schema.ValueType()
	config, err := tfprotov6.NewDynamicValue(actionType, tftypes.NewValue(actionType, map[string]tftypes.Value{
		"user_id": tftypes.NewValue(tftypes.String, userID),
	}))
	if err != nil {
		t.Fatal(err)
	}
	actions, ok := server.(tfprotov6.ActionServer)
	if !ok {
		t.Fatal("the provider server does not serve actions")
	}
	planned, err := actions.PlanAction(ctx, &tfprotov6.PlanActionRequest{ActionType: actionTestType, Config: &config})
	if err != nil {
		t.Fatal(err)
	}
	diags = append(diags, planned.Diagnostics...)
	for _, d := range planned.Diagnostics {
		if d.Severity == tfprotov6.DiagnosticSeverityError {
			return progress, diags
		}
	}
	stream, err := actions.InvokeAction(ctx, &tfprotov6.InvokeActionRequest{ActionType: actionTestType, Config: &config})
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

// actionTestFront serves Point behind a front that answers requests with
// method with a plain 404, as a proxy or a wrong path prefix would.
func actionTestFront(t *testing.T, env *acctest.Env, method string) string {
	t.Helper()
	upstream := env.Upstream()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == method {
			http.NotFound(w, r)
			return
		}
		upstream.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	return front.URL
}

// The action's outcomes, through the protocol: what the CLI tests cannot
// arrange, such as a token replaced while the action revokes it, or a 404
// that is not Point's own.
func TestRevokeRefreshTokenAction_outcomes(t *testing.T) {
	t.Parallel()
	type outcome struct {
		severity tfprotov6.DiagnosticSeverity // 0 for none
		summary  string
		detail   string // part of the detail, or all of it when whole
		whole    bool
		progress string // the last progress message; "" for none at all
		revoked  bool   // no current token afterwards
		kept     bool   // the current token unchanged afterwards
	}
	cases := map[string]struct {
		// setup, when not nil, prepares Point for the user, registered with
		// token unless noUser, and returns the endpoint for the provider.
		setup    func(t *testing.T, env *acctest.Env, userID, token string) string
		noUser   bool
		noAPIKey bool
		want     outcome
	}{
		"revokes the current token": {
			want: outcome{progress: "Revoked the refresh token of Point user %q. The next apply issues a new one where a point_refresh_token manages it.", revoked: true},
		},
		"no current token": {
			setup: func(t *testing.T, env *acctest.Env, userID, token string) string {
				if err := env.Client.RevokeRefreshToken(context.Background(), userID, token); err != nil {
					t.Fatal(err)
				}
				return env.Endpoint
			},
			want: outcome{
				severity: tfprotov6.DiagnosticSeverityWarning,
				summary:  "Point Refresh Token Already Revoked",
				detail:   "Point user %q has no current refresh token, so there was nothing to revoke.",
				progress: "Point user %q has no current refresh token: it is already revoked.",
				revoked:  true,
			},
		},
		"token replaced while revoking": {
			setup: func(t *testing.T, env *acctest.Env, userID, _ string) string {
				// Another client rotates the token right after the action read it.
				upstream := env.Upstream()
				front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					upstream.ServeHTTP(w, r)
					if r.Method == http.MethodGet {
						env.RotateRefreshToken(userID)
					}
				}))
				t.Cleanup(front.Close)
				return front.URL
			},
			want: outcome{
				severity: tfprotov6.DiagnosticSeverityWarning,
				summary:  "Point Refresh Token Already Revoked",
				detail:   "The refresh token that Point user %q held when the action read it was revoked or replaced before the action could revoke it",
				progress: "The refresh token of Point user %q was already revoked or replaced.",
			},
		},
		"foreign 404 on read": {
			setup: func(t *testing.T, env *acctest.Env, _, _ string) string {
				return actionTestFront(t, env, http.MethodGet)
			},
			want: outcome{
				severity: tfprotov6.DiagnosticSeverityError,
				summary:  "Error Revoking Point Refresh Token",
				detail:   "Could not read the current refresh token of Point user %q; nothing was revoked. The 404 answer is not Point's own",
				progress: "Reading the current refresh token of Point user %q.",
				kept:     true,
			},
		},
		"foreign 404 on revoke": {
			setup: func(t *testing.T, env *acctest.Env, _, _ string) string {
				return actionTestFront(t, env, http.MethodDelete)
			},
			want: outcome{
				severity: tfprotov6.DiagnosticSeverityError,
				summary:  "Error Revoking Point Refresh Token",
				detail:   "Could not revoke the current refresh token of Point user %q; it may still be valid, so invoke the action again. The 404 answer is not Point's own",
				progress: "Reading the current refresh token of Point user %q.",
				kept:     true,
			},
		},
		// Without an API key, the plan of the action fails before any
		// request. The provider would read POINT_API_KEY, which the tests
		// clear when they start.
		"no API key": {
			noAPIKey: true,
			want: outcome{
				severity: tfprotov6.DiagnosticSeverityError,
				summary:  "Missing Point API Key",
				detail: "Cannot revoke a Point user's refresh token with the point_revoke_refresh_token action: it needs the organisation API key, and none is configured. " +
					"Set api_key in the provider block, or the POINT_API_KEY environment variable.",
				whole: true,
				kept:  true,
			},
		},
		"user not found": {
			noUser: true,
			want: outcome{
				severity: tfprotov6.DiagnosticSeverityError,
				summary:  "Point User Not Found",
				detail:   "Point has no user with id %q, so there is no refresh token to revoke. Check user_id in the action's config block",
				progress: "Reading the current refresh token of Point user %q.",
				revoked:  true,
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := acctest.NewEnv(t, sandbox.Options{})
			userID := env.UserID("action-" + strings.ReplaceAll(name, " ", "-"))
			endpoint := env.Endpoint
			if !tc.noUser {
				token := env.AddUser(userID)
				if tc.setup != nil {
					endpoint = tc.setup(t, env, userID, token)
				}
			}
			before := env.CurrentRefreshToken(userID)
			apiKey := env.APIKey
			if tc.noAPIKey {
				apiKey = ""
			}
			progress, diags := actionTestInvoke(t, env, endpoint, apiKey, userID)

			want := tc.want
			withUser := func(text string) string {
				if strings.Contains(text, "%q") {
					return fmt.Sprintf(text, userID)
				}
				return text
			}
			want.detail, want.progress = withUser(want.detail), withUser(want.progress)
			switch {
			case want.summary == "" && len(diags) > 0:
				t.Errorf("unexpected diagnostics: %s", actionTestDiags(diags))
			case want.summary != "" && (len(diags) != 1 || diags[0].Severity != want.severity || diags[0].Summary != want.summary ||
				!strings.Contains(diags[0].Detail, want.detail) || (want.whole && diags[0].Detail != want.detail)):
				t.Errorf("want one diagnostic %q: %q, got %s", want.summary, want.detail, actionTestDiags(diags))
			}
			if want.severity == tfprotov6.DiagnosticSeverityError && name == "user not found" {
				if len(diags) == 1 && (diags[0].Attribute == nil || diags[0].Attribute.String() != tftypes.NewAttributePath().WithAttributeName("user_id").String()) {
					t.Errorf("the error names %v, want user_id", diags[0].Attribute)
				}
			}
			switch {
			case want.progress == "" && len(progress) > 0:
				t.Errorf("the action ran: progress = %q", progress)
			case want.progress != "" && (len(progress) == 0 || progress[len(progress)-1] != want.progress):
				t.Errorf("progress = %q, want it to end with %q", progress, want.progress)
			}
			after := env.CurrentRefreshToken(userID)
			if want.revoked && after != "" {
				t.Error("the user still has a current refresh token")
			}
			if want.kept && after != before {
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
	server, err := providerserver.NewProtocol6WithError(New("test")())()
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := server.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
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

// incidentConsumerConfig is what an incident apply meets in practice: a
// point_refresh_token kept out of state, and a consumer of the user's
// access tokens that reads the current refresh token with the API key. The
// consumer is replaced at every apply, so that each apply hands it the
// access token it opened, or "none" when that is null; it writes the
// SHA-256 of what it got to consumer.txt.
func incidentConsumerConfig(endpoint, apiKey, userID string) string {
	return fmt.Sprintf(`provider "point" {
  endpoint    = %[1]q
  api_key     = %[2]q
  max_retries = 1
}

resource "point_user" "test" {
  user_id = %[3]q
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
`, endpoint, apiKey, userID)
}

// The incident runbook of the action's docs, with its action_trigger
// example as it is, in a configuration that also hands the user's access
// tokens to a consumer. Every incident apply succeeds, whichever of the
// action and the access token runs first, and revokes the user's token;
// the consumer gets either an access token issued before the revocation,
// which the apply revokes when it closes it, or none, with the warning the
// docs quote. The apply after it issues a new token and the consumer gets
// an access token again.
func TestAccRevokeRefreshTokenAction_incidentWithConsumer(t *testing.T) {
	cli := acctest.NewCLI(t)
	acctest.SkipWithoutActions(t, "The incident runbook's action_trigger")
	env := acctest.NewEnv(t, sandbox.Options{})
	t.Parallel()
	userID := env.UserID("incident-consumer")
	recorder := acctest.NewRecordingFront(env.Upstream())
	front := httptest.NewServer(recorder)
	t.Cleanup(front.Close)

	root, err := devenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join(root, "examples", "actions", actionTestType, "action-trigger.tf"))
	if err != nil {
		t.Fatal(err)
	}
	cli.WriteMain(incidentConsumerConfig(front.URL, env.APIKey, userID) + "\n" + string(example))
	listed := fmt.Sprintf("-var=compromised_users=[%q]", userID)

	checked := map[string]bool{} // access tokens already found revoked
	// consumerGot returns what the consumer got in the last apply: one of
	// the access tokens Point issued, all of which must be revoked by now,
	// or "" for none.
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
	defer func() {
		cli.MustRun(0, "destroy", "-auto-approve", "-no-color")
		if env.CurrentRefreshToken(userID) != "" {
			t.Errorf("destroy left Point user %q with a current refresh token", userID)
		}
	}()
	if consumerGot("first apply") == "" {
		t.Fatal("the consumer got no access token from the first apply")
	}

	const incidents = 10
	sawBefore, sawAfter := 0, 0
	for i := 1; i <= incidents; i++ {
		leaked := env.CurrentRefreshToken(userID)
		if leaked == "" {
			t.Fatalf("incident %d: the user has no refresh token to revoke", i)
		}
		step := fmt.Sprintf("incident apply %d", i)
		out, code := cli.Run("apply", "-auto-approve", "-no-color", listed)
		if code != 0 {
			t.Fatalf("%s exited %d:\n%s", step, code, out)
		}
		if strings.Contains(out, "Error") {
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
