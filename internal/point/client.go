// Package point is a client for the Point API's user registration
// endpoints. It knows nothing of Terraform beyond logging through tflog.
package point

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// Defaults for Config fields left at zero.
const (
	DefaultRequestTimeout = 30 * time.Second
	DefaultMaxRetries     = 4
	DefaultRetryWaitMin   = 500 * time.Millisecond
	DefaultRetryWaitMax   = 10 * time.Second
	DefaultRetryAfterMax  = 60 * time.Second

	// maxBodyBytes bounds what is read of any response.
	maxBodyBytes = 1 << 20
	// excerptLength is how much of an unexpected body an error quotes.
	excerptLength = 200
	// MaxConcurrency is the most requests one caller should have in flight
	// through a Client at once: the upper bound of a bulk resource's
	// max_concurrency.
	MaxConcurrency = 64
	// maxIdleConns keeps a connection for every request that may be in
	// flight at once: two bulk resources at MaxConcurrency, which Terraform
	// may refresh side by side, or Terraform's parallelism for single
	// resources. The pool opens a connection only when every pooled one is
	// busy, so a run opens no more connections than it has requests in
	// flight, and each worker reuses its own instead of opening one per
	// request.
	maxIdleConns = 2 * MaxConcurrency
)

// The environment variables that configure a client of Point when the
// configuration leaves the setting out: the provider reads them, and the
// tests' real mode takes its Point from them.
const (
	EnvAPIKey      = "POINT_API_KEY"
	EnvEnvironment = "POINT_ENVIRONMENT"
	EnvEndpoint    = "POINT_ENDPOINT"
)

// EnvironmentURL returns the base URL of a named Point environment.
func EnvironmentURL(environment string) string {
	return "https://" + environment + ".sdk.areyoupoint.com"
}

// Config holds what a Client needs. BaseURL is required.
type Config struct {
	BaseURL        string
	APIKey         string
	UserAgent      string
	RequestTimeout time.Duration
	// MaxRetries is the number of retries after the first attempt; a
	// negative value means none.
	MaxRetries    int
	RetryWaitMin  time.Duration
	RetryWaitMax  time.Duration
	RetryAfterMax time.Duration
	// Transport replaces the default pooled transport, for tests.
	Transport http.RoundTripper
}

// Client calls Point. It is safe for concurrent use and reuses connections.
type Client struct {
	baseURL        string
	apiKey         string
	userAgent      string
	requestTimeout time.Duration
	maxRetries     int
	waitMin        time.Duration
	waitMax        time.Duration
	afterMax       time.Duration
	http           *http.Client
	// routing remembers how the endpoint answers a path that is no route,
	// for the checks of a 404 (notfound.go).
	routing *routingOrder
}

// New builds a Client from cfg. cfg.BaseURL must be an absolute URL, as
// the provider's endpoint validation ensures.
func New(cfg Config) *Client {
	c := &Client{
		baseURL:        strings.TrimRight(cfg.BaseURL, "/"),
		apiKey:         cfg.APIKey,
		userAgent:      cfg.UserAgent,
		requestTimeout: orDefault(cfg.RequestTimeout, DefaultRequestTimeout),
		maxRetries:     cfg.MaxRetries,
		waitMin:        orDefault(cfg.RetryWaitMin, DefaultRetryWaitMin),
		waitMax:        orDefault(cfg.RetryWaitMax, DefaultRetryWaitMax),
		afterMax:       orDefault(cfg.RetryAfterMax, DefaultRetryAfterMax),
		routing:        newRoutingOrder(),
	}
	if c.maxRetries < 0 {
		c.maxRetries = 0
	}
	transport := cfg.Transport
	if transport == nil {
		pooled := &http.Transport{}
		if def, ok := http.DefaultTransport.(*http.Transport); ok {
			pooled = def.Clone()
		}
		pooled.MaxIdleConns = maxIdleConns
		pooled.MaxIdleConnsPerHost = maxIdleConns
		transport = pooled
	}
	// Each attempt is bounded by its own context instead of Client.Timeout,
	// so that a call can be given a budget other than request_timeout.
	c.http = &http.Client{
		Transport: transport,
		// A redirect would carry a credential to wherever it points; Point's
		// endpoints never redirect, so one is reported instead of followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// HasAPIKey reports whether the client holds an organisation API key.
func (c *Client) HasAPIKey() bool { return c.apiKey != "" }

// BaseURL returns the base URL every request goes to.
func (c *Client) BaseURL() string { return c.baseURL }

// call describes one API operation.
type call struct {
	operation  string // for errors and logs, such as "create user"
	method     string
	route      string // route template, safe to log
	path       string // escaped path, may hold a token
	userID     string // the user the path names
	credential string // sent as "Authorization: Bearer <credential>"
	secrets    []string
	policy     retryPolicy
	// timeout bounds each attempt; zero means the client's request timeout.
	timeout time.Duration
	// withoutCredential sends no Authorization header; the credential is
	// still masked.
	withoutCredential bool
	// check marks a request that checks another's 404: its own 404 is
	// not checked.
	check bool
}

// outcome tells an operation what happened across its attempts.
type outcome struct {
	// unanswered is the failure of the latest attempt that may have reached
	// Point without a usable answer coming back (a 502/503/504, or a
	// connection lost after the request was written), so that a later answer
	// can reflect that attempt's effect. It is nil when none may have.
	unanswered error
	// body is the body of the last answer.
	body []byte
}

// do runs a call with retries and decodes a success body into out (when out
// is not nil).
func (c *Client) do(ctx context.Context, cl call, out any) (outcome, error) {
	var result outcome
	// An empty string would mask the gap between every character.
	secrets := append(slices.Clone(cl.secrets), c.apiKey, cl.credential)
	secrets = slices.DeleteFunc(secrets, func(s string) bool { return s == "" })
	m := newMasker(secrets...)
	ctx = tflog.MaskLogStrings(ctx, secrets...)
	ctx = tflog.MaskLogRegexes(ctx, jwtPattern, bearerPattern)
	// Fields go with each log call rather than on the context: every
	// context field copies the logger's options, on every request.
	fields := map[string]any{"point_operation": cl.operation, "http_method": cl.method, "http_route": cl.route}

	for attempt := 1; ; attempt++ {
		fields["attempt"] = attempt
		status, header, body, sent, err := c.send(ctx, cl, fields)
		result.body = body
		tooLarge := errors.Is(err, errBodyTooLarge)
		if err != nil && !tooLarge {
			if ctx.Err() != nil {
				terr := &TransportError{Operation: cl.operation, Err: ctx.Err(), Attempts: attempt,
					text: fmt.Sprintf("%s: %v", cl.operation, ctx.Err())}
				if sent {
					result.unanswered = terr
				}
				return result, terr
			}
			// The url.Error wrapper quotes the URL, whose path can hold a
			// token, so it is dropped from the chain as well as the text.
			err = unwrapURLError(err)
			terr := &TransportError{Operation: cl.operation, Err: err, Attempts: attempt,
				text: m.mask(fmt.Sprintf("%s (%s %s): %v", cl.operation, cl.method, cl.route, err))}
			if sent {
				result.unanswered = terr
			}
			if attempt > c.maxRetries || !cl.policy.retryTransport(sent) {
				tflog.Debug(ctx, "Point request failed", fields, map[string]any{"error": terr.Error()})
				return result, terr
			}
			wait := backoff(attempt, c.waitMin, c.waitMax)
			tflog.Debug(ctx, "Point request failed, retrying", fields, map[string]any{"error": terr.Error(), "wait_ms": wait.Milliseconds()})
			if err := sleep(ctx, wait); err != nil {
				return result, &TransportError{Operation: cl.operation, Err: err, Attempts: attempt, text: fmt.Sprintf("%s: %v", cl.operation, err)}
			}
			continue
		}

		if status >= 200 && status < 300 {
			if out == nil {
				return result, nil
			}
			if tooLarge {
				return result, &DecodeError{Operation: cl.operation, Reason: fmt.Sprintf("the body is larger than %d MiB", maxBodyBytes>>20)}
			}
			return result, decodeBody(cl.operation, body, out, m)
		}

		apiErr := newError(cl.operation, status, header, body, m)
		apiErr.Attempts = attempt
		apiErr.BaseURL = c.baseURL
		if attempt > c.maxRetries || !cl.policy.retryStatus(status) {
			if status == http.StatusNotFound && !cl.check && !tooLarge {
				apiErr.Confirmed = c.confirmNotFound(ctx, cl, body)
			}
			return result, apiErr
		}
		wait := backoff(attempt, c.waitMin, c.waitMax)
		if status == http.StatusTooManyRequests {
			if after, ok := ParseRetryAfter(header.Get("Retry-After"), time.Now()); ok {
				wait = jitterAbove(min(after, c.afterMax), c.waitMin)
			}
		} else {
			result.unanswered = apiErr
		}
		tflog.Debug(ctx, "Point answered with a retryable status, retrying", fields, map[string]any{"http_status": status, "wait_ms": wait.Milliseconds()})
		if err := sleep(ctx, wait); err != nil {
			return result, &TransportError{Operation: cl.operation, Err: err, Attempts: attempt, text: fmt.Sprintf("%s: %v", cl.operation, err)}
		}
	}
}

// send makes one attempt. sent reports whether the request was written to
// the connection, that is, whether Point may have acted on it.
func (c *Client) send(ctx context.Context, cl call, fields map[string]any) (status int, header http.Header, body []byte, sent bool, err error) {
	trace := &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { sent = true },
	}
	timeout := cmp.Or(cl.timeout, c.requestTimeout)
	attemptCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	defer func() {
		if err != nil && ctx.Err() == nil && errors.Is(attemptCtx.Err(), context.DeadlineExceeded) {
			err = &noAnswerError{timeout: timeout}
		}
	}()
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(attemptCtx, trace), cl.method, c.baseURL+cl.path, nil)
	if err != nil {
		return 0, nil, nil, false, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	if !cl.withoutCredential {
		req.Header.Set("Authorization", "Bearer "+cl.credential)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}

	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, sent, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	tflog.Debug(ctx, "Point request", fields, map[string]any{
		"http_status": resp.StatusCode,
		"duration_ms": time.Since(start).Milliseconds(),
	})
	if err != nil {
		return 0, nil, nil, true, err
	}
	if len(body) > maxBodyBytes {
		// Drain a little more so the connection can be reused when the body
		// is only slightly too large; give up on it otherwise.
		_, _ = io.CopyN(io.Discard, resp.Body, maxBodyBytes)
		return resp.StatusCode, resp.Header, body[:maxBodyBytes], true, errBodyTooLarge
	}
	return resp.StatusCode, resp.Header, body, true, nil
}

// noAnswerError is an attempt that ran out of its time.
type noAnswerError struct{ timeout time.Duration }

func (e *noAnswerError) Error() string { return fmt.Sprintf("no answer within %s", e.timeout) }
func (e *noAnswerError) Unwrap() error { return context.DeadlineExceeded }

// errBodyTooLarge comes with the first maxBodyBytes of an answer's body.
var errBodyTooLarge = errors.New("response body is too large")

// unwrapURLError drops the url.Error wrapper, whose text quotes the URL.
func unwrapURLError(err error) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err
	}
	return err
}

// decodeBody decodes a success body into out.
func decodeBody(operation string, body []byte, out any, m masker) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return &DecodeError{Operation: operation, Reason: "the body is empty"}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return &DecodeError{Operation: operation, Reason: m.mask(describeJSONError(err))}
	}
	return nil
}

func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		what := "the body"
		if typeErr.Field != "" {
			what = fmt.Sprintf("field %q", typeErr.Field)
		}
		if number, ok := strings.CutPrefix(typeErr.Value, "number "); ok {
			return fmt.Sprintf("%s holds the number %s, which is out of range", what, truncate(number, 40))
		}
		return fmt.Sprintf("%s is a JSON %s, expected %s", what, typeErr.Value, jsonKind(typeErr.Type))
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fmt.Sprintf("the body is not valid JSON (at byte %d: %v)", syntaxErr.Offset, err)
	}
	return "the body is not valid JSON: " + err.Error()
}

// jsonKind names the JSON value that decodes into t, for messages that
// should not mention Go types.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Float64:
		return "a number"
	}
	return t.Kind().String()
}

// newError builds the error for a non-success answer.
func newError(operation string, status int, header http.Header, body []byte, m masker) *Error {
	apiErr := &Error{Operation: operation, StatusCode: status}
	var payload struct {
		Error   any    `json:"error"`
		Message string `json:"message"`
	}
	if strings.Contains(header.Get("Content-Type"), "json") || json.Valid(body) {
		if err := json.Unmarshal(body, &payload); err == nil {
			if code, ok := payload.Error.(string); ok {
				apiErr.Code = truncate(m.mask(oneLine(code)), excerptLength)
			}
			apiErr.Message = truncate(m.mask(oneLine(payload.Message)), excerptLength)
		}
	}
	// Masking comes before truncation, which could otherwise cut a secret
	// short of what the masker recognises.
	if apiErr.Code == "" && apiErr.Message == "" {
		apiErr.Excerpt = truncate(m.mask(strings.Join(strings.Fields(string(body)), " ")), excerptLength)
	}
	if status >= 300 && status < 400 {
		if loc, err := url.Parse(header.Get("Location")); err == nil && loc.Host != "" {
			target := loc.Host
			if loc.Scheme != "" {
				target = loc.Scheme + "://" + target
			}
			apiErr.Message = "redirect to " + truncate(m.mask(oneLine(target)), excerptLength) + " refused; check the provider's endpoint setting"
		} else {
			apiErr.Message = "redirect refused; check the provider's endpoint setting"
		}
		apiErr.Excerpt = ""
	}
	return apiErr
}

// oneLine collapses whitespace and turns control characters into spaces, so
// that text from the server can neither break lines nor drive a terminal.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
