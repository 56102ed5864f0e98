package provider

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// accessTokenJWT accepts a bare JWT and checks no claim: the reference documents none that names the user
// (its example's sub is found nowhere else, its exp is not expiresIn after iat), so Point says whose it is.
func accessTokenJWT(token string) error {
	if strings.HasPrefix(token, "Bearer") {
		return errors.New(`token starts with "Bearer"; it must be the bare JWT`)
	}
	segments := strings.Split(token, ".")
	if len(segments) != 3 {
		return fmt.Errorf("token has %d dot-separated segments, a JWT has 3", len(segments))
	}
	for i, part := range []string{"header", "payload"} {
		decoded, err := base64.RawURLEncoding.DecodeString(segments[i])
		if err != nil {
			return fmt.Errorf("JWT %s is not base64url: %w", part, err)
		}
		var object map[string]any
		if err := json.Unmarshal(decoded, &object); err != nil {
			return fmt.Errorf("JWT %s is not a JSON object: %w", part, err)
		}
	}
	return nil
}

// accessTokenCheckAtPoint asks Point whether userID's access token is revoked, or else valid; the
// latter revokes it, so it comes after any sandbox check that expects the token unrevoked.
func accessTokenCheckAtPoint(t *testing.T, env *acctest.Env, userID, token string, revoked bool) {
	t.Helper()
	check := env.CheckAccessTokenLive
	if revoked {
		check = env.CheckAccessTokenRevoked
	}
	if err := check(userID, token); err != nil {
		t.Error(err)
	}
}

// accessTokenRequireIssued fails unless the sandbox issued access tokens to userIDs (anyone when none),
// each revoked as revoked, and returns them; against real Point it checks nothing and returns nil.
func accessTokenRequireIssued(t *testing.T, env *acctest.Env, revoked bool, userIDs ...string) []sandbox.AccessTokenRecord {
	t.Helper()
	if env.Sandbox == nil {
		return nil
	}
	records := slices.DeleteFunc(env.Sandbox.AccessTokens(), func(rec sandbox.AccessTokenRecord) bool {
		return len(userIDs) > 0 && !slices.Contains(userIDs, rec.UserID)
	})
	if len(records) == 0 {
		t.Fatalf("the sandbox issued no access token to %v (none for anyone)", userIDs)
	}
	for i, rec := range records {
		if rec.Revoked != revoked {
			t.Errorf("access token %d of %d for %q: revoked = %t, want %t", i+1, len(records), rec.UserID, rec.Revoked, revoked)
		}
	}
	return records
}

func accessTokensOf(records []sandbox.AccessTokenRecord) (tokens []string) {
	for _, rec := range records {
		tokens = append(tokens, rec.Token)
	}
	return tokens
}

// accessTokenRequireRecorded returns the tokens front saw Point issue, checked in the sandbox and at Point.
func accessTokenRequireRecorded(t *testing.T, env *acctest.Env, front *acctest.RecordingFront, userID string, revoked bool) []string {
	t.Helper()
	_, tokens := front.Tokens()
	if len(tokens) == 0 {
		t.Fatal("Point issued no access token")
	}
	issued := accessTokensOf(accessTokenRequireIssued(t, env, revoked, userID))
	if env.Sandbox != nil && !acctest.SameElements(issued, tokens) {
		t.Errorf("the front saw %d access tokens issued, the sandbox issued %d others", len(tokens), len(issued))
	}
	for _, tok := range tokens {
		accessTokenCheckAtPoint(t, env, userID, tok, revoked)
	}
	return tokens
}

// accessTokenFailingRevoke serves a front before next that records userID's requests and answers their
// access token revocations with 503: its base URL, the recorder and the count of refused revocations.
func accessTokenFailingRevoke(t *testing.T, next http.Handler, userID string) (string, *acctest.RecordingFront, *atomic.Int64) {
	recorder := acctest.NewRecordingFront(next)
	var refused atomic.Int64
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case !strings.HasPrefix(r.URL.Path, "/organizations/users/"+userID+"/"):
			next.ServeHTTP(w, r)
		case sandbox.RouteOf(r) == sandbox.RouteRevokeAccessToken:
			refused.Add(1)
			acctest.AnswerJSON(http.StatusServiceUnavailable, `{"error":"unavailable","message":"service temporarily unavailable"}`)(w, r, next)
		default:
			recorder.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(server.Close)
	return server.URL, recorder, &refused
}

// accessTokenDiagnostic matches one diagnostic on ephemeral.point_access_token.NAME quoting source.
func accessTokenDiagnostic(severity, name, summary, source, detail string) string {
	return regexp.QuoteMeta(severity+": "+summary) + `\s+with ephemeral\.point_access_token\.` + name +
		`,\s+on \S+ line \d+, in ephemeral "point_access_token" "` + name + `":\s+\d+:\s*` +
		regexp.QuoteMeta(source) + `\s+` + acctest.DiagnosticPattern(detail).String()
}

// accessTokenWholeError matches the whole output of a run failing with one error on the access token x, so
// nothing else, a credential in particular, can be in it; Point's masked words may follow (quotesPoint).
func accessTokenWholeError(summary, source, detail string, quotesPoint bool) *regexp.Regexp {
	tail := `\s*\z`
	if quotesPoint {
		tail = `(?::[\s\S]*)?\z`
	}
	return regexp.MustCompile(`\A[^\n]*\s+` + accessTokenDiagnostic("Error", "x", summary, source, detail) + tail)
}

// accessTokenEcho hands the access tokens named in keys to echo.x's state, by name.
func accessTokenEcho(keys ...string) string {
	var data strings.Builder
	for _, key := range keys {
		fmt.Fprintf(&data, "    %[1]s = ephemeral.point_access_token.%[1]s\n", key)
	}
	return fmt.Sprintf("\nprovider \"echo\" {\n  data = {\n%s  }\n}\n\nresource \"echo\" \"x\" {}\n", data.String())
}

// TestAccAccessToken_openOrRefuse: opening an access token Point cannot issue fails with one clear error
// that quotes no token and changes nothing in Point; one apply then opens one in each way a configuration
// can, and a revocation answered with 503 is no error.
func TestAccAccessToken_openOrRefuse(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	// One provider (a test case's providers share one server), whose revocations for at-unrevoked fail.
	front, _ := acctest.NewCountingFront(t, env)
	endpoint, recorder, refusedRevocations := accessTokenFailingRevoke(t, front, env.UserID("at-unrevoked"))
	const maxRetries = 3
	provider := acctest.ProviderBlockFor(env, endpoint, maxRetries)

	wrongUser, revokedUser := env.UserID("at-wrong"), env.UserID("at-revoked")
	noRefreshUser, nobody := env.UserID("at-no-refresh"), env.UserID("at-nobody")
	env.AddUser(wrongUser)
	wrong := "rt_" + acctest.RandomHex(24)
	revoked := env.AddUser(revokedUser)
	env.RevokeRefreshToken(revokedUser)
	env.AddUser(noRefreshUser)
	env.RevokeRefreshToken(noRefreshUser)
	withRefreshToken := func(userID, refreshToken string) resource.TestStep {
		return resource.TestStep{
			ConfigVariables: config.Variables{"refresh_token": config.StringVariable(refreshToken)},
			Config: provider + fmt.Sprintf(`
variable "refresh_token" {
  type      = string
  sensitive = true
}

ephemeral "point_access_token" "x" {
  user_id       = %[1]q
  refresh_token = var.refresh_token
}
`, userID),
			ExpectError: accessTokenWholeError("Point Refresh Token Not Accepted", "refresh_token = var.refresh_token",
				fmt.Sprintf("Point refused the refresh token of user %q: it is wrong, revoked, or was replaced by a newer one. "+
					"Pass the user's current token (point_refresh_token.<name>.token), or omit refresh_token to use the current one. "+
					"Error: issue access token: HTTP 401 Unauthorized", userID), true),
		}
	}
	withAPIKey := func(userID string) string {
		return provider + fmt.Sprintf("\nephemeral \"point_access_token\" \"x\" {\n  user_id = %q\n}\n", userID)
	}

	// user_id comes from point_user.<key>.id so that the token opens once the user exists; with the
	// refresh token, the token is what is unknown until the apply.
	open := provider
	keys := []string{"api_key", "refresh_token", "keep", "unrevoked"}
	users := map[string]string{}
	for _, key := range keys {
		users[key] = env.UserID("at-" + strings.ReplaceAll(key, "_", "-"))
		open += fmt.Sprintf("\nresource \"point_user\" %q {\n  user_id = %q\n}\n", key, users[key])
	}
	open += `
resource "point_refresh_token" "x" {
  user_id = point_user.refresh_token.user_id
}

ephemeral "point_access_token" "api_key" {
  user_id = point_user.api_key.id
}

ephemeral "point_access_token" "refresh_token" {
  user_id       = point_user.refresh_token.user_id
  refresh_token = point_refresh_token.x.token
}

ephemeral "point_access_token" "keep" {
  user_id         = point_user.keep.id
  revoke_on_close = false
}

ephemeral "point_access_token" "unrevoked" {
  user_id = point_user.unrevoked.id
}
` + accessTokenEcho(keys...)

	// expires_at must follow the provider's clock, not the wall clock.
	env.Clock.Advance(90 * time.Minute)
	revokes := map[string]bool{"api_key": true, "refresh_token": true, "keep": false, "unrevoked": false}
	data := tfjsonpath.New("data")
	tokens := map[string]*string{}
	var checks []statecheck.StateCheck
	for key := range users {
		token := new(string)
		tokens[key] = token
		check := func(attr string, want knownvalue.Check) statecheck.StateCheck {
			return statecheck.ExpectKnownValue("echo.x", data.AtMapKey(key).AtMapKey(attr), want)
		}
		checks = append(checks,
			check("token", knownvalue.StringFunc(func(v string) error {
				*token = v
				return accessTokenJWT(v)
			})),
			check("authorization_header", knownvalue.StringFunc(func(v string) error {
				if *token == "" || v != "Bearer "+*token {
					return errors.New(`authorization_header is not "Bearer " followed by token`)
				}
				return nil
			})),
			check("expires_in", knownvalue.Int64Exact(86400)),
			check("expires_at", knownvalue.StringExact(acctest.FormatRFC3339(env.Clock.Now().Add(86400*time.Second)))))
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		TerraformVersionChecks:   acctest.EphemeralVersionChecks,
		Steps: []resource.TestStep{
			withRefreshToken(wrongUser, wrong),
			withRefreshToken(revokedUser, revoked),
			{
				Config: withAPIKey(noRefreshUser),
				ExpectError: accessTokenWholeError("Point User Has No Refresh Token", `ephemeral "point_access_token" "x" {`,
					fmt.Sprintf("Point user %q has no current refresh token (it was revoked), so no access token can be issued. "+
						"Issue one with a point_refresh_token resource, and set user_id to point_refresh_token.<name>.id (or, with store_token = true, pass its token as refresh_token).", noRefreshUser), false),
			},
			{
				Config: withAPIKey(nobody),
				ExpectError: accessTokenWholeError("Point User Not Found", fmt.Sprintf("user_id = %q", nobody),
					fmt.Sprintf("Point has no user %q, so no access token can be issued. "+
						"If this configuration creates the user, set user_id to point_user.<name>.id: it is known only once the user exists, "+
						"so the access token is opened once the user exists instead of during plan.", nobody), false),
			},
			{
				PreConfig: func() {
					if env.Sandbox != nil && len(env.Sandbox.AccessTokens()) != 0 {
						t.Errorf("the refused steps made the sandbox issue %d access tokens, want none", len(env.Sandbox.AccessTokens()))
					}
				},
				Config:           open,
				ConfigPlanChecks: preApply(plancheck.ExpectUnknownValue("point_refresh_token.x", tfjsonpath.New("token"))),
				ConfigStateChecks: append(checks,
					statecheck.ExpectKnownValue("echo.x", data.AtMapKey("api_key").AtMapKey("refresh_token"), knownvalue.Null()),
					statecheck.ExpectKnownValue("echo.x", data.AtMapKey("api_key").AtMapKey("revoke_on_close"), knownvalue.Null()),
					statecheck.CompareValuePairs("echo.x", data.AtMapKey("refresh_token").AtMapKey("refresh_token"),
						"point_refresh_token.x", tfjsonpath.New("token"), compare.ValuesSame()),
				),
				Check: func(*terraform.State) error {
					if n := front.Answered(sandbox.RouteIssueRefreshToken, users["api_key"]); n != 0 {
						return fmt.Errorf("the API-key path issued %d refresh tokens; it must use the user's current one", n)
					}
					return nil
				},
			},
		},
	})
	for userID, want := range map[string]int{wrongUser: 1, revokedUser: 1, noRefreshUser: 0, nobody: 0} {
		// A refused refresh token is not retried; a user without one, or none at all, is not asked for.
		if n := front.Answered(sandbox.RouteIssueAccessToken, userID); n != want {
			t.Errorf("%d requests to issue an access token for %q, want %d", n, userID, want)
		}
	}
	// Point refuses the tokens to anyone, not only to the provider.
	for userID, token := range map[string]string{wrongUser: wrong, revokedUser: revoked} {
		if err := env.CheckRefreshTokenRefused(userID, token); err != nil {
			t.Error(err)
		}
	}
	if env.CurrentRefreshToken(noRefreshUser) != "" {
		t.Error("a failed open gave the user a refresh token")
	}
	if env.HasUser(nobody) {
		t.Error("a failed open must create no user")
	}

	if n := front.Answered(sandbox.RouteRevokeAccessToken, users["keep"]); n != 0 {
		t.Errorf("%d revocation requests with revoke_on_close = false, want none", n)
	}
	for _, key := range []string{"api_key", "refresh_token", "keep"} {
		issued := accessTokensOf(accessTokenRequireIssued(t, env, revokes[key], users[key]))
		if env.Sandbox != nil && !slices.Contains(issued, *tokens[key]) {
			t.Errorf("the access token in state is none the sandbox issued to %q", users[key])
		}
		accessTokenCheckAtPoint(t, env, users[key], *tokens[key], revokes[key])
	}
	unrevoked := accessTokenRequireRecorded(t, env, recorder, users["unrevoked"], false)
	if got, want := int(refusedRevocations.Load()), (maxRetries+1)*len(unrevoked); got != want {
		t.Errorf("%d revocation attempts for %d tokens, want %d (max_retries + 1 each)", got, len(unrevoked), want)
	}
	if !slices.Contains(unrevoked, *tokens["unrevoked"]) {
		t.Error("the token in state is none that Point issued")
	}
}

// accessTokenConsumerConfig opens the access token name for a provisioner that fails without a token.
func accessTokenConsumerConfig(name, args string) string {
	return fmt.Sprintf(`
ephemeral "point_access_token" %[1]q {
%[2]s}

resource "terraform_data" %[1]q {
  provisioner "local-exec" {
    command = "test -n \"$TOKEN\""
    environment = {
      TOKEN = ephemeral.point_access_token.%[1]s.token
    }
  }
}
`, name, args)
}

// TestAccAccessToken_cliConsumers: with only provisioners as consumers, x and unrevoked (whose revocations
// get 503) open once in every plan and apply that can, and a failed revocation warns on a successful apply.
// The TestAccLeak_ tests check that such consumers get Point's tokens, kept out of plans, state and output.
func TestAccAccessToken_cliConsumers(t *testing.T) {
	cli := acctest.NewCLI(t)
	env := acctest.NewEnv(t, sandbox.Options{})
	t.Parallel()
	userID, unrevokedID := env.UserID("at-cli"), env.UserID("at-cli-503")
	env.AddUser(unrevokedID)
	recorder := acctest.NewRecordingFront(env.Upstream())
	server := httptest.NewServer(recorder)
	t.Cleanup(server.Close)
	unrevokedEndpoint, unrevokedRecorder, refusedRevocations := accessTokenFailingRevoke(t, env.Upstream(), unrevokedID)
	issued := func(front *acctest.RecordingFront) int {
		_, access := front.Tokens()
		return len(access)
	}
	cli.WriteMain(acctest.ProviderBlockFor(env, server.URL, 1) + acctest.ProviderBlockWith(map[string]string{"alias": `"unrevoked"`,
		"endpoint": fmt.Sprintf("%q", unrevokedEndpoint), "api_key": fmt.Sprintf("%q", env.APIKey), "max_retries": "1"}) +
		fmt.Sprintf("\nresource \"point_user\" \"x\" {\n  user_id = %q\n}\n", userID) +
		accessTokenConsumerConfig("x", "  user_id = point_user.x.id\n") +
		accessTokenConsumerConfig("unrevoked", fmt.Sprintf("  provider = point.unrevoked\n  user_id  = %q\n", unrevokedID)))

	cli.MustRun(0, "plan", "-input=false", "-no-color", "-out=plan.bin")
	acctest.ExpectOutput(t, cli.MustRun(0, "apply", "-input=false", "-no-color", "plan.bin"), "Apply complete! Resources: 3 added")
	firstRun, firstUnrevoked := issued(recorder), issued(unrevokedRecorder)

	out := cli.MustRun(0, "apply", "-input=false", "-no-color", "-auto-approve",
		"-replace=terraform_data.x", "-replace=terraform_data.unrevoked")
	acctest.ExpectOutput(t, out, "Apply complete! Resources: 2 added")
	warning := regexp.MustCompile(accessTokenDiagnostic("Warning", "unrevoked", "Point Access Token Not Revoked",
		`ephemeral "point_access_token" "unrevoked" {`,
		fmt.Sprintf("The provider could not revoke the access token of Point user %q; it stays valid until its expires_at. Nothing else is affected. "+
			"Error: revoke access token: HTTP 503 Service Unavailable: unavailable: service temporarily unavailable", unrevokedID)))
	if !warning.MatchString(out) {
		t.Errorf("apply output has no warning about the unrevoked token:\n%s", out)
	}
	// Terraform opens an ephemeral resource once in each plan and apply, but the first plan cannot open
	// x: point_user.x.id is unknown until the user exists.
	secondRun, secondUnrevoked := issued(recorder)-firstRun, issued(unrevokedRecorder)-firstUnrevoked
	if firstRun != 1 || secondRun != 2 || firstUnrevoked != 2 || secondUnrevoked != 2 {
		t.Errorf("access tokens issued by the first plan and apply, then the second: x %d and %d, want 1 and 2; "+
			"unrevoked %d and %d, want 2 and 2", firstRun, secondRun, firstUnrevoked, secondUnrevoked)
	}

	accessTokenRequireRecorded(t, env, recorder, userID, true)
	unrevoked := accessTokenRequireRecorded(t, env, unrevokedRecorder, unrevokedID, false)
	if got, want := int(refusedRevocations.Load()), 2*len(unrevoked); got != want {
		t.Errorf("%d revocation attempts for %d tokens, want %d (max_retries + 1 each)", got, len(unrevoked), want)
	}
}
