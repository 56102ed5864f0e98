// Package validators checks the provider's configuration values. Each check
// is a plain function, so the same rule serves schema validation, import
// IDs, environment variables and fuzzing.
package validators

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// MaxUserIDLength is Point's limit on a user id, in characters.
const MaxUserIDLength = 128

// UserIDProblem returns why id cannot be a Point user id, or "" when it can.
func UserIDProblem(id string) string {
	if !utf8.ValidString(id) {
		return "must be valid UTF-8 text"
	}
	n := utf8.RuneCountInString(id)
	switch {
	case n == 0:
		return "must not be empty"
	case n > MaxUserIDLength:
		return fmt.Sprintf("must be at most %d characters long, got %d", MaxUserIDLength, n)
	case id == "." || id == "..":
		return `must not be "." or "..", which proxies and servers treat as path segments`
	case strings.Contains(id, "/"):
		return `must not contain "/", which Point cannot accept in a user id`
	case strings.Contains(id, "@"):
		return `must not contain "@": Point asks that user ids carry no personal information, such as email addresses; use your application's own opaque id for the user`
	}
	for _, r := range id {
		if unicode.IsSpace(r) {
			return "must not contain whitespace"
		}
		if unicode.IsControl(r) {
			return "must not contain control characters"
		}
	}
	return ""
}

// DurationProblem returns why s is not a positive Go duration such as
// "2160h", or "" when it is.
func DurationProblem(s string) string {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Sprintf(`must be a duration such as "30s", "15m" or "2160h" (units ns, us, ms, s, m, h), got %q`, s)
	}
	if d <= 0 {
		return fmt.Sprintf("must be greater than zero, got %q", s)
	}
	return ""
}

// EndpointProblem returns why s cannot be the Point API's base URL, or ""
// when it can. Plain http is accepted only for loopback hosts, because the
// API key travels in a header.
func EndpointProblem(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Sprintf(`must be an absolute URL such as "https://staging.sdk.areyoupoint.com", got %q`, s)
	}
	if u.User != nil {
		return "must not contain credentials; set api_key instead"
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "must not have a query or fragment"
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		if isLoopback(u.Hostname()) {
			return ""
		}
		return fmt.Sprintf("must use https for host %q: plain http is accepted only for loopback hosts (localhost, 127.0.0.1, ::1), because the API key travels in a request header", u.Hostname())
	default:
		return fmt.Sprintf("must use the https scheme, got %q", u.Scheme)
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// UserID validates a user id attribute.
func UserID() validator.String { return stringCheck{UserIDProblem, "a Point user id"} }

// Duration validates a positive duration attribute.
func Duration() validator.String { return stringCheck{DurationProblem, "a positive duration"} }

// Endpoint validates the API base URL attribute.
func Endpoint() validator.String {
	return stringCheck{EndpointProblem, "an absolute https URL (http only for loopback)"}
}

type stringCheck struct {
	problem     func(string) string
	description string
}

func (v stringCheck) Description(context.Context) string { return "value must be " + v.description }

func (v stringCheck) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v stringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if problem := v.problem(req.ConfigValue.ValueString()); problem != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Attribute Value",
			fmt.Sprintf("Attribute %s %s.", req.Path, problem))
	}
}
