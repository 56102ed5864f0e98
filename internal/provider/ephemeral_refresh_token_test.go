package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// ephemeralRTTestConfig reads the refresh token of userID with the
// ephemeral point_refresh_token and gives the echo provider the SHA-256 of
// the token it read, computed by Terraform, and the token_sha256 it
// reported: echo.test keeps both in state, and never the token.
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

// The reader returns the user's current token, and its fingerprint, and
// issues nothing.
func TestAccRefreshTokenEphemeral_readsCurrentToken(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID := env.UserID("ephemeral-rt")
	var token string
	var issuedBefore int
	currentSum := knownvalue.StringFunc(func(v string) error {
		if token == "" || v != tokenSHA256(token) {
			return fmt.Errorf("not the SHA-256 of the current refresh token of %q", userID)
		}
		return nil
	})

	resource.ParallelTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_10_0)},
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{{
			PreConfig: func() {
				token = env.AddUser(userID)
				issuedBefore = acctest.RefreshTokensIssued(env)
			},
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
		}},
	})
}

func TestAccRefreshTokenEphemeral_errors(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	revoked, missing := env.UserID("ephemeral-rt-revoked"), env.UserID("ephemeral-rt-missing")
	env.AddUser(revoked)
	env.RevokeRefreshToken(revoked)
	noKey := fmt.Sprintf("provider \"point\" {\n  endpoint = %q\n}\n", env.Endpoint)

	resource.ParallelTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_10_0)},
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
		},
	})
	if env.CurrentRefreshToken(revoked) != "" {
		t.Errorf("reading the token of %q issued one", revoked)
	}
	if env.HasUser(missing) {
		t.Errorf("reading the token of %q registered the user", missing)
	}
}
