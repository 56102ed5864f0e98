package provider

import (
	"fmt"
	"strings"
	"testing"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// A destroy that leaves a refresh token valid in Point says so, in words
// that match what happened: the token a resource tracked was replaced
// outside Terraform, and a destroy without a refresh revokes nothing. One
// configuration holds the singular and the bulk resources in both
// store_token modes and a point_user that abandons its user; then, without
// the API key, with which the provider would read what the user holds, the
// words say what may be left. Last, a plain destroy adopts a token rotated
// elsewhere and revokes it.
func TestAccDestroy_tokenLeftValidWarns(t *testing.T) {
	cli := acctest.NewCLI(t)
	env := acctest.NewEnv(t, sandbox.Options{})
	t.Parallel()
	single := map[bool]string{true: env.UserID("left-valid-true"), false: env.UserID("left-valid-false")}
	abandoned, noKey := env.UserID("left-valid-user"), env.UserID("left-valid-no-key")
	endpoint, revocations := acctest.StartRevocationCounter(t, env)
	bulk, config := map[bool][]string{}, acctest.ProviderBlockFor(env, endpoint, 3)
	for _, store := range []bool{true, false} {
		bulk[store] = acctest.NumberedUserIDs(env, fmt.Sprintf("left-valid-bulk-%t", store), 2)
		env.AddUser(single[store])
		config += fmt.Sprintf(`
resource "point_refresh_token" "single_%[1]t" {
  user_id     = %[2]q
  store_token = %[1]t
}
resource "point_users" "bulk_%[1]t" { user_ids = %[3]s }
resource "point_refresh_tokens" "bulk_%[1]t" {
  user_ids    = point_users.bulk_%[1]t.user_ids
  store_token = %[1]t
}
`, store, single[store], acctest.HCLList(bulk[store]))
	}
	cli.WriteMain(config + fmt.Sprintf(`
resource "point_user" "abandoned" { user_id = %q }
resource "point_refresh_token" "abandoned" {
  user_id     = point_user.abandoned.user_id
  store_token = false
}
`, abandoned))
	cli.MustRun(0, "apply", "-auto-approve", "-no-color")
	old, newer := map[string]string{}, map[string]string{abandoned: env.RotateRefreshToken(abandoned)}
	for _, store := range []bool{true, false} {
		old[single[store]], old[bulk[store][0]] = env.CurrentRefreshToken(single[store]), env.CurrentRefreshToken(bulk[store][0])
		newer[single[store]], newer[bulk[store][1]] = env.RotateRefreshToken(single[store]), env.RotateRefreshToken(bulk[store][1])
	}
	presentedBefore := map[bool]int{true: revocations.Presenting(single[true]), false: revocations.Presenting(single[false])}

	out := cli.MustRun(0, "destroy", "-auto-approve", "-no-color", "-refresh=false")
	acctest.ExpectOutputShows(t, out, "Destroy complete! Resources: 8 destroyed.")
	for _, store := range []bool{true, false} {
		acctest.ExpectDiagnostic(t, out, "Warning: Point Refresh Token Left Valid",
			fmt.Sprintf("The refresh token that point_refresh_token tracked for Point user %q had been replaced elsewhere, so the provider revoked nothing there: "+
				"the current refresh token, which point_refresh_token never tracked, stays valid in Point.", single[store]),
			"this run made none (-refresh=false)", "point_revoke_refresh_token action")
		acctest.ExpectDiagnostic(t, out, "Warning: Point Refresh Token Left Valid",
			fmt.Sprintf("The refresh token that point_refresh_tokens tracked for 1 of the 2 users (%q) had been replaced elsewhere, so the provider revoked nothing there: "+
				"the current refresh token, which point_refresh_tokens never tracked, stays valid in Point.", bulk[store][1]))
		acctest.ExpectDiagnostic(t, out, "Warning: Point Users Abandoned", fmt.Sprintf("%q", bulk[store][0]),
			"point_users did not revoke their refresh tokens (deletion_policy = \"ABANDON\"): a token a user still holds stays valid.")
		// The token in state, when there is one, is presented once.
		if got, want := revocations.Presenting(single[store])-presentedBefore[store], map[bool]int{true: 1}[store]; got != want {
			t.Errorf("the destroy presented a token of %q to revoke %d times, want %d", single[store], got, want)
		}
	}
	acctest.ExpectDiagnostic(t, out, "Warning: Point Refresh Token Left Valid", fmt.Sprintf("point_refresh_token tracked for Point user %q had been replaced", abandoned))
	acctest.ExpectDiagnostic(t, out, "Warning: Point User Abandoned",
		fmt.Sprintf("The provider removed user %q from state; the user still exists in Point. "+
			"Its current refresh token stays valid: deletion_policy = \"ABANDON\" does not revoke it, and no point_refresh_token revoked it.", abandoned))

	// Without the API key, the token in state revokes itself, but the
	// provider cannot read the user to tell whether a newer one stays.
	env.AddUser(noKey)
	cli.WriteConfig(env, acctest.RefreshTokenOnlyConfig("", noKey, ""))
	cli.MustRun(0, "apply", "-auto-approve", "-no-color")
	newer[noKey] = env.RotateRefreshToken(noKey)
	cli.WriteMain(acctest.ProviderBlockWith(map[string]string{"endpoint": fmt.Sprintf("%q", env.Endpoint)}) + acctest.RefreshTokenOnlyConfig("", noKey, ""))
	out = cli.MustRun(0, "destroy", "-auto-approve", "-no-color", "-refresh=false")
	acctest.ExpectDiagnostic(t, out, "Warning: Point Refresh Token May Be Left Valid",
		fmt.Sprintf("The refresh token that point_refresh_token tracked for Point user %q was no longer current: "+
			"it was revoked or replaced elsewhere, so the provider revoked nothing there. If a newer token was issued, it stays valid in Point; "+
			"the provider could not read the user to tell (that needs the organisation API key).", noKey))

	// Every token the warnings say stays valid does; every one the
	// resources tracked is revoked.
	for id, token := range newer {
		if err := env.CheckRefreshTokenAccepted(id, token); err != nil {
			t.Errorf("the warning says the newer token stays valid: %v", err)
		}
	}
	for id, token := range old {
		if err := env.CheckRefreshTokenRefused(id, token); err != nil {
			t.Errorf("the token a resource tracked is not revoked: %v", err)
		}
	}

	// A plain destroy after a rotation outside Terraform revokes the new
	// token, in both store_token modes: the refresh that runs first adopts
	// it. The CLI does not show the warnings of that refresh, nor does plan
	// -destroy, as the docs say; a plain plan does.
	adopts, config := map[bool]string{}, ""
	for _, store := range []bool{true, false} {
		adopts[store] = env.UserID(fmt.Sprintf("destroy-adopts-%t", store))
		env.AddUser(adopts[store])
		config += fmt.Sprintf("\nresource \"point_refresh_token\" \"store_%[1]t\" {\n  user_id     = %[2]q\n  store_token = %[1]t\n}\n", store, adopts[store])
	}
	cli.WriteConfig(env, config)
	applyAndRotate := func() map[bool]string {
		cli.MustRun(0, "apply", "-auto-approve", "-no-color")
		return map[bool]string{true: env.RotateRefreshToken(adopts[true]), false: env.RotateRefreshToken(adopts[false])}
	}
	rotated := applyAndRotate()
	out = cli.MustRun(0, "destroy", "-auto-approve", "-no-color")
	if strings.Contains(out, "Rotated Elsewhere") || strings.Contains(out, "Left Valid") {
		t.Errorf("the destroy output shows a warning the docs say it does not show:\n%s", out)
	}
	for store, id := range adopts {
		if env.CurrentRefreshToken(id) != "" {
			t.Errorf("the destroy left %q a current refresh token", id)
		}
		if err := env.CheckRefreshTokenRefused(id, rotated[store]); err != nil {
			t.Error(err)
		}
	}
	applyAndRotate()
	if out = cli.MustRun(0, "plan", "-destroy", "-no-color"); strings.Contains(out, "Rotated Elsewhere") {
		t.Errorf("plan -destroy shows a warning the docs say it does not show:\n%s", out)
	}
	// Terraform shows the first of the two warnings alike, and counts the other.
	out = cli.MustRun(0, "plan", "-no-color")
	acctest.ExpectDiagnostic(t, out, "Warning: Point Refresh Token Rotated Elsewhere", "was replaced elsewhere.", "(and one more similar warning elsewhere)")
	cli.MustRun(0, "destroy", "-auto-approve", "-no-color")
}
