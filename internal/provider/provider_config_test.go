package provider

import (
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// providerConfigTestBlock writes a provider block from HCL expressions by
// attribute name; an empty expression leaves the attribute out.
func providerConfigTestBlock(settings map[string]string) string {
	var b strings.Builder
	b.WriteString("provider \"point\" {\n")
	for _, name := range slices.Sorted(maps.Keys(settings)) {
		if settings[name] != "" {
			fmt.Fprintf(&b, "  %s = %s\n", name, settings[name])
		}
	}
	b.WriteString("}\n")
	return b.String()
}

const providerConfigTestUser = `
resource "point_user" "test" {
  user_id = "alice"
}
`

// providerConfigTestDeadEndpoint returns a loopback URL where nothing listens.
func providerConfigTestDeadEndpoint(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestAccProvider_invalidConfig(t *testing.T) {
	for _, tc := range []struct {
		name, attribute, value string
		want                   *regexp.Regexp
	}{
		{"environment", "environment", `"dev"`,
			userTestDiagnostic(`Attribute environment value must be one of: ["staging" "production"], got: "dev"`)},
		{"endpoint not a URL", "endpoint", `"not a url"`,
			userTestDiagnostic(`Attribute endpoint must be an absolute URL such as "https://staging.sdk.areyoupoint.com", got "not a url".`)},
		{"endpoint scheme", "endpoint", `"ftp://x"`,
			userTestDiagnostic(`Attribute endpoint must use the https scheme, got "ftp".`)},
		{"endpoint plain http", "endpoint", `"http://example.com"`,
			userTestDiagnostic(`Attribute endpoint must use https for host "example.com": plain http is accepted only for loopback hosts (localhost, 127.0.0.1, ::1), because the API key travels in a request header.`)},
		{"endpoint credentials", "endpoint", `"https://u:p@host"`,
			userTestDiagnostic(`Attribute endpoint must not contain credentials; set api_key instead.`)},
		{"request_timeout word", "request_timeout", `"soon"`,
			userTestDiagnostic(`Attribute request_timeout must be a duration such as "30s", "15m" or "2160h" (units ns, us, ms, s, m, h), got "soon".`)},
		{"request_timeout negative", "request_timeout", `"-1s"`,
			userTestDiagnostic(`Attribute request_timeout must be greater than zero, got "-1s".`)},
		{"max_retries too many", "max_retries", `11`,
			userTestDiagnostic(`Attribute max_retries value must be between 0 and 10, got: 11`)},
		{"max_retries negative", "max_retries", `-1`,
			userTestDiagnostic(`Attribute max_retries value must be between 0 and 10, got: -1`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t, sandbox.Options{})
			env.RequireSandbox()
			settings := map[string]string{"endpoint": fmt.Sprintf("%q", env.Endpoint), "api_key": fmt.Sprintf("%q", env.APIKey)}
			settings[tc.attribute] = tc.value

			resource.ParallelTest(t, resource.TestCase{
				ProtoV6ProviderFactories: env.Factories(),
				Steps: []resource.TestStep{{
					Config:      providerConfigTestBlock(settings) + providerConfigTestUser,
					PlanOnly:    true,
					ExpectError: tc.want,
				}},
			})
			if n := env.Sandbox.Requests(); n != 0 {
				t.Errorf("invalid provider configuration reached the API: %d requests", n)
			}
		})
	}
}

func TestAccProvider_missingAPIKey(t *testing.T) {
	t.Setenv(envAPIKey, "")
	env := newTestEnv(t, sandbox.Options{})
	env.RequireSandbox()
	provider := providerConfigTestBlock(map[string]string{"endpoint": fmt.Sprintf("%q", env.Endpoint)})

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{
			{
				// Validating and planning a new user need no key.
				Config:             provider + providerConfigTestUser,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: provider + providerConfigTestUser,
				ExpectError: userTestDiagnostic("Missing Point API Key",
					"Cannot create a Point user: it needs the organisation API key, and none is configured. Set api_key in the provider block, or the POINT_API_KEY environment variable."),
			},
			{
				Config: provider + `
data "point_user" "test" {
  user_id = "alice"
}
`,
				ExpectError: userTestDiagnostic("Missing Point API Key",
					"Cannot read a Point user: it needs the organisation API key"),
			},
		},
	})
	if n := env.Sandbox.Requests(); n != 0 {
		t.Errorf("%d requests reached Point without an API key", n)
	}
}

func TestAccProvider_wrongAPIKey(t *testing.T) {
	env := newTestEnv(t, sandbox.Options{})
	env.RequireSandbox()
	wrongKey := "wrong-key-" + randomHex(16)
	provider := providerConfigTestBlock(map[string]string{
		"endpoint": fmt.Sprintf("%q", env.Endpoint),
		"api_key":  fmt.Sprintf("%q", wrongKey),
	})

	// ExpectError cannot say what an error must not contain, so the error is
	// captured and examined after the test.
	var applyErr error
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		ErrorCheck: func(err error) error {
			applyErr = err
			return nil
		},
		Steps: []resource.TestStep{{Config: provider + providerConfigTestUser}},
	})

	if applyErr == nil {
		t.Fatal("apply with a wrong API key succeeded")
	}
	want := userTestDiagnostic("Error Creating Point User", `Could not create Point user "alice".`,
		"Point did not accept the credential. Check that api_key (or POINT_API_KEY) is the organisation API key for this environment",
		"HTTP 401 Unauthorized")
	if !want.MatchString(applyErr.Error()) {
		t.Errorf("error does not match %s:\n%v", want, applyErr)
	}
	if strings.Contains(applyErr.Error(), wrongKey) {
		t.Errorf("error shows the API key:\n%v", applyErr)
	}
	if len(env.Sandbox.UserIDs()) != 0 {
		t.Errorf("sandbox registered users with a wrong API key: %v", env.Sandbox.UserIDs())
	}
	if err := userTestExpectRequests(env, userTestRouteCreate, 1); err != nil {
		t.Error(err)
	}
}

func TestAccProvider_environmentVariables(t *testing.T) {
	env := newTestEnv(t, sandbox.Options{})
	env.RequireSandbox()
	t.Setenv(envEndpoint, env.Endpoint)
	t.Setenv(envAPIKey, env.APIKey)
	t.Setenv(envEnvironment, "staging")

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{{
			Config: `provider "point" {}` + "\n" + providerConfigTestUser,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("point_user.test", tfjsonpath.New("id"), knownvalue.StringExact("alice")),
			},
			Check: func(*terraform.State) error {
				if !env.Sandbox.HasUser("alice") {
					return fmt.Errorf("user not registered through the endpoint from %s", envEndpoint)
				}
				return userTestExpectRequests(env, userTestRouteCreate, 1)
			},
		}},
	})
}

func TestAccProvider_configBeatsEnvironment(t *testing.T) {
	env := newTestEnv(t, sandbox.Options{})
	env.RequireSandbox()
	t.Setenv(envEndpoint, providerConfigTestDeadEndpoint(t))
	t.Setenv(envAPIKey, "wrong-key-"+randomHex(16))
	t.Setenv(envEnvironment, "dev")
	provider := providerConfigTestBlock(map[string]string{
		"endpoint":    fmt.Sprintf("%q", env.Endpoint),
		"api_key":     fmt.Sprintf("%q", env.APIKey),
		"environment": `"staging"`,
	})

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{{
			Config: provider + providerConfigTestUser,
			Check: func(*terraform.State) error {
				if !env.Sandbox.HasUser("alice") {
					return fmt.Errorf("user not registered through the configured endpoint")
				}
				return userTestExpectRequests(env, userTestRouteCreate, 1)
			},
		}},
	})
}

func TestAccProvider_invalidEnvironmentVariables(t *testing.T) {
	for _, tc := range []struct {
		name, variable, value, omit string
		want                        *regexp.Regexp
	}{
		{"environment", envEnvironment, "dev", "",
			userTestDiagnostic("Invalid Point Environment",
				`The POINT_ENVIRONMENT environment variable is "dev", but the Point environment must be "staging" or "production". Correct the variable, or set environment in the provider block.`)},
		{"endpoint", envEndpoint, "http://example.com", "endpoint",
			userTestDiagnostic("Invalid Point Endpoint",
				`The POINT_ENDPOINT environment variable must use https for host "example.com": plain http is accepted only for loopback hosts`,
				"Correct the variable, or set endpoint in the provider block.")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t, sandbox.Options{})
			env.RequireSandbox()
			t.Setenv(tc.variable, tc.value)
			settings := map[string]string{"endpoint": fmt.Sprintf("%q", env.Endpoint), "api_key": fmt.Sprintf("%q", env.APIKey)}
			delete(settings, tc.omit)

			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: env.Factories(),
				Steps: []resource.TestStep{{
					Config:      providerConfigTestBlock(settings) + providerConfigTestUser,
					PlanOnly:    true,
					ExpectError: tc.want,
				}},
			})
			if n := env.Sandbox.Requests(); n != 0 {
				t.Errorf("invalid environment variable reached the API: %d requests", n)
			}
		})
	}
}

func TestAccProvider_unknownConfiguration(t *testing.T) {
	env := newTestEnv(t, sandbox.Options{})
	env.RequireSandbox()
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
`, env.Endpoint, env.APIKey, trigger) + providerConfigTestUser
	}

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{
			{
				Config: config("null"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectUnknownValue("terraform_data.api_key", tfjsonpath.New("output")),
						plancheck.ExpectResourceAction("point_user.test", plancheck.ResourceActionCreate),
					},
				},
				Check: func(*terraform.State) error {
					if !env.Sandbox.HasUser("alice") {
						return fmt.Errorf("user not registered once the API key became known")
					}
					return userTestExpectRequests(env, userTestRouteCreate, 1)
				},
			},
			{
				// Replacing terraform_data makes the key unknown while
				// point_user, already in state, must be read.
				Config: config(`"rotated"`),
				ExpectError: userTestDiagnostic("Point Provider Configuration Not Yet Known",
					"Cannot read a Point user: the provider's api_key depends on values that are known only after apply."),
			},
			{
				PreConfig: func() {
					if !env.Sandbox.HasUser("alice") {
						t.Fatal("user gone from Point")
					}
				},
				Config: config("null"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					return userTestExpectRequests(env, userTestRouteCreate, 1)
				},
			},
		},
	})
}
