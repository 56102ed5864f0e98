package point

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// fuzzSecret is masked in every fuzz target and must never come out.
const fuzzSecret = "rt_c2VjcmV0LXJlZnJlc2gtdG9rZW4tZm9yLWZ1enppbmc"

func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Unix()
	for _, v := range []string{
		"", "0", "1", "120", "-1", "+3", "1.5", "1e3", " 5 ", "99999999999999999999",
		"Sun, 01 Mar 2026 12:00:30 GMT", "Sunday, 01-Mar-26 12:01:00 GMT", "Sun Mar  1 12:00:05 2026",
		"Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 01 Jan 0001 00:00:00 GMT", "soon",
	} {
		f.Add(v, now)
	}
	f.Fuzz(func(t *testing.T, value string, unix int64) {
		d, ok := ParseRetryAfter(value, time.Unix(unix, 0))
		if d < 0 || d > maxRetryAfterSeconds*time.Second {
			t.Fatalf("ParseRetryAfter(%q) = %v, outside [0, 24h]", value, d)
		}
		if !ok && d != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v with ok false", value, d)
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64); err == nil {
			want := time.Duration(min(n, maxRetryAfterSeconds)) * time.Second
			if n < 0 {
				want = 0
			}
			if d != want || ok != (n >= 0) {
				t.Fatalf("ParseRetryAfter(%q) = %v, %v; want %v, %v", value, d, ok, want, n >= 0)
			}
		}
	})
}

// checkDecodeError is what every refused success body must give: a
// DecodeError whose text is one safe line without the secret.
func checkDecodeError(t *testing.T, err error) {
	t.Helper()
	var decodeErr *DecodeError
	if !errors.As(err, &decodeErr) {
		t.Fatalf("error %#v is not a *DecodeError", err)
	}
	checkText(t, err.Error(), 400)
}

func checkText(t *testing.T, text string, maxLen int) {
	t.Helper()
	if strings.Contains(text, fuzzSecret) {
		t.Fatalf("text %q holds the secret", text)
	}
	if !utf8.ValidString(text) {
		t.Fatalf("text %q is not valid UTF-8", text)
	}
	if i := strings.IndexFunc(text, unicode.IsControl); i >= 0 {
		t.Fatalf("text %q has a control character at byte %d", text, i)
	}
	if len(text) > maxLen {
		t.Fatalf("text is %d bytes long: %q", len(text), text)
	}
}

func FuzzDecodeUser(f *testing.F) {
	for _, body := range []string{
		`{"user":{"id":"alice","email":"a@example.com","birthday":"1990-01-01","height":170.5,"weight":65,` +
			`"gender":"f","pronoun":"she","expectation":"x","firstName":"Alice","timezone":"Europe/Paris","refreshToken":{"token":"rt_x"}}}`,
		`{"user":{"id":"u","refreshToken":null}}`,
		`{"user":{"id":"u"}}`,
		`{"user":{"id":""}}`,
		`{"user":null}`,
		`{"user":{"id":42}}`,
		`{"user":{"id":"u","height":1e400}}`,
		`{"user":{"id":"u","refreshToken":"` + fuzzSecret + `"}}`,
		`{"` + fuzzSecret + `":1}`,
		`[]`, `null`, ``, ` `, `{`, `<html>`, "\xff", `{"user":{"id":"\u0000\ud800"}}`,
	} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var env userEnvelope
		err := decodeBody("get user", body, &env, newMasker(fuzzSecret))
		var u *User
		if err == nil {
			u, err = env.validate("get user")
		}
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		if u == nil || u.ID == "" {
			t.Fatalf("accepted %q without a user id", body)
		}
		if u.Refresh == nil && u.CurrentRefreshToken() != "" {
			t.Fatal("CurrentRefreshToken() is not empty without a refresh token")
		}
		// What was accepted survives a round trip unchanged.
		again, err := json.Marshal(userEnvelope{User: u})
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", u, err)
		}
		var env2 userEnvelope
		if err := decodeBody("get user", again, &env2, newMasker()); err != nil {
			t.Fatalf("re-decoding %s: %v", again, err)
		}
		if !reflect.DeepEqual(env2.User, u) {
			t.Fatalf("round trip changed the user: %+v, then %+v", u, env2.User)
		}
	})
}

func FuzzDecodeAccessToken(f *testing.F) {
	for _, body := range []string{
		`{"accessToken":{"token":"Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln","expiresIn":86400}}`,
		`{"accessToken":{"token":"eyJ.e30.x","expiresIn":1}}`,
		`{"accessToken":{"token":"Bearer ","expiresIn":86400}}`,
		`{"accessToken":{"token":"Bearer x","expiresIn":0.5}}`,
		`{"accessToken":{"token":"Bearer x","expiresIn":1e-300}}`,
		`{"accessToken":{"token":"Bearer x","expiresIn":315360000}}`,
		`{"accessToken":{"token":"Bearer x","expiresIn":1e400}}`,
		`{"accessToken":{"token":"Bearer x","expiresIn":"86400"}}`,
		`{"accessToken":{"token":"Bearer Bearer x","expiresIn":60}}`,
		`{"accessToken":null}`, `{}`, ``,
	} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var env accessTokenEnvelope
		err := decodeBody("issue access token", body, &env, newMasker(fuzzSecret))
		var tok AccessToken
		if err == nil {
			tok, err = env.validate("issue access token")
		}
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		if tok.Token == "" || tok.Token != strings.TrimSpace(tok.Token) || strings.HasPrefix(tok.Token, bearerPrefix) {
			t.Fatalf("accepted token %q is not a bare credential", tok.Token)
		}
		if tok.ExpiresIn < time.Second || tok.ExpiresIn > maxExpiresInSeconds*time.Second {
			t.Fatalf("accepted expiresIn %v from %q", tok.ExpiresIn, body)
		}
	})
}

func FuzzErrorBody(f *testing.F) {
	for _, seed := range []struct {
		status      int
		contentType string
		location    string
		body        string
		at          uint
	}{
		{404, "application/json", "", `{"error":"user_not_found","message":"no user with this id"}`, 0},
		{500, "application/json", "", `{"error":"internal","message":"key was "}`, uint(len(`{"error":"internal","message":"key was `))},
		{502, "text/html", "", "<html>\n<head><title>502 Bad Gateway</title></head>\n</html>", 7},
		{401, "", "", "Bearer ", 7},
		{400, "application/json", "", `{"error":{"nested":true},"message":""}`, 0},
		{429, "application/json", "", `{"error":"rate_limited","message":"a\nb\u001b[31mred"}`, uint(len(`{"error":"rate_limited","message":"a`))},
		{302, "", "https://evil.example/organizations/users/u", "", 0},
		{301, "", "https://" + fuzzSecret + ".example/", "", 0},
		{418, "", "", strings.Repeat("é", 150), 201},
		{503, "", "", "\xff\xfe\x00", 1},
	} {
		f.Add(seed.status, seed.contentType, seed.location, []byte(seed.body), seed.at)
	}
	f.Fuzz(func(t *testing.T, status int, contentType, location string, body []byte, at uint) {
		if status < 100 || status > 999 {
			status = 100 + (status%900+900)%900
		}
		// The secret goes somewhere in the body, as an echoing server puts it.
		i := int(at % uint(len(body)+1))
		withSecret := append(append(append([]byte{}, body[:i]...), fuzzSecret...), body[i:]...)
		header := http.Header{"Content-Type": {contentType}, "Location": {location}}

		apiErr := newError("get user", status, header, withSecret, newMasker(fuzzSecret))
		if apiErr.StatusCode != status || IsNotFound(apiErr) != (status == 404) || IsConflict(apiErr) != (status == 409) {
			t.Fatalf("error %#v does not carry status %d", apiErr, status)
		}
		if utf8.RuneCountInString(apiErr.Code) > excerptLength+1 || utf8.RuneCountInString(apiErr.Message) > excerptLength+1 ||
			utf8.RuneCountInString(apiErr.Excerpt) > excerptLength+1 {
			t.Fatalf("error %#v quotes more than %d characters", apiErr, excerptLength)
		}
		// No body makes a 404 Point's own: only the client's checks of the
		// endpoint (notfound.go) do.
		if apiErr.Confirmed || IsUserNotFound(apiErr) || IsTokenNotFound(apiErr) {
			t.Fatalf("error %#v from a body alone counts as Point's own 404", apiErr)
		}
		checkText(t, apiErr.Error(), 1200)
	})
}

// FuzzNotFoundComparison checks the comparison of a 404 with the answer to
// a path that is no route: two answers that differ only in the request
// path they quote are the same answer, and a body is the same as itself.
func FuzzNotFoundComparison(f *testing.F) {
	for _, seed := range []struct{ template, userID string }{
		{`{"statusCode":404,"error":"Not Found","message":"Cannot GET PATH"}`, "alice"},
		{`{"error":"not_found","message":"no such route","path":"PATH"}`, "bob@example.com"},
		{`{"errors":[{"detail":"PATH"}],"id":"u"}`, "u"},
		{`{"message":"PATH not found","n":1.50}`, "a b%2F"},
		{`{}`, "x"},
		{`[null, "PATH"]`, "\u00e9"},
	} {
		f.Add(seed.template, seed.userID)
	}
	base := "http://127.0.0.1:1/prefix"
	c := New(Config{BaseURL: base})
	f.Fuzz(func(t *testing.T, template, userID string) {
		if userID == "" || strings.Contains(template, "~") {
			return
		}
		routePath, otherPath := userPath(userID), noRoutePath(userID)
		paths := append(c.requestPaths(routePath), c.requestPaths(otherPath)...)
		first := []byte(strings.ReplaceAll(template, "PATH", "/prefix"+routePath))
		second := []byte(strings.ReplaceAll(template, "PATH", "/prefix"+otherPath))
		if !sameNotFound(normalizedJSON(first, paths, userID), normalizedJSON(first, paths, userID), nil) {
			t.Fatalf("%q is not the same as itself", first)
		}
		if !json.Valid(first) || !json.Valid(second) {
			return
		}
		if !sameNotFound(normalizedJSON(first, paths, userID), normalizedJSON(second, paths, userID), nil) {
			t.Fatalf("%q and %q differ only in the path they quote, yet compare as different", first, second)
		}
	})
}
