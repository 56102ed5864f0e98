package provider

import (
	"fmt"
	"strings"
	"testing"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// Every diagnostic about the ids in user_ids names the id, never its
// position: with a set(string) variable, which the docs recommend, the
// position is one in sorted order that the configuration never wrote.
// Both bulk resources, with ids written as a list and given as a set
// variable, and with ids known only at apply, which the CLI validates then.
func TestAccBulk_userIDDiagnosticsNameTheID(t *testing.T) {
	cli := acctest.NewCLI(t)
	env := acctest.NewEnv(t, sandbox.Options{})
	t.Parallel()
	good := env.UserID("named-ok")
	bad := "bad/" + good
	slashProblem := `must not contain "/", which Point cannot accept in a user id.`
	invalid := func(attr string) []string {
		return []string{"Error: Invalid User ID", fmt.Sprintf("The user id %q in %s %s Correct it, or remove it from %s.", bad, attr, slashProblem, attr)}
	}

	tokensFor := func(ids string) string {
		return fmt.Sprintf(`
resource "point_refresh_tokens" "test" {
  user_ids = %s
}
`, ids)
	}
	usersFor := func(ids string) string {
		return fmt.Sprintf(`
resource "point_users" "test" {
  user_ids = %s
}
`, ids)
	}
	setVariable := func(ids ...string) string {
		return fmt.Sprintf(`
variable "user_ids" {
  type    = set(string)
  default = %s
}
`, acctest.HCLList(ids))
	}
	// A set that sorts the bad id away from where it was written, and the
	// same ids known only at apply, through terraform_data.
	list := acctest.HCLList([]string{good, bad})
	knownAtApply := func(resourceType string) string {
		return fmt.Sprintf(`
resource "terraform_data" "ids" {
  input = %s
}

resource %q "test" {
  user_ids = terraform_data.ids.output
}
`, acctest.HCLList([]string{"zz-" + good, bad}), resourceType)
	}
	cases := map[string]struct {
		config string
		want   []string
		apply  bool // the ids are known only at apply, which fails
	}{
		"point_users, known at apply":          {knownAtApply("point_users"), invalid("user_ids"), true},
		"point_refresh_tokens, known at apply": {knownAtApply("point_refresh_tokens"), invalid("user_ids"), true},
		"point_users, list":                    {usersFor(list), invalid("user_ids"), false},
		"point_users, set variable":            {setVariable("zz-"+good, bad, "aa-"+good) + usersFor("var.user_ids"), invalid("user_ids"), false},
		"point_refresh_tokens, list":           {tokensFor(list), invalid("user_ids"), false},
		"point_refresh_tokens, set var":        {setVariable("zz-"+good, bad) + tokensFor("var.user_ids"), invalid("user_ids"), false},
		"point_users, duplicate in list": {usersFor(acctest.HCLList([]string{good, "other-" + good, good})),
			[]string{"Error: Duplicate User ID", fmt.Sprintf("user_ids holds the user id %q more than once", good)}, false},
	}
	for name, tc := range cases {
		cli.WriteConfig(env, tc.config)
		command := []string{"plan", "-input=false", "-no-color"}
		if tc.apply {
			command = []string{"apply", "-input=false", "-no-color", "-auto-approve"}
		}
		out, code := cli.Run(command...)
		if code != 1 {
			t.Errorf("%s: %s exited %d, want 1:\n%s", name, command[0], code, out)
			continue
		}
		acctest.ExpectOutput(t, out, tc.want...)
		if strings.Contains(out, "user_ids[") {
			t.Errorf("%s: a diagnostic names a position in user_ids:\n%s", name, out)
		}
	}
	acctest.ExpectNoRequests(t, env, "validating user_ids")
	// The terraform_data of the failed applies goes.
	cli.WriteConfig(env, "")
	cli.MustRun(0, "apply", "-auto-approve", "-no-color")
}
