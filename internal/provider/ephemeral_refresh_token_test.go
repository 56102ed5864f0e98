package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// ephemeralRTTestConfig hands echo.test the SHA-256 of userID's refresh token as Terraform computes it
// and the token_sha256 the ephemeral point_refresh_token reported; never the token.
func ephemeralRTTestConfig(providerBlock, userID string) string {
	return providerBlock + fmt.Sprintf(`
ephemeral "point_refresh_token" "test" {
  user_id = %q
}

provider "echo" {
  data = {
    computed = sha256(ephemeral.point_refresh_token.test.token)
    reported = ephemeral.point_refresh_token.test.token_sha256
  }
}

resource "echo" "test" {}
`, userID)
}

// A user without a token, a user Point does not have and a missing API key
// are errors that change nothing in Point; then the reader returns the
// user's current token and its fingerprint, and issues nothing.
func TestAccRefreshTokenEphemeral_read(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID, revoked, missing := env.UserID("ephemeral-rt"), env.UserID("ephemeral-rt-revoked"), env.UserID("ephemeral-rt-missing")
	token := env.AddUser(userID)
	env.AddUser(revoked)
	env.RevokeRefreshToken(revoked)
	issuedBefore := acctest.RefreshTokensIssued(env)
	noKey := acctest.ProviderBlockWith(map[string]string{"endpoint": fmt.Sprintf("%q", env.Endpoint)})
	currentSum := knownvalue.StringFunc(func(v string) error {
		if v != tokenSHA256(token) {
			return fmt.Errorf("not the SHA-256 of the current refresh token of %q", userID)
		}
		return nil
	})

	resource.ParallelTest(t, resource.TestCase{
		TerraformVersionChecks:   acctest.EphemeralVersionChecks,
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{
			{
				Config: ephemeralRTTestConfig(env.ProviderBlock(), revoked),
				ExpectError: acctest.DiagnosticMatching("Point User Has No Refresh Token",
					fmt.Sprintf("Point user %q has no current refresh token: none was issued, or it was revoked. The ephemeral point_refresh_token only reads the current token and never issues one.", revoked),
					"set user_id to point_refresh_token.<name>.id"),
			},
			{
				Config: ephemeralRTTestConfig(env.ProviderBlock(), missing),
				ExpectError: acctest.DiagnosticMatching("Point User Not Found",
					fmt.Sprintf("Point has no user %q, so it has no refresh token to read.", missing)),
			},
			{
				Config: ephemeralRTTestConfig(noKey, revoked),
				ExpectError: acctest.DiagnosticMatching("Missing Point API Key",
					"Cannot read a Point user's refresh token (ephemeral point_refresh_token): it needs the organisation API key, and none is configured."),
			},
			{
				Config: ephemeralRTTestConfig(env.ProviderBlock(), userID),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("echo.test", tfjsonpath.New("data").AtMapKey("computed"), currentSum),
					statecheck.ExpectKnownValue("echo.test", tfjsonpath.New("data").AtMapKey("reported"), currentSum),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					acctest.RefreshTokenUnchanged(env, userID, &token),
					acctest.CheckRefreshTokensIssued(env, &issuedBefore, 0),
					func(s *terraform.State) error { return acctest.NoSeenTokenInState(s, nil, token) },
				),
			},
		},
	})
	if env.CurrentRefreshToken(revoked) != "" {
		t.Errorf("reading the token of %q issued one", revoked)
	}
	if env.HasUser(missing) {
		t.Errorf("reading the token of %q registered the user", missing)
	}
}
