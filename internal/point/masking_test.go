package point_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-log/tflogtest"

	"github.com/areyoupoint/terraform-provider-point/internal/point"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// lockedBuffer lets concurrent calls log into one buffer.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// leaks reports the first 10-character piece of secret found in text: a
// secret cut short by truncation leaks too.
func leaks(text, secret string) (string, bool) {
	const window = 10
	if len(secret) < window {
		return secret, strings.Contains(text, secret)
	}
	for i := 0; i+window <= len(secret); i++ {
		if piece := secret[i : i+window]; strings.Contains(text, piece) {
			return piece, true
		}
	}
	return "", false
}

// errorChainText is every message an error and what it wraps can print.
func errorChainText(err error) string {
	var b strings.Builder
	for e := err; e != nil; e = errors.Unwrap(e) {
		fmt.Fprintf(&b, "%v\n%+v\n", e, e)
	}
	return b.String()
}

// echoAuthorization answers 500 with the request's credential in Point's
// message, and again as plain text placed across the excerpt's cut.
func echoAuthorization(w http.ResponseWriter, r *http.Request, _ http.Handler) {
	auth := r.Header.Get("Authorization")
	bare := strings.TrimPrefix(auth, "Bearer ")
	if r.Method == http.MethodGet {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "%s credential %s rejected; header was %q", strings.Repeat("x", 175), bare, auth)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `{"error":%q,"message":"could not check %s (header %s)"}`, bare, bare, auth)
}

var rawTokenPath = regexp.MustCompile(`/organizations/users/[^{\s"]*/(access_token|refresh_token)/[^{\s"]`)

func TestMasking(t *testing.T) {
	var logs lockedBuffer
	ctx := tflogtest.RootLogger(context.Background(), &logs)

	s, url := startSandbox(t, sandbox.Options{})
	apiKey := s.APIKey()
	c := newClient(t, url, apiKey)
	tokenClient := newClient(t, url, "")
	secrets := []string{apiKey, "wrong-key-5f3c9d1e7a"}
	var errs []error
	check := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}

	u, err := c.CreateUser(ctx, "masked")
	if err != nil {
		t.Fatal(err)
	}
	first := u.CurrentRefreshToken()
	secrets = append(secrets, first)
	_, err = c.CreateUser(ctx, "masked")
	check(err)
	_, err = c.GetUser(ctx, "masked")
	check(err)
	second, err := c.IssueRefreshToken(ctx, "masked")
	check(err)
	secrets = append(secrets, second)
	access, err := tokenClient.IssueAccessToken(ctx, "masked", second)
	check(err)
	secrets = append(secrets, access.Token)
	check(tokenClient.RevokeAccessToken(ctx, "masked", access.Token))
	// Failures: 409 above, 404, 401 with a stale token, 401 with a wrong key.
	check(tokenClient.RevokeAccessToken(ctx, "masked", access.Token))
	_, err = tokenClient.IssueAccessToken(ctx, "masked", first)
	check(err)
	check(tokenClient.RevokeRefreshToken(ctx, "masked", first))
	_, err = newClient(t, url, "wrong-key-5f3c9d1e7a").GetUser(ctx, "masked")
	check(err)

	// Retries log each attempt.
	s.SetFaults(sandbox.Faults{FailureRate: 1})
	_, err = c.GetUser(ctx, "masked")
	check(err)
	_, err = tokenClient.IssueAccessToken(ctx, "masked", second)
	check(err)
	s.SetFaults(sandbox.Faults{})
	check(tokenClient.RevokeRefreshToken(ctx, "masked", second))

	// A 500 that echoes the credential, for each kind of credential.
	echo := newRecorder(t, nil, echoAuthorization, echoAuthorization, echoAuthorization, echoAuthorization)
	_, err = newClient(t, echo.URL, apiKey, withMaxRetries(0)).GetUser(ctx, "masked")
	check(err)
	_, err = newClient(t, echo.URL, "").IssueAccessToken(ctx, "masked", second)
	check(err)
	check(newClient(t, echo.URL, "").RevokeAccessToken(ctx, "masked", access.Token))
	check(newClient(t, echo.URL, "").RevokeRefreshToken(ctx, "masked", first))

	// No server at all: Go's url.Error quotes the URL, token in the path.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	_ = ln.Close()
	check(newClient(t, closed, "", withMaxRetries(1)).RevokeAccessToken(ctx, "masked", access.Token))
	_, err = newClient(t, closed, apiKey, withMaxRetries(1)).GetUser(ctx, "masked")
	check(err)

	if len(errs) != 13 {
		t.Fatalf("collected %d errors, want 13: %v", len(errs), errs)
	}
	var transportErrs int
	for _, err := range errs {
		text := errorChainText(err)
		for _, secret := range secrets {
			if piece, ok := leaks(text, secret); ok {
				t.Errorf("error %q leaks %q of a secret", text, piece)
			}
		}
		if strings.Contains(text, "eyJ") {
			t.Errorf("error %q holds something shaped like a JWT", text)
		}
		var terr *point.TransportError
		if errors.As(err, &terr) {
			transportErrs++
			if strings.Contains(text, "/organizations/users/masked") {
				t.Errorf("transport error %q quotes the request path", text)
			}
		}
	}
	if transportErrs != 2 {
		t.Errorf("%d transport errors, want the 2 from the closed port", transportErrs)
	}

	out := logs.String()
	for _, secret := range secrets {
		if piece, ok := leaks(out, secret); ok {
			t.Errorf("logs leak %q of a secret", piece)
		}
	}
	if strings.Contains(out, "eyJ") {
		t.Error("logs hold something shaped like a JWT")
	}
	if m := rawTokenPath.FindString(out); m != "" {
		t.Errorf("logs hold a raw request path: %q", m)
	}
	entries, err := tflogtest.MultilineJSONDecode(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	routes := map[string]bool{}
	var requests, retries int
	for _, e := range entries {
		route, _ := e["http_route"].(string)
		if _, ok := e["point_operation"]; !ok || !strings.HasPrefix(route, "/organizations/users/{userId}") {
			t.Errorf("log entry without operation and route template: %v", e)
			continue
		}
		routes[route] = true
		switch e["@message"] {
		case "Point request":
			requests++
			if _, ok := e["http_status"]; !ok {
				t.Errorf("request entry without http_status: %v", e)
			}
		case "Point answered with a retryable status, retrying", "Point request failed, retrying":
			retries++
		}
	}
	if len(routes) != 4 || requests < 15 || retries < 4 {
		t.Errorf("logs cover routes %v with %d request and %d retry entries; want all 4 routes, at least 15 and 4", routes, requests, retries)
	}
}

// TestMasking_logsWithoutAPIKey checks that a client with no API key (as for
// access tokens) still logs readable messages: masking an empty string would
// mark up every character.
func TestMasking_logsWithoutAPIKey(t *testing.T) {
	var logs lockedBuffer
	ctx := tflogtest.RootLogger(context.Background(), &logs)
	s, url := startSandbox(t, sandbox.Options{})
	refresh := s.AddUser("u")
	if _, err := newClient(t, url, "").IssueAccessToken(ctx, "u", refresh); err != nil {
		t.Fatal(err)
	}
	if err := newClient(t, url, "").RevokeRefreshToken(ctx, "u", ""); err == nil {
		t.Fatal("revoking with an empty token succeeded")
	}
	entries, err := tflogtest.MultilineJSONDecode(strings.NewReader(logs.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("got %d log entries, want 2: %s", len(entries), logs.String())
	}
	for _, e := range entries {
		if e["@message"] != "Point request" || e["http_method"] == "" || strings.Contains(fmt.Sprint(e["http_route"]), "*") {
			t.Errorf("log entry is garbled: %v", e)
		}
	}
}
