package provider

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/devenv"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// incidentConsumerConfig is what an incident apply meets in practice: a
// point_refresh_token kept out of state, and a consumer of the user's
// access tokens that reads the current refresh token with the API key. The
// consumer is replaced at every apply, so that each apply hands it the
// access token it opened, or "none" when that is null; it writes the
// SHA-256 of what it got to consumer.txt.
func incidentConsumerConfig(endpoint, apiKey, userID string) string {
	return fmt.Sprintf(`provider "point" {
  endpoint    = %[1]q
  api_key     = %[2]q
  max_retries = 1
}

resource "point_user" "test" {
  user_id = %[3]q
}

resource "point_refresh_token" "test" {
  user_id     = point_user.test.user_id
  store_token = false
}

ephemeral "point_access_token" "consumer" {
  user_id = point_refresh_token.test.id
}

resource "terraform_data" "consumer" {
  triggers_replace = timestamp()

  provisioner "local-exec" {
    command = "if [ \"$TOKEN\" = none ]; then echo none > consumer.txt; else printf %%s \"$TOKEN\" | sha256sum > consumer.txt; fi"
    environment = {
      TOKEN = coalesce(ephemeral.point_access_token.consumer.token, "none")
    }
  }
}
`, endpoint, apiKey, userID)
}

// The incident runbook of the action's docs, with its action_trigger
// example as it is, in a configuration that also hands the user's access
// tokens to a consumer. Every incident apply succeeds, whichever of the
// action and the access token runs first, and revokes the user's token;
// the consumer gets either an access token issued before the revocation,
// which the apply revokes when it closes it, or none, with the warning the
// docs quote. The apply after it issues a new token and the consumer gets
// an access token again.
func TestAccRevokeRefreshTokenAction_incidentWithConsumer(t *testing.T) {
	cli := acctest.NewCLI(t)
	acctest.SkipWithoutActions(t, "The incident runbook's action_trigger")
	env := acctest.NewEnv(t, sandbox.Options{})
	t.Parallel()
	userID := env.UserID("incident-consumer")
	recorder := acctest.NewRecordingFront(env.Upstream())
	front := httptest.NewServer(recorder)
	t.Cleanup(front.Close)

	root, err := devenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join(root, "examples", "actions", actionTestType, "action-trigger.tf"))
	if err != nil {
		t.Fatal(err)
	}
	cli.WriteMain(incidentConsumerConfig(front.URL, env.APIKey, userID) + "\n" + string(example))
	listed := fmt.Sprintf("-var=compromised_users=[%q]", userID)

	checked := map[string]bool{} // access tokens already found revoked
	// consumerGot returns what the consumer got in the last apply: one of
	// the access tokens Point issued, all of which must be revoked by now,
	// or "" for none.
	consumerGot := func(step string) string {
		t.Helper()
		got, err := os.ReadFile(filepath.Join(cli.Dir, "consumer.txt"))
		if err != nil {
			t.Fatalf("%s: the consumer did not run: %v", step, err)
		}
		_, access := recorder.Tokens()
		match := ""
		for _, tok := range access {
			if !checked[tok] {
				if err := env.CheckAccessTokenRevoked(userID, tok); err != nil {
					t.Errorf("%s: %v", step, err)
				}
				checked[tok] = true
			}
			if strings.HasPrefix(string(got), tokenSHA256(tok)) {
				match = tok
			}
		}
		if match == "" && strings.TrimSpace(string(got)) != "none" {
			t.Fatalf("%s: the consumer got something other than an access token Point issued, or none", step)
		}
		return match
	}

	cli.MustRun(0, "apply", "-auto-approve", "-no-color")
	defer func() {
		cli.MustRun(0, "destroy", "-auto-approve", "-no-color")
		if env.CurrentRefreshToken(userID) != "" {
			t.Errorf("destroy left Point user %q with a current refresh token", userID)
		}
	}()
	if consumerGot("first apply") == "" {
		t.Fatal("the consumer got no access token from the first apply")
	}

	const incidents = 10
	sawBefore, sawAfter := 0, 0
	for i := 1; i <= incidents; i++ {
		leaked := env.CurrentRefreshToken(userID)
		if leaked == "" {
			t.Fatalf("incident %d: the user has no refresh token to revoke", i)
		}
		step := fmt.Sprintf("incident apply %d", i)
		out, code := cli.Run("apply", "-auto-approve", "-no-color", listed)
		if code != 0 {
			t.Fatalf("%s exited %d:\n%s", step, code, out)
		}
		if strings.Contains(out, "Error") {
			t.Errorf("%s reports an error:\n%s", step, out)
		}
		if env.CurrentRefreshToken(userID) != "" {
			t.Errorf("%s: Point user %q still has a current refresh token", step, userID)
		}
		if err := env.CheckRefreshTokenRefused(userID, leaked); err != nil {
			t.Errorf("%s: %v", step, err)
		}
		warned := acctest.DiagnosticMatching("Warning: Point Refresh Token Revoked In This Apply",
			fmt.Sprintf("The point_revoke_refresh_token action revoked the refresh token of Point user %q during this apply, so no access token was issued: "+
				"token, authorization_header, expires_in and expires_at are null. The next apply issues the user a new refresh token where a point_refresh_token manages it, "+
				"and the access token opens after it.", userID)).MatchString(out)
		if consumerGot(step) == "" {
			sawAfter++
			if !warned {
				t.Errorf("%s: the consumer got no access token, and the apply does not say why:\n%s", step, out)
			}
		} else {
			sawBefore++
		}

		step = fmt.Sprintf("apply after incident %d", i)
		out = cli.MustRun(0, "apply", "-auto-approve", "-no-color")
		current := env.CurrentRefreshToken(userID)
		if current == "" || current == leaked {
			t.Fatalf("%s did not issue a new refresh token", step)
		}
		if consumerGot(step) == "" {
			t.Errorf("%s: the consumer got no access token:\n%s", step, out)
		}
	}
	t.Logf("the consumer got an access token in %d incident applies and none in %d", sawBefore, sawAfter)
}
