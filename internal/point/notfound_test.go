package point_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/areyoupoint/terraform-provider-point/internal/point"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// The tests of the rule in notfound.go: which 404s are Point's own. Each
// server below knows no user at all, so every request on one of Point's
// routes that passes its credential check meets a 404.

// expressNoRoute is a "no such route" in JSON that quotes the request, as
// many web frameworks answer.
func expressNoRoute(r *http.Request) string {
	return fmt.Sprintf(`{"statusCode":404,"error":"Not Found","message":"Cannot %s %s"}`, r.Method, r.URL.EscapedPath())
}

// pointLike serves Point's routes for a Point without users.
type pointLike struct {
	// credentialsFirst answers 401 to any request without credentials,
	// route or not, as a gateway in front of Point may; otherwise the
	// server routes first, as the sandbox does.
	credentialsFirst bool
	// userNotFound is the answer to a known route with credentials.
	userNotFound func(w http.ResponseWriter, r *http.Request)
	// noRoute answers a path that is no route.
	noRoute func(r *http.Request) string
}

func (p pointLike) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	authorized := r.Header.Get("Authorization") != ""
	isRoute := sandbox.RouteOf(r) != ""
	switch {
	case p.credentialsFirst && !authorized, !p.credentialsFirst && isRoute && !authorized:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"message":"Unauthorized"}`))
	case !isRoute:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(p.noRoute(r)))
	default:
		p.userNotFound(w, r)
	}
}

func jsonNotFound(body string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		respond(http.StatusNotFound, body, "Content-Type", "application/json")(w, nil, nil)
	}
}

// requestID returns a value that differs from one answer to the next, as
// the request ids and timestamps of some servers' error bodies do.
func requestID() string { return fmt.Sprintf("req-%d", requestIDs.Add(1)) }

var requestIDs atomic.Int64

func fixedNoRoute(body string) func(*http.Request) string {
	return func(*http.Request) string { return body }
}

// notFoundRequests sorts what a server saw of a client's 404s.
type notFoundRequests struct {
	// calls carried the client's credential to the path it asked for.
	calls int
	// routeChecks repeated a call without credentials.
	routeChecks int
	// credentialChecks asked, without credentials, about a path that is no route.
	credentialChecks int
	// comparisons asked, with the credential, about a path that is no route.
	comparisons int
}

func sortNotFoundRequests(t *testing.T, reqs []recordedRequest) notFoundRequests {
	t.Helper()
	var n notFoundRequests
	for _, r := range reqs {
		noRoute := strings.HasSuffix(r.EscapedPath, "/~no-such-route")
		switch {
		case !noRoute && r.Authorization != "":
			n.calls++
		case !noRoute:
			n.routeChecks++
		case r.Authorization == "":
			n.credentialChecks++
		default:
			n.comparisons++
		}
		if r.Authorization != "" && !strings.HasPrefix(r.Authorization, "Bearer ") {
			t.Errorf("request %s %s carries Authorization %q", r.Method, r.EscapedPath, r.Authorization)
		}
	}
	return n
}

// threeNotFounds makes three calls that meet a 404 on one client: two
// reads of users and a revocation. It returns the predicates of each.
func threeNotFounds(c *point.Client) (userGone [2]bool, tokenGone bool, errs []error) {
	ctx := context.Background()
	for i, id := range []string{"alice", "bob@example.com"} {
		_, err := c.GetUser(ctx, id)
		userGone[i] = point.IsUserNotFound(err)
		errs = append(errs, err)
	}
	err := c.RevokeRefreshToken(ctx, "alice", "rt_secret")
	return userGone, point.IsTokenNotFound(err), append(errs, err)
}

func TestNotFound_pointsOwn(t *testing.T) {
	for _, tc := range []struct {
		name   string
		server pointLike
		// comparisons: the server checks credentials first, so each 404
		// is also compared with a path that is no route, asked twice.
		comparisons bool
	}{
		{"routes first, user_not_found", pointLike{userNotFound: jsonNotFound(`{"error":"user_not_found","message":"no user with this id"}`),
			noRoute: fixedNoRoute(`{"error":"not_found","message":"no such route"}`)}, false},
		{"routes first, not_found with a message", pointLike{userNotFound: jsonNotFound(`{"error":"not_found","message":"user not found"}`),
			noRoute: fixedNoRoute(`{"error":"not_found","message":"no such route"}`)}, false},
		{"routes first, statusCode only", pointLike{userNotFound: jsonNotFound(`{"statusCode":404}`), noRoute: expressNoRoute}, false},
		{"routes first, empty object, the same as no route", pointLike{userNotFound: jsonNotFound(`{}`), noRoute: fixedNoRoute(`{}`)}, false},
		{"credentials first, not_found with a message", pointLike{credentialsFirst: true,
			userNotFound: jsonNotFound(`{"error":"not_found","message":"user not found"}`), noRoute: expressNoRoute}, true},
		{"credentials first, user_not_found", pointLike{credentialsFirst: true,
			userNotFound: jsonNotFound(`{"error":"user_not_found"}`), noRoute: fixedNoRoute(`{"error":"not_found"}`)}, true},
		{"credentials first, statusCode only", pointLike{credentialsFirst: true,
			userNotFound: jsonNotFound(`{"statusCode":404}`), noRoute: expressNoRoute}, true},
		{"credentials first, empty object", pointLike{credentialsFirst: true,
			userNotFound: jsonNotFound(`{}`), noRoute: fixedNoRoute(`{"message":"no Route matched with those values"}`)}, true},
		{"credentials first, a request id in every answer", pointLike{credentialsFirst: true,
			userNotFound: func(w http.ResponseWriter, r *http.Request) {
				jsonNotFound(`{"error":"not_found","message":"user not found","requestId":"`+requestID()+`"}`)(w, r)
			}, noRoute: func(*http.Request) string {
				return `{"error":"not_found","message":"no such route","requestId":"` + requestID() + `"}`
			}}, true},
		{"credentials first, a message quoting the path", pointLike{credentialsFirst: true,
			userNotFound: func(w http.ResponseWriter, r *http.Request) {
				jsonNotFound(fmt.Sprintf(`{"message":"%s: no such user"}`, r.URL.Path))(w, r)
			}, noRoute: expressNoRoute}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder(t, tc.server)
			userGone, tokenGone, errs := threeNotFounds(newClient(t, rec.URL, "key"))
			if !userGone[0] || !userGone[1] || !tokenGone {
				t.Errorf("IsUserNotFound = %v, IsTokenNotFound = %v for %v; want Point's own 404 each time", userGone, tokenGone, errs)
			}
			for _, err := range errs {
				if point.IsUserNotFound(err) && point.IsTokenNotFound(err) {
					t.Errorf("%v is both a user and a token not found", err)
				}
			}
			want := notFoundRequests{calls: 3, routeChecks: 3, credentialChecks: 1}
			if tc.comparisons {
				want.comparisons = 6
			}
			if got := sortNotFoundRequests(t, rec.requests()); got != want {
				t.Errorf("requests = %+v, want %+v: one route check per 404, one credential check per client", got, want)
			}
		})
	}
}

func TestNotFound_foreign(t *testing.T) {
	html := func(w http.ResponseWriter, r *http.Request) {
		respond(http.StatusNotFound, "<html><body><h1>404 Not Found</h1>user not found</body></html>", "Content-Type", "text/html")(w, r, nil)
	}
	for _, tc := range []struct {
		name   string
		server http.Handler
		// prefix is appended to the server's URL as the client's endpoint.
		prefix string
		want   notFoundRequests
	}{
		{"HTML page", pointLike{userNotFound: html, noRoute: expressNoRoute}, "",
			notFoundRequests{calls: 3}},
		{"empty body", pointLike{userNotFound: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) }, noRoute: expressNoRoute}, "",
			notFoundRequests{calls: 3}},
		{"plain text", pointLike{userNotFound: func(w http.ResponseWriter, r *http.Request) {
			respond(http.StatusNotFound, "user not found", "Content-Type", "text/plain")(w, r, nil)
		}, noRoute: expressNoRoute}, "", notFoundRequests{calls: 3}},
		{"a JSON array", pointLike{userNotFound: jsonNotFound(`[{"error":"user_not_found"}]`), noRoute: expressNoRoute}, "",
			notFoundRequests{calls: 3}},
		{"JSON null", pointLike{userNotFound: jsonNotFound(`null`), noRoute: expressNoRoute}, "",
			notFoundRequests{calls: 3}},
		{"wrong prefix, routes first", pointLike{userNotFound: jsonNotFound(`{"error":"user_not_found"}`),
			noRoute: fixedNoRoute(`{"error":"not_found","message":"no such route"}`)}, "/v2",
			notFoundRequests{calls: 3, routeChecks: 3}},
		{"wrong prefix, routes first, quoting the path", pointLike{userNotFound: jsonNotFound(`{"error":"user_not_found"}`), noRoute: expressNoRoute}, "/api",
			notFoundRequests{calls: 3, routeChecks: 3}},
		{"wrong prefix behind a gateway that checks credentials first", pointLike{credentialsFirst: true,
			userNotFound: jsonNotFound(`{"error":"user_not_found"}`), noRoute: expressNoRoute}, "/v2",
			notFoundRequests{calls: 3, routeChecks: 3, credentialChecks: 1, comparisons: 6}},
		{"wrong prefix behind a gateway, a fixed no-route body", pointLike{credentialsFirst: true,
			userNotFound: jsonNotFound(`{"error":"user_not_found"}`), noRoute: fixedNoRoute(`{"error":"not_found","message":"no such route"}`)}, "/v2",
			notFoundRequests{calls: 3, routeChecks: 3, credentialChecks: 1, comparisons: 6}},
		{"wrong prefix behind a gateway that puts a request id in each answer", pointLike{credentialsFirst: true,
			userNotFound: jsonNotFound(`{"error":"user_not_found"}`), noRoute: func(*http.Request) string {
				return `{"error":"not_found","requestId":"` + requestID() + `","at":"` + requestID() + `"}`
			}}, "/v2",
			notFoundRequests{calls: 3, routeChecks: 3, credentialChecks: 1, comparisons: 6}},
		{"credentials first, the same body for users and routes", pointLike{credentialsFirst: true,
			userNotFound: jsonNotFound(`{"statusCode":404}`), noRoute: fixedNoRoute(`{"statusCode":404}`)}, "",
			notFoundRequests{calls: 3, routeChecks: 3, credentialChecks: 1, comparisons: 6}},
		{"the route check answered 404", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			respond(http.StatusNotFound, `{"error":"user_not_found"}`, "Content-Type", "application/json")(w, r, nil)
		}), "", notFoundRequests{calls: 3, routeChecks: 3}},
		{"the route check answered 403", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") == "" {
				respond(http.StatusForbidden, `{"message":"Missing Authentication Token"}`)(w, r, nil)
				return
			}
			respond(http.StatusNotFound, `{"error":"user_not_found"}`)(w, r, nil)
		}), "", notFoundRequests{calls: 3, routeChecks: 3}},
		{"the comparison answered 403", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.Header.Get("Authorization") == "":
				respond(http.StatusUnauthorized, "")(w, r, nil)
			case sandbox.RouteOf(r) == "":
				respond(http.StatusForbidden, `{"message":"Forbidden"}`)(w, r, nil)
			default:
				respond(http.StatusNotFound, `{"error":"user_not_found"}`)(w, r, nil)
			}
		}), "", notFoundRequests{calls: 3, routeChecks: 3, credentialChecks: 1, comparisons: 3}},
		{"a 410 is no 404", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			respond(http.StatusGone, `{"error":"user_not_found"}`)(w, r, nil)
		}), "", notFoundRequests{calls: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder(t, tc.server)
			userGone, tokenGone, errs := threeNotFounds(newClient(t, rec.URL+tc.prefix, "key"))
			if userGone[0] || userGone[1] || tokenGone {
				t.Errorf("IsUserNotFound = %v, IsTokenNotFound = %v for %v; want neither", userGone, tokenGone, errs)
			}
			if got := sortNotFoundRequests(t, rec.requests()); got != tc.want {
				t.Errorf("requests = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestNotFound_checkFails covers failures during the checks: the 404 is
// not Point's own, a failed credential check is not remembered, and no
// check is retried beyond the client's policy.
func TestNotFound_checkFails(t *testing.T) {
	server := pointLike{userNotFound: jsonNotFound(`{"error":"not_found","message":"user not found"}`), noRoute: expressNoRoute}
	isCredentialCheck := func(r *http.Request) bool {
		return r.Header.Get("Authorization") == "" && strings.HasSuffix(r.URL.EscapedPath(), "/~no-such-route")
	}
	for _, tc := range []struct {
		name    string
		failing func(*http.Request) bool
		fail    step
		retries int
		// failed is how many requests met the failure; 0 when Go's
		// transport may repeat a request whose connection dropped.
		failed int
	}{
		{"the route check hangs up", func(r *http.Request) bool { return r.Header.Get("Authorization") == "" && !isCredentialCheck(r) }, hangUp, 0, 0},
		{"the credential check hangs up", isCredentialCheck, hangUp, 0, 0},
		{"the credential check answered 503 until the retries ran out", isCredentialCheck, respond(http.StatusServiceUnavailable, ""), 2, 3},
		{"the credential check answered 429 until the retries ran out", isCredentialCheck, respond(http.StatusTooManyRequests, "", "Retry-After", "0"), 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var failing atomic.Bool
			var failed atomic.Int32
			rec := newRecorder(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if failing.Load() && tc.failing(r) {
					failed.Add(1)
					tc.fail(w, r, nil)
					return
				}
				server.ServeHTTP(w, r)
			}))
			c := newClient(t, rec.URL, "key", withMaxRetries(tc.retries))
			failing.Store(true)
			_, first := c.GetUser(context.Background(), "alice")
			failing.Store(false)
			if !point.IsNotFound(first) || point.IsUserNotFound(first) {
				t.Errorf("first error = %v, want a 404 that is not Point's own", first)
			}
			if n := int(failed.Load()); n == 0 || (tc.failed > 0 && n != tc.failed) {
				t.Errorf("%d requests met the failure, want %d: no check goes beyond max_retries", n, tc.failed)
			}
			// The failure is not remembered: the next 404 is checked afresh.
			_, second := c.GetUser(context.Background(), "alice")
			if !point.IsUserNotFound(second) {
				t.Errorf("second error = %v, want Point's own 404 once the checks get answers", second)
			}
			got := sortNotFoundRequests(t, rec.requests())
			if got.calls != 2 || got.credentialChecks < 1 || got.comparisons != 0 {
				t.Errorf("requests = %+v", got)
			}
		})
	}
}

// TestNotFound_concurrentChecks checks that many 404s at once on one client
// ask about a path that is no route once.
func TestNotFound_concurrentChecks(t *testing.T) {
	rec := newRecorder(t, pointLike{credentialsFirst: true, userNotFound: jsonNotFound(`{"error":"not_found"}`), noRoute: expressNoRoute})
	c := newClient(t, rec.URL, "key")
	const n = 20
	results := make(chan error, n)
	for i := range n {
		go func() {
			_, err := c.GetUser(context.Background(), fmt.Sprintf("user-%d", i))
			results <- err
		}()
	}
	for range n {
		if err := <-results; !point.IsUserNotFound(err) {
			t.Errorf("error = %v, want Point's own 404", err)
		}
	}
	want := notFoundRequests{calls: n, routeChecks: n, credentialChecks: 1, comparisons: 2 * n}
	if got := sortNotFoundRequests(t, rec.requests()); got != want {
		t.Errorf("requests = %+v, want %+v", got, want)
	}
}

// TestNotFound_sandbox checks the rule against the sandbox, for every
// route: a user it does not know is Point's own 404, and at a wrong path
// prefix the same requests are not.
func TestNotFound_sandbox(t *testing.T) {
	s, url := startSandbox(t, sandbox.Options{})
	refresh := s.AddUser("known")
	ctx := context.Background()
	access, err := newClient(t, url, "").IssueAccessToken(ctx, "known", refresh)
	if err != nil {
		t.Fatal(err)
	}
	for _, base := range []string{url, url + "/v1"} {
		pointsOwn := base == url
		c := newClient(t, base, s.APIKey())
		_, err := c.CreateUser(ctx, "known")
		if pointsOwn && !point.IsConflict(err) {
			t.Errorf("create an existing user at %s: %v, want 409", base, err)
		}
		for name, call := range map[string]func() (userGone, tokenGone bool){
			"get user": func() (bool, bool) {
				_, err := c.GetUser(ctx, "ghost")
				return point.IsUserNotFound(err), point.IsTokenNotFound(err)
			},
			"issue refresh token": func() (bool, bool) {
				_, err := c.IssueRefreshToken(ctx, "ghost")
				return point.IsUserNotFound(err), point.IsTokenNotFound(err)
			},
			"issue access token": func() (bool, bool) {
				_, err := c.IssueAccessToken(ctx, "ghost", refresh)
				return point.IsUserNotFound(err), point.IsTokenNotFound(err)
			},
			"revoke refresh token": func() (bool, bool) {
				err := c.RevokeRefreshToken(ctx, "ghost", refresh)
				return point.IsUserNotFound(err), point.IsTokenNotFound(err)
			},
			"revoke access token": func() (bool, bool) {
				err := c.RevokeAccessToken(ctx, "ghost", access.Token)
				return point.IsUserNotFound(err), point.IsTokenNotFound(err)
			},
		} {
			userGone, tokenGone := call()
			revoke := strings.HasPrefix(name, "revoke")
			if userGone != (pointsOwn && !revoke) || tokenGone != (pointsOwn && revoke) {
				t.Errorf("%s at %s: IsUserNotFound = %v, IsTokenNotFound = %v", name, base, userGone, tokenGone)
			}
		}
	}
	if cur, _ := s.CurrentRefreshToken("known"); cur != refresh || s.AccessTokens()[0].Revoked {
		t.Error("a check changed the known user's tokens")
	}
}
