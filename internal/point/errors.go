package point

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// ErrNoAPIKey is returned by operations that need the organisation API key
// when the client was built without one.
var ErrNoAPIKey = errors.New("no organisation API key is configured")

// Error is an answer from Point other than success. Every text in it has
// been masked: it never holds the API key or a token.
type Error struct {
	// Operation names the call, such as "create user".
	Operation string
	// StatusCode is the HTTP status Point answered with.
	StatusCode int
	// Code and Message are Point's "error" and "message" fields, when the body had them.
	Code    string
	Message string
	// Excerpt is the start of any other body, such as an HTML page from a proxy.
	Excerpt string
	// Attempts is how many times the request was sent, retries included.
	Attempts int
	// BaseURL is where the request went, to name in advice about a wrong endpoint.
	BaseURL string
	// Confirmed is set on a 404 that the client confirmed as Point's own:
	// what the request's path names does not exist (notfound.go). Code and
	// Message play no part in it: Point documents no error bodies.
	Confirmed bool
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: HTTP %d %s", e.Operation, e.StatusCode, http.StatusText(e.StatusCode))
	switch {
	case e.Code != "" && e.Message != "":
		fmt.Fprintf(&b, ": %s: %s", e.Code, e.Message)
	case e.Code != "" || e.Message != "":
		fmt.Fprintf(&b, ": %s%s", e.Code, e.Message)
	case e.Excerpt != "":
		fmt.Fprintf(&b, ": response body: %q", e.Excerpt)
	}
	return b.String()
}

func statusOf(err error) int {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode
	}
	return 0
}

// IsNotFound reports whether the answer was a 404, from Point or from
// anything else at the endpoint. Only IsUserNotFound and IsTokenNotFound
// say that Point itself knows nothing of the user or the token.
func IsNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// IsUserNotFound reports whether Point itself said that the user does not
// exist: a 404 that the client confirmed as Point's own (notfound.go) to a
// request that names the user alone: get user, create user, issue refresh
// token or issue access token. Any other 404 (a proxy's page, a "no such
// route" from a wrong path prefix) proves nothing about the user.
func IsUserNotFound(err error) bool {
	return confirmedNotFound(err, opGetUser, opCreateUser, opIssueRefreshToken, opIssueAccessToken)
}

// IsTokenNotFound reports whether Point itself said that a token is not
// valid: a 404 that the client confirmed as Point's own to revoke access
// token or revoke refresh token. Point does not say whether the token or
// its user is unknown; either way the token no longer works.
func IsTokenNotFound(err error) bool {
	return confirmedNotFound(err, opRevokeAccessToken, opRevokeRefreshToken)
}

func confirmedNotFound(err error, operations ...string) bool {
	var apiErr *Error
	return errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound && apiErr.Confirmed &&
		slices.Contains(operations, apiErr.Operation)
}

// IsConflict reports whether Point answered 409, as it does when creating a
// user that already exists.
func IsConflict(err error) bool { return statusOf(err) == http.StatusConflict }

// IsUnauthorized reports whether Point answered 401: the credential was
// missing, wrong, or no longer current.
func IsUnauthorized(err error) bool { return statusOf(err) == http.StatusUnauthorized }

// IsForbidden reports whether Point answered 403.
func IsForbidden(err error) bool { return statusOf(err) == http.StatusForbidden }

// IsRateLimited reports whether Point answered 429 on the last attempt.
func IsRateLimited(err error) bool { return statusOf(err) == http.StatusTooManyRequests }

// A DecodeError means Point answered success with a body that is not what
// the reference describes.
type DecodeError struct {
	Operation string
	Reason    string
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("%s: unexpected response from Point: %s", e.Operation, e.Reason)
}

// A TransportError means no HTTP answer arrived: the connection failed, the
// request timed out, or the context ended. Its text names the route template,
// never the URL, whose path can hold a token.
type TransportError struct {
	Operation string
	Err       error
	// Attempts is how many times the request was tried, retries included.
	Attempts int
	text     string
}

func (e *TransportError) Error() string { return e.text }
func (e *TransportError) Unwrap() error { return e.Err }

var (
	jwtPattern    = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)
	bearerPattern = regexp.MustCompile(`(?i)(bearer\s+)[^\s"',;)]+`)
)

const masked = "***"

// masker removes secrets from text bound for errors and logs: the exact
// secrets of a request, and anything shaped like a bearer credential or a JWT.
type masker struct {
	replacer *strings.Replacer
}

func newMasker(secrets ...string) masker {
	var pairs []string
	for _, s := range secrets {
		if s != "" {
			pairs = append(pairs, s, masked)
		}
	}
	return masker{replacer: strings.NewReplacer(pairs...)}
}

func (m masker) mask(text string) string {
	text = m.replacer.Replace(text)
	text = bearerPattern.ReplaceAllString(text, "${1}"+masked)
	return jwtPattern.ReplaceAllString(text, masked)
}

// An UnconfirmedCreateError comes with the user CreateUser returns when a
// request reached Point but no usable answer came back (the run was
// interrupted, the request timed out, the connection dropped, a proxy
// answered 502/503/504) and Point has the user afterwards, whether the last
// attempt's answer was lost or a retry met 409. That request most likely
// registered the user, but the user may have existed before. Err is the
// failure of that request.
type UnconfirmedCreateError struct {
	Err error
}

func (e *UnconfirmedCreateError) Error() string {
	return "no usable answer came to the create, but Point has the user now: " + e.Err.Error()
}

func (e *UnconfirmedCreateError) Unwrap() error { return e.Err }
