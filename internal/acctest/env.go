package acctest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/echoprovider"

	"github.com/areyoupoint/terraform-provider-point/internal/point"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
	"github.com/areyoupoint/terraform-provider-point/internal/validators"
)

// EnvRealPoint, when "1", runs the tests against POINT_ENDPOINT or POINT_ENVIRONMENT, with POINT_API_KEY.
const EnvRealPoint = "POINT_TEST_REAL"

// RealPoint reports whether the tests run against a Point outside the test process.
func RealPoint() bool { return os.Getenv(EnvRealPoint) == "1" }

// realPointSettings holds the POINT_* settings of the real mode; init unsets them, so that in both modes a
// provider takes its settings only from what a test writes and sets, as in the CLI tests (devenv.Environ).
var realPointSettings = map[string]string{}

func init() {
	for _, name := range []string{point.EnvAPIKey, point.EnvEndpoint, point.EnvEnvironment} {
		realPointSettings[name] = os.Getenv(name)
		os.Unsetenv(name)
	}
}

func realPointBaseURL() (string, error) {
	if endpoint := realPointSettings[point.EnvEndpoint]; endpoint != "" {
		if problem := validators.EndpointProblem(endpoint); problem != "" {
			return "", fmt.Errorf("%s %s", point.EnvEndpoint, problem)
		}
		return strings.TrimRight(endpoint, "/"), nil
	}
	switch environment := realPointSettings[point.EnvEnvironment]; environment {
	case "staging", "production":
		return point.EnvironmentURL(environment), nil
	case "":
		return "", fmt.Errorf("%s=1 needs %s (a Point-compatible base URL) or %s (staging or production)", EnvRealPoint, point.EnvEndpoint, point.EnvEnvironment)
	default:
		return "", fmt.Errorf("%s is %q; it must be staging or production", point.EnvEnvironment, environment)
	}
}

// Env is one test's Point API (a fresh sandbox, or real Point) and the provider factories for it.
type Env struct {
	t        *testing.T
	Sandbox  *sandbox.Server // nil against real Point
	Endpoint string          // base URL of the sandbox, or of real Point
	APIKey   string
	Clock    *sandbox.ManualClock
	Client   *point.Client // for assertions on what Point holds
	prefix   string
}

// NewEnv starts a sandbox in the dialect POINT_SANDBOX_DIALECT names, unless the tests run on real Point.
func NewEnv(t *testing.T, opts sandbox.Options) *Env {
	t.Helper()
	return NewEnvInDialect(t, opts, os.Getenv(sandbox.EnvDialect))
}

// NewEnvInDialect is NewEnv with a sandbox in the dialect called dialectName ("" is the default one).
func NewEnvInDialect(t *testing.T, opts sandbox.Options, dialectName string) *Env {
	t.Helper()
	env := &Env{t: t, Clock: sandbox.NewManualClock(time.Now().UTC().Truncate(time.Second))}
	if RealPoint() {
		env.APIKey = realPointSettings[point.EnvAPIKey]
		if env.APIKey == "" {
			t.Fatalf("%s=1 needs %s", EnvRealPoint, point.EnvAPIKey)
		}
		var err error
		if env.Endpoint, err = realPointBaseURL(); err != nil {
			t.Fatal(err)
		}
		env.prefix = "tfacc-" + RandomHex(4) + "-"
	} else {
		dialect, err := sandbox.DialectNamed(dialectName)
		if err != nil {
			t.Fatalf("%v (%s names the dialect of the tests' sandboxes)", err, sandbox.EnvDialect)
		}
		opts.Dialect = dialect
		env.Sandbox = sandbox.New(opts)
		var closeFn func()
		env.Endpoint, closeFn = env.Sandbox.Start()
		t.Cleanup(closeFn)
		env.APIKey = env.Sandbox.APIKey()
	}
	env.Client = point.New(point.Config{BaseURL: env.Endpoint, APIKey: env.APIKey})
	return env
}

// RequireSandbox skips a test that needs the sandbox when the suite runs against real Point.
func (e *Env) RequireSandbox() {
	e.t.Helper()
	if e.Sandbox == nil {
		e.t.Skip("needs the sandbox; skipped against real Point")
	}
}

// UserID returns a user id unique to this run against real Point, and name itself against a sandbox.
func (e *Env) UserID(name string) string { return e.prefix + name }

// ProviderBlock configures the provider for this environment.
func (e *Env) ProviderBlock() string {
	return ProviderBlockFor(e, e.Endpoint, 3)
}

// NewProvider serves the provider on env.Clock; the provider's tests set it, as this package cannot import
// the provider.
var NewProvider func(env *Env) func() (tfprotov6.ProviderServer, error)

// Factories serves the provider in-process (NewProvider), together with the echo provider.
func (e *Env) Factories() map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"point": NewProvider(e),
		"echo":  echoprovider.NewProviderServer(),
	}
}

// HasUser reports whether Point holds the user.
func (e *Env) HasUser(id string) bool {
	e.t.Helper()
	if e.Sandbox != nil {
		return e.Sandbox.HasUser(id)
	}
	_, err := e.Client.GetUser(context.Background(), id)
	if err != nil && !point.IsNotFound(err) {
		e.t.Fatalf("reading user %q: %v", id, err)
	}
	return err == nil
}

// CurrentRefreshToken returns the user's current refresh token, or "".
func (e *Env) CurrentRefreshToken(id string) string {
	e.t.Helper()
	if e.Sandbox != nil {
		token, _ := e.Sandbox.CurrentRefreshToken(id)
		return token
	}
	user, err := e.Client.GetUser(context.Background(), id)
	if point.IsNotFound(err) {
		return ""
	}
	if err != nil {
		e.t.Fatalf("reading user %q: %v", id, err)
	}
	return user.CurrentRefreshToken()
}

func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
