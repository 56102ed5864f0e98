package provider

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/devenv"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

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
