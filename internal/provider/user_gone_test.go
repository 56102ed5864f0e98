package provider

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// Every way out of "Point has no such user", whatever words Point's 404
// uses: a user that was deleted, or never registered in this environment,
// is registered again, and a registration that ran out of retries is
// finished by the next apply. Each test runs against every sandbox dialect,
// and against the reference dialect (or real Point) behind a front that
// rewrites Point's 404s on its routes into words that do not name the user.

// rewrittenUserNotFound is a 404 body that says nothing the provider could
// read as "user": the spelling that made the provider refuse Point's own
// answers when it read error codes.
const rewrittenUserNotFound = `{"error":"not_found","message":"user not found"}`

// spellingFront stands before Point. It can answer the registration of one
// user with 503, before it reaches Point, and can rewrite the body of every
// 404 that Point gives on one of its routes into rewrittenUserNotFound.
type spellingFront struct {
	next    http.Handler
	rewrite bool

	mu         sync.Mutex
	failCreate string
	failed     int
	answers    map[string]int // "<route> <status>"
}

func (f *spellingFront) failRegistrationOf(userID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failCreate = userID
}

func (f *spellingFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route := sandbox.RouteOf(r)
	f.mu.Lock()
	fail := f.failCreate != "" && route == sandbox.RouteCreateUser && r.URL.Path == "/organizations/users/"+f.failCreate
	if fail {
		f.failed++
	}
	f.mu.Unlock()
	rec := httptest.NewRecorder()
	switch {
	case fail:
		acctest.AnswerJSON(http.StatusServiceUnavailable, `{"error":"unavailable","message":"injected by the test"}`)(rec, r, nil)
	default:
		f.next.ServeHTTP(rec, r)
	}
	body := rec.Body.Bytes()
	if f.rewrite && rec.Code == http.StatusNotFound && route != "" {
		body = []byte(rewrittenUserNotFound)
		rec.Header().Set("Content-Type", "application/json")
	}
	f.mu.Lock()
	f.answers[fmt.Sprintf("%s %d", route, rec.Code)]++
	f.mu.Unlock()
	maps.Copy(w.Header(), rec.Header())
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}

// answered counts the answers with status to requests on route.
func (f *spellingFront) answered(route string, status int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.answers[fmt.Sprintf("%s %d", route, status)]
}

// forEachSpelling runs test once per spelling of Point's 404: against each
// sandbox dialect and the rewritten spelling in sandbox mode, and against
// Point as it answers and rewritten in real mode. endpoint is the front's.
func forEachSpelling(t *testing.T, test func(t *testing.T, env *acctest.Env, front *spellingFront, endpoint string)) {
	type spelling struct {
		name, dialect string
		rewrite       bool
	}
	var spellings []spelling
	if acctest.RealPoint() {
		spellings = []spelling{{name: "as Point answers"}, {name: "rewritten", rewrite: true}}
	} else {
		for _, name := range sandbox.DialectNames() {
			spellings = append(spellings, spelling{name: name, dialect: name})
		}
		spellings = append(spellings, spelling{name: "reference rewritten", dialect: sandbox.DefaultDialect, rewrite: true})
	}
	for _, s := range spellings {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			env := acctest.NewEnvInDialect(t, sandbox.Options{}, s.dialect)
			front := &spellingFront{next: env.Upstream(), rewrite: s.rewrite, answers: map[string]int{}}
			server := httptest.NewServer(front)
			t.Cleanup(server.Close)
			test(t, env, front, server.URL)
		})
	}
}

// TestAccUserGone_bulkRegistrationRanOutCLI registers three users and
// their tokens while every registration of one of them fails with 503 until
// the retries run out. The apply creates both resources with warnings; an
// apply without refresh cannot register the user (it plans nothing for
// point_users), fails to issue its token and says how to go on; the next
// apply registers it and issues its token, with no state edited, and then
// nothing is left to do.
func TestAccUserGone_bulkRegistrationRanOutCLI(t *testing.T) {
	forEachSpelling(t, func(t *testing.T, env *acctest.Env, front *spellingFront, endpoint string) {
		cli := acctest.NewCLI(t)
		ids := acctest.NumberedUserIDs(env, "ranout", 3)
		unlucky := ids[1]
		cli.WriteMain(acctest.BulkConfig(acctest.ProviderBlockFor(env, endpoint, 1), ids, "", ""))
		front.failRegistrationOf(unlucky)

		out, code := applyWithoutReplacement(t, cli)
		if code != 0 {
			t.Fatalf("the first apply exited %d; with two users registered it must create both resources, with warnings:\n%s", code, out)
		}
		acctest.ExpectOutput(t, out, "Warning: Error Registering Point Users", "Could not register 1 of the 3 users", "the retries ran out")
		if front.failed != 2 {
			t.Errorf("the registration of %q was attempted %d times, want 2 (max_retries = 1)", unlucky, front.failed)
		}
		if env.HasUser(unlucky) {
			t.Fatalf("Point has %q, whose every registration failed", unlucky)
		}
		front.failRegistrationOf("")

		// Without refresh, point_users plans nothing and says so; the
		// token of the unregistered user cannot be issued yet.
		out, code = cli.Run("apply", "-refresh=false", "-input=false", "-auto-approve", "-no-color")
		if code != 1 {
			t.Errorf("apply -refresh=false exited %d, want 1: the token of a user not registered cannot be issued", code)
		}
		acctest.ExpectOutput(t, out, "Warning: Point Users Not Yet Registered", "Plan with refresh")
		acctest.ExpectOutput(t, out, "Error: Error Issuing Point Refresh Tokens", "Point has no such users; register them first",
			"at the next apply with refresh")
		if strings.Contains(out, "not Point's own") {
			t.Errorf("Point's 404 was taken for something else's:\n%s", out)
		}

		out, code = applyWithoutReplacement(t, cli)
		if code != 0 {
			t.Fatalf("the apply after the failure exited %d; it must register the user:\n%s", code, out)
		}
		cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")
		state := acctest.ReadStateFile(t, cli)
		if got := acctest.StateFileUserIDs(state, acctest.UsersAddr); !acctest.SameElements(got, ids) {
			t.Errorf("point_users holds %q, want %q", got, ids)
		}
		tokens := acctest.StateFileTokens(state, acctest.RefreshTokensAddr)
		for _, id := range ids {
			if !env.HasUser(id) {
				t.Errorf("Point has no user %q", id)
			}
			if tokens[id] == "" || tokens[id] != env.CurrentRefreshToken(id) {
				t.Errorf("the token of %q in state is not its current one in Point", id)
			}
		}
		if n := front.answered(sandbox.RouteCreateUser, http.StatusOK); n != len(ids) {
			t.Errorf("%d registrations succeeded, want %d: one per user", n, len(ids))
		}
	})
}

// userGoneConfig is a user and its token, singular and bulk.
func userGoneConfig(providerBlock string, single string, bulk []string) string {
	return providerBlock + fmt.Sprintf(`
resource "point_user" "single" {
  user_id = %[1]q
}

resource "point_refresh_token" "single" {
  user_id = point_user.single.user_id
}
`, single) + strings.TrimPrefix(acctest.BulkConfig("", bulk, "", ""), "\n")
}

// TestAccUserGone_neverInPointCLI applies users and their tokens to one
// environment, then points the same state at another that never had them,
// as when state is copied between environments or an environment is reset.
// The refresh finds them gone and the apply registers them again, singular
// and bulk alike.
func TestAccUserGone_neverInPointCLI(t *testing.T) {
	forEachSpelling(t, func(t *testing.T, env *acctest.Env, front *spellingFront, endpoint string) {
		cli := acctest.NewCLI(t)
		single := env.UserID("elsewhere")
		bulk := acctest.NumberedUserIDs(env, "elsewhere", 2)
		staging := sandbox.New(sandbox.Options{})
		stagingURL, stop := staging.Start()
		t.Cleanup(stop)
		cli.WriteMain(userGoneConfig(acctest.ProviderBlockWith(map[string]string{
			"endpoint": fmt.Sprintf("%q", stagingURL), "api_key": fmt.Sprintf("%q", staging.APIKey()),
		}), single, bulk))
		cli.MustRun(0, "apply", "-input=false", "-auto-approve", "-no-color")
		for _, id := range append([]string{single}, bulk...) {
			if !staging.HasUser(id) || env.HasUser(id) {
				t.Fatalf("user %q: in the first environment %v, in the second %v; want only the first", id, staging.HasUser(id), env.HasUser(id))
			}
		}

		cli.WriteMain(userGoneConfig(acctest.ProviderBlockFor(env, endpoint, 1), single, bulk))
		out, code := applyWithoutReplacement(t, cli)
		if code != 0 {
			t.Fatalf("the apply against the environment without the users exited %d:\n%s", code, out)
		}
		acctest.ExpectOutput(t, out, "Warning: Point User Not Found", fmt.Sprintf("Point has no user with id %q any more", single))
		acctest.ExpectOutput(t, out, "Warning: Point Users Not Found", "Point has no users with 2 of the ids in user_ids any more")
		cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")

		state := acctest.ReadStateFile(t, cli)
		if got := acctest.StateFileUserIDs(state, acctest.UsersAddr); !acctest.SameElements(got, bulk) {
			t.Errorf("point_users holds %q, want %q", got, bulk)
		}
		tokens := acctest.StateFileTokens(state, acctest.RefreshTokensAddr)
		tokens[single], _ = state.Attributes("point_refresh_token.single")["token"].(string)
		for _, id := range append([]string{single}, bulk...) {
			if !env.HasUser(id) {
				t.Errorf("Point has no user %q after the apply", id)
			}
			if tokens[id] == "" || tokens[id] != env.CurrentRefreshToken(id) {
				t.Errorf("the token of %q in state is not its current one in Point", id)
			}
		}
	})
}

// TestAccUserGone_lookupsNameCLI checks the errors of everything that reads a
// user that Point never had: import by id, the data source, both ephemeral
// resources and the action each name user_id and say what to do. All but
// the action are read by one plan, which reports each error on its own.
func TestAccUserGone_lookupsNameCLI(t *testing.T) {
	forEachSpelling(t, func(t *testing.T, env *acctest.Env, _ *spellingFront, endpoint string) {
		cli := acctest.NewCLI(t)
		ghost := env.UserID("never-registered")
		provider := acctest.ProviderBlockFor(env, endpoint, 1)
		// Each read, and its error: the imports' errors name no address,
		// the others name theirs.
		reads := []struct {
			address, config string
			want            []string
		}{
			{"", fmt.Sprintf("import {\n  to = point_user.x\n  id = %q\n}\nresource \"point_user\" \"x\" {\n  user_id = %[1]q\n}\n", ghost),
				[]string{"Error: Cannot Import Point User", fmt.Sprintf("Point has no user with id %q", ghost)}},
			{"", fmt.Sprintf("import {\n  to = point_refresh_token.x\n  id = %q\n}\nresource \"point_refresh_token\" \"x\" {\n  user_id = %[1]q\n}\n", ghost),
				[]string{"Error: Cannot Import Point Refresh Token", "Point has no user with this id"}},
			{"data.point_user.x", fmt.Sprintf("data \"point_user\" \"x\" {\n  user_id = %q\n}\n", ghost), nil},
			{"ephemeral.point_refresh_token.x", fmt.Sprintf("ephemeral \"point_refresh_token\" \"x\" {\n  user_id = %q\n}\n", ghost), nil},
			{"ephemeral.point_access_token.api_key", fmt.Sprintf("ephemeral \"point_access_token\" \"api_key\" {\n  user_id = %q\n}\n", ghost), nil},
			{"ephemeral.point_access_token.refresh_token",
				fmt.Sprintf("ephemeral \"point_access_token\" \"refresh_token\" {\n  user_id       = %q\n  refresh_token = \"rt_not_a_token\"\n}\n", ghost), nil},
		}
		config := provider
		for _, read := range reads {
			config += read.config
		}
		cli.WriteMain(config)
		out := cli.MustRun(1, "plan", "-input=false", "-no-color")
		diagnostics := userGoneDiagnostics(out)
		for _, read := range reads {
			pattern := acctest.DiagnosticMatching(read.want...)
			if read.address != "" {
				pattern = acctest.DiagnosticMatching("Error: Point User Not Found", "with "+read.address+",", "user_id")
			}
			if !slices.ContainsFunc(diagnostics, pattern.MatchString) {
				t.Errorf("no diagnostic matches %s:\n%s", pattern, out)
			}
		}
		if strings.Contains(out, "not Point's own") {
			t.Errorf("Point's 404 was taken for something else's:\n%s", out)
		}
		t.Run("action", func(t *testing.T) {
			acctest.SkipWithoutActions(t, "the action")
			cli.WriteMain(provider + fmt.Sprintf("action \"point_revoke_refresh_token\" \"x\" {\n  config {\n    user_id = %q\n  }\n}\n", ghost))
			out := cli.MustRun(1, "apply", "-auto-approve", "-invoke=action.point_revoke_refresh_token.x", "-input=false", "-no-color")
			// Terraform 1.14 prints an action's error under "Error when
			// invoking action", later releases under its own summary.
			acctest.ExpectOutput(t, out, "Point User Not Found", fmt.Sprintf("Point has no user with id %q", ghost), "user_id")
			if strings.Contains(out, "not Point's own") {
				t.Errorf("Point's 404 was taken for something else's:\n%s", out)
			}
		})
		if env.HasUser(ghost) {
			t.Errorf("Point has %q, which nothing should have registered", ghost)
		}
	})
}

// userGoneDiagnostics splits the output of a command into its diagnostics,
// each from its "Error:" or "Warning:" line to the next.
func userGoneDiagnostics(out string) []string {
	starts := regexp.MustCompile(`(?m)^[│╷\s]*(Error|Warning): `).FindAllStringIndex(out, -1)
	var diagnostics []string
	for i, start := range starts {
		end := len(out)
		if i+1 < len(starts) {
			end = starts[i+1][0]
		}
		diagnostics = append(diagnostics, out[start[0]:end])
	}
	return diagnostics
}
