package provider

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/point"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// badInputUser is the user every row works on (with env.UserID's prefix).
const badInputUser = "bad-input"

type (
	// A badInputTarget is a block for the user (%[1]q) with the row's extra arguments (%[2]s), and the
	// resource whose absence from state shows that nothing was half written. The users of existing
	// targets are registered before the row.
	badInputTarget struct {
		config, address string
		existing        bool
	}
	answer = func(http.ResponseWriter, *http.Request, http.Handler)
	kv     = map[string]string
	// A badInputRow fails the apply of its target with want, or recovers when want is nil. Its provider
	// settings are HCL ("" leaves one out); offline rows fail before any request reaches Point.
	badInputRow struct {
		name, route, userID, args string
		target                    badInputTarget
		provider, env             kv
		answer                    answer
		want                      *regexp.Regexp
		offline                   bool
	}
)

// badInputRows is the catalogue, for the user id user and the API key apiKey.
func badInputRows(t *testing.T, user, apiKey string) []badInputRow {
	toUser := badInputTarget{"resource \"point_user\" \"x\" {\n  user_id = %[1]q\n%[2]s}\n", "point_user.x", false}
	toRefresh := badInputTarget{"resource \"point_refresh_token\" \"x\" {\n  user_id = %[1]q\n%[2]s}\n", "point_refresh_token.x", true}
	// The access token opens with the API key: a user read, then an issue.
	toAccess := badInputTarget{`ephemeral "point_access_token" "x" {
  user_id = %[1]q
%[2]s}
provider "echo" { data = ephemeral.point_access_token.x }
resource "echo" "x" {}
`, "echo.x", true}
	toData := badInputTarget{`data "point_user" "x" {
  user_id = %[1]q
%[2]s}
resource "terraform_data" "x" { input = data.point_user.x.id }
`, "terraform_data.x", true}

	diag, json := acctest.DiagnosticMatching, acctest.AnswerJSON
	invalid := func(text string) *regexp.Regexp { return diag("Invalid Attribute Value", text) }
	envEndpoint := func(value string) kv { return kv{point.EnvEndpoint: value} }
	noEndpoint := kv{"endpoint": ""}
	readUser := fmt.Sprintf("Could not read Point user %q.", user)
	createUser := fmt.Sprintf("Could not create Point user %q.", user)
	issueRefresh := fmt.Sprintf("Could not issue a refresh token for Point user %q.", user)
	issueAccess := fmt.Sprintf("Could not issue an access token for Point user %q.", user)
	detailAPIKey := "Point did not accept the credential. Check that api_key (or POINT_API_KEY) is the organisation API key for this environment"
	detailDecode := "Point's answer was not what its API reference describes. If this persists, please report it."
	detailServer := "Point or a proxy in front of it failed. Retry later; nothing was changed in state."
	detailNoAnswer := "No answer came from Point. Check the network, the endpoint setting, and request_timeout."
	detailLimited := "Point is rate limiting requests, and the retries ran out after 3 attempts (max_retries = 2). Retry later, lower -parallelism, or raise max_retries."
	megabytes := `{"user":{"id":"bad-input","email":"` + strings.Repeat("x", 3<<20) + `"}}`
	proxyPage := "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx</center>\n</body>\n</html>\n"

	// rateLimited answers 429 with an unreadable Retry-After to the first times requests, or to all if times < 0.
	rateLimited := func(times int) answer {
		var n atomic.Int64
		return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			if times >= 0 && n.Add(1) > int64(times) {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Retry-After", "soon, maybe; 2ms?")
			json(http.StatusTooManyRequests, `{"error":"rate_limited","message":"slow down"}`)(w, r, next)
		}
	}
	// hangUp closes the connection without answering; when act, after Point has acted on the request.
	hangUp := func(act bool) answer {
		return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			if act {
				next.ServeHTTP(httptest.NewRecorder(), r)
			}
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				_ = conn.Close()
			}
		}
	}
	slow := func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		select {
		case <-time.After(5 * time.Second): // or never, if the client gives up first
			next.ServeHTTP(w, r)
		case <-r.Context().Done():
		}
	}
	echoKey := func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		json(500, fmt.Sprintf(`{"error":"internal","message":"upstream says key %s is invalid (Authorization: Bearer %s)"}`, key, key))(w, r, next)
	}
	redirect := func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		http.Redirect(w, r, "http://evil.example/organizations/users/"+user, http.StatusFound)
	}

	return []badInputRow{
		{name: "config/environment empty", target: toUser, provider: kv{"environment": `""`}, offline: true,
			want: diag(`Attribute environment value must be one of: ["staging" "production"], got: ""`)},
		{name: "config/api_key empty", target: toUser, provider: kv{"api_key": `""`}, offline: true,
			want: diag("Attribute api_key string length must be at least 1, got: 0")},
		{name: "config/api_key missing", target: toUser, provider: kv{"api_key": ""}, offline: true,
			want: diag("Missing Point API Key", "Cannot register a Point user")},
		{name: "config/endpoint with query", target: toUser, provider: kv{"endpoint": `"https://point.example/?debug=1"`}, offline: true,
			want: invalid("Attribute endpoint must not have a query or fragment.")},
		{name: "config/endpoint without host", target: toUser, provider: kv{"endpoint": `"https://"`}, offline: true,
			want: invalid(`Attribute endpoint must be an absolute URL such as "https://staging.sdk.areyoupoint.com", got "https://".`)},
		{name: "config/request_timeout without unit", target: toUser, provider: kv{"request_timeout": `"30"`}, offline: true,
			want: invalid(`Attribute request_timeout must be a duration such as "30s", "15m" or "2160h" (units ns, us, ms, s, m, h), got "30".`)},
		{name: "config/max_retries huge", target: toUser, provider: kv{"max_retries": "1000"}, offline: true,
			want: diag("Attribute max_retries value must be between 0 and 10, got: 1000")},
		{name: "config/user_id email", target: toUser, userID: "alice@example.com", offline: true,
			want: invalid(`Attribute user_id must not contain "@": Point asks that user ids carry no personal information, such as email addresses`)},
		{name: "config/user_id with tab", target: toUser, userID: "a\tb", offline: true,
			want: invalid("Attribute user_id must not contain whitespace.")},
		{name: "config/rotate_after zero", target: toRefresh, args: "  rotate_after = \"0s\"\n", offline: true,
			want: invalid(`Attribute rotate_after must be greater than zero, got "0s".`)},
		{name: "config/deletion_policy unknown word", target: toUser, args: "  deletion_policy = \"DELETE\"\n", offline: true,
			want: diag(`Attribute deletion_policy value must be one of: ["ABANDON" "REVOKE" "PREVENT"], got: "DELETE"`)},
		{name: "config/refresh_token empty", target: toAccess, args: "  refresh_token = \"\"\n", offline: true,
			want: diag("Attribute refresh_token string length must be at least 1, got: 0")},
		{name: "env/POINT_ENVIRONMENT capitalised", target: toUser, env: kv{point.EnvEnvironment: "Production"}, offline: true,
			want: diag("Invalid Point Environment", `The POINT_ENVIRONMENT environment variable is "Production", but the Point environment must be "staging" or "production".`)},
		{name: "env/POINT_ENVIRONMENT leading space", target: toUser, env: kv{point.EnvEnvironment: " staging"}, offline: true,
			want: diag("Invalid Point Environment", `The POINT_ENVIRONMENT environment variable is " staging", but the Point environment must be "staging" or "production".`)},
		{name: "env/POINT_ENDPOINT not a URL", target: toUser, env: envEndpoint("not a url"), provider: noEndpoint, offline: true,
			want: diag("Invalid Point Endpoint", `The POINT_ENDPOINT environment variable must be an absolute URL such as "https://staging.sdk.areyoupoint.com", got "not a url". Correct the variable, or set endpoint in the provider block.`)},
		{name: "env/POINT_ENDPOINT ftp", target: toUser, env: envEndpoint("ftp://127.0.0.1/"), provider: noEndpoint, offline: true,
			want: diag("Invalid Point Endpoint", `The POINT_ENDPOINT environment variable must use the https scheme, got "ftp".`)},
		{name: "env/POINT_ENDPOINT with credentials", target: toUser, env: envEndpoint("https://user:pass@127.0.0.1/"), provider: noEndpoint, offline: true,
			want: diag("Invalid Point Endpoint", "The POINT_ENDPOINT environment variable must not contain credentials; set api_key instead.")},
		{name: "env/POINT_ENDPOINT nothing listening", target: toUser, env: envEndpoint(acctest.DeadEndpoint(t)), provider: noEndpoint,
			want: diag("Error Creating Point User", createUser, detailNoAnswer, "create user (POST /organizations/users/{userId}):", "connection refused")},
		{name: "env/POINT_API_KEY wrong", target: toData, env: kv{point.EnvAPIKey: "wrong-key-" + acctest.RandomHex(16)}, provider: kv{"api_key": ""},
			want: diag("Error Reading Point User", readUser, detailAPIKey, "get user: HTTP 401 Unauthorized")},
		{name: "env/POINT_API_KEY with CRLF", target: toUser, env: kv{point.EnvAPIKey: apiKey + "\r\n"}, provider: kv{"api_key": ""}, offline: true,
			want: diag("Invalid Point API Key", "The POINT_API_KEY environment variable holds whitespace or a control character",
				"remove the whitespace from POINT_API_KEY")},
		{name: "answer/malformed JSON", target: toData, route: sandbox.RouteGetUser, answer: json(200, `{"user": {"id": "bad-input",`),
			want: diag("Error Reading Point User", readUser, detailDecode, "get user: unexpected response from Point: the body is not valid JSON (at byte 28: unexpected end of JSON input)")},
		{name: "answer/id as number", target: toUser, route: sandbox.RouteCreateUser, answer: json(200, `{"user":{"id":42}}`),
			want: diag("Error Creating Point User", createUser, detailDecode, `create user: unexpected response from Point: field "user.id" is a JSON number, expected a string`)},
		{name: "answer/refresh token as array", target: toRefresh, route: sandbox.RouteIssueRefreshToken, answer: json(200, `{"refreshToken":{"token":["rt_a"]}}`),
			want: diag("Error Issuing Point Refresh Token", issueRefresh, detailDecode, `issue refresh token: unexpected response from Point: field "refreshToken.token" is a JSON array, expected a string`)},
		{name: "answer/expiresIn as string", target: toAccess, route: sandbox.RouteIssueAccessToken, answer: json(200, `{"accessToken":{"token":"Bearer eyJ.eyJ.sig","expiresIn":"86400"}}`),
			want: diag("Error Issuing Point Access Token", issueAccess, detailDecode, `issue access token: unexpected response from Point: field "accessToken.expiresIn" is a JSON string, expected a number`)},
		{name: "answer/expiresIn beyond float64", target: toAccess, route: sandbox.RouteIssueAccessToken, answer: json(200, `{"accessToken":{"token":"Bearer eyJ.eyJ.sig","expiresIn":1e400}}`),
			want: diag("Error Issuing Point Access Token", issueAccess, detailDecode, `field "accessToken.expiresIn" holds the number 1e400, which is out of range`)},
		{name: "answer/HTML 502 from a proxy", target: toData, route: sandbox.RouteGetUser, answer: acctest.AnswerRaw(502, "text/html", proxyPage),
			want: diag("Error Reading Point User", readUser, detailServer, `get user: HTTP 502 Bad Gateway: response body: "<html> <head><title>502 Bad Gateway</title></head>`)},
		{name: "answer/HTML 404 from a proxy", target: toUser, route: sandbox.RouteCreateUser, answer: acctest.AnswerRaw(404, "text/html", "<html><body>Not Found</body></html>"),
			want: diag("Error Creating Point User", createUser, "The 404 answer is not Point's own", "nothing was removed from state", `create user: HTTP 404 Not Found: response body: "<html><body>Not Found</body></html>"`)},
		{name: "answer/HTML 401 from a proxy", target: toAccess, route: sandbox.RouteIssueAccessToken, answer: acctest.AnswerRaw(401, "text/html", "<html><body>Authorization Required</body></html>"),
			want: diag("Point Refresh Token Not Accepted", fmt.Sprintf("Point refused the current refresh token of user %q, which the provider read with the API key, and the user still holds that same token.", user), `issue access token: HTTP 401 Unauthorized: response body: "<html><body>Authorization Required</body></html>"`)},
		{name: "answer/empty body on 200", target: toUser, route: sandbox.RouteCreateUser, answer: json(200, ""),
			want: diag("Error Creating Point User", createUser, detailDecode, "create user: unexpected response from Point: the body is empty")},
		{name: "answer/several megabytes", target: toData, route: sandbox.RouteGetUser, answer: json(200, megabytes),
			want: diag("Error Reading Point User", readUser, detailDecode, "get user: unexpected response from Point: the body is larger than 1 MiB")},
		{name: "answer/JSON null", target: toData, route: sandbox.RouteGetUser, answer: json(200, "null"),
			want: diag("Error Reading Point User", readUser, detailDecode, `get user: unexpected response from Point: the body has no "user" object`)},
		{name: "answer/JSON array", target: toUser, route: sandbox.RouteCreateUser, answer: json(200, `[{"user":{"id":"bad-input"}}]`),
			want: diag("Error Creating Point User", createUser, detailDecode, "create user: unexpected response from Point: the body is a JSON array, expected an object")},
		{name: "answer/user without fields", target: toUser, route: sandbox.RouteCreateUser, answer: json(200, `{"user":{}}`),
			want: diag("Error Creating Point User", createUser, detailDecode, `create user: unexpected response from Point: the "user" object has no "id"`)},
		{name: "answer/refreshToken without token", target: toRefresh, route: sandbox.RouteIssueRefreshToken, answer: json(200, `{"refreshToken":{}}`),
			want: diag("Error Issuing Point Refresh Token", issueRefresh, detailDecode, `issue refresh token: unexpected response from Point: the body has no "refreshToken.token"`)},
		{name: "answer/accessToken without expiresIn", target: toAccess, route: sandbox.RouteIssueAccessToken, answer: json(200, `{"accessToken":{"token":"Bearer eyJ.eyJ.sig"}}`),
			want: diag("Error Issuing Point Access Token", issueAccess, detailDecode, `issue access token: unexpected response from Point: "accessToken.expiresIn" is missing or not a plausible number of seconds`)},
		{name: "answer/accessToken of two words", target: toAccess, route: sandbox.RouteIssueAccessToken, answer: json(200, `{"accessToken":{"token":"Bearer eyJ.eyJ.sig extra","expiresIn":86400}}`),
			want: diag("Error Issuing Point Access Token", issueAccess, detailDecode, `issue access token: unexpected response from Point: "accessToken.token" is not a single bearer token`)},
		{name: "answer/garbage Retry-After, then success", target: toUser, route: sandbox.RouteCreateUser, answer: rateLimited(2), provider: kv{"max_retries": "2"}},
		{name: "answer/garbage Retry-After, always", target: toRefresh, route: sandbox.RouteIssueRefreshToken, answer: rateLimited(-1), provider: kv{"max_retries": "2"},
			want: diag("Error Issuing Point Refresh Token", issueRefresh, detailLimited, "issue refresh token: HTTP 429 Too Many Requests: rate_limited: slow down")},
		{name: "answer/slower than request_timeout", target: toData, route: sandbox.RouteGetUser, answer: slow, provider: kv{"request_timeout": `"200ms"`},
			want: diag("Error Reading Point User", readUser, detailNoAnswer, "get user (GET /organizations/users/{userId}): no answer within 200ms")},
		{name: "answer/connection closed", target: toData, route: sandbox.RouteGetUser, answer: hangUp(false),
			want: diag("Error Reading Point User", readUser, detailNoAnswer, "get user (GET /organizations/users/{userId}): EOF")},
		{name: "answer/create applied, answer lost", target: toUser, route: sandbox.RouteCreateUser, answer: hangUp(true)},
		{name: "answer/redirect to another host", target: toUser, route: sandbox.RouteCreateUser, answer: redirect,
			want: diag("Error Creating Point User", createUser, "create user: HTTP 302 Found: redirect to http://evil.example refused; check the provider's endpoint setting")},
		{name: "answer/500 echoing the API key", target: toUser, route: sandbox.RouteCreateUser, answer: echoKey,
			want: diag("Error Creating Point User", createUser, detailServer, "create user: HTTP 500 Internal Server Error: internal: upstream says key *** is invalid (Authorization: Bearer ***")},
		{name: "answer/terminal escapes in message", target: toData, route: sandbox.RouteGetUser,
			answer: json(500, `{"error":"internal","message":"line one\nline two \u001b[31mred\u001b[0m\r"}`),
			want:   diag("Error Reading Point User", readUser, detailServer, "get user: HTTP 500 Internal Server Error: internal: line one line two [31mred [0m")},
	}
}

// TestAccBadInput_catalogue: bad configuration, environment variables and answers (from the test's own
// front, so against real Point too) fail with their diagnostic or recover, with no panic or secret in
// the error and nothing half written: the next plan, against a healthy Point, creates the resource.
func TestAccBadInput_catalogue(t *testing.T) {
	rows := badInputRows(t, badInputUser, "")
	if len(rows) < 30 {
		t.Fatalf("the catalogue has %d rows, want at least 30", len(rows))
	}
	for i, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			env := acctest.NewEnv(t, sandbox.Options{})
			user := env.UserID(badInputUser)
			row = badInputRows(t, user, env.APIKey)[i]
			for k, v := range row.env {
				t.Setenv(k, v)
			}
			if row.env == nil { // t.Setenv forbids t.Parallel
				t.Parallel()
			}
			if row.target.existing {
				env.AddUser(user)
			}
			front := acctest.NewRouteFront(env.Upstream(), row.route, row.answer)
			base := acctest.StartFront(t, env, func(w http.ResponseWriter, r *http.Request, _ http.Handler) { front.ServeHTTP(w, r) })
			endpoint, apiKey := fmt.Sprintf("%q", base), fmt.Sprintf("%q", env.APIKey)
			settings := kv{"endpoint": endpoint, "api_key": apiKey, "max_retries": "0"}
			maps.Copy(settings, row.provider)

			cli := acctest.NewInProcessCLI(t, env.Factories(), "")
			cli.WriteMain(acctest.ProviderBlockWith(settings) + fmt.Sprintf(row.target.config, cmp.Or(row.userID, user), row.args))
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

			// The healthy configuration overrides every environment variable.
			cli.WriteMain(acctest.ProviderBlockWith(kv{"endpoint": endpoint, "api_key": apiKey, "environment": `"staging"`}) +
				fmt.Sprintf(row.target.config, user, ""))
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
			forbidden := kv{"the API key": env.APIKey, "the API key from " + point.EnvAPIKey: row.env[point.EnvAPIKey],
				"the user's refresh token": env.CurrentRefreshToken(user), "a crash": "plugin crashed", "a panic": "panic:",
				"a goroutine dump": "goroutine ", "an escape sequence": "\x1b"}
			for name, bad := range forbidden {
				if err != nil && bad != "" && strings.Contains(err.Error(), bad) {
					t.Errorf("error holds %s:\n%s", name, strings.NewReplacer(env.APIKey, "<API key>", bad, "<"+name+">").Replace(err.Error()))
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
		})
	}
}
