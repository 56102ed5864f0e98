package provider

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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

// accessTokenEcho hands the ephemeral resource's results to the echo
// provider, which keeps them in echo.x's state for the checks.
const accessTokenEcho = `
provider "echo" {
  data = ephemeral.point_access_token.x
}

resource "echo" "x" {}
`

// accessTokenAPIKeyConfig registers a user and opens an access token for it
// with the API key. user_id comes from point_user.x.id so that the token is
// opened once the user exists.
func accessTokenAPIKeyConfig(provider, userID, extra string) string {
	return provider + fmt.Sprintf(`
resource "point_user" "x" {
  user_id = %[1]q
}

ephemeral "point_access_token" "x" {
  user_id = point_user.x.id
  %[2]s
}
`, userID, extra) + accessTokenEcho
}

// accessTokenResultChecks check the results echoed into echo.x: the token
// is a bare JWT, with its header, lifetime and expiry; against
// the sandbox, also that the sandbox issued it to userID and that its
// revocation matches revoked. The token goes into *token, for
// accessTokenCheckAtPoint once the test is over.
func accessTokenResultChecks(env *acctest.Env, userID string, revoked bool, token *string) []statecheck.StateCheck {
	data := tfjsonpath.New("data")
	checks := []statecheck.StateCheck{
		statecheck.ExpectKnownValue("echo.x", data.AtMapKey("token"), accessTokenJWT{}),
		statecheck.ExpectKnownValue("echo.x", data.AtMapKey("token"), knownvalue.StringFunc(func(v string) error {
			*token = v
			return nil
		})),
		statecheck.CompareValuePairs("echo.x", data.AtMapKey("token"), "echo.x", data.AtMapKey("authorization_header"), accessTokenBearerOf{}),
		statecheck.ExpectKnownValue("echo.x", data.AtMapKey("expires_in"), knownvalue.Int64Exact(86400)),
		statecheck.ExpectKnownValue("echo.x", data.AtMapKey("expires_at"),
			knownvalue.StringExact(env.Clock.Now().Add(86400*time.Second).UTC().Format(time.RFC3339))),
	}
	if env.Sandbox != nil {
		checks = append(checks, statecheck.ExpectKnownValue("echo.x", data.AtMapKey("token"), accessTokenInSandbox{env: env, userID: userID, revoked: revoked}))
	}
	return checks
}

// accessTokenCheckAtPoint asks Point whether the access token of userID is
// revoked, or else still valid; the latter check revokes it, so it must
// come after any sandbox check that expects the token unrevoked.
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

// accessTokenJWT accepts a bare JWT: three base64url segments, the first
// two JSON objects. Which user a token belongs to is for Point to say
// (accessTokenCheckAtPoint): the reference documents no claim that names
// the user. Its example token's sub is "point|" and an id that appears
// nowhere else on the page, and its exp is an hour after iat where
// expiresIn says 24 hours, so no claim is checked against anything.
type accessTokenJWT struct{}

func (accessTokenJWT) CheckValue(v any) error {
	token, ok := v.(string)
	if !ok {
		return fmt.Errorf("expected a string, got %T", v)
	}
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

func (accessTokenJWT) String() string { return "a bare JWT" }

// accessTokenInSandbox accepts a token the sandbox issued to userID and
// whose revocation matches revoked.
type accessTokenInSandbox struct {
	env     *acctest.Env
	userID  string
	revoked bool
}

func (c accessTokenInSandbox) CheckValue(v any) error {
	token, _ := v.(string)
	for _, rec := range c.env.Sandbox.AccessTokens() {
		if rec.Token != token {
			continue
		}
		if rec.UserID != c.userID {
			return fmt.Errorf("token was issued to %q, want %q", rec.UserID, c.userID)
		}
		if rec.Revoked != c.revoked {
			return fmt.Errorf("token revoked = %t in the sandbox, want %t", rec.Revoked, c.revoked)
		}
		return nil
	}
	return errors.New("the sandbox never issued this token")
}

func (c accessTokenInSandbox) String() string {
	return fmt.Sprintf("token issued to %s, revoked=%t", c.userID, c.revoked)
}

// accessTokenBearerOf accepts (token, header) where header is "Bearer " + token.
type accessTokenBearerOf struct{}

func (accessTokenBearerOf) CompareValues(values ...any) error {
	if len(values) != 2 {
		return fmt.Errorf("expected 2 values, got %d", len(values))
	}
	token, _ := values[0].(string)
	header, _ := values[1].(string)
	if token == "" || header != "Bearer "+token {
		return errors.New(`authorization_header is not "Bearer " followed by token`)
	}
	return nil
}

// accessTokenRequireIssued fails unless the sandbox issued at least one
// access token, each with the given revocation state, and returns them;
// against real Point it checks nothing and returns nil.
func accessTokenRequireIssued(t *testing.T, env *acctest.Env, revoked bool) []sandbox.AccessTokenRecord {
	t.Helper()
	if env.Sandbox == nil {
		return nil
	}
	records := env.Sandbox.AccessTokens()
	if len(records) == 0 {
		t.Fatal("the sandbox issued no access token")
	}
	for i, rec := range records {
		if rec.Revoked != revoked {
			t.Errorf("access token %d of %d for %q: revoked = %t, want %t", i+1, len(records), rec.UserID, rec.Revoked, revoked)
		}
	}
	return records
}

// accessTokenRequireRecorded fails unless front saw Point issue at least
// one access token, and returns them. Against the sandbox, they must be
// exactly those the sandbox issued, each with the given revocation state.
func accessTokenRequireRecorded(t *testing.T, env *acctest.Env, front *acctest.RecordingFront, revoked bool) []string {
	t.Helper()
	_, tokens := front.Tokens()
	if len(tokens) == 0 {
		t.Fatal("Point issued no access token")
	}
	slices.Sort(tokens)
	if records := accessTokenRequireIssued(t, env, revoked); env.Sandbox != nil {
		var issued []string
		for _, rec := range records {
			issued = append(issued, rec.Token)
		}
		slices.Sort(issued)
		if !slices.Equal(issued, tokens) {
			t.Errorf("the front saw %d access tokens issued, the sandbox issued %d others", len(tokens), len(issued))
		}
	}
	return tokens
}

// accessTokenDiagnostic is a pattern for one diagnostic on
// ephemeral.point_access_token.x as the CLI prints it without colour;
// source is the configuration line it quotes.
func accessTokenDiagnostic(severity, summary, source, detail string) string {
	return regexp.QuoteMeta(severity+": "+summary) +
		`\s+with ephemeral\.point_access_token\.x,\s+on \S+ line \d+, in ephemeral "point_access_token" "x":\s+\d+:\s*` +
		regexp.QuoteMeta(source) + `\s+` + acctest.DiagnosticPattern(detail).String()
}

// accessTokenWholeError matches the entire error output of a run that fails
// with a single error on ephemeral.point_access_token.x, so that nothing
// else, a credential in particular, can be in it.
func accessTokenWholeError(summary, source, detail string) *regexp.Regexp {
	return regexp.MustCompile(`\A[^\n]*\s+` + accessTokenDiagnostic("Error", summary, source, detail) + `\s*\z`)
}

// accessTokenWholeErrorQuotingPoint is accessTokenWholeError for a detail
// that ends with Point's error: whatever Point said after the status, in
// its own words, may follow. The client masks credentials in it.
func accessTokenWholeErrorQuotingPoint(summary, source, detail string) *regexp.Regexp {
	return regexp.MustCompile(`\A[^\n]*\s+` + accessTokenDiagnostic("Error", summary, source, detail) + `(?::[\s\S]*)?\z`)
}

func TestAccAccessToken_apiKey(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("at-api-key")
	// expires_at must follow the provider's clock, not the wall clock.
	env.Clock.Advance(90 * time.Minute)
	var token string
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		TerraformVersionChecks:   acctest.EphemeralVersionChecks,
		Steps: []resource.TestStep{{
			Config: accessTokenAPIKeyConfig(env.ProviderBlock(), userID, ""),
			ConfigStateChecks: append(accessTokenResultChecks(env, userID, true, &token),
				statecheck.ExpectKnownValue("echo.x", tfjsonpath.New("data").AtMapKey("refresh_token"), knownvalue.Null()),
				statecheck.ExpectKnownValue("echo.x", tfjsonpath.New("data").AtMapKey("revoke_on_close"), knownvalue.Null()),
			),
			Check: func(*terraform.State) error {
				// Sandbox only: a request count.
				if env.Sandbox == nil {
					return nil
				}
				if n := env.Sandbox.RequestCounts()[sandbox.RouteIssueRefreshToken]; n != 0 {
					return fmt.Errorf("the API-key path issued %d refresh tokens; it must use the user's current one", n)
				}
				return nil
			},
		}},
	})
	accessTokenRequireIssued(t, env, true)
	accessTokenCheckAtPoint(t, env, userID, token, true)
}

func TestAccAccessToken_refreshTokenUnknownAtPlan(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("at-refresh-token")
	var token string
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		TerraformVersionChecks:   acctest.EphemeralVersionChecks,
		Steps: []resource.TestStep{{
			Config: env.ProviderBlock() + fmt.Sprintf(`
resource "point_user" "x" {
  user_id = %[1]q
}

resource "point_refresh_token" "x" {
  user_id = point_user.x.user_id
}

ephemeral "point_access_token" "x" {
  user_id       = point_user.x.user_id
  refresh_token = point_refresh_token.x.token
}
`, userID) + accessTokenEcho,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue("point_refresh_token.x", tfjsonpath.New("token")),
				},
			},
			ConfigStateChecks: append(accessTokenResultChecks(env, userID, true, &token),
				statecheck.CompareValuePairs("echo.x", tfjsonpath.New("data").AtMapKey("refresh_token"),
					"point_refresh_token.x", tfjsonpath.New("token"), compare.ValuesSame()),
			),
		}},
	})
	accessTokenRequireIssued(t, env, true)
	accessTokenCheckAtPoint(t, env, userID, token, true)
}

func TestAccAccessToken_noRevokeOnClose(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("at-keep")
	var token string
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		TerraformVersionChecks:   acctest.EphemeralVersionChecks,
		Steps: []resource.TestStep{{
			Config:            accessTokenAPIKeyConfig(env.ProviderBlock(), userID, "revoke_on_close = false"),
			ConfigStateChecks: accessTokenResultChecks(env, userID, false, &token),
		}},
	})
	accessTokenRequireIssued(t, env, false)
	if env.Sandbox != nil {
		if n := env.Sandbox.RequestCounts()[sandbox.RouteRevokeAccessToken]; n != 0 {
			t.Errorf("%d revocation requests with revoke_on_close = false, want none", n)
		}
	}
	accessTokenCheckAtPoint(t, env, userID, token, false)
}

func TestAccAccessToken_wrongRefreshToken(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("at-wrong")
	env.AddUser(userID)
	wrong := "rt_" + acctest.RandomHex(24)
	accessTokenRefusedTest(t, env, userID, wrong)
}

func TestAccAccessToken_revokedRefreshToken(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("at-revoked")
	revoked := env.AddUser(userID)
	env.RevokeRefreshToken(userID)
	accessTokenRefusedTest(t, env, userID, revoked)
}

// accessTokenRefusedTest opens an access token with a refresh token Point
// refuses, and expects one clear error that does not quote the token.
func accessTokenRefusedTest(t *testing.T, env *acctest.Env, userID, refreshToken string) {
	t.Helper()
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		TerraformVersionChecks:   acctest.EphemeralVersionChecks,
		Steps: []resource.TestStep{{
			ConfigVariables: config.Variables{"refresh_token": config.StringVariable(refreshToken)},
			Config: env.ProviderBlock() + fmt.Sprintf(`
variable "refresh_token" {
  type      = string
  sensitive = true
}

ephemeral "point_access_token" "x" {
  user_id       = %[1]q
  refresh_token = var.refresh_token
}
`, userID),
			ExpectError: accessTokenWholeErrorQuotingPoint("Point Refresh Token Not Accepted", "refresh_token = var.refresh_token",
				fmt.Sprintf("Point refused the refresh token of user %q: it is wrong, revoked, or was replaced by a newer one. "+
					"Pass the user's current token (point_refresh_token.<name>.token), or omit refresh_token to use the current one. "+
					"Error: issue access token: HTTP 401 Unauthorized", userID)),
		}},
	})
	if env.Sandbox != nil {
		if n := len(env.Sandbox.AccessTokens()); n != 0 {
			t.Errorf("the sandbox issued %d access tokens, want none", n)
		}
		if n := env.Sandbox.RequestCounts()[sandbox.RouteIssueAccessToken]; n != 1 {
			t.Errorf("%d requests to issue an access token, want 1: a refused refresh token must not be retried", n)
		}
	}
	// Point refuses the token to anyone, not only to the provider.
	if err := env.CheckRefreshTokenRefused(userID, refreshToken); err != nil {
		t.Error(err)
	}
}

func TestAccAccessToken_userWithoutRefreshToken(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("at-no-refresh")
	env.AddUser(userID)
	env.RevokeRefreshToken(userID)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		TerraformVersionChecks:   acctest.EphemeralVersionChecks,
		Steps: []resource.TestStep{{
			Config: env.ProviderBlock() + fmt.Sprintf(`
ephemeral "point_access_token" "x" {
  user_id = %[1]q
}
`, userID),
			ExpectError: accessTokenWholeError("Point User Has No Refresh Token", `ephemeral "point_access_token" "x" {`,
				fmt.Sprintf("Point user %q has no current refresh token (it was revoked), so no access token can be issued. "+
					"Issue one with a point_refresh_token resource, and set user_id to point_refresh_token.<name>.id (or, with store_token = true, pass its token as refresh_token).", userID)),
		}},
	})
	if env.CurrentRefreshToken(userID) != "" {
		t.Error("the failed open gave the user a refresh token")
	}
	if env.Sandbox != nil {
		if n := env.Sandbox.RequestCounts()[sandbox.RouteIssueAccessToken]; n != 0 {
			t.Errorf("%d requests to issue an access token, want none", n)
		}
	}
}

func TestAccAccessToken_userNotFound(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("at-nobody")
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		TerraformVersionChecks:   acctest.EphemeralVersionChecks,
		Steps: []resource.TestStep{{
			Config: env.ProviderBlock() + fmt.Sprintf(`
ephemeral "point_access_token" "x" {
  user_id = %[1]q
}
`, userID),
			ExpectError: accessTokenWholeError("Point User Not Found", fmt.Sprintf("user_id = %q", userID),
				fmt.Sprintf("Point has no user %q, so no access token can be issued. "+
					"If this configuration creates the user, set user_id to point_user.<name>.id: it is known only once the user exists, "+
					"so the access token is opened once the user exists instead of during plan.", userID)),
		}},
	})
	if env.HasUser(userID) {
		t.Error("a failed open must create no user")
	}
	if env.Sandbox != nil && len(env.Sandbox.AccessTokens()) != 0 {
		t.Error("a failed open must issue no token")
	}
}

// accessTokenFailingRevoke answers every access token revocation with 503
// and passes everything else on to Point.
type accessTokenFailingRevoke struct {
	next    http.Handler
	deletes atomic.Int64
}

func (h *accessTokenFailingRevoke) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodDelete && strings.Contains(r.URL.Path, "/access_token/") {
		h.deletes.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"error":"unavailable","message":"service temporarily unavailable"}`)
		return
	}
	h.next.ServeHTTP(w, r)
}

func TestAccAccessToken_closeFailureIsNotAnError(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("at-close-503")
	const maxRetries = 2
	recorder := acctest.NewRecordingFront(env.Upstream())
	front := &accessTokenFailingRevoke{next: recorder}
	server := httptest.NewServer(front)
	t.Cleanup(server.Close)
	providerBlock := fmt.Sprintf("provider \"point\" {\n  endpoint    = %q\n  api_key     = %q\n  max_retries = %d\n}\n",
		server.URL, env.APIKey, maxRetries)

	var token string
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		TerraformVersionChecks:   acctest.EphemeralVersionChecks,
		Steps: []resource.TestStep{{
			Config:            accessTokenAPIKeyConfig(providerBlock, userID, ""),
			ConfigStateChecks: accessTokenResultChecks(env, userID, false, &token),
		}},
	})
	tokens := accessTokenRequireRecorded(t, env, recorder, false)
	if got, want := int(front.deletes.Load()), (maxRetries+1)*len(tokens); got != want {
		t.Errorf("%d revocation attempts for %d tokens, want %d (max_retries + 1 each)", got, len(tokens), want)
	}
	if !slices.Contains(tokens, token) {
		t.Error("the token in state is none that Point issued")
	}
	for _, tok := range tokens {
		accessTokenCheckAtPoint(t, env, userID, tok, false)
	}
}

// accessTokenUnzip returns the concatenated contents of a saved plan,
// which is a zip archive whose entries would hide a token from a plain
// byte search.
func accessTokenUnzip(t *testing.T, file string) []byte {
	t.Helper()
	zr, err := zip.OpenReader(file)
	if err != nil {
		t.Fatalf("opening the saved plan: %v", err)
	}
	defer zr.Close()
	var all bytes.Buffer
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(&all, rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return all.Bytes()
}

// TestAccAccessToken_neverInPlanOrState runs the Terraform CLI on a
// configuration in which only a provisioner consumes the token, and looks
// for every token Point issued, as a front records them, in the saved
// plan, its JSON, the state and the CLI output.
func TestAccAccessToken_neverInPlanOrState(t *testing.T) {
	cli := acctest.NewCLI(t)
	env := acctest.NewEnv(t, sandbox.Options{})
	t.Parallel()
	userID := env.UserID("at-cli")
	dir := cli.Dir
	recorder := acctest.NewRecordingFront(env.Upstream())
	server := httptest.NewServer(recorder)
	t.Cleanup(server.Close)
	issued := func() int {
		_, access := recorder.Tokens()
		return len(access)
	}
	cfg := fmt.Sprintf(`provider "point" {
  endpoint    = %[1]q
  api_key     = %[2]q
  max_retries = 1
}

resource "point_user" "x" {
  user_id = %[3]q
}

ephemeral "point_access_token" "x" {
  user_id = point_user.x.id
}

resource "terraform_data" "consumer" {
  provisioner "local-exec" {
    command = "printf %%s \"$TOKEN\" | sha256sum > token.sha256"
    environment = {
      TOKEN = ephemeral.point_access_token.x.token
    }
  }
}
`, server.URL, env.APIKey, userID)
	cli.WriteMain(cfg)

	seen := map[string][]byte{}
	seen["plan output"] = []byte(cli.MustRun(0, "plan", "-input=false", "-out=plan.bin"))
	seen["saved plan"] = accessTokenUnzip(t, filepath.Join(dir, "plan.bin"))
	seen["plan JSON"] = []byte(cli.MustRun(0, "show", "-json", "plan.bin"))
	seen["apply output"] = []byte(cli.MustRun(0, "apply", "-input=false", "plan.bin"))
	firstRun := issued()

	// A second run, in which the user exists and the token opens during
	// plan as well as apply.
	seen["second apply output"] = []byte(cli.MustRun(0, "apply", "-input=false", "-auto-approve", "-replace=terraform_data.consumer"))
	secondRun := issued() - firstRun
	state, err := os.ReadFile(filepath.Join(dir, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	seen["state"] = state
	// Terraform opens the ephemeral resource once in each plan and once in
	// each apply, except that the first plan cannot: point_user.x.id is
	// unknown until the user exists.
	if firstRun != 1 || secondRun != 2 {
		t.Errorf("access tokens issued: %d by the first plan and apply, %d by the second; want 1 and 2", firstRun, secondRun)
	}

	tokens := accessTokenRequireRecorded(t, env, recorder, true)
	for _, tok := range tokens {
		accessTokenCheckAtPoint(t, env, userID, tok, true)
	}
	hash, err := os.ReadFile(filepath.Join(dir, "token.sha256"))
	if err != nil {
		t.Fatalf("the consumer did not run: %v", err)
	}
	consumed := false
	for _, tok := range tokens {
		consumed = consumed || strings.HasPrefix(string(hash), tokenSHA256(tok))
	}
	if !consumed {
		t.Errorf("the consumer received none of the %d access tokens Point issued", len(tokens))
	}

	secrets := map[string]string{`"Bearer ey"`: "Bearer ey"}
	if rt := env.CurrentRefreshToken(userID); rt != "" {
		secrets["the user's refresh token"] = rt
	}
	for i, tok := range tokens {
		secrets[fmt.Sprintf("access token %d of %d", i+1, len(tokens))] = tok
	}
	for where, text := range seen {
		for name, secret := range secrets {
			if bytes.Contains(text, []byte(secret)) {
				t.Errorf("the %s holds %s", where, name)
			}
		}
	}
}

// TestAccAccessToken_closeFailureWarns shows, through the CLI, that a
// revocation that fails after all retries is reported as a warning on a
// successful apply.
func TestAccAccessToken_closeFailureWarns(t *testing.T) {
	cli := acctest.NewCLI(t)
	env := acctest.NewEnv(t, sandbox.Options{})
	t.Parallel()
	userID := env.UserID("at-cli-503")
	env.AddUser(userID)
	recorder := acctest.NewRecordingFront(env.Upstream())
	front := &accessTokenFailingRevoke{next: recorder}
	server := httptest.NewServer(front)
	t.Cleanup(server.Close)
	const maxRetries = 1
	cfg := fmt.Sprintf(`provider "point" {
  endpoint    = %[1]q
  api_key     = %[2]q
  max_retries = %[3]d
}

ephemeral "point_access_token" "x" {
  user_id = %[4]q
}

resource "terraform_data" "consumer" {
  provisioner "local-exec" {
    command = "test -n \"$TOKEN\""
    environment = {
      TOKEN = ephemeral.point_access_token.x.token
    }
  }
}
`, server.URL, env.APIKey, maxRetries, userID)
	cli.WriteMain(cfg)

	out := []byte(cli.MustRun(0, "apply", "-input=false", "-auto-approve", "-no-color"))
	warning := regexp.MustCompile(accessTokenDiagnostic("Warning", "Point Access Token Not Revoked", `ephemeral "point_access_token" "x" {`,
		fmt.Sprintf("The provider could not revoke the access token of Point user %q; it stays valid until its expires_at. Nothing else is affected. "+
			"Error: revoke access token: HTTP 503 Service Unavailable: unavailable: service temporarily unavailable", userID)))
	if !warning.Match(out) {
		t.Errorf("apply output has no warning about the unrevoked token:\n%s", out)
	}
	if !bytes.Contains(out, []byte("Apply complete! Resources: 1 added")) {
		t.Errorf("apply did not complete:\n%s", out)
	}
	tokens := accessTokenRequireRecorded(t, env, recorder, false)
	if len(tokens) != 2 {
		t.Errorf("the plan and apply issued %d access tokens, want 2: one for each", len(tokens))
	}
	if got, want := int(front.deletes.Load()), (maxRetries+1)*len(tokens); got != want {
		t.Errorf("%d revocation attempts for %d tokens, want %d (max_retries + 1 each)", got, len(tokens), want)
	}
	for i, tok := range tokens {
		if bytes.Contains(out, []byte(tok)) {
			t.Errorf("the apply output holds access token %d", i+1)
		}
		accessTokenCheckAtPoint(t, env, userID, tok, false)
	}
}
