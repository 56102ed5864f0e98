package provider

import (
	"fmt"
	"strings"
	"testing"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// A destroy that leaves a refresh token valid in Point says so, in words
// that match what happened: the token the resource tracked was replaced
// outside Terraform, and a destroy without a refresh revokes nothing.
// Both bulk and singular resources, in both store_token modes; and
// without the API key, with which the provider would read what the user
// holds, the words say what may be left.
func TestAccDestroy_tokenLeftValidWarns(t *testing.T) {
	for _, storeToken := range []bool{true, false} {
		t.Run(fmt.Sprintf("point_refresh_token store_token=%t", storeToken), func(t *testing.T) {
			cli := acctest.NewCLI(t)
			env := acctest.NewEnv(t, sandbox.Options{})
			t.Parallel()
			userID := env.UserID(fmt.Sprintf("left-valid-%t", storeToken))
			env.AddUser(userID)
			front, revocations := acctest.StartRevocationCounter(t, env)
			cli.WriteMain(acctest.ProviderBlockFor(env, front, 3) + acctest.RefreshTokenOnlyConfig("", userID, fmt.Sprintf("  store_token = %t\n", storeToken)))
			cli.MustRun(0, "apply", "-auto-approve", "-no-color")
			replaced := env.CurrentRefreshToken(userID)
			newer := env.RotateRefreshToken(userID)
			revocations.Store(0)

			out := cli.MustRun(0, "destroy", "-auto-approve", "-no-color", "-refresh=false")
			acctest.ExpectOutput(t, out, "Warning: Point Refresh Token Left Valid",
				fmt.Sprintf("The refresh token that point_refresh_token tracked for Point user %q had been replaced elsewhere, so the provider revoked nothing there: "+
					"the current refresh token, which point_refresh_token never tracked, stays valid in Point.", userID),
				"this run made none (-refresh=false)", "point_revoke_refresh_token action",
				"Destroy complete! Resources: 1 destroyed.")
			if err := env.CheckRefreshTokenAccepted(userID, newer); err != nil {
				t.Errorf("the warning says the newer token stays valid: %v", err)
			}
			if err := env.CheckRefreshTokenRefused(userID, replaced); err != nil {
				t.Error(err)
			}
			// The token in state, when there is one, is presented once.
			if got, want := revocations.Load(), int32(boolToInt(storeToken)); got != want {
				t.Errorf("the destroy presented a token to revoke %d times, want %d", got, want)
			}
		})
	}

	for _, storeToken := range []bool{true, false} {
		t.Run(fmt.Sprintf("point_refresh_tokens store_token=%t", storeToken), func(t *testing.T) {
			cli := acctest.NewCLI(t)
			env := acctest.NewEnv(t, sandbox.Options{})
			t.Parallel()
			ids := acctest.NumberedUserIDs(env, fmt.Sprintf("left-valid-bulk-%t", storeToken), 2)
			cli.WriteConfig(env, acctest.BulkConfig("", ids, "", fmt.Sprintf("  store_token = %t\n", storeToken)))
			cli.MustRun(0, "apply", "-auto-approve", "-no-color")
			kept := env.CurrentRefreshToken(ids[0])
			newer := env.RotateRefreshToken(ids[1])

			out := cli.MustRun(0, "destroy", "-auto-approve", "-no-color", "-refresh=false")
			acctest.ExpectOutput(t, out, "Warning: Point Refresh Token Left Valid",
				fmt.Sprintf("The refresh token that point_refresh_tokens tracked for 1 of the 2 users (%q) had been replaced elsewhere, so the provider revoked nothing there: "+
					"the current refresh token, which point_refresh_tokens never tracked, stays valid in Point.", ids[1]))
			if err := env.CheckRefreshTokenAccepted(ids[1], newer); err != nil {
				t.Errorf("the warning says the newer token stays valid: %v", err)
			}
			if err := env.CheckRefreshTokenRefused(ids[0], kept); err != nil {
				t.Errorf("the token the resource tracked was not revoked: %v", err)
			}
			// point_users (deletion_policy ABANDON) read what each user holds.
			acctest.ExpectOutput(t, out, "Warning: Point Users Abandoned", "point_users did not revoke their refresh tokens (deletion_policy = \"ABANDON\"): a token a user still holds stays valid.")
		})
	}

	t.Run("point_user ABANDON", func(t *testing.T) {
		cli := acctest.NewCLI(t)
		env := acctest.NewEnv(t, sandbox.Options{})
		t.Parallel()
		userID := env.UserID("left-valid-user")
		cli.WriteMain(acctest.RefreshTokenConfig(env, userID, "  store_token = false\n"))
		cli.MustRun(0, "apply", "-auto-approve", "-no-color")
		newer := env.RotateRefreshToken(userID)

		out := cli.MustRun(0, "destroy", "-auto-approve", "-no-color", "-refresh=false")
		acctest.ExpectOutputShows(t, out, "Warning: Point Refresh Token Left Valid",
			fmt.Sprintf("The provider removed user %q from state; the user still exists in Point. "+
				"Its current refresh token stays valid: deletion_policy = \"ABANDON\" does not revoke it, and no point_refresh_token revoked it.", userID))
		if err := env.CheckRefreshTokenAccepted(userID, newer); err != nil {
			t.Error(err)
		}
	})

	t.Run("without the API key", func(t *testing.T) {
		cli := acctest.NewCLI(t)
		env := acctest.NewEnv(t, sandbox.Options{})
		t.Parallel()
		userID := env.UserID("left-valid-no-key")
		env.AddUser(userID)
		cli.WriteConfig(env, acctest.RefreshTokenOnlyConfig("", userID, ""))
		cli.MustRun(0, "apply", "-auto-approve", "-no-color")
		newer := env.RotateRefreshToken(userID)

		// The token in state revokes itself; the API key is not needed.
		cli.WriteMain(acctest.ProviderBlockWith(map[string]string{"endpoint": fmt.Sprintf("%q", env.Endpoint)}) + acctest.RefreshTokenOnlyConfig("", userID, ""))
		out := cli.MustRun(0, "destroy", "-auto-approve", "-no-color", "-refresh=false")
		acctest.ExpectOutput(t, out, "Warning: Point Refresh Token May Be Left Valid",
			fmt.Sprintf("The refresh token that point_refresh_token tracked for Point user %q was no longer current: it was revoked or replaced elsewhere, so the provider revoked nothing there. "+
				"If a newer token was issued, it stays valid in Point; the provider could not read the user to tell (that needs the organisation API key).", userID))
		if err := env.CheckRefreshTokenAccepted(userID, newer); err != nil {
			t.Error(err)
		}
	})
}

// A plain destroy after a rotation outside Terraform revokes the new
// token: the refresh that runs first adopts it. The CLI does not show the
// warnings of that refresh, nor does plan -destroy, as the docs say; a
// plain plan does.
func TestAccDestroy_refreshAdoptsRotatedToken(t *testing.T) {
	for _, storeToken := range []bool{true, false} {
		t.Run(fmt.Sprintf("store_token=%t", storeToken), func(t *testing.T) {
			cli := acctest.NewCLI(t)
			env := acctest.NewEnv(t, sandbox.Options{})
			t.Parallel()
			userID := env.UserID(fmt.Sprintf("destroy-adopts-%t", storeToken))
			env.AddUser(userID)
			cli.WriteConfig(env, acctest.RefreshTokenOnlyConfig("", userID, fmt.Sprintf("  store_token = %t\n", storeToken)))
			cli.MustRun(0, "apply", "-auto-approve", "-no-color")
			newer := env.RotateRefreshToken(userID)

			out := cli.MustRun(0, "destroy", "-auto-approve", "-no-color")
			if strings.Contains(out, "Rotated Elsewhere") || strings.Contains(out, "Left Valid") {
				t.Errorf("the destroy output shows a warning the docs say it does not show:\n%s", out)
			}
			if env.CurrentRefreshToken(userID) != "" {
				t.Error("the destroy left the user a current refresh token")
			}
			if err := env.CheckRefreshTokenRefused(userID, newer); err != nil {
				t.Error(err)
			}

			// Neither does terraform plan -destroy; a plain terraform plan
			// does, so run one before destroying to see what its refresh
			// finds.
			cli.MustRun(0, "apply", "-auto-approve", "-no-color")
			env.RotateRefreshToken(userID)
			out = cli.MustRun(0, "plan", "-destroy", "-no-color")
			if strings.Contains(out, "Rotated Elsewhere") {
				t.Errorf("plan -destroy shows a warning the docs say it does not show:\n%s", out)
			}
			out = cli.MustRun(0, "plan", "-no-color")
			acctest.ExpectOutputShows(t, out, "Warning: Point Refresh Token Rotated Elsewhere")
			cli.MustRun(0, "destroy", "-auto-approve", "-no-color")
		})
	}
}

func boolToInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
