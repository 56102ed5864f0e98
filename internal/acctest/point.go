package acctest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"

	"github.com/areyoupoint/terraform-provider-point/internal/point"
)

// Against the sandbox, the changes below use its inspection methods, so that its request counts leave them
// out; the checks go through the API.

// AddUser registers the user, as an application outside Terraform would, and returns its refresh token.
func (e *Env) AddUser(id string) string {
	e.t.Helper()
	if e.Sandbox != nil {
		return e.Sandbox.AddUser(id)
	}
	user, err := e.Client.CreateUser(context.Background(), id)
	if err != nil {
		e.t.Fatalf("registering user %q: %v", id, err)
	}
	token := user.CurrentRefreshToken()
	if token == "" {
		e.t.Fatalf("Point registered user %q without a refresh token", id)
	}
	return token
}

// RotateRefreshToken issues the user a new refresh token outside Terraform, and returns it.
func (e *Env) RotateRefreshToken(id string) string {
	e.t.Helper()
	if e.Sandbox != nil {
		token, ok := e.Sandbox.RotateRefreshToken(id)
		if !ok {
			e.t.Fatalf("the sandbox has no user %q", id)
		}
		return token
	}
	token, err := e.Client.IssueRefreshToken(context.Background(), id)
	if err != nil {
		e.t.Fatalf("issuing a refresh token for %q: %v", id, err)
	}
	return token
}

// RevokeRefreshToken revokes the user's current refresh token outside Terraform.
func (e *Env) RevokeRefreshToken(id string) {
	e.t.Helper()
	if e.Sandbox != nil {
		if !e.Sandbox.RevokeRefreshToken(id) {
			e.t.Fatalf("sandbox user %q had no refresh token to revoke", id)
		}
		return
	}
	current := e.CurrentRefreshToken(id)
	if current == "" {
		e.t.Fatalf("Point user %q has no refresh token to revoke", id)
	}
	if err := e.Client.RevokeRefreshToken(context.Background(), id, current); err != nil {
		e.t.Fatalf("revoking the refresh token of %q: %v", id, err)
	}
}

// RequireCreateConflict has the sandbox answer 409 to a second creation; it skips if real Point answers 200.
func (e *Env) RequireCreateConflict() {
	e.t.Helper()
	e.requireCreate(false, "Point answers 200 with the existing user to its creation, not 409; this test is about the 409")
}

// RequireIdempotentCreate is RequireCreateConflict's opposite: Point answers 200 with the existing user.
func (e *Env) RequireIdempotentCreate() {
	e.t.Helper()
	e.requireCreate(true, "Point answers 409 to the creation of an existing user; this test is about a Point that answers 200 with the user")
}

var realPointCreate struct {
	once       sync.Once
	idempotent bool
	err        error
}

func (e *Env) requireCreate(idempotent bool, skip string) {
	e.t.Helper()
	if e.Sandbox != nil {
		e.Sandbox.SetIdempotentCreate(idempotent)
		return
	}
	realPointCreate.once.Do(func() {
		ctx := context.Background()
		id := e.UserID("probe-create")
		if _, err := e.Client.CreateUser(ctx, id); err != nil {
			realPointCreate.err = fmt.Errorf("registering user %q: %w", id, err)
			return
		}
		_, err := e.Client.CreateUser(ctx, id)
		switch {
		case err == nil:
			realPointCreate.idempotent = true
		case !point.IsConflict(err):
			realPointCreate.err = fmt.Errorf("registering user %q again: %w", id, err)
		}
	})
	if realPointCreate.err != nil {
		e.t.Fatalf("asking Point how it answers the creation of an existing user: %v", realPointCreate.err)
	}
	if realPointCreate.idempotent != idempotent {
		e.t.Skip(skip)
	}
}

// CheckRefreshTokenAccepted fails unless Point issues an access token for the refresh token.
func (e *Env) CheckRefreshTokenAccepted(userID, refreshToken string) error {
	ctx := context.Background()
	access, err := e.Client.IssueAccessToken(ctx, userID, refreshToken)
	if err != nil {
		return fmt.Errorf("the refresh token of %q was refused by Point: %w", userID, err)
	}
	return e.Client.RevokeAccessToken(ctx, userID, access.Token)
}

// CheckRefreshTokenRefused fails unless Point refuses to issue an access token for the refresh token.
func (e *Env) CheckRefreshTokenRefused(userID, refreshToken string) error {
	if refreshToken == "" {
		return fmt.Errorf("no refresh token of %q to check", userID)
	}
	ctx := context.Background()
	access, err := e.Client.IssueAccessToken(ctx, userID, refreshToken)
	if err == nil {
		_ = e.Client.RevokeAccessToken(ctx, userID, access.Token)
		return fmt.Errorf("a refresh token of %q that should be replaced or revoked still gets access tokens from Point", userID)
	}
	if !refusal(err) {
		return fmt.Errorf("the replaced or revoked refresh token of %q should be refused by Point with 401, 403 or 404, got err = %w", userID, err)
	}
	return nil
}

// refusal reports whether Point refused a credential: 401, 403 or 404, as the reference leaves open which.
func refusal(err error) bool {
	return point.IsUnauthorized(err) || point.IsForbidden(err) || point.IsNotFound(err)
}

// CheckAccessTokenRevoked fails unless Point refuses the access token: a revoked one cannot revoke itself.
func (e *Env) CheckAccessTokenRevoked(userID, accessToken string) error {
	if accessToken == "" {
		return fmt.Errorf("no access token of %q to check", userID)
	}
	err := e.Client.RevokeAccessToken(context.Background(), userID, accessToken)
	switch {
	case err == nil:
		return fmt.Errorf("an access token of %q that should be revoked was still accepted by Point (it is revoked now)", userID)
	case refusal(err):
		return nil
	}
	return fmt.Errorf("checking an access token of %q: %w", userID, err)
}

// CheckAccessTokenLive fails unless Point accepts the access token's one possible request: its revocation.
func (e *Env) CheckAccessTokenLive(userID, accessToken string) error {
	if accessToken == "" {
		return fmt.Errorf("no access token of %q to check", userID)
	}
	if err := e.Client.RevokeAccessToken(context.Background(), userID, accessToken); err != nil {
		return fmt.Errorf("an access token of %q that should still be valid was refused by Point: %w", userID, err)
	}
	return nil
}

// Upstream is the Point API as an http.Handler for fronts: the sandbox, or a reverse proxy to real Point.
func (e *Env) Upstream() http.Handler {
	if e.Sandbox != nil {
		return e.Sandbox
	}
	target, err := url.Parse(e.Endpoint)
	if err != nil {
		e.t.Fatal(err)
	}
	return &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) },
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, "test proxy to Point: "+err.Error(), http.StatusBadGateway)
		},
	}
}
