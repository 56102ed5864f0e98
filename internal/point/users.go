package point

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
)

// User is a Point user as the API returns it. Profile fields are the end
// user's own data; nil means JSON null.
type User struct {
	ID          string        `json:"id"`
	Email       *string       `json:"email"`
	Birthday    *string       `json:"birthday"`
	Height      *float64      `json:"height"`
	Weight      *float64      `json:"weight"`
	Gender      *string       `json:"gender"`
	Pronoun     *string       `json:"pronoun"`
	Expectation *string       `json:"expectation"`
	FirstName   *string       `json:"firstName"`
	Timezone    *string       `json:"timezone"`
	Refresh     *RefreshToken `json:"refreshToken"`
}

// RefreshToken wraps a refresh token as the API nests it.
type RefreshToken struct {
	Token string `json:"token"`
}

// CurrentRefreshToken returns the user's current refresh token, or "" when
// it was revoked.
func (u *User) CurrentRefreshToken() string {
	if u.Refresh == nil {
		return ""
	}
	return u.Refresh.Token
}

// AccessToken is a short-lived token for one user. Token is the bare JWT,
// without the "Bearer " prefix the API adds.
type AccessToken struct {
	Token     string
	ExpiresIn time.Duration
}

// AuthorizationHeader returns the value for an Authorization header.
func (t AccessToken) AuthorizationHeader() string { return bearerPrefix + t.Token }

const bearerPrefix = "Bearer "

// maxExpiresInSeconds (ten years) rejects lifetimes no access token has and
// that would overflow a time.Duration.
const maxExpiresInSeconds = 10 * 366 * 24 * 60 * 60

// The operations, as errors and logs name them.
const (
	opCreateUser         = "create user"
	opGetUser            = "get user"
	opIssueRefreshToken  = "issue refresh token"
	opRevokeRefreshToken = "revoke refresh token"
	opIssueAccessToken   = "issue access token"
	opRevokeAccessToken  = "revoke access token"
)

const (
	routeUser              = "/organizations/users/{userId}"
	routeAccessToken       = "/organizations/users/{userId}/access_token"
	routeAccessTokenRevoke = "/organizations/users/{userId}/access_token/{accessToken}"
	routeRefreshToken      = "/organizations/users/{userId}/refresh_token"
)

func userPath(userID string) string { return "/organizations/users/" + escapeSegment(userID) }

// escapeSegment escapes s as one path segment. PathEscape leaves "." and
// ".." as they are, and a server or proxy would resolve them as dot-segments
// and route the request elsewhere.
func escapeSegment(s string) string {
	if s == "." || s == ".." {
		return strings.ReplaceAll(s, ".", "%2E")
	}
	return url.PathEscape(s)
}

type userEnvelope struct {
	User *User `json:"user"`
}

func (e userEnvelope) validate(operation string) (*User, error) {
	if e.User == nil {
		return nil, &DecodeError{Operation: operation, Reason: `the body has no "user" object`}
	}
	if e.User.ID == "" {
		return nil, &DecodeError{Operation: operation, Reason: `the "user" object has no "id"`}
	}
	return e.User, nil
}

// CreateUser registers userID with Point. When Point already has the user
// it answers 409 (IsConflict), or, on some deployments, 200 with that user.
// When an attempt reached Point without a usable answer, CreateUser cannot
// tell whether that attempt registered the user: if Point has the user
// afterwards (a retry met 409, or the last answer was lost), it returns the
// user with an *UnconfirmedCreateError.
func (c *Client) CreateUser(ctx context.Context, userID string) (*User, error) {
	if c.apiKey == "" {
		return nil, ErrNoAPIKey
	}
	var body userEnvelope
	res, err := c.do(ctx, call{
		operation: opCreateUser, method: http.MethodPost, route: routeUser,
		path: userPath(userID), userID: userID, credential: c.apiKey, policy: retrySafe,
	}, &body)
	switch {
	case err == nil:
		return body.validate(opCreateUser)
	case res.unanswered == nil, !IsConflict(err) && !isTransport(err):
		return nil, err
	}
	// Look with a context and a time budget of its own: the create's context
	// has often ended, and request_timeout may be shorter than Point takes
	// to answer, which is how the answer was lost in the first place.
	lookCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unconfirmedLookBudget)
	defer cancel()
	user, getErr := c.getUser(lookCtx, userID, max(c.requestTimeout, unconfirmedLookAttemptTimeout))
	if getErr != nil {
		return nil, err
	}
	return user, &UnconfirmedCreateError{Err: res.unanswered}
}

// The read that follows a create without a usable answer has its own
// budget: each attempt may take unconfirmedLookAttemptTimeout (or
// request_timeout when that is longer), and all of them unconfirmedLookBudget.
const (
	unconfirmedLookAttemptTimeout = 60 * time.Second
	unconfirmedLookBudget         = 2 * time.Minute
)

func isTransport(err error) bool {
	var transportErr *TransportError
	return errors.As(err, &transportErr)
}

// GetUser reads a user with its profile and current refresh token.
func (c *Client) GetUser(ctx context.Context, userID string) (*User, error) {
	return c.getUser(ctx, userID, 0)
}

// getUser is GetUser with each attempt bounded by timeout (zero: the
// client's request timeout).
func (c *Client) getUser(ctx context.Context, userID string, timeout time.Duration) (*User, error) {
	if c.apiKey == "" {
		return nil, ErrNoAPIKey
	}
	var body userEnvelope
	if _, err := c.do(ctx, call{
		operation: opGetUser, method: http.MethodGet, route: routeUser,
		path: userPath(userID), userID: userID, credential: c.apiKey, policy: retrySafe, timeout: timeout,
	}, &body); err != nil {
		return nil, err
	}
	return body.validate(opGetUser)
}

// IssueRefreshToken issues a new refresh token for the user; Point makes it
// the user's current one.
func (c *Client) IssueRefreshToken(ctx context.Context, userID string) (string, error) {
	if c.apiKey == "" {
		return "", ErrNoAPIKey
	}
	var body struct {
		RefreshToken *RefreshToken `json:"refreshToken"`
	}
	// Repeating this request is harmless: the last token issued wins.
	if _, err := c.do(ctx, call{
		operation: opIssueRefreshToken, method: http.MethodPost, route: routeRefreshToken,
		path: userPath(userID) + "/refresh_token", userID: userID, credential: c.apiKey, policy: retrySafe,
	}, &body); err != nil {
		return "", err
	}
	if body.RefreshToken == nil || body.RefreshToken.Token == "" {
		return "", &DecodeError{Operation: opIssueRefreshToken, Reason: `the body has no "refreshToken.token"`}
	}
	return body.RefreshToken.Token, nil
}

// RevokeRefreshToken revokes the user's current refresh token, which must
// be the one given.
func (c *Client) RevokeRefreshToken(ctx context.Context, userID, refreshToken string) error {
	_, err := c.do(ctx, call{
		operation: opRevokeRefreshToken, method: http.MethodDelete, route: routeRefreshToken,
		path: userPath(userID) + "/refresh_token", userID: userID, credential: refreshToken, policy: retrySafe,
	}, nil)
	return err
}

// IssueAccessToken issues an access token for the user, authorised by the
// user's refresh token.
func (c *Client) IssueAccessToken(ctx context.Context, userID, refreshToken string) (AccessToken, error) {
	var body accessTokenEnvelope
	// Each attempt that reaches Point issues a token, so only attempts that
	// never reached it are repeated.
	if _, err := c.do(ctx, call{
		operation: opIssueAccessToken, method: http.MethodPost, route: routeAccessToken,
		path: userPath(userID) + "/access_token", userID: userID, credential: refreshToken, policy: retryUnsent,
	}, &body); err != nil {
		return AccessToken{}, err
	}
	return body.validate(opIssueAccessToken)
}

type accessTokenEnvelope struct {
	AccessToken *struct {
		Token     string   `json:"token"`
		ExpiresIn *float64 `json:"expiresIn"`
	} `json:"accessToken"`
}

func (e accessTokenEnvelope) validate(operation string) (AccessToken, error) {
	if e.AccessToken == nil {
		return AccessToken{}, &DecodeError{Operation: operation, Reason: `the body has no "accessToken" object`}
	}
	token := strings.TrimSpace(strings.TrimPrefix(e.AccessToken.Token, bearerPrefix))
	if token == "" {
		return AccessToken{}, &DecodeError{Operation: operation, Reason: `the body has no "accessToken.token"`}
	}
	if strings.ContainsFunc(token, unicode.IsSpace) {
		return AccessToken{}, &DecodeError{Operation: operation, Reason: `"accessToken.token" is not a single bearer token`}
	}
	// No access token lives for under a second; a tiny value would round to
	// a lifetime of zero.
	if e.AccessToken.ExpiresIn == nil || *e.AccessToken.ExpiresIn < 1 || *e.AccessToken.ExpiresIn > maxExpiresInSeconds {
		return AccessToken{}, &DecodeError{Operation: operation, Reason: `"accessToken.expiresIn" is missing or not a plausible number of seconds`}
	}
	return AccessToken{Token: token, ExpiresIn: time.Duration(*e.AccessToken.ExpiresIn * float64(time.Second))}, nil
}

// RevokeAccessToken revokes an access token, authorised by the token itself.
func (c *Client) RevokeAccessToken(ctx context.Context, userID, accessToken string) error {
	_, err := c.do(ctx, call{
		operation: opRevokeAccessToken, method: http.MethodDelete, route: routeAccessTokenRevoke,
		path: userPath(userID) + "/access_token/" + escapeSegment(accessToken), userID: userID,
		credential: accessToken, secrets: []string{escapeSegment(accessToken)}, policy: retrySafe,
	}, nil)
	return err
}
