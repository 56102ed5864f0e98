package acctest

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"testing"
)

// ProviderBlockWith writes a provider block from HCL expressions by attribute name, leaving out empty ones.
func ProviderBlockWith(settings map[string]string) string {
	var b strings.Builder
	b.WriteString("provider \"point\" {\n")
	for _, name := range slices.Sorted(maps.Keys(settings)) {
		if settings[name] != "" {
			fmt.Fprintf(&b, "  %s = %s\n", name, settings[name])
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// ProviderBlockFor configures the provider for endpoint with env's key and the given max_retries.
func ProviderBlockFor(env *Env, endpoint string, maxRetries int) string {
	return fmt.Sprintf("provider \"point\" {\n  endpoint    = %q\n  api_key     = %q\n  max_retries = %d\n}\n", endpoint, env.APIKey, maxRetries)
}

// DeadEndpoint returns a loopback URL where nothing listens.
func DeadEndpoint(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// RefreshTokenConfig is a point_user and a point_refresh_token for it, with args added to the token's block.
func RefreshTokenConfig(env *Env, userID, args string) string {
	return env.ProviderBlock() + fmt.Sprintf(`
resource "point_user" "test" {
  user_id = %[1]q
}

resource "point_refresh_token" "test" {
  user_id = point_user.test.user_id
%[2]s}
`, userID, args)
}

// RefreshTokenOnlyConfig manages the token of a user that Terraform does not manage.
func RefreshTokenOnlyConfig(providerBlock, userID, args string) string {
	return providerBlock + fmt.Sprintf(`
resource "point_refresh_token" "test" {
  user_id = %[1]q
%[2]s}
`, userID, args)
}

// PointUserConfig is a point_user alone, with its deletion_policy.
func PointUserConfig(env *Env, userID, deletionPolicy string) string {
	return env.ProviderBlock() + fmt.Sprintf(`
resource "point_user" "test" {
  user_id         = %[1]q
  deletion_policy = %[2]q
}
`, userID, deletionPolicy)
}

// PointUsersConfig is a point_users alone.
func PointUsersConfig(providerBlock string, ids []string, args string) string {
	return providerBlock + fmt.Sprintf(`
resource "point_users" "test" {
  user_ids = %s
%s}
`, HCLList(ids), args)
}

// BulkConfig is a point_users for ids and a point_refresh_tokens for them, with extra arguments for each.
func BulkConfig(providerBlock string, ids []string, usersArgs, tokensArgs string) string {
	return providerBlock + fmt.Sprintf(`
resource "point_users" "test" {
  user_ids = %s
%s}

resource "point_refresh_tokens" "test" {
  user_ids = point_users.test.user_ids
%s}
`, HCLList(ids), usersArgs, tokensArgs)
}

// IncidentTriggerConfig is the docs' incident runbook: revoke point_user.test's token when incident changes.
func IncidentTriggerConfig(incident string) string {
	return fmt.Sprintf(`
action "point_revoke_refresh_token" "incident" {
  config {
    user_id = point_user.test.user_id
  }
}

resource "terraform_data" "incident" {
  input = %q

  lifecycle {
    action_trigger {
      events  = [after_update]
      actions = [action.point_revoke_refresh_token.incident]
    }
  }
}
`, incident)
}

// Addresses of the resources in these configurations.
const (
	RefreshTokenAddr  = "point_refresh_token.test"
	UsersAddr         = "point_users.test"
	RefreshTokensAddr = "point_refresh_tokens.test"
)

// HCLList writes ids as an HCL list.
func HCLList(ids []string) string {
	quoted := make([]string, len(ids))
	for i, id := range ids {
		quoted[i] = fmt.Sprintf("%q", id)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// NumberedUserIDs returns n user ids for this run: name-000, name-001, and so on.
func NumberedUserIDs(env *Env, name string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = env.UserID(fmt.Sprintf("%s-%03d", name, i))
	}
	return ids
}
