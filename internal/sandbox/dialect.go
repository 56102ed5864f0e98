package sandbox

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// A Dialect answers, one way, every question that Point's reference leaves
// open: how errors are spelled and shaped, which content type answers
// carry, which claims access tokens hold, which fields a body has beyond
// those the reference shows, and how a few edge cases are answered. The
// provider must work against every dialect; internal/point/CONTRACT.md
// lists them ("Sandbox dialects").
//
// The zero Dialect is the reference dialect, as Dialects lists it.
type Dialect struct {
	// Name names the dialect for -dialect and POINT_SANDBOX_DIALECT.
	Name string
	// Summary says in a line what kind of server the dialect stands for.
	Summary string

	// Errors spells error answers: their body shape, codes and messages.
	Errors ErrorStyle
	// ContentType is the Content-Type of every JSON answer;
	// "application/json" when empty.
	ContentType string

	// Subject is the sub claim of access tokens.
	Subject SubjectStyle
	// OmitIssuedAt and OmitExpiry leave the iat and exp claims out of
	// access tokens.
	OmitIssuedAt, OmitExpiry bool

	// ExtraFields adds fields the reference does not show: createdAt and
	// updatedAt to users, and a requestId beside every success envelope.
	ExtraFields bool
	// OmitNulls leaves out user fields that are null, refreshToken
	// included, where the reference shows them as null.
	OmitNulls bool

	// IdempotentCreate answers 200 with the existing user, instead of 409,
	// to the creation of a user that exists.
	IdempotentCreate bool
	// StaleRefreshTokenStatus answers revoke refresh token with a token
	// that is not the user's current one: 401 when 0.
	StaleRefreshTokenStatus int
	// StaleAccessTokenStatus answers revoke access token for a token that
	// is revoked, expired or unknown: 404 when 0.
	StaleAccessTokenStatus int
	// Revoked is the answer to a successful revoke of either token.
	Revoked RevokeAnswer

	// CredentialsFirst answers 401 to every request without a bearer
	// credential before routing it, as a gateway in front of Point does,
	// non-routes included. Otherwise a non-route is 404 with or without one.
	CredentialsFirst bool
}

// SubjectStyle is what the sub claim of an access token holds.
type SubjectStyle int

const (
	// SubjectPointPrefixed is "point|<userId>", as the reference's example
	// token has it.
	SubjectPointPrefixed SubjectStyle = iota
	// SubjectUserID is the bare user id.
	SubjectUserID
	// SubjectOpaque is "point|<id>" with an id of Point's own for the user,
	// unrelated to the organisation's user id.
	SubjectOpaque
)

func (s SubjectStyle) String() string {
	switch s {
	case SubjectUserID:
		return "`<userId>`"
	case SubjectOpaque:
		return "`point|<Point's own id>`"
	}
	return "`point|<userId>`"
}

// RevokeAnswer is what a successful revoke answers.
type RevokeAnswer int

const (
	// RevokedNoContent is 204 without a body.
	RevokedNoContent RevokeAnswer = iota
	// RevokedJSON is 200 with a small JSON body.
	RevokedJSON
	// RevokedEmpty is 200 with an empty body.
	RevokedEmpty
)

func (a RevokeAnswer) String() string {
	switch a {
	case RevokedJSON:
		return "200 `{\"revoked\": true}`"
	case RevokedEmpty:
		return "200, empty body"
	}
	return "204"
}

// ErrorStyle is how error answers are spelled and shaped.
type ErrorStyle int

const (
	// ErrorsFlat is {"error": "user_not_found", "message": "..."}: snake_case
	// codes and lower-case messages.
	ErrorsFlat ErrorStyle = iota
	// ErrorsNested is {"error": {"code": "USER_NOT_FOUND", "message": "..."},
	// "status": 404}, with an unknown route answered as a web framework
	// does, quoting the request: "Cannot GET /path".
	ErrorsNested
	// ErrorsGateway is what a gateway in front of Point answers: its own
	// refusals (no credential, no route, rate limits, an unavailable
	// upstream) as {"message": "..."} without a code, and Point's answers
	// passed on as {"error": "UserNotFound", "message": "..."}.
	ErrorsGateway
)

func (e ErrorStyle) String() string {
	switch e {
	case ErrorsNested:
		return "`{\"error\": {\"code\": \"USER_NOT_FOUND\", \"message\": …}, \"status\": 404}`; unknown route: code `NOT_FOUND`, message `Cannot GET /path`"
	case ErrorsGateway:
		return "`{\"error\": \"UserNotFound\", \"message\": …}`; the gateway's own refusals (401 without a credential, unknown route, 429, 503) `{\"message\": …}` without a code"
	}
	return "`{\"error\": \"user_not_found\", \"message\": …}`; unknown route: `not_found`"
}

// problem is a kind of error answer, spelled by the dialect's ErrorStyle.
type problem int

const (
	problemUnauthorized problem = iota
	problemUserNotFound
	problemTokenNotFound
	problemUserExists
	problemInvalidUserID
	problemRouteNotFound
	problemMethodNotAllowed
	problemUnavailable
	problemRateLimited
	problemInternal
)

// problemSpelling is one problem's code in each style, and its message in
// the flat style; the other styles derive theirs.
var problemSpelling = map[problem]struct{ flat, nested, gateway, message string }{
	problemUnauthorized:     {"unauthorized", "UNAUTHORIZED", "Unauthorized", "missing or invalid credentials"},
	problemUserNotFound:     {"user_not_found", "USER_NOT_FOUND", "UserNotFound", "no user with this id"},
	problemTokenNotFound:    {"token_not_found", "TOKEN_NOT_FOUND", "TokenNotFound", "access token is unknown, expired or revoked"},
	problemUserExists:       {"user_exists", "USER_ALREADY_EXISTS", "UserAlreadyExists", "a user with this id already exists"},
	problemInvalidUserID:    {"invalid_user_id", "INVALID_USER_ID", "InvalidUserId", "invalid user id"},
	problemRouteNotFound:    {"not_found", "NOT_FOUND", "", "no such route"},
	problemMethodNotAllowed: {"method_not_allowed", "METHOD_NOT_ALLOWED", "", "method not allowed"},
	problemUnavailable:      {"unavailable", "SERVICE_UNAVAILABLE", "", "service temporarily unavailable (injected)"},
	problemRateLimited:      {"rate_limited", "TOO_MANY_REQUESTS", "", "too many requests (injected)"},
	problemInternal:         {"internal", "INTERNAL", "InternalError", "internal error"},
}

// gatewayMessages are the gateway's own refusals, which carry no code.
var gatewayMessages = map[problem]string{
	problemRouteNotFound:    "no Route matched with those values",
	problemMethodNotAllowed: "no Route matched with those values",
	problemUnavailable:      "The upstream server is currently unavailable",
	problemRateLimited:      "API rate limit exceeded",
}

// body returns the error body for p; detail, when not empty, replaces the
// message (the rule an invalid user id breaks).
func (e ErrorStyle) body(p problem, status int, r *http.Request, detail string) any {
	sp := problemSpelling[p]
	message := sp.message
	if detail != "" {
		message = detail
	}
	switch e {
	case ErrorsNested:
		message = upperFirst(message) + "."
		if p == problemRouteNotFound && r != nil {
			message = "Cannot " + r.Method + " " + r.URL.EscapedPath()
		}
		return map[string]any{
			"error":  map[string]string{"code": sp.nested, "message": message},
			"status": status,
		}
	case ErrorsGateway:
		if own, ok := gatewayMessages[p]; ok {
			return map[string]string{"message": own}
		}
		if p == problemUnauthorized && r != nil && !hasBearer(r) {
			return map[string]string{"message": "No API key found in request"}
		}
		return map[string]string{"error": sp.gateway, "message": upperFirst(message)}
	}
	return errorJSON{Error: sp.flat, Message: message}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Dialects lists the sandbox's dialects, the reference one first.
var Dialects = []Dialect{
	{
		Name:    "reference",
		Summary: "follows the reference's examples; where it shows nothing, the answers of CONTRACT.md's table",
	},
	{
		Name: "verbose",
		Summary: "a server on a web framework: other spellings and error shapes, a charset in the content type, " +
			"fields the reference does not show, null fields left out",
		Errors:                  ErrorsNested,
		ContentType:             "application/json; charset=utf-8",
		Subject:                 SubjectUserID,
		ExtraFields:             true,
		OmitNulls:               true,
		StaleRefreshTokenStatus: http.StatusNotFound,
		StaleAccessTokenStatus:  http.StatusUnauthorized,
		Revoked:                 RevokedJSON,
	},
	{
		Name: "gateway",
		Summary: "Point behind a gateway that refuses requests without a credential before routing them; " +
			"idempotent create, 404 for tokens no longer current",
		Errors:                  ErrorsGateway,
		ContentType:             "application/json; charset=utf-8",
		Subject:                 SubjectOpaque,
		OmitIssuedAt:            true,
		IdempotentCreate:        true,
		StaleRefreshTokenStatus: http.StatusNotFound,
		StaleAccessTokenStatus:  http.StatusNotFound,
		Revoked:                 RevokedEmpty,
		CredentialsFirst:        true,
	},
}

// EnvDialect is the environment variable that names the dialect of a
// sandbox started without one: point-sandbox's default, and that of the
// in-memory sandboxes of the provider's tests.
const EnvDialect = "POINT_SANDBOX_DIALECT"

// DefaultDialect is the name of the dialect that the zero Dialect is.
const DefaultDialect = "reference"

// DialectNames returns the names of Dialects, in order.
func DialectNames() []string {
	names := make([]string, len(Dialects))
	for i, d := range Dialects {
		names[i] = d.Name
	}
	return names
}

// DialectNamed returns the dialect called name; "" is the default.
func DialectNamed(name string) (Dialect, error) {
	if name == "" {
		name = DefaultDialect
	}
	i := slices.IndexFunc(Dialects, func(d Dialect) bool { return d.Name == name })
	if i < 0 {
		return Dialect{}, fmt.Errorf("unknown sandbox dialect %q; the dialects are %s", name, strings.Join(DialectNames(), ", "))
	}
	return Dialects[i], nil
}

func (d *Dialect) contentType() string {
	if d.ContentType == "" {
		return "application/json"
	}
	return d.ContentType
}

func (d *Dialect) staleRefreshTokenStatus() int {
	if d.StaleRefreshTokenStatus == 0 {
		return http.StatusUnauthorized
	}
	return d.StaleRefreshTokenStatus
}

func (d *Dialect) staleAccessTokenStatus() int {
	if d.StaleAccessTokenStatus == 0 {
		return http.StatusNotFound
	}
	return d.StaleAccessTokenStatus
}

// claims returns the claims of an access token for userID, issued at now
// and expiring at exp. Every dialect adds a random jti, which the reference's
// example lacks, so that two tokens issued in the same second differ.
func (d *Dialect) claims(userID, pointID string, now, exp time.Time) jwt.MapClaims {
	claims := jwt.MapClaims{"jti": hex.EncodeToString(randomBytes(16))}
	switch d.Subject {
	case SubjectUserID:
		claims["sub"] = userID
	case SubjectOpaque:
		claims["sub"] = "point|" + pointID
	default:
		claims["sub"] = "point|" + userID
	}
	if !d.OmitIssuedAt {
		claims["iat"] = now.Unix()
	}
	if !d.OmitExpiry {
		claims["exp"] = exp.Unix()
	}
	return claims
}

// userObject returns the user as the dialect shows it.
func (d *Dialect) userObject(u userJSON) any {
	if !d.OmitNulls && !d.ExtraFields {
		return u
	}
	obj := map[string]any{"id": u.ID}
	put := func(key string, value any, null bool) {
		if !null || !d.OmitNulls {
			obj[key] = value
		}
	}
	put("email", u.Email, u.Email == nil)
	put("birthday", u.Birthday, u.Birthday == nil)
	put("height", u.Height, u.Height == nil)
	put("weight", u.Weight, u.Weight == nil)
	put("gender", u.Gender, u.Gender == nil)
	put("pronoun", u.Pronoun, u.Pronoun == nil)
	put("expectation", u.Expectation, u.Expectation == nil)
	put("firstName", u.FirstName, u.FirstName == nil)
	put("timezone", u.Timezone, u.Timezone == nil)
	put("refreshToken", u.RefreshToken, u.RefreshToken == nil)
	if d.ExtraFields {
		created := u.createdAt.UTC().Format(time.RFC3339)
		obj["createdAt"] = created
		obj["updatedAt"] = created
	}
	return obj
}
