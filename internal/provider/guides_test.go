package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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

// The guides' walk-throughs, as a reader of docs/guides follows them.

// The table "When tokens are issued and revoked" of the guide "Using access
// tokens": how many access tokens each command issues and revokes, for a
// point_access_token per user whose token a write-only argument takes, as
// in the guide's example. Terraform opens every instance of an ephemeral
// resource whose arguments are known in every plan and every apply.
// OpenTofu opens it in an apply only when that apply changes something that
// uses its value, and then every instance; and a plan in which its for_each
// gained a key whose user_id is unknown opens none of its instances.

// accessTokenOpenings is the number of access tokens one command issued,
// each of which it also revoked, under Terraform and under OpenTofu.
type accessTokenOpenings struct{ terraform, openTofu int }

func TestAccAccessToken_openingsPerCommand(t *testing.T) {
	acctest.SkipBelowTerraform(t, acctest.CLIVersionWriteOnly, "the guide's write-only argument")
	env := acctest.NewEnv(t, sandbox.Options{})
	env.RequireSandbox() // request counts
	store := newWOStore()
	cli := acctest.NewInProcessCLI(t, factoriesWith(env, store), "")
	alice, bob := env.UserID("openings-alice"), env.UserID("openings-bob")
	config := func(secretVersion int, userIDs ...string) string {
		return env.ProviderBlock() + fmt.Sprintf(`
resource "point_user" "user" {
  for_each = toset(["%[1]s"])
  user_id  = each.key
}

ephemeral "point_access_token" "user" {
  for_each = point_user.user
  user_id  = each.value.id
}

resource "wostore_secret" "user" {
  for_each = point_user.user
  name     = each.key
}

resource "wostore_secret_version" "user" {
  for_each                 = point_user.user
  secret_id                = wostore_secret.user[each.key].id
  secret_string_wo         = ephemeral.point_access_token.user[each.key].token
  secret_string_wo_version = %[2]d
}
`, strings.Join(userIDs, `", "`), secretVersion)
	}
	onOpenTofu := acctest.TestCLI(t).OpenTofu()
	issued, revoked := 0, 0
	expect := func(command string, want accessTokenOpenings) {
		t.Helper()
		counts := env.Sandbox.RequestCounts()
		gotIssued := counts[sandbox.RouteIssueAccessToken] - issued
		gotRevoked := counts[sandbox.RouteRevokeAccessToken] - revoked
		issued, revoked = counts[sandbox.RouteIssueAccessToken], counts[sandbox.RouteRevokeAccessToken]
		n := want.terraform
		if onOpenTofu {
			n = want.openTofu
		}
		if gotIssued != n || gotRevoked != n {
			t.Errorf("%s: %d access tokens issued and %d revoked, want %d of each", command, gotIssued, gotRevoked, n)
		}
	}

	cli.WriteMain(config(1, alice))
	cli.MustRun(0, "init", "-no-color")
	expect("init", accessTokenOpenings{0, 0})
	// user_id is unknown at plan time: the plan defers opening to the apply.
	cli.MustRun(0, "apply", "-auto-approve", "-no-color")
	expect("the first apply", accessTokenOpenings{1, 1})
	if got := len(store.Writes(alice)); got != 1 {
		t.Fatalf("the first apply wrote the access token %d times, want once", got)
	}

	cli.MustRun(0, "plan", "-no-color")
	expect("plan", accessTokenOpenings{1, 1})
	cli.MustRun(0, "apply", "-auto-approve", "-no-color")
	expect("apply with no change", accessTokenOpenings{2, 1})

	cli.WriteMain(config(2, alice))
	cli.MustRun(0, "apply", "-auto-approve", "-no-color")
	expect("apply that writes the token again", accessTokenOpenings{2, 2})
	if got := len(store.Writes(alice)); got != 2 {
		t.Errorf("the apply that changed secret_string_wo_version left %d writes, want 2", got)
	}

	// bob's user_id is unknown at plan time, alice's is not.
	cli.WriteMain(config(2, alice, bob))
	cli.MustRun(0, "plan", "-no-color")
	expect("plan, for_each gained a key", accessTokenOpenings{1, 0})
	cli.MustRun(0, "apply", "-auto-approve", "-no-color")
	expect("apply, for_each gained a key", accessTokenOpenings{3, 2})
	if got := len(store.Writes(bob)); got != 1 {
		t.Errorf("the apply that added bob wrote his access token %d times, want once", got)
	}

	cli.MustRun(0, "destroy", "-auto-approve", "-no-color")
	expect("destroy", accessTokenOpenings{2, 2})
	if n := len(env.Sandbox.AccessTokens()); n != issued {
		t.Errorf("the sandbox holds %d access tokens, the requests issued %d", n, issued)
	}
	accessTokenRequireIssued(t, env, true)
}

// guideGeneratedUserID is the user id of the importing-users guide's samples.
const guideGeneratedUserID = "org-user-8271"

// The importing-users guide's sample of generated configuration is what
// the CLI generates from the guide's import blocks, so that the two cannot
// drift apart. The blocks are compared in any order: Terraform versions
// write them in different orders.
func TestAccGuide_importingUsersGeneratedConfig(t *testing.T) {
	cli := acctest.NewCLI(t)
	if acctest.OpenTofu(t) {
		t.Skip("the guide shows what Terraform generates; OpenTofu marks generated blocks as its own")
	}
	env := acctest.NewEnv(t, sandbox.Options{})
	t.Parallel()
	root, err := devenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	guide, err := os.ReadFile(filepath.Join(root, "templates", "guides", "importing-users.md.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	// The section's blocks: the import blocks, the command, the output.
	section := regexp.MustCompile("(?s)## Generating the configuration\n(.*?)\n## ").FindSubmatch(guide)
	if section == nil {
		t.Fatal("the guide has no section \"Generating the configuration\"")
	}
	blocks := regexp.MustCompile("(?s)```(?:terraform|shell)\n(.*?)```").FindAllSubmatch(section[1], -1)
	if len(blocks) != 3 || !strings.Contains(string(blocks[1][1]), "terraform plan -generate-config-out=generated.tf") {
		t.Fatalf("the section should show the import blocks, the command and the generated configuration; found %d blocks", len(blocks))
	}
	imports, sample := string(blocks[0][1]), string(blocks[2][1])

	userID := env.UserID("guide-generated")
	token := env.AddUser(userID)
	cli.WriteConfig(env, strings.ReplaceAll(imports, guideGeneratedUserID, userID))
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-generate-config-out=generated.tf")
	generated, err := os.ReadFile(filepath.Join(cli.Dir, "generated.tf"))
	if err != nil {
		t.Fatal(err)
	}
	got, want := guideBlocks(strings.ReplaceAll(string(generated), userID, guideGeneratedUserID)), guideBlocks(sample)
	if !slices.Equal(got, want) {
		t.Errorf("the guide's generated configuration differs from what %s generates:\n--- guide\n%s\n--- generated\n%s",
			acctest.TestCLI(t), strings.Join(want, "\n\n"), strings.Join(got, "\n\n"))
	}

	// As the guide says, the generated configuration plans clean.
	cli.MustRun(0, "apply", "-input=false", "-no-color", "-auto-approve")
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	if env.CurrentRefreshToken(userID) != token {
		t.Error("importing the user and its token changed the token")
	}
}

// guideBlocks splits generated configuration into its blocks, each with
// its comment, sorted.
func guideBlocks(text string) []string {
	var blocks []string
	for block := range strings.SplitSeq(strings.TrimSpace(text), "\n\n") {
		blocks = append(blocks, strings.TrimSpace(block))
	}
	slices.Sort(blocks)
	return blocks
}

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
