package acctest

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// ExpectRequests fails unless the sandbox saw exactly want requests on route; it passes against real Point.
func ExpectRequests(env *Env, route string, want int) error {
	if env.Sandbox == nil {
		return nil
	}
	if got := env.Sandbox.RequestCounts()[route]; got != want {
		return fmt.Errorf("sandbox saw %d requests %q, want %d (all: %v)", got, route, want, env.Sandbox.RequestCounts())
	}
	return nil
}

// ExpectNoRequests fails if the sandbox saw a request: what is wrong must be found before Point is asked.
func ExpectNoRequests(t *testing.T, env *Env, what string) {
	t.Helper()
	if env.Sandbox != nil {
		if n := env.Sandbox.Requests(); n != 0 {
			t.Errorf("%s reached the API: %d requests", what, n)
		}
	}
}

// IsCurrentRefreshToken checks a planned or stored token against the user's current token in Point.
func IsCurrentRefreshToken(env *Env, userID string) knownvalue.Check {
	return knownvalue.StringFunc(func(v string) error {
		if v == "" || v != env.CurrentRefreshToken(userID) {
			return fmt.Errorf("token is not the current refresh token of Point user %q", userID)
		}
		return nil
	})
}

// RefreshTokenRefused asserts that Point no longer accepts the refresh token.
func RefreshTokenRefused(env *Env, userID string, refreshToken *string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if *refreshToken == "" {
			return fmt.Errorf("no earlier token recorded for %q", userID)
		}
		return env.CheckRefreshTokenRefused(userID, *refreshToken)
	}
}

// NoCurrentRefreshToken asserts that none of the users has a current refresh token in Point.
func NoCurrentRefreshToken(env *Env, userIDs ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for _, id := range userIDs {
			if env.CurrentRefreshToken(id) != "" {
				return fmt.Errorf("user %q still has a current refresh token in Point", id)
			}
		}
		return nil
	}
}

// RefreshTokenUnchanged asserts that the user's current token is still the one recorded, and accepted.
func RefreshTokenUnchanged(env *Env, userID string, token *string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if *token == "" || env.CurrentRefreshToken(userID) != *token {
			return fmt.Errorf("the refresh token of %q changed; it should not have been rotated", userID)
		}
		return env.CheckRefreshTokenAccepted(userID, *token)
	}
}

// RefreshTokensIssued returns how many refresh tokens the sandbox has issued, or 0 against real Point.
func RefreshTokensIssued(env *Env) int {
	if env.Sandbox == nil {
		return 0
	}
	return env.Sandbox.RefreshTokensIssued()
}

// CheckRefreshTokensIssued asserts that the sandbox issued exactly n refresh tokens since *before.
func CheckRefreshTokensIssued(env *Env, before *int, n int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if got := RefreshTokensIssued(env) - *before; env.Sandbox != nil && got != n {
			return fmt.Errorf("the sandbox issued %d refresh tokens, want %d", got, n)
		}
		return nil
	}
}
