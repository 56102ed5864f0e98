package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	tfjson "github.com/hashicorp/terraform-json"
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

// examplesTestDirs must all be found, so that the test cannot pass by finding nothing.
var examplesTestDirs = []string{
	"actions/point_revoke_refresh_token", "data-sources/point_user", "ephemeral-resources/point_access_token",
	"ephemeral-resources/point_refresh_token", "provider", "quickstart", "resources/point_refresh_token",
	"resources/point_refresh_tokens", "resources/point_user", "resources/point_users",
}

// TestAccExamples_validate runs `terraform fmt -check` and `terraform validate` on every example
// directory, against the provider built from this tree, so that the docs show what it accepts.
func TestAccExamples_validate(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("set TF_ACC=1 to build the provider and validate the examples with the Terraform CLI")
	}
	root, err := devenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	examples := filepath.Join(root, "examples")
	var dirs []string // relative to examples, with forward slashes
	err = filepath.WalkDir(examples, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != examples:
			return filepath.SkipDir
		case d.IsDir() || filepath.Ext(path) != ".tf":
			return nil
		}
		rel, err := filepath.Rel(examples, filepath.Dir(path))
		if rel = filepath.ToSlash(rel); err == nil && !slices.Contains(dirs, rel) {
			dirs = append(dirs, rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range examplesTestDirs {
		if !slices.Contains(dirs, want) {
			t.Errorf("examples/%s has no .tf files", want)
		}
	}
	for _, dir := range dirs {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			if strings.HasPrefix(dir, "actions/") {
				acctest.SkipWithoutActions(t, "An action example")
			}
			paths, err := filepath.Glob(filepath.Join(examples, dir, "*.tf"))
			if err != nil {
				t.Fatal(err)
			}
			// Terraform refuses two import blocks for one resource, so each import-by-*.tf alternative
			// is validated on its own with the other files.
			var alternatives []string
			for _, path := range paths {
				if name := filepath.Base(path); strings.HasPrefix(name, "import-by-") {
					alternatives = append(alternatives, name)
				}
			}
			validate := func(t *testing.T, alternative string) {
				cli := acctest.NewCLI(t)
				// Doc snippets leave out the required_providers block mapping "point" to areyoupoint/point.
				files := map[string][]byte{"zz_examples_test_providers.tf": []byte(acctest.RequiredProviders)}
				for _, path := range paths {
					name := filepath.Base(path)
					if strings.HasPrefix(name, "import-by-") && name != alternative {
						continue
					}
					data, err := os.ReadFile(path)
					if err != nil {
						t.Fatal(err)
					}
					if files[name] = data; bytes.Contains(data, []byte("required_providers")) {
						delete(files, "zz_examples_test_providers.tf")
					}
				}
				for name, data := range files {
					if err := os.WriteFile(filepath.Join(cli.Dir, name), data, 0o600); err != nil {
						t.Fatal(err)
					}
				}
				cli.MustRun(0, "fmt", "-check", "-diff", "-no-color")
				// validate -json reports failures in its output, which is read instead of the exit code.
				out, _ := cli.Run("validate", "-json", "-no-color")
				var result tfjson.ValidateOutput
				if err := json.Unmarshal([]byte(out), &result); err != nil {
					t.Fatalf("terraform validate -json: %v\n%s", err, out)
				}
				usedLocalBuild := false
				for _, d := range result.Diagnostics {
					if d.Severity == tfjson.DiagnosticSeverityWarning && d.Summary == "Provider development overrides are in effect" {
						usedLocalBuild = true
					} else {
						t.Errorf("%s: %s\n%s", d.Severity, d.Summary, d.Detail)
					}
				}
				if !result.Valid {
					t.Error("terraform validate: the configuration is not valid")
				}
				if !usedLocalBuild {
					t.Error("terraform validate did not use the locally built provider (no development overrides warning)")
				}
			}
			if len(alternatives) == 0 {
				validate(t, "")
			}
			for _, alternative := range alternatives {
				t.Run(alternative, func(t *testing.T) {
					if alternative == "import-by-identity.tf" {
						acctest.SkipBelowTerraform(t, acctest.CLIVersionIdentity, "An import block with identity")
					}
					validate(t, alternative)
				})
			}
		})
	}
}

// TestAccAccessToken_openingsPerCommand pins the table "When tokens are issued and revoked" of the
// guide "Using access tokens". Terraform opens every instance of an ephemeral resource whose arguments
// are known in every plan and apply; OpenTofu opens them all in an apply only when it changes something
// that uses their value, and none in a plan whose for_each gained a key with an unknown user_id.
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
	for _, c := range []struct {
		config   string // written before the step, when not ""
		step     string // the command, and what it is for
		want     [2]int // the access tokens the step issues, each of which it revokes: on Terraform, on OpenTofu
		writesOf string // whose writes of the access token to count after the step
		writes   int
	}{
		{config(1, alice), "init", [2]int{0, 0}, "", 0},
		// user_id is unknown at plan time: the plan defers opening to the apply.
		{"", "apply, the first", [2]int{1, 1}, alice, 1},
		{"", "plan", [2]int{1, 1}, "", 0},
		{"", "apply with no change", [2]int{2, 1}, alice, 1},
		{config(2, alice), "apply that writes the token again", [2]int{2, 2}, alice, 2},
		// bob's user_id is unknown at plan time, alice's is not.
		{config(2, alice, bob), "plan, for_each gained a key", [2]int{1, 0}, "", 0},
		{"", "apply, for_each gained a key", [2]int{3, 2}, bob, 1},
		{"", "destroy", [2]int{2, 2}, "", 0},
	} {
		if c.config != "" {
			cli.WriteMain(c.config)
		}
		args := []string{strings.TrimSuffix(strings.Fields(c.step)[0], ","), "-no-color"}
		if args[0] == "apply" || args[0] == "destroy" {
			args = append(args, "-auto-approve")
		}
		cli.MustRun(0, args...)
		counts := env.Sandbox.RequestCounts()
		gotIssued, gotRevoked := counts[sandbox.RouteIssueAccessToken]-issued, counts[sandbox.RouteRevokeAccessToken]-revoked
		issued, revoked = counts[sandbox.RouteIssueAccessToken], counts[sandbox.RouteRevokeAccessToken]
		n := c.want[0]
		if onOpenTofu {
			n = c.want[1]
		}
		if gotIssued != n || gotRevoked != n {
			t.Errorf("%s: %d access tokens issued and %d revoked, want %d of each", c.step, gotIssued, gotRevoked, n)
		}
		if got := len(store.Writes(c.writesOf)); c.writesOf != "" && got != c.writes {
			t.Errorf("%s: the access token of %s was written %d times, want %d", c.step, c.writesOf, got, c.writes)
		}
	}
	if n := len(env.Sandbox.AccessTokens()); n != issued {
		t.Errorf("the sandbox holds %d access tokens, the requests issued %d", n, issued)
	}
	accessTokenRequireIssued(t, env, true)
}

const guideUserID = "org-user-8271"

// guideCodeBlocks returns a guide template's code blocks in languages, in section unless it is "".
func guideCodeBlocks(t *testing.T, guide, section, languages string) []string {
	t.Helper()
	root, err := devenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(filepath.Join(root, "templates", "guides", guide+".md.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	if section != "" {
		m := regexp.MustCompile("(?s)## " + regexp.QuoteMeta(section) + "\n(.*?)\n## ").FindSubmatch(text)
		if m == nil {
			t.Fatalf("the guide %s has no section %q", guide, section)
		}
		text = m[1]
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```(?:"+languages+")\n(.*?)```").FindAllSubmatch(text, -1) {
		blocks = append(blocks, string(m[1]))
	}
	return blocks
}

// The importing-users guide's sample of generated configuration is what the CLI generates from the
// guide's import blocks. Blocks compare in any order: Terraform versions write them in different orders.
func TestAccGuide_importingUsersGeneratedConfig(t *testing.T) {
	cli := acctest.NewCLI(t)
	if acctest.OpenTofu(t) {
		t.Skip("the guide shows what Terraform generates; OpenTofu marks generated blocks as its own")
	}
	env := acctest.NewEnv(t, sandbox.Options{})
	t.Parallel()
	blocks := guideCodeBlocks(t, "importing-users", "Generating the configuration", "terraform|shell")
	if len(blocks) != 3 || !strings.Contains(blocks[1], "terraform plan -generate-config-out=generated.tf") {
		t.Fatalf("the section should show the import blocks, the command and the generated configuration; found %d blocks", len(blocks))
	}

	userID := env.UserID("guide-generated")
	token := env.AddUser(userID)
	cli.WriteConfig(env, strings.ReplaceAll(blocks[0], guideUserID, userID))
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-generate-config-out=generated.tf")
	generated, err := os.ReadFile(filepath.Join(cli.Dir, "generated.tf"))
	if err != nil {
		t.Fatal(err)
	}
	sorted := func(text string) []string {
		blocks := strings.Split(strings.TrimSpace(text), "\n\n")
		for i := range blocks {
			blocks[i] = strings.TrimSpace(blocks[i])
		}
		slices.Sort(blocks)
		return blocks
	}
	if got, want := sorted(strings.ReplaceAll(string(generated), userID, guideUserID)), sorted(blocks[2]); !slices.Equal(got, want) {
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

// TestAccTokenFreeGuide_writeOnlyConsumer runs the full example of the guide "Keeping refresh tokens out
// of state" as written, with the test-only wostore provider for the AWS secret store (same arguments).
// On Terraform 1.10, without write-only arguments, it fails validation before anything is created.
func TestAccTokenFreeGuide_writeOnlyConsumer(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	example := ""
	for _, block := range guideCodeBlocks(t, "keeping-refresh-tokens-out-of-state", "", "terraform") {
		if strings.Contains(block, "aws_secretsmanager_secret_version") {
			example = strings.ReplaceAll(block, "aws_secretsmanager_", "wostore_")
			break
		}
	}
	if example == "" {
		t.Fatal("the guide has no example with aws_secretsmanager_secret_version")
	}
	config := func(userID string, storeToken bool) string {
		config := strings.ReplaceAll(example, fmt.Sprintf("%q", guideUserID), fmt.Sprintf("%q", userID))
		if storeToken {
			config = strings.Replace(config, "store_token  = false", "store_token  = true", 1)
		}
		return env.ProviderBlock() + config
	}
	store := newWOStore()
	first, second := env.UserID("guide-alice"), env.UserID("guide-alice-2")
	if !acctest.TestCLI(t).AtLeast(acctest.CLIVersionWriteOnly) {
		resource.ParallelTest(t, resource.TestCase{
			ProtoV6ProviderFactories: factoriesWith(env, store),
			CheckDestroy: func(*terraform.State) error {
				if env.HasUser(first) {
					return fmt.Errorf("Point user %q was registered although the configuration was refused", first)
				}
				if len(store.AllReceived()) != 0 {
					return fmt.Errorf("the secret store received a value")
				}
				return nil
			},
			Steps: []resource.TestStep{{
				Config: config(first, false),
				ExpectError: acctest.DiagnosticMatching("WriteOnly Attribute Not Allowed",
					"Write-only attributes are only supported in Terraform 1.11 and later."),
			}},
		})
		return
	}
	secret, consumer, tokenAddr := "point/refresh-token/alice", "wostore_secret_version.alice", "point_refresh_token.alice"
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
	delivered := func(writes int) resource.TestCheckFunc {
		return func(*terraform.State) error {
			current := env.CurrentRefreshToken(userID)
			if current == "" {
				return fmt.Errorf("Point user %q has no current refresh token", userID)
			}
			if store.Secret(secret) != current {
				return fmt.Errorf("the secret does not hold the current refresh token of %q at the end of the apply", userID)
			}
			if got := len(store.Writes(secret)); got != writes {
				return fmt.Errorf("the secret was written %d times, want %d", got, writes)
			}
			return nil
		}
	}
	step := func(pre func(), storeToken bool, tokenAction, consumerAction plancheck.ResourceActionType, extra plancheck.PlanCheck,
		checks ...resource.TestCheckFunc) resource.TestStep {
		planned := preApplyActions(tokenAddr, tokenAction, consumer, consumerAction)
		if extra != nil {
			planned.PreApply = append(planned.PreApply, extra)
		}
		return resource.TestStep{PreConfig: pre, Config: config(second, storeToken), ConfigPlanChecks: planned,
			Check: resource.ComposeAggregateTestCheckFunc(checks...)}
	}
	version := func(addr, attr string, v int64) plancheck.PlanCheck {
		return plancheck.ExpectKnownValue(addr, tfjsonpath.New(attr), knownvalue.Int64Exact(v))
	}
	wov := "secret_string_wo_version"
	update, noop := plancheck.ResourceActionUpdate, plancheck.ResourceActionNoop
	replace := plancheck.ResourceActionDestroyBeforeCreate
	var before string

	resource.ParallelTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)},
		ProtoV6ProviderFactories: factoriesWith(env, store),
		CheckDestroy:             acctest.NoCurrentRefreshToken(env, first, second),
		Steps: []resource.TestStep{
			{Config: config(first, false), Check: resource.ComposeAggregateTestCheckFunc(delivered(1), noTokenInState)},
			// A new user_id replaces the token resource, whose token_version starts again at 1, and through
			// replace_triggered_by the secret version, which writes the new token.
			step(func() { userID = second }, false, replace, replace, version(tokenAddr, "token_version", 1),
				delivered(2), noTokenInState, acctest.NoCurrentRefreshToken(env, first)),
			// rotate_after has elapsed. Until then nothing was written: each apply left an empty plan
			// (the framework checks it), and the secret holds one write per token.
			step(func() { before = env.CurrentRefreshToken(second); env.Clock.Advance(2161 * time.Hour) }, false, update, update,
				version(consumer, wov, 2), delivered(3), noTokenInState, acctest.RefreshTokenRefused(env, second, &before)),
			step(func() { env.RotateRefreshToken(second) }, false, noop, update, version(consumer, wov, 3), delivered(4), noTokenInState),
			step(func() { env.RevokeRefreshToken(second) }, false, update, replace, version(consumer, wov, 4),
				delivered(5), noTokenInState),
			step(nil, true, update, noop, nil, delivered(5)), // switching store_token writes nothing
			step(nil, false, update, noop, nil, delivered(5), noTokenInState),
		},
	})
}

// TestWordingNamesNoCLI: the provider runs under Terraform and OpenTofu alike, so no string literal of
// its code claims that Terraform is the CLI in use, except the schema descriptions the docs come from.
func TestWordingNamesNoCLI(t *testing.T) {
	// The phrases in which "Terraform" may appear; Terraform/%s is the
	// User-Agent's product token, which HashiCorp's providers send too.
	allowed := strings.NewReplacer("Terraform or OpenTofu", "", "Terraform and OpenTofu", "", "terraform-provider-point", "",
		"Terraform/%s", "")
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ImportSpec:
				return false
			case *ast.FuncDecl: // Schema methods build the documented descriptions.
				return n.Name.Name != "Schema"
			case *ast.KeyValueExpr:
				key, ok := n.Key.(*ast.Ident)
				return !ok || !strings.HasSuffix(key.Name, "Description")
			case *ast.BasicLit:
				if n.Kind != token.STRING {
					return true
				}
				text, err := strconv.Unquote(n.Value)
				if err != nil {
					t.Fatalf("%s: %v", fset.Position(n.Pos()), err)
				}
				checked++
				if strings.Contains(strings.ToLower(allowed.Replace(text)), "terraform") {
					t.Errorf("%s: %s names Terraform as the CLI in use; say \"this apply\", \"the plan\", \"the CLI\" or \"Terraform or OpenTofu\"", fset.Position(n.Pos()), n.Value)
				}
			}
			return true
		})
	}
	if checked < 100 {
		t.Fatalf("checked only %d string literals; the test is not reading the provider's code", checked)
	}
}
