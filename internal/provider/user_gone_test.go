package provider

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
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

// spellingFront stands before Point: it can answer the registration of one
// user with 503 before it reaches Point, and rewrite the body of Point's 404s
// into rewrittenUserNotFound. It counts the 503s it sent and the
// registrations Point answered with 200.
type spellingFront struct {
	mu                 sync.Mutex
	failCreate         string
	failed, registered int
}

func (f *spellingFront) failRegistrationOf(userID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failCreate = userID
}

func (f *spellingFront) counts() (failed, registered int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed, f.registered
}

func (f *spellingFront) handle(rewrite bool) func(w http.ResponseWriter, r *http.Request, next http.Handler) {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		route := sandbox.RouteOf(r)
		f.mu.Lock()
		fail := f.failCreate != "" && route == sandbox.RouteCreateUser && r.URL.Path == "/organizations/users/"+f.failCreate
		f.mu.Unlock()
		rec := httptest.NewRecorder()
		if fail {
			acctest.AnswerJSON(http.StatusServiceUnavailable, `{"error":"unavailable","message":"injected by the test"}`)(rec, r, nil)
		} else {
			next.ServeHTTP(rec, r)
		}
		body := rec.Body.Bytes()
		if rewrite && rec.Code == http.StatusNotFound && route != "" {
			body = []byte(rewrittenUserNotFound)
			rec.Header().Set("Content-Type", "application/json")
		}
		f.mu.Lock()
		if fail {
			f.failed++
		} else if route == sandbox.RouteCreateUser && rec.Code == http.StatusOK {
			f.registered++
		}
		f.mu.Unlock()
		maps.Copy(w.Header(), rec.Header())
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	}
}

// forEachSpelling runs test once per spelling of Point's 404: against each
// sandbox dialect and the rewritten spelling in sandbox mode, and against
// Point as it answers and rewritten in real mode. endpoint is the front's.
func forEachSpelling(t *testing.T, test func(t *testing.T, env *acctest.Env, front *spellingFront, endpoint string)) {
	type spelling struct {
		name, dialect string
		rewrite       bool
	}
	spellings := []spelling{{name: "as Point answers"}, {name: "rewritten", rewrite: true}}
	if !acctest.RealPoint() {
		spellings = nil
		for _, name := range sandbox.DialectNames() {
			spellings = append(spellings, spelling{name: name, dialect: name})
		}
		spellings = append(spellings, spelling{name: "reference rewritten", dialect: sandbox.DefaultDialect, rewrite: true})
	}
	for _, s := range spellings {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			env := acctest.NewEnvInDialect(t, sandbox.Options{}, s.dialect)
			front := &spellingFront{}
			test(t, env, front, acctest.StartFront(t, env, front.handle(s.rewrite)))
		})
	}
}

func userGoneNotOwn404(t *testing.T, out string) {
	t.Helper()
	if strings.Contains(out, "not Point's own") {
		t.Errorf("Point's 404 was taken for something else's:\n%s", out)
	}
}

// userGoneConverged checks that the next plan is empty, that point_users
// holds bulk, and that Point has every user, bulk and single (when not ""),
// with the token in state as its current one.
func userGoneConverged(t *testing.T, env *acctest.Env, cli *acctest.CLI, bulk []string, single string) {
	t.Helper()
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	state := acctest.ReadStateFile(t, cli)
	if got := acctest.StateFileUserIDs(state, acctest.UsersAddr); !acctest.SameElements(got, bulk) {
		t.Errorf("point_users holds %q, want %q", got, bulk)
	}
	tokens, ids := acctest.StateFileTokens(state, acctest.RefreshTokensAddr), bulk
	if single != "" {
		tokens[single], _ = state.Attributes("point_refresh_token.single")["token"].(string)
		ids = append([]string{single}, bulk...)
	}
	for _, id := range ids {
		if !env.HasUser(id) {
			t.Errorf("Point has no user %q", id)
		}
		if tokens[id] == "" || tokens[id] != env.CurrentRefreshToken(id) {
			t.Errorf("the token of %q in state is not its current one in Point", id)
		}
	}
}

// Three users and their tokens, while every registration of one of them
// fails with 503 until the retries run out: the apply creates both resources
// with warnings; one without refresh cannot go on and says how; the next
// registers the user and issues its token, with no state edited.
func TestAccUserGone_bulkRegistrationRanOutCLI(t *testing.T) {
	forEachSpelling(t, func(t *testing.T, env *acctest.Env, front *spellingFront, endpoint string) {
		cli := acctest.NewCLI(t)
		ids := acctest.NumberedUserIDs(env, "ranout", 3)
		unlucky := ids[1]
		cli.WriteMain(acctest.BulkConfig(acctest.ProviderBlockFor(env, endpoint, 1), ids, "", ""))
		front.failRegistrationOf(unlucky)

		if out, code := applyWithoutReplacement(t, cli); code != 0 {
			t.Fatalf("the first apply exited %d; with two users registered it must create both resources, with warnings:\n%s", code, out)
		} else {
			acctest.ExpectOutput(t, out, "Warning: Error Registering Point Users", "Could not register 1 of the 3 users", "the retries ran out")
		}
		if failed, _ := front.counts(); failed != 2 {
			t.Errorf("the registration of %q was attempted %d times, want 2 (max_retries = 1)", unlucky, failed)
		}
		if env.HasUser(unlucky) {
			t.Fatalf("Point has %q, whose every registration failed", unlucky)
		}
		front.failRegistrationOf("")

		// Without refresh, point_users plans nothing and says so; the
		// token of the unregistered user cannot be issued yet.
		out := cli.MustRun(1, "apply", "-refresh=false", "-input=false", "-auto-approve", "-no-color")
		acctest.ExpectOutput(t, out, "Warning: Point Users Not Yet Registered", "Plan with refresh")
		acctest.ExpectOutput(t, out, "Error: Error Issuing Point Refresh Tokens", "Point has no such users; register them first",
			"at the next apply with refresh")
		userGoneNotOwn404(t, out)

		if out, code := applyWithoutReplacement(t, cli); code != 0 {
			t.Fatalf("the apply after the failure exited %d; it must register the user:\n%s", code, out)
		}
		userGoneConverged(t, env, cli, ids, "")
		if _, n := front.counts(); n != len(ids) {
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

// Users and their tokens applied to one environment, then the same state
// pointed at another that never had them (state copied, environment reset):
// the apply registers them again, singular and bulk alike.
func TestAccUserGone_neverInPointCLI(t *testing.T) {
	forEachSpelling(t, func(t *testing.T, env *acctest.Env, _ *spellingFront, endpoint string) {
		cli := acctest.NewCLI(t)
		single, bulk := env.UserID("elsewhere"), acctest.NumberedUserIDs(env, "elsewhere", 2)
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
		userGoneConverged(t, env, cli, bulk, single)
	})
}

// Everything that reads a user Point never had (import by id, the data
// source, both ephemeral resources, the action) says so and names user_id.
// All but the action are read by one plan, which reports each error.
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
		for _, read := range reads {
			want := read.want
			if read.address != "" {
				want = []string{"Error: Point User Not Found", "with " + read.address + ",", "user_id"}
			}
			acctest.ExpectDiagnostic(t, out, want...)
		}
		userGoneNotOwn404(t, out)
		t.Run("action", func(t *testing.T) {
			acctest.SkipWithoutActions(t, "the action")
			cli.WriteMain(provider + fmt.Sprintf("action \"point_revoke_refresh_token\" \"x\" {\n  config {\n    user_id = %q\n  }\n}\n", ghost))
			out := cli.MustRun(1, "apply", "-auto-approve", "-invoke=action.point_revoke_refresh_token.x", "-input=false", "-no-color")
			// Terraform 1.14 prints an action's error under "Error when
			// invoking action", later releases under its own summary.
			acctest.ExpectOutput(t, out, "Point User Not Found", fmt.Sprintf("Point has no user with id %q", ghost), "user_id")
			userGoneNotOwn404(t, out)
		})
		if env.HasUser(ghost) {
			t.Errorf("Point has %q, which nothing should have registered", ghost)
		}
	})
}
