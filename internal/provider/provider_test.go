package provider

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/point"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// The acceptance tests serve the provider with the environment's clock and short retry waits.
func init() {
	acctest.NewProvider = func(env *acctest.Env) func() (tfprotov6.ProviderServer, error) {
		return providerserver.NewProtocol6WithError(newWithOptions("test", options{
			now:          env.Clock.Now,
			retryWaitMin: 5 * time.Millisecond,
			retryWaitMax: 50 * time.Millisecond,
		})())
	}
}

func TestMain(m *testing.M) {
	os.Exit(acctest.Main(m))
}

func TestProvider_schemaValid(t *testing.T) {
	server, err := providerserver.NewProtocol6WithError(New("test")())()
	if err != nil {
		t.Fatal(err)
	}
	schemaResp, err := server.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	acctest.NoDiagnostics(t, "GetProviderSchema", schemaResp.Diagnostics)
	for _, name := range []string{"point_user", "point_refresh_token", "point_users", "point_refresh_tokens"} {
		if _, ok := schemaResp.ResourceSchemas[name]; !ok {
			t.Errorf("resource %s missing", name)
		}
	}
	if _, ok := schemaResp.DataSourceSchemas["point_user"]; !ok {
		t.Error("data source point_user missing")
	}
	if _, ok := schemaResp.EphemeralResourceSchemas["point_access_token"]; !ok {
		t.Error("ephemeral resource point_access_token missing")
	}
}

// providerTestError runs the test case and returns its error, failing if there is none, for the test to
// examine: ExpectError takes one pattern, and cannot say what an error must not contain.
func providerTestError(t *testing.T, tc resource.TestCase, what string) error {
	t.Helper()
	var caught error
	tc.ErrorCheck = func(err error) error {
		caught = err
		return nil
	}
	resource.ParallelTest(t, tc)
	if caught == nil {
		t.Fatalf("%s succeeded", what)
	}
	return caught
}

// providerTestRegistered checks that Point has the user and saw creates registrations in all.
func providerTestRegistered(env *acctest.Env, userID string, creates int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if !env.HasUser(userID) {
			return fmt.Errorf("Point has no user %q", userID)
		}
		return acctest.ExpectRequests(env, sandbox.RouteCreateUser, creates)
	}
}

func providerTestNothingReached(t *testing.T, env *acctest.Env, what string, userIDs ...string) {
	t.Helper()
	acctest.ExpectNoRequests(t, env, what)
	for _, userID := range userIDs {
		if env.HasUser(userID) {
			t.Errorf("%s registered %q", what, userID)
		}
	}
}

// TestAccProvider_invalidConfig plans one configuration with a provider
// block for each bad setting, so that one plan reports every diagnostic.
func TestAccProvider_invalidConfig(t *testing.T) {
	cases := []struct{ attribute, value, want string }{
		{"environment", `"dev"`, `Attribute environment value must be one of: ["staging" "production"], got: "dev"`},
		{"endpoint", `"not a url"`, `Attribute endpoint must be an absolute URL such as "https://staging.sdk.areyoupoint.com", got "not a url".`},
		{"endpoint", `"ftp://x"`, `Attribute endpoint must use the https scheme, got "ftp".`},
		{"endpoint", `"http://example.com"`, `Attribute endpoint must use https for host "example.com": plain http is accepted only for loopback hosts (localhost, 127.0.0.1, ::1), because the API key travels in a request header.`},
		{"endpoint", `"https://u:p@host"`, `Attribute endpoint must not contain credentials; set api_key instead.`},
		{"request_timeout", `"soon"`, `Attribute request_timeout must be a duration such as "30s", "15m" or "2160h" (units ns, us, ms, s, m, h), got "soon".`},
		{"request_timeout", `"-1s"`, `Attribute request_timeout must be greater than zero, got "-1s".`},
		{"max_retries", `11`, `Attribute max_retries value must be between 0 and 10, got: 11`},
		{"max_retries", `-1`, `Attribute max_retries value must be between 0 and 10, got: -1`},
	}
	env := acctest.NewEnv(t, sandbox.Options{})
	var config strings.Builder
	var userIDs []string
	for i, tc := range cases {
		alias, userID := fmt.Sprintf("bad%d", i), env.UserID(fmt.Sprintf("alice-%d", i))
		settings := map[string]string{"endpoint": strconv.Quote(env.Endpoint), "api_key": strconv.Quote(env.APIKey)}
		settings["alias"], settings[tc.attribute] = strconv.Quote(alias), tc.value
		config.WriteString(acctest.ProviderBlockWith(settings))
		fmt.Fprintf(&config, "resource \"point_user\" %q {\n  provider = point.%s\n  user_id  = %q\n}\n", alias, alias, userID)
		userIDs = append(userIDs, userID)
	}
	planErr := providerTestError(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps:                    []resource.TestStep{{Config: config.String(), PlanOnly: true}},
	}, "the plan with invalid provider settings")
	for _, tc := range cases {
		if !acctest.DiagnosticMatching(tc.want).MatchString(planErr.Error()) {
			t.Errorf("no diagnostic for %s = %s, want %q", tc.attribute, tc.value, tc.want)
		}
	}
	providerTestNothingReached(t, env, "invalid provider configuration", userIDs...)
}

func TestAccProvider_wrongAPIKey(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("alice")
	wrongKey := "wrong-key-" + acctest.RandomHex(16)
	provider := acctest.ProviderBlockWith(map[string]string{
		"endpoint": strconv.Quote(env.Endpoint), "api_key": strconv.Quote(wrongKey)})
	applyErr := providerTestError(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps:                    []resource.TestStep{{Config: provider + pointUserBlock("test", userID)}},
	}, "apply with a wrong API key")
	want := acctest.DiagnosticMatching("Error Creating Point User", fmt.Sprintf("Could not create Point user %q.", userID),
		"Point did not accept the credential. Check that api_key (or POINT_API_KEY) is the organisation API key for this environment",
		"HTTP 401 Unauthorized")
	if !want.MatchString(applyErr.Error()) {
		t.Errorf("error does not match %s:\n%v", want, applyErr)
	}
	if strings.Contains(applyErr.Error(), wrongKey) {
		t.Errorf("error shows the API key:\n%v", applyErr)
	}
	if env.HasUser(userID) {
		t.Errorf("Point registered %q with a wrong API key", userID)
	}
	if env.Sandbox != nil && len(env.Sandbox.UserIDs()) != 0 {
		t.Errorf("sandbox registered users with a wrong API key: %v", env.Sandbox.UserIDs())
	}
	expectNoError(t, acctest.ExpectRequests(env, sandbox.RouteCreateUser, 1))
}

// The provider takes its settings from the environment variables where the block has none, and from
// the block, over invalid variables, where it has. A missing API key, and each invalid variable, fail
// at plan with the provider's own words, before any request.
func TestAccProvider_environmentVariables(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID, secondID := env.UserID("alice"), env.UserID("bob")
	t.Setenv(point.EnvAPIKey, "")
	noKey := acctest.ProviderBlockWith(map[string]string{"endpoint": strconv.Quote(env.Endpoint)})
	missingKey := func(planOnly bool, block, detail string) resource.TestStep {
		return resource.TestStep{Config: noKey + fmt.Sprintf(block, userID), PlanOnly: planOnly,
			ExpectError: acctest.DiagnosticMatching("Missing Point API Key", detail)}
	}
	block := func(endpoint, environment string) string {
		return acctest.ProviderBlockWith(map[string]string{
			"endpoint": endpoint, "api_key": strconv.Quote(env.APIKey), "environment": environment})
	}
	setenv := func(endpoint, apiKey, environment string) func() {
		return func() {
			t.Setenv(point.EnvEndpoint, endpoint)
			t.Setenv(point.EnvAPIKey, apiKey)
			t.Setenv(point.EnvEnvironment, environment)
		}
	}
	invalidVariable := func(endpoint, environment, blockEndpoint string, want ...string) resource.TestStep {
		return resource.TestStep{PreConfig: setenv(endpoint, "", environment), PlanOnly: true,
			Config: block(blockEndpoint, "") + pointUserBlock("test", userID), ExpectError: acctest.DiagnosticMatching(want...)}
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{
			// The plan already fails, since its apply would need the key.
			missingKey(true, "\nresource \"point_user\" \"test\" {\n  user_id = %q\n}\n", "Cannot register a Point user: it needs the "+
				"organisation API key, and none is configured. Set api_key in the provider block, or the POINT_API_KEY environment variable."),
			missingKey(false, "\nresource \"point_refresh_token\" \"test\" {\n  user_id = %q\n}\n",
				"Cannot issue a Point refresh token: it needs the organisation API key, and none is configured."),
			missingKey(false, "\ndata \"point_user\" \"test\" {\n  user_id = %q\n}\n",
				"Cannot read a Point user: it needs the organisation API key"),
			invalidVariable("", "dev", strconv.Quote(env.Endpoint), "Invalid Point Environment",
				`The POINT_ENVIRONMENT environment variable is "dev", but the Point environment must be "staging" or "production". Correct the variable, or set environment in the provider block.`),
			invalidVariable("http://example.com", "", "", "Invalid Point Endpoint",
				`The POINT_ENDPOINT environment variable must use https for host "example.com": plain http is accepted only for loopback hosts`,
				"Correct the variable, or set endpoint in the provider block."),
			{
				PreConfig: func() {
					providerTestNothingReached(t, env, "a run with a missing or invalid setting", userID)
					setenv(env.Endpoint, env.APIKey, "staging")()
				},
				Config: `provider "point" {}` + "\n" + pointUserBlock("test", userID),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("point_user.test", tfjsonpath.New("id"), knownvalue.StringExact(userID)),
				},
				Check: providerTestRegistered(env, userID, 1),
			},
			{
				PreConfig: setenv(acctest.DeadEndpoint(t), "wrong-key-"+acctest.RandomHex(16), "dev"),
				Config:    block(strconv.Quote(env.Endpoint), `"staging"`) + pointUserBlock("test", userID) + pointUserBlock("second", secondID),
				Check:     providerTestRegistered(env, secondID, 2),
			},
		},
	})
}

func TestAccProvider_unknownConfiguration(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("alice")
	// terraform_data's output is unknown until it is created or replaced,
	// so the provider is configured with an unknown api_key at plan time.
	config := func(trigger string) string {
		return fmt.Sprintf(`
resource "terraform_data" "api_key" {
  input            = %[2]q
  triggers_replace = %[3]s
}

provider "point" {
  endpoint = %[1]q
  api_key  = terraform_data.api_key.output
}
`, env.Endpoint, env.APIKey, trigger) + pointUserBlock("test", userID)
	}

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{
			{
				Config: config("null"),
				ConfigPlanChecks: preApply(plancheck.ExpectUnknownValue("terraform_data.api_key", tfjsonpath.New("output")),
					plancheck.ExpectResourceAction("point_user.test", plancheck.ResourceActionCreate)),
				Check: providerTestRegistered(env, userID, 1),
			},
			{
				// Replacing terraform_data makes the key unknown while
				// point_user, already in state, must be read.
				Config: config(`"rotated"`),
				ExpectError: acctest.DiagnosticMatching("Point Provider Configuration Not Yet Known",
					"Cannot read a Point user: the provider's api_key depends on values that are known only after apply."),
			},
			{
				Config:           config("null"),
				ConfigPlanChecks: preApply(plancheck.ExpectEmptyPlan()),
				Check:            providerTestRegistered(env, userID, 1),
			},
		},
	})
}
