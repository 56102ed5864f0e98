package provider

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/areyoupoint/terraform-provider-point/internal/point"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// badInputUser is the user every row works on (with the prefix of
// acctest.Env.UserID against real Point).
const badInputUser = "bad-input"

// A badInputTarget is the part of the configuration a row exercises, and
// the resource whose absence from state shows that nothing was half written.
type badInputTarget struct {
	config  string
	address string
	// existing users are registered in Point before the test.
	existing bool
}

// badInputTargets are the targets of the rows, for one user id.
type badInputTargets struct {
	newUser, refreshToken, accessToken, dataSource badInputTarget
}

func newBadInputTargets(user string) badInputTargets {
	var tg badInputTargets
	tg.newUser = badInputTarget{config: fmt.Sprintf(`
resource "point_user" "x" {
  user_id = %[1]q
}
`, user), address: "point_user.x"}

	tg.refreshToken = badInputTarget{config: fmt.Sprintf(`
resource "point_refresh_token" "x" {
  user_id = %[1]q
}
`, user), address: "point_refresh_token.x", existing: true}

	// The access token opens with the API key: a user read, then an issue.
	tg.accessToken = badInputTarget{config: fmt.Sprintf(`
ephemeral "point_access_token" "x" {
  user_id = %[1]q
}

provider "echo" {
  data = ephemeral.point_access_token.x
}

resource "echo" "x" {}
`, user), address: "echo.x", existing: true}

	tg.dataSource = badInputTarget{config: fmt.Sprintf(`
data "point_user" "x" {
  user_id = %[1]q
}

resource "terraform_data" "x" {
  input = data.point_user.x.id
}
`, user), address: "terraform_data.x", existing: true}
	return tg
}

// badInputRateLimited answers 429 with an unreadable Retry-After the first
// times requests, then passes requests on (never, when times < 0).
func badInputRateLimited(times int) func(http.ResponseWriter, *http.Request, http.Handler) {
	var n atomic.Int64
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if times >= 0 && n.Add(1) > int64(times) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Retry-After", "soon, maybe; 2ms?")
		acctest.AnswerJSON(http.StatusTooManyRequests, `{"error":"rate_limited","message":"slow down"}`)(w, r, next)
	}
}

// badInputSlow answers after d, or never if the client gives up first.
func badInputSlow(d time.Duration) func(http.ResponseWriter, *http.Request, http.Handler) {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		select {
		case <-time.After(d):
			next.ServeHTTP(w, r)
		case <-r.Context().Done():
		}
	}
}

// badInputHangUp closes the connection without answering.
func badInputHangUp(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// badInputAnswerLost passes the request on, so that Point acts on it, and
// then closes the connection instead of answering.
func badInputAnswerLost(w http.ResponseWriter, r *http.Request, next http.Handler) {
	next.ServeHTTP(httptest.NewRecorder(), r)
	badInputHangUp(w, r, next)
}

// badInputEchoKey answers 500 with the request's credential in the message.
func badInputEchoKey(w http.ResponseWriter, r *http.Request, next http.Handler) {
	key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	acctest.AnswerJSON(http.StatusInternalServerError,
		fmt.Sprintf(`{"error":"internal","message":"upstream says key %s is invalid (Authorization: Bearer %s)"}`, key, key))(w, r, next)
}

type badInputRow struct {
	name   string
	target badInputTarget
	// provider overrides the provider's settings (HCL expressions by
	// attribute; "" leaves one out) in the failing step.
	provider map[string]string
	// config replaces target.config in the failing step.
	config string
	// env sets environment variables for the row.
	env map[string]string
	// route and answer rewrite the answers to one route.
	route  string
	answer func(http.ResponseWriter, *http.Request, http.Handler)
	// want matches the error; nil when the step must succeed.
	want *regexp.Regexp
	// offline rows must fail before any request reaches Point.
	offline bool
}

const (
	badInputDetailAPIKey   = "Point did not accept the credential. Check that api_key (or POINT_API_KEY) is the organisation API key for this environment"
	badInputDetailDecode   = "Point's answer was not what its API reference describes. If this persists, please report it."
	badInputDetailServer   = "Point or a proxy in front of it failed. Retry later; nothing was changed in state."
	badInputDetailNoAnswer = "No answer came from Point. Check the network, the endpoint setting, and request_timeout."
	badInputDetailLimited  = "Point is rate limiting requests, and the retries ran out after 3 attempts (max_retries = 2). Retry later, lower -parallelism, or raise max_retries."
)

// badInputRows is the catalogue, for the user id user.
func badInputRows(t *testing.T, user string) []badInputRow {
	tg := newBadInputTargets(user)
	diag := acctest.DiagnosticMatching
	invalid := func(text string) *regexp.Regexp { return diag("Invalid Attribute Value", text) }
	readUser := fmt.Sprintf("Could not read Point user %q.", user)
	createUser := fmt.Sprintf("Could not create Point user %q.", user)
	issueRefresh := fmt.Sprintf("Could not issue a refresh token for Point user %q.", user)
	issueAccess := fmt.Sprintf("Could not issue an access token for Point user %q.", user)
	megabytes := `{"user":{"id":"bad-input","email":"` + strings.Repeat("x", 3<<20) + `"}}`
	proxyPage := "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx</center>\n</body>\n</html>\n"

	return []badInputRow{
		// Configuration.
		{name: "config/environment empty", target: tg.newUser, provider: map[string]string{"environment": `""`}, offline: true,
			want: diag(`Attribute environment value must be one of: ["staging" "production"], got: ""`)},
		{name: "config/api_key empty", target: tg.newUser, provider: map[string]string{"api_key": `""`}, offline: true,
			want: diag("Attribute api_key string length must be at least 1, got: 0")},
		{name: "config/endpoint with query", target: tg.newUser, provider: map[string]string{"endpoint": `"https://point.example/?debug=1"`}, offline: true,
			want: invalid("Attribute endpoint must not have a query or fragment.")},
		{name: "config/endpoint without host", target: tg.newUser, provider: map[string]string{"endpoint": `"https://"`}, offline: true,
			want: invalid(`Attribute endpoint must be an absolute URL such as "https://staging.sdk.areyoupoint.com", got "https://".`)},
		{name: "config/request_timeout without unit", target: tg.newUser, provider: map[string]string{"request_timeout": `"30"`}, offline: true,
			want: invalid(`Attribute request_timeout must be a duration such as "30s", "15m" or "2160h" (units ns, us, ms, s, m, h), got "30".`)},
		{name: "config/max_retries huge", target: tg.newUser, provider: map[string]string{"max_retries": "1000"}, offline: true,
			want: diag("Attribute max_retries value must be between 0 and 10, got: 1000")},
		{name: "config/user_id email", target: tg.newUser, config: `
resource "point_user" "x" {
  user_id = "alice@example.com"
}
`, offline: true, want: invalid(`Attribute user_id must not contain "@": Point asks that user ids carry no personal information, such as email addresses`)},
		{name: "config/user_id with tab", target: tg.newUser, config: `
resource "point_user" "x" {
  user_id = "a\tb"
}
`, offline: true, want: invalid("Attribute user_id must not contain whitespace.")},
		{name: "config/rotate_after zero", target: tg.refreshToken, config: fmt.Sprintf(`
resource "point_refresh_token" "x" {
  user_id      = %[1]q
  rotate_after = "0s"
}
`, user), offline: true, want: invalid(`Attribute rotate_after must be greater than zero, got "0s".`)},
		{name: "config/deletion_policy unknown word", target: tg.newUser, config: fmt.Sprintf(`
resource "point_user" "x" {
  user_id         = %[1]q
  deletion_policy = "DELETE"
}
`, user), offline: true, want: diag(`Attribute deletion_policy value must be one of: ["ABANDON" "REVOKE" "PREVENT"], got: "DELETE"`)},
		{name: "config/refresh_token empty", target: tg.accessToken, config: strings.Replace(tg.accessToken.config,
			fmt.Sprintf("user_id = %q", user), fmt.Sprintf("user_id = %q\n  refresh_token = \"\"", user), 1),
			offline: true, want: diag("Attribute refresh_token string length must be at least 1, got: 0")},

		// Environment variables.
		{name: "env/POINT_ENVIRONMENT capitalised", target: tg.newUser, env: map[string]string{point.EnvEnvironment: "Production"}, offline: true,
			want: diag("Invalid Point Environment", `The POINT_ENVIRONMENT environment variable is "Production", but the Point environment must be "staging" or "production".`)},
		{name: "env/POINT_ENVIRONMENT leading space", target: tg.newUser, env: map[string]string{point.EnvEnvironment: " staging"}, offline: true,
			want: diag("Invalid Point Environment", `The POINT_ENVIRONMENT environment variable is " staging", but the Point environment must be "staging" or "production".`)},
		{name: "env/POINT_ENDPOINT not a URL", target: tg.newUser, env: map[string]string{point.EnvEndpoint: "not a url"}, provider: map[string]string{"endpoint": ""}, offline: true,
			want: diag("Invalid Point Endpoint", `The POINT_ENDPOINT environment variable must be an absolute URL such as "https://staging.sdk.areyoupoint.com", got "not a url". Correct the variable, or set endpoint in the provider block.`)},
		{name: "env/POINT_ENDPOINT ftp", target: tg.newUser, env: map[string]string{point.EnvEndpoint: "ftp://127.0.0.1/"}, provider: map[string]string{"endpoint": ""}, offline: true,
			want: diag("Invalid Point Endpoint", `The POINT_ENDPOINT environment variable must use the https scheme, got "ftp".`)},
		{name: "env/POINT_ENDPOINT with credentials", target: tg.newUser, env: map[string]string{point.EnvEndpoint: "https://user:pass@127.0.0.1/"}, provider: map[string]string{"endpoint": ""}, offline: true,
			want: diag("Invalid Point Endpoint", "The POINT_ENDPOINT environment variable must not contain credentials; set api_key instead.")},
		{name: "env/POINT_ENDPOINT nothing listening", target: tg.newUser, env: map[string]string{point.EnvEndpoint: acctest.DeadEndpoint(t)}, provider: map[string]string{"endpoint": ""},
			want: diag("Error Creating Point User", createUser, badInputDetailNoAnswer, "create user (POST /organizations/users/{userId}):", "connection refused")},
		{name: "env/POINT_API_KEY wrong", target: tg.dataSource, env: map[string]string{point.EnvAPIKey: "wrong-key-" + acctest.RandomHex(16)}, provider: map[string]string{"api_key": ""},
			want: diag("Error Reading Point User", readUser, badInputDetailAPIKey, "get user: HTTP 401 Unauthorized")},

		// Answers from the server.
		{name: "answer/malformed JSON", target: tg.dataSource, route: sandbox.RouteGetUser, answer: acctest.AnswerJSON(200, `{"user": {"id": "bad-input",`),
			want: diag("Error Reading Point User", readUser, badInputDetailDecode, "get user: unexpected response from Point: the body is not valid JSON (at byte 28: unexpected end of JSON input)")},
		{name: "answer/id as number", target: tg.newUser, route: sandbox.RouteCreateUser, answer: acctest.AnswerJSON(200, `{"user":{"id":42}}`),
			want: diag("Error Creating Point User", createUser, badInputDetailDecode, `create user: unexpected response from Point: field "user.id" is a JSON number, expected a string`)},
		{name: "answer/refresh token as array", target: tg.refreshToken, route: sandbox.RouteIssueRefreshToken, answer: acctest.AnswerJSON(200, `{"refreshToken":{"token":["rt_a"]}}`),
			want: diag("Error Issuing Point Refresh Token", issueRefresh, badInputDetailDecode, `issue refresh token: unexpected response from Point: field "refreshToken.token" is a JSON array, expected a string`)},
		{name: "answer/expiresIn as string", target: tg.accessToken, route: sandbox.RouteIssueAccessToken, answer: acctest.AnswerJSON(200, `{"accessToken":{"token":"Bearer eyJ.eyJ.sig","expiresIn":"86400"}}`),
			want: diag("Error Issuing Point Access Token", issueAccess, badInputDetailDecode, `issue access token: unexpected response from Point: field "accessToken.expiresIn" is a JSON string, expected a number`)},
		{name: "answer/expiresIn beyond float64", target: tg.accessToken, route: sandbox.RouteIssueAccessToken, answer: acctest.AnswerJSON(200, `{"accessToken":{"token":"Bearer eyJ.eyJ.sig","expiresIn":1e400}}`),
			want: diag("Error Issuing Point Access Token", issueAccess, badInputDetailDecode, `field "accessToken.expiresIn" holds the number 1e400, which is out of range`)},
		{name: "answer/HTML 502 from a proxy", target: tg.dataSource, route: sandbox.RouteGetUser, answer: acctest.AnswerRaw(502, "text/html", proxyPage),
			want: diag("Error Reading Point User", readUser, badInputDetailServer, `get user: HTTP 502 Bad Gateway: response body: "<html> <head><title>502 Bad Gateway</title></head>`)},
		{name: "answer/HTML 404 from a proxy", target: tg.newUser, route: sandbox.RouteCreateUser, answer: acctest.AnswerRaw(404, "text/html", "<html><body>Not Found</body></html>"),
			want: diag("Error Creating Point User", createUser, "The 404 answer is not Point's own", "nothing was removed from state", `create user: HTTP 404 Not Found: response body: "<html><body>Not Found</body></html>"`)},
		{name: "answer/HTML 401 from a proxy", target: tg.accessToken, route: sandbox.RouteIssueAccessToken, answer: acctest.AnswerRaw(401, "text/html", "<html><body>Authorization Required</body></html>"),
			want: diag("Point Refresh Token Not Accepted", fmt.Sprintf("Point refused the current refresh token of user %q, which the provider read with the API key, and the user still holds that same token.", user), `issue access token: HTTP 401 Unauthorized: response body: "<html><body>Authorization Required</body></html>"`)},
		{name: "answer/empty body on 200", target: tg.newUser, route: sandbox.RouteCreateUser, answer: acctest.AnswerJSON(200, ""),
			want: diag("Error Creating Point User", createUser, badInputDetailDecode, "create user: unexpected response from Point: the body is empty")},
		{name: "answer/several megabytes", target: tg.dataSource, route: sandbox.RouteGetUser, answer: acctest.AnswerJSON(200, megabytes),
			want: diag("Error Reading Point User", readUser, badInputDetailDecode, "get user: unexpected response from Point: the body is larger than 1 MiB")},
		{name: "answer/JSON null", target: tg.dataSource, route: sandbox.RouteGetUser, answer: acctest.AnswerJSON(200, "null"),
			want: diag("Error Reading Point User", readUser, badInputDetailDecode, `get user: unexpected response from Point: the body has no "user" object`)},
		{name: "answer/JSON array", target: tg.newUser, route: sandbox.RouteCreateUser, answer: acctest.AnswerJSON(200, `[{"user":{"id":"bad-input"}}]`),
			want: diag("Error Creating Point User", createUser, badInputDetailDecode, "create user: unexpected response from Point: the body is a JSON array, expected an object")},
		{name: "answer/user without fields", target: tg.newUser, route: sandbox.RouteCreateUser, answer: acctest.AnswerJSON(200, `{"user":{}}`),
			want: diag("Error Creating Point User", createUser, badInputDetailDecode, `create user: unexpected response from Point: the "user" object has no "id"`)},
		{name: "answer/refreshToken without token", target: tg.refreshToken, route: sandbox.RouteIssueRefreshToken, answer: acctest.AnswerJSON(200, `{"refreshToken":{}}`),
			want: diag("Error Issuing Point Refresh Token", issueRefresh, badInputDetailDecode, `issue refresh token: unexpected response from Point: the body has no "refreshToken.token"`)},
		{name: "answer/accessToken without expiresIn", target: tg.accessToken, route: sandbox.RouteIssueAccessToken, answer: acctest.AnswerJSON(200, `{"accessToken":{"token":"Bearer eyJ.eyJ.sig"}}`),
			want: diag("Error Issuing Point Access Token", issueAccess, badInputDetailDecode, `issue access token: unexpected response from Point: "accessToken.expiresIn" is missing or not a plausible number of seconds`)},
		{name: "answer/accessToken of two words", target: tg.accessToken, route: sandbox.RouteIssueAccessToken, answer: acctest.AnswerJSON(200, `{"accessToken":{"token":"Bearer eyJ.eyJ.sig extra","expiresIn":86400}}`),
			want: diag("Error Issuing Point Access Token", issueAccess, badInputDetailDecode, `issue access token: unexpected response from Point: "accessToken.token" is not a single bearer token`)},
		{name: "answer/garbage Retry-After, then success", target: tg.newUser, route: sandbox.RouteCreateUser, answer: badInputRateLimited(2),
			provider: map[string]string{"max_retries": "2"}},
		{name: "answer/garbage Retry-After, always", target: tg.refreshToken, route: sandbox.RouteIssueRefreshToken, answer: badInputRateLimited(-1),
			provider: map[string]string{"max_retries": "2"},
			want:     diag("Error Issuing Point Refresh Token", issueRefresh, badInputDetailLimited, "issue refresh token: HTTP 429 Too Many Requests: rate_limited: slow down")},
		{name: "answer/slower than request_timeout", target: tg.dataSource, route: sandbox.RouteGetUser, answer: badInputSlow(5 * time.Second),
			provider: map[string]string{"request_timeout": `"200ms"`},
			want:     diag("Error Reading Point User", readUser, badInputDetailNoAnswer, "get user (GET /organizations/users/{userId}): no answer within 200ms")},
		{name: "answer/connection closed", target: tg.dataSource, route: sandbox.RouteGetUser, answer: badInputHangUp,
			want: diag("Error Reading Point User", readUser, badInputDetailNoAnswer, "get user (GET /organizations/users/{userId}): EOF")},
		{name: "answer/create applied, answer lost", target: tg.newUser, route: sandbox.RouteCreateUser, answer: badInputAnswerLost},
		{name: "answer/redirect to another host", target: tg.newUser, route: sandbox.RouteCreateUser,
			answer: func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
				http.Redirect(w, r, "http://evil.example/organizations/users/"+user, http.StatusFound)
			},
			want: diag("Error Creating Point User", createUser, "create user: HTTP 302 Found: redirect to http://evil.example refused; check the provider's endpoint setting")},
		{name: "answer/500 echoing the API key", target: tg.newUser, route: sandbox.RouteCreateUser, answer: badInputEchoKey,
			want: diag("Error Creating Point User", createUser, badInputDetailServer, "create user: HTTP 500 Internal Server Error: internal: upstream says key *** is invalid (Authorization: Bearer ***")},
		{name: "answer/terminal escapes in message", target: tg.dataSource, route: sandbox.RouteGetUser,
			answer: acctest.AnswerJSON(500, `{"error":"internal","message":"line one\nline two \u001b[31mred\u001b[0m\r"}`),
			want:   diag("Error Reading Point User", readUser, badInputDetailServer, "get user: HTTP 500 Internal Server Error: internal: line one line two [31mred [0m")},
	}
}

// TestAccBadInput_catalogue feeds the provider bad configuration, bad
// environment variables and bad answers from Point. Each must fail with
// its diagnostic (or, where noted, recover), without a panic, without the
// API key in the error, and without writing the resource to state: the
// next plan, against a healthy Point, creates it.
//
// Rows with environment variables run one after another; the others in
// parallel once those are done.
//
// The bad answers come from a front of the test's own, so the catalogue
// runs against real Point too, through the front.
func TestAccBadInput_catalogue(t *testing.T) {
	rows := badInputRows(t, badInputUser)
	if len(rows) < 30 {
		t.Fatalf("the catalogue has %d rows, want at least 30", len(rows))
	}
	var served atomic.Int64
	t.Cleanup(func() {
		if !t.Failed() {
			t.Logf("bad input catalogue: %d inputs; %d bad answers served", len(rows), served.Load())
		}
	})
	for i, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			env := acctest.NewEnv(t, sandbox.Options{})
			if user := env.UserID(badInputUser); user != badInputUser {
				row = badInputRows(t, user)[i]
			}
			if row.env != nil {
				for k, v := range row.env {
					t.Setenv(k, v)
				}
			} else {
				t.Parallel()
			}
			served.Add(badInputRun(t, env, row))
		})
	}
}

// badInputRun runs one row and returns how many bad answers it served.
func badInputRun(t *testing.T, env *acctest.Env, row badInputRow) int64 {
	user := env.UserID(badInputUser)
	if row.target.existing {
		env.AddUser(user)
	}
	front := acctest.NewRouteFront(env.Upstream(), row.route, row.answer)
	ts := httptest.NewServer(front)
	t.Cleanup(ts.Close)
	server := ts.URL

	settings := map[string]string{
		"endpoint":    fmt.Sprintf("%q", server),
		"api_key":     fmt.Sprintf("%q", env.APIKey),
		"max_retries": "0",
	}
	for k, v := range row.provider {
		settings[k] = v
	}
	for k := range row.env {
		switch k {
		case point.EnvAPIKey:
			delete(settings, "api_key")
		case point.EnvEndpoint:
			delete(settings, "endpoint")
		}
	}
	failing := row.config
	if failing == "" {
		failing = row.target.config
	}
	// The healthy configuration overrides every environment variable.
	healthy := acctest.ProviderBlockWith(map[string]string{
		"endpoint":    fmt.Sprintf("%q", server),
		"api_key":     fmt.Sprintf("%q", env.APIKey),
		"environment": `"staging"`,
	}) + row.target.config

	// The CLI runs each command itself, a plan and an apply in one, so that
	// the catalogue's rows take two or three commands each.
	cli := acctest.NewInProcessCLI(t, env.Factories(), "")
	cli.WriteMain(acctest.ProviderBlockWith(settings) + failing)
	front.On.Store(true)
	var err error
	if out, code := cli.Run("apply", "-auto-approve", "-input=false", "-no-color"); code != 0 {
		err = errors.New(out)
	} else if row.want == nil {
		// Recovered: the next plan, the bad answers still on, is empty.
		if !env.HasUser(user) {
			t.Errorf("user %q not registered", user)
		}
		if out, code := cli.Run("plan", "-detailed-exitcode", "-input=false", "-no-color"); code != 0 {
			err = fmt.Errorf("the plan after the apply exited %d:\n%s", code, out)
		}
	}
	failingRequests := front.Requests.Load()
	front.On.Store(false)

	cli.WriteMain(healthy)
	out, code := cli.Run("plan", "-json", "-detailed-exitcode", "-input=false", "-no-color")
	switch planned := acctest.PlannedActions(out); {
	case row.want == nil && code != 0:
		t.Errorf("the plan against a healthy Point exited %d, want 0 (no changes):\n%s", code, out)
	case row.want != nil && (code != 2 || planned[row.target.address] != "create"):
		t.Errorf("the plan against a healthy Point exited %d and planned %v, want %s created:\n%s", code, planned, row.target.address, out)
	}

	switch {
	case row.want == nil && err != nil:
		t.Errorf("want success, got:\n%v", err)
	case row.want != nil && err == nil:
		t.Errorf("want an error matching %s, got none", row.want)
	case row.want != nil && !row.want.MatchString(err.Error()):
		t.Errorf("error does not match %s:\n%v", row.want, err)
	}
	if err != nil {
		text := err.Error()
		for _, bad := range []string{env.APIKey, "plugin crashed", "panic:", "goroutine ", "\x1b"} {
			if strings.Contains(text, bad) {
				t.Errorf("error holds %q:\n%s", strings.ReplaceAll(bad, env.APIKey, "the API key"), strings.ReplaceAll(text, env.APIKey, "<API key>"))
			}
		}
		if key := row.env[point.EnvAPIKey]; key != "" && strings.Contains(text, key) {
			t.Errorf("error holds the API key from %s", point.EnvAPIKey)
		}
		if rt := env.CurrentRefreshToken(user); rt != "" && strings.Contains(text, rt) {
			t.Errorf("error holds the user's refresh token")
		}
	}

	hits := front.Hits()
	switch {
	case row.offline && failingRequests != 0:
		t.Errorf("%d requests reached Point; the bad input should have stopped the run first", failingRequests)
	case row.route != "" && len(hits) == 0:
		t.Errorf("the bad answer on %q was never served", row.route)
	}
	// An unreadable Retry-After falls back to the provider's backoff
	// (5–50 ms in tests) rather than to a long wait.
	for i := 1; i < len(hits); i++ {
		if gap := hits[i].Sub(hits[i-1]); gap > time.Second {
			t.Errorf("%s between attempts %d and %d", gap, i, i+1)
		}
	}
	if row.target.address == "point_user.x" && row.want != nil && env.HasUser(user) {
		t.Errorf("Point registered %q although the answer was refused", user)
	}
	return int64(len(hits))
}
