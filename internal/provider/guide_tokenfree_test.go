package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/devenv"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// The full example of the guide "Keeping refresh tokens out of state", as
// it is written there, with the test-only wostore provider in place of the
// AWS secret store (their resources have the same arguments) and the test's
// user ids.

const (
	guideTestTemplate  = "templates/guides/keeping-refresh-tokens-out-of-state.md.tmpl"
	guideTestUserID    = "org-user-8271"
	guideTestSecret    = "point/refresh-token/alice"
	guideTestConsumer  = "wostore_secret_version.alice"
	guideTestTokenAddr = "point_refresh_token.alice"
)

// guideTestExample returns the guide's full example: its first terraform
// code block that writes the token to a secret store.
func guideTestExample(t *testing.T) string {
	t.Helper()
	root, err := devenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(filepath.Join(root, guideTestTemplate))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile("(?s)```terraform\n(.*?)```").FindAllStringSubmatch(string(text), -1) {
		if strings.Contains(m[1], "aws_secretsmanager_secret_version") {
			return m[1]
		}
	}
	t.Fatalf("%s has no example with aws_secretsmanager_secret_version", guideTestTemplate)
	return ""
}

// guideTestConfig is the guide's example for userID, with store_token as
// given, served by wostore.
func guideTestConfig(env *acctest.Env, example, userID string, storeToken bool) string {
	config := strings.ReplaceAll(example, "aws_secretsmanager_", "wostore_")
	config = strings.ReplaceAll(config, fmt.Sprintf("%q", guideTestUserID), fmt.Sprintf("%q", userID))
	if storeToken {
		config = strings.Replace(config, "store_token  = false", "store_token  = true", 1)
	}
	return env.ProviderBlock() + config
}

// guideTestDelivered asserts that the secret holds the user's current token
// and was written exactly writes times in all.
func guideTestDelivered(env *acctest.Env, store *woStore, userID *string, writes int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		current := env.CurrentRefreshToken(*userID)
		if current == "" {
			return fmt.Errorf("Point user %q has no current refresh token", *userID)
		}
		if store.Secret(guideTestSecret) != current {
			return fmt.Errorf("the secret does not hold the current refresh token of %q at the end of the apply", *userID)
		}
		if got := len(store.Writes(guideTestSecret)); got != writes {
			return fmt.Errorf("the secret was written %d times, want %d", got, writes)
		}
		return nil
	}
}

func TestAccTokenFreeGuide_writeOnlyConsumer(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	example := guideTestExample(t)
	store := newWOStore()
	first, second := env.UserID("guide-alice"), env.UserID("guide-alice-2")
	userID := first
	seen := acctest.SeenTokens{}
	noTokenInState := func(s *terraform.State) error {
		for _, id := range []string{first, second} {
			if tok := env.CurrentRefreshToken(id); tok != "" {
				seen[tok] = true
			}
		}
		return acctest.NoSeenTokenInState(s, seen)
	}
	var before string

	resource.ParallelTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)},
		ProtoV6ProviderFactories: factoriesWith(env, store),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, first, second),
		Steps: []resource.TestStep{
			{
				Config: guideTestConfig(env, example, first, false),
				Check:  resource.ComposeAggregateTestCheckFunc(guideTestDelivered(env, store, &userID, 1), noTokenInState),
			},
			{
				// A new user_id replaces the token resource, whose
				// token_version starts again at 1: replace_triggered_by
				// replaces the secret version, which writes the new token.
				PreConfig: func() { userID = second },
				Config:    guideTestConfig(env, example, second, false),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(guideTestTokenAddr, plancheck.ResourceActionDestroyBeforeCreate),
						plancheck.ExpectResourceAction(guideTestConsumer, plancheck.ResourceActionDestroyBeforeCreate),
						plancheck.ExpectKnownValue(guideTestTokenAddr, tfjsonpath.New("token_version"), knownvalue.Int64Exact(1)),
					},
				},
				Check: resource.ComposeAggregateTestCheckFunc(guideTestDelivered(env, store, &userID, 2), noTokenInState, acctest.NoCurrentRefreshToken(env, first)),
			},
			{
				// rotate_after has elapsed. Until then nothing changed, and
				// nothing was written: the plans after each apply are empty
				// (the test framework fails a step otherwise), and the
				// secret has been written once for each token so far.
				PreConfig: func() {
					before = env.CurrentRefreshToken(second)
					env.Clock.Advance(2161 * time.Hour)
				},
				Config: guideTestConfig(env, example, second, false),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(guideTestTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction(guideTestConsumer, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(guideTestConsumer, tfjsonpath.New("secret_string_wo_version"), knownvalue.Int64Exact(2)),
					},
				},
				Check: resource.ComposeAggregateTestCheckFunc(guideTestDelivered(env, store, &userID, 3), noTokenInState, acctest.RefreshTokenRefused(env, second, &before)),
			},
			{
				PreConfig: func() { env.RotateRefreshToken(second) },
				Config:    guideTestConfig(env, example, second, false),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(guideTestTokenAddr, plancheck.ResourceActionNoop),
						plancheck.ExpectResourceAction(guideTestConsumer, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(guideTestConsumer, tfjsonpath.New("secret_string_wo_version"), knownvalue.Int64Exact(3)),
					},
				},
				Check: resource.ComposeAggregateTestCheckFunc(guideTestDelivered(env, store, &userID, 4), noTokenInState),
			},
			{
				PreConfig: func() { env.RevokeRefreshToken(second) },
				Config:    guideTestConfig(env, example, second, false),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(guideTestTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction(guideTestConsumer, plancheck.ResourceActionDestroyBeforeCreate),
						plancheck.ExpectKnownValue(guideTestConsumer, tfjsonpath.New("secret_string_wo_version"), knownvalue.Int64Exact(4)),
					},
				},
				Check: resource.ComposeAggregateTestCheckFunc(guideTestDelivered(env, store, &userID, 5), noTokenInState),
			},
			{
				// Switching store_token writes nothing.
				Config: guideTestConfig(env, example, second, true),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(guideTestTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction(guideTestConsumer, plancheck.ResourceActionNoop),
					},
				},
				Check: guideTestDelivered(env, store, &userID, 5),
			},
			{
				Config: guideTestConfig(env, example, second, false),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(guideTestTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction(guideTestConsumer, plancheck.ResourceActionNoop),
					},
				},
				Check: resource.ComposeAggregateTestCheckFunc(guideTestDelivered(env, store, &userID, 5), noTokenInState),
			},
		},
	})
}

// belowTerraform111 skips a test on Terraform 1.11 and later: it checks
// what older versions do with write-only arguments.
type belowTerraform111 struct{}

func (belowTerraform111) CheckTerraformVersion(_ context.Context, req tfversion.CheckTerraformVersionRequest, resp *tfversion.CheckTerraformVersionResponse) {
	if !req.TerraformVersion.LessThan(tfversion.Version1_11_0) {
		resp.Skip = fmt.Sprintf("checks Terraform before 1.11, which has no write-only arguments; the CLI is %s", req.TerraformVersion)
	}
}

// On Terraform 1.10, which has ephemeral resources but no write-only
// arguments, the guide's example fails at validation with an error that
// names the version needed, before anything is created in Point.
func TestAccTokenFreeGuide_olderTerraform(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	store := newWOStore()
	userID := env.UserID("guide-old-cli")

	resource.ParallelTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{belowTerraform111{}},
		ProtoV6ProviderFactories: factoriesWith(env, store),
		CheckDestroy: func(*terraform.State) error {
			if env.HasUser(userID) {
				return fmt.Errorf("Point user %q was registered although the configuration was refused", userID)
			}
			if len(store.AllReceived()) != 0 {
				return fmt.Errorf("the secret store received a value")
			}
			return nil
		},
		Steps: []resource.TestStep{{
			Config:      guideTestConfig(env, guideTestExample(t), userID, false),
			ExpectError: acctest.DiagnosticMatching("WriteOnly Attribute Not Allowed", "Write-only attributes are only supported in Terraform 1.11 and later."),
		}},
	})
}
