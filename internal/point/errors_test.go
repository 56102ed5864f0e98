package point_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/areyoupoint/terraform-provider-point/internal/point"
)

const nginx502 = `<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx/1.27.0</center>
<!-- a padding to disable MSIE and Chrome friendly error page -->
<!-- a padding to disable MSIE and Chrome friendly error page -->
<!-- a padding to disable MSIE and Chrome friendly error page -->
<!-- a padding to disable MSIE and Chrome friendly error page -->
</body>
</html>
`

// streamBody answers status with n bytes of filler and records how many
// the client let it write.
func streamBody(status int, contentType string, n int, written *atomic.Int64, done chan<- struct{}) step {
	return func(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
		defer close(done)
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		chunk := []byte(strings.Repeat("<p>filler filler filler</p>\n", 64<<10/28))
		for written.Load() < int64(n) {
			k, err := w.Write(chunk)
			written.Add(int64(k))
			if err != nil {
				return
			}
		}
	}
}

func getUser(c *point.Client) error {
	_, err := c.GetUser(context.Background(), "u")
	return err
}

func issueAccessToken(c *point.Client) error {
	_, err := c.IssueAccessToken(context.Background(), "u", "rt_x")
	return err
}

func issueRefreshToken(c *point.Client) error {
	_, err := c.IssueRefreshToken(context.Background(), "u")
	return err
}

func revokeAccessToken(c *point.Client) error {
	return c.RevokeAccessToken(context.Background(), "u", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln")
}

func TestBadAnswers(t *testing.T) {
	const json = "application/json"
	elsewhere := newRecorder(t, nil)
	type kind int
	const (
		apiError kind = iota
		decodeError
		transportError
	)
	for _, tc := range []struct {
		name   string
		call   func(*point.Client) error
		answer step
		kind   kind
		status int
		// text must match the error's text.
		text string
	}{
		{"HTML 502 from a proxy", getUser, respond(http.StatusBadGateway, nginx502, "Content-Type", "text/html"),
			apiError, 502, `^get user: HTTP 502 Bad Gateway: response body: "<html> <head><title>502 Bad Gateway</title></head> <body> <center><h1>502 Bad Gateway</h1></center> <hr><center>nginx/1\.27\.0</center> <!-- a padding to disable MSIE and Chrome friendly error page --> …"$`},
		{"503 without a body", getUser, respond(http.StatusServiceUnavailable, ""),
			apiError, 503, `^get user: HTTP 503 Service Unavailable$`},
		{"error and message", getUser, respond(http.StatusInternalServerError, `{"error":"internal","message":"database down"}`, "Content-Type", json),
			apiError, 500, `^get user: HTTP 500 Internal Server Error: internal: database down$`},
		{"message only, JSON without a content type", getUser, respond(http.StatusBadRequest, `{"message":"bad id"}`),
			apiError, 400, `^get user: HTTP 400 Bad Request: bad id$`},
		{"error as an object", getUser, respond(http.StatusInternalServerError, `{"error":{"code":5,"detail":"x"}}`, "Content-Type", json),
			apiError, 500, `response body: "\{\\"error\\":\{\\"code\\":5,\\"detail\\":\\"x\\"\}\}"$`},
		{"JSON content type, not JSON", getUser, respond(http.StatusInternalServerError, "upstream\tconnect error\n\nor disconnect", "Content-Type", json),
			apiError, 500, `response body: "upstream connect error or disconnect"$`},
		{"invalid UTF-8 error body", getUser, respond(http.StatusInternalServerError, "bad \xff\xfe bytes"),
			apiError, 500, `response body: "bad \\xff\\xfe bytes"$`},
		{"multi-byte runes across the cut", getUser, respond(http.StatusInternalServerError, strings.Repeat("€", 300)),
			apiError, 500, `response body: "(€){66}…"$`},
		{"401 with an empty body", issueAccessToken, respond(http.StatusUnauthorized, "", "WWW-Authenticate", "Bearer"),
			apiError, 401, `^issue access token: HTTP 401 Unauthorized$`},
		{"redirect to another host", getUser, respond(http.StatusFound, "", "Location", elsewhere.URL+"/organizations/users/u"),
			apiError, 302, `^get user: HTTP 302 Found: redirect to http://127\.0\.0\.1:\d+ refused; check the provider's endpoint setting$`},
		{"redirect without a location", revokeAccessToken, respond(http.StatusMovedPermanently, "<a>moved</a>"),
			apiError, 301, `^revoke access token: HTTP 301 Moved Permanently: redirect refused; check the provider's endpoint setting$`},
		{"malformed JSON", getUser, respond(http.StatusOK, `{"user":{"id":"u"`, "Content-Type", json),
			decodeError, 0, `^get user: unexpected response from Point: the body is not valid JSON \(at byte 17: unexpected end of JSON input\)$`},
		{"trailing garbage", getUser, respond(http.StatusOK, `{"user":{"id":"u"}} {}`, "Content-Type", json),
			decodeError, 0, `the body is not valid JSON \(at byte 21: invalid character '\{' after top-level value\)$`},
		{"HTML with 200 from a captive portal", getUser, respond(http.StatusOK, "<!DOCTYPE html><title>Sign in</title>", "Content-Type", "text/html"),
			decodeError, 0, `the body is not valid JSON \(at byte 1: invalid character '<' looking for beginning of value\)$`},
		{"empty body", getUser, respond(http.StatusOK, ""),
			decodeError, 0, `^get user: unexpected response from Point: the body is empty$`},
		{"204 to a read", getUser, respond(http.StatusNoContent, ""),
			decodeError, 0, `the body is empty$`},
		{"null", getUser, respond(http.StatusOK, "null"),
			decodeError, 0, `the body has no "user" object$`},
		{"array", getUser, respond(http.StatusOK, `[{"user":{"id":"u"}}]`),
			decodeError, 0, `the body is a JSON array, expected an object$`},
		{"user is a string", getUser, respond(http.StatusOK, `{"user":"u"}`),
			decodeError, 0, `field "user" is a JSON string, expected an object$`},
		{"id is a number", getUser, respond(http.StatusOK, `{"user":{"id":42}}`),
			decodeError, 0, `field "user\.id" is a JSON number, expected a string$`},
		{"height is a string", getUser, respond(http.StatusOK, `{"user":{"id":"u","height":"tall"}}`),
			decodeError, 0, `field "user\.height" is a JSON string, expected a number$`},
		{"refresh token is a string", getUser, respond(http.StatusOK, `{"user":{"id":"u","refreshToken":"rt_x"}}`),
			decodeError, 0, `field "user\.refreshToken" is a JSON string, expected an object$`},
		{"user missing", getUser, respond(http.StatusOK, `{"users":[]}`),
			decodeError, 0, `the body has no "user" object$`},
		{"id missing", getUser, respond(http.StatusOK, `{"user":{"email":null}}`),
			decodeError, 0, `the "user" object has no "id"$`},
		{"access token missing", issueAccessToken, respond(http.StatusOK, `{"token":"Bearer x","expiresIn":86400}`),
			decodeError, 0, `^issue access token: unexpected response from Point: the body has no "accessToken" object$`},
		{"access token empty", issueAccessToken, respond(http.StatusOK, `{"accessToken":{"token":"Bearer  ","expiresIn":86400}}`),
			decodeError, 0, `the body has no "accessToken\.token"$`},
		{"expiresIn missing", issueAccessToken, respond(http.StatusOK, `{"accessToken":{"token":"Bearer x"}}`),
			decodeError, 0, `"accessToken\.expiresIn" is missing or not a plausible number of seconds$`},
		{"expiresIn negative", issueAccessToken, respond(http.StatusOK, `{"accessToken":{"token":"Bearer x","expiresIn":-1}}`),
			decodeError, 0, `"accessToken\.expiresIn" is missing or not a plausible number of seconds$`},
		{"expiresIn a string", issueAccessToken, respond(http.StatusOK, `{"accessToken":{"token":"Bearer x","expiresIn":"86400"}}`),
			decodeError, 0, `field "accessToken\.expiresIn" is a JSON string, expected a number$`},
		{"expiresIn out of range", issueAccessToken, respond(http.StatusOK, `{"accessToken":{"token":"Bearer x","expiresIn":1e400}}`),
			decodeError, 0, `field "accessToken\.expiresIn" holds the number 1e400, which is out of range$`},
		{"refresh token missing", issueRefreshToken, respond(http.StatusOK, `{"refreshToken":{}}`),
			decodeError, 0, `^issue refresh token: unexpected response from Point: the body has no "refreshToken\.token"$`},
		{"connection reset", getUser, hangUp,
			transportError, 0, `^get user \(GET /organizations/users/\{userId\}\): (EOF|.*connection reset by peer)$`},
		{"answer slower than the request timeout", getUser, func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
		}, transportError, 0, `^get user \(GET /organizations/users/\{userId\}\): no answer within 200ms$`},
		{"headers then a stalled body", getUser, func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(`{"user":`))
			http.NewResponseController(w).Flush()
			<-r.Context().Done()
		}, transportError, 0, `^get user \(GET /organizations/users/\{userId\}\): no answer within 200ms$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder(t, nil, tc.answer)
			c := newClient(t, rec.URL, "key", func(c *point.Config) {
				c.MaxRetries = -1
				c.RequestTimeout = 200 * time.Millisecond
			})
			err := tc.call(c)
			if err == nil {
				t.Fatal("no error")
			}
			var (
				apiErr       *point.Error
				decodeErr    *point.DecodeError
				transportErr *point.TransportError
			)
			switch tc.kind {
			case apiError:
				if !errors.As(err, &apiErr) || apiErr.StatusCode != tc.status {
					t.Fatalf("error = %#v, want *point.Error with status %d", err, tc.status)
				}
				if n := utf8.RuneCountInString(apiErr.Excerpt); n > 201 {
					t.Errorf("excerpt has %d characters, want at most 200 and an ellipsis", n)
				}
			case decodeError:
				if !errors.As(err, &decodeErr) {
					t.Fatalf("error = %#v, want *point.DecodeError", err)
				}
			case transportError:
				if !errors.As(err, &transportErr) || transportErr.Err == nil {
					t.Fatalf("error = %#v, want *point.TransportError with a cause", err)
				}
			}
			text := err.Error()
			if !regexp.MustCompile(tc.text).MatchString(text) {
				t.Errorf("error text:\n  %s\nwant a match for:\n  %s", text, tc.text)
			}
			if !utf8.ValidString(text) || strings.ContainsAny(text, "\n\r\t") || len(text) > 400 {
				t.Errorf("error text is not one short line of valid UTF-8: %q", text)
			}
		})
	}
	if n := len(elsewhere.requests()); n != 0 {
		t.Errorf("the redirect target received %d requests, want none", n)
	}
}

func TestBadAnswers_hugeBody(t *testing.T) {
	const size = 64 << 20
	for _, tc := range []struct {
		name   string
		status int
		check  func(t *testing.T, err error)
	}{
		{"200", http.StatusOK, func(t *testing.T, err error) {
			var decodeErr *point.DecodeError
			if !errors.As(err, &decodeErr) || err.Error() != "get user: unexpected response from Point: the body is larger than 1 MiB" {
				t.Errorf("error = %#v, want a *point.DecodeError saying the body is too large", err)
			}
		}},
		{"502", http.StatusBadGateway, func(t *testing.T, err error) {
			var apiErr *point.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadGateway {
				t.Fatalf("error = %#v, want *point.Error 502", err)
			}
			if want := "<p>filler filler filler</p> <p>filler"; !strings.HasPrefix(apiErr.Excerpt, want) || utf8.RuneCountInString(apiErr.Excerpt) != 201 {
				t.Errorf("excerpt = %q, want its first 200 characters and an ellipsis", apiErr.Excerpt)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var written atomic.Int64
			done := make(chan struct{})
			rec := newRecorder(t, nil, streamBody(tc.status, "text/html", size, &written, done))
			err := getUser(newClient(t, rec.URL, "key", withMaxRetries(0)))
			tc.check(t, err)
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("the server was still writing 5s after the client gave up")
			}
			// The client reads 1 MiB, drains 1 MiB more and hangs up; what
			// else was written sat in socket buffers.
			if n := written.Load(); n >= size/2 {
				t.Errorf("server wrote %d of %d bytes before the client hung up", n, size)
			}
			t.Logf("server wrote %d MiB of %d before the client hung up", written.Load()>>20, size>>20)
			if len(err.Error()) > 400 {
				t.Errorf("error text is %d bytes long", len(err.Error()))
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	for _, tc := range []struct {
		err  point.Error
		want string
	}{
		{point.Error{Operation: "get user", StatusCode: 404, Code: "user_not_found", Message: "no user"}, "get user: HTTP 404 Not Found: user_not_found: no user"},
		{point.Error{Operation: "get user", StatusCode: 404, Code: "user_not_found"}, "get user: HTTP 404 Not Found: user_not_found"},
		{point.Error{Operation: "get user", StatusCode: 404, Message: "no user"}, "get user: HTTP 404 Not Found: no user"},
		{point.Error{Operation: "get user", StatusCode: 599, Excerpt: "odd"}, `get user: HTTP 599 : response body: "odd"`},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	d := &point.DecodeError{Operation: "get user", Reason: "the body is empty"}
	if got := d.Error(); got != "get user: unexpected response from Point: the body is empty" {
		t.Errorf("DecodeError.Error() = %q", got)
	}
}
