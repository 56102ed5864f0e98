package validators_test

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/areyoupoint/terraform-provider-point/internal/point"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
	"github.com/areyoupoint/terraform-provider-point/internal/validators"
)

// wireTransport serves requests from h in-process, but only after writing
// each request out and parsing it back, as a server on the network would
// see it.
type wireTransport struct{ h http.Handler }

func (w wireTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		return nil, err
	}
	server, err := http.ReadRequest(bufio.NewReader(&buf))
	if err != nil {
		return nil, err
	}
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, server)
	return rec.Result(), nil
}

// FuzzUserIDProblem checks that UserIDProblem never panics, that what it
// accepts follows Point's rules, and that an accepted id travels through the
// client to the sandbox and back unchanged.
func FuzzUserIDProblem(f *testing.F) {
	for _, id := range []string{
		"alice", "user-123", "a", strings.Repeat("x", 128), strings.Repeat("x", 129), strings.Repeat("é", 128),
		"", "a/b", "alice@example.com", "with space", "tab\there", "nl\n", "\x00", "\u0085", "\u00a0",
		"\u2028", "\xff", "what?", "a#b", "100%", "%2F", "%41", ".", "..", "...", "+", "semi;colon",
		"émoji-😀", "\u202e", "access_token",
	} {
		f.Add(id)
	}
	s := sandbox.New(sandbox.Options{})
	client := point.New(point.Config{
		BaseURL:   "http://sandbox.invalid",
		APIKey:    s.APIKey(),
		Transport: wireTransport{s},
	})
	f.Fuzz(func(t *testing.T, id string) {
		problem := validators.UserIDProblem(id)
		if problem != "" {
			if !utf8.ValidString(problem) || strings.ContainsFunc(problem, unicode.IsControl) {
				t.Fatalf("UserIDProblem(%q) = %q, not printable", id, problem)
			}
			return
		}
		if !utf8.ValidString(id) {
			t.Fatalf("accepted %q, which is not valid UTF-8", id)
		}
		if n := utf8.RuneCountInString(id); n < 1 || n > validators.MaxUserIDLength {
			t.Fatalf("accepted %q, which has %d characters", id, n)
		}
		if i := strings.IndexFunc(id, func(r rune) bool {
			return r == '/' || r == '@' || unicode.IsSpace(r) || unicode.IsControl(r)
		}); i >= 0 {
			t.Fatalf("accepted %q, which has %q at byte %d", id, id[i:], i)
		}

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		u, err := client.CreateUser(ctx, id)
		if point.IsConflict(err) {
			u, err = client.GetUser(ctx, id)
		}
		if err != nil {
			t.Fatalf("accepted %q, but Point (the sandbox) refused it: %v", id, err)
		}
		if u.ID != id || !s.HasUser(id) {
			t.Fatalf("accepted %q, but it reached Point as %q", id, u.ID)
		}
	})
}
