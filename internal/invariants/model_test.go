package invariants

import (
	"fmt"
	"slices"
	"strings"
)

// userPool is every user id a sequence may use. No id is part of another,
// so that an id named in a diagnostic is never mistaken for another.
var userPool = []string{"amber-01", "birch-02", "cedar-03"}

// config is the configuration the user has written, which the next plan
// or apply reads.
type config struct {
	bulk        bool
	users       []string
	store       bool
	rotateAfter string
	generation  int
	policy      string
	// imports are the import blocks of the next plan or apply.
	imports []importBlock
	// moves are the removed blocks of a switch between shapes, and come
	// with imports.
	removed []string
	// reversed writes user_ids from the last id to the first.
	reversed bool
	// consumer adds a point_access_token for the first user, which
	// Terraform opens in every plan and apply (in the singular shape, as
	// the guide to access tokens writes it).
	consumer bool
	// action, when set, declares a point_revoke_refresh_token action for
	// that user, for a step that invokes it.
	action string
}

type importBlock struct {
	to string
	// id is the import ID; identity, when set, is the user_id of an
	// import by identity instead.
	id, identity string
}

func (c *config) addUser(id string) {
	if !slices.Contains(c.users, id) {
		c.users = append(c.users, id)
		slices.Sort(c.users)
	}
}

func (c *config) removeUser(id string) {
	c.users = slices.DeleteFunc(c.users, func(u string) bool { return u == id })
}

// Addresses of the resources of each shape.
const (
	usersAddr  = "point_users.all"
	tokensAddr = "point_refresh_tokens.all"
)

func userAddr(id string) string  { return fmt.Sprintf("point_user.u[%q]", id) }
func tokenAddr(id string) string { return fmt.Sprintf("point_refresh_token.u[%q]", id) }

// render writes main.tf for the configuration, with the provider block for
// endpoint.
func (c config) render(endpoint string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `terraform {
  required_providers {
    point = {
      source = "areyoupoint/point"
    }
  }
}

provider "point" {
  endpoint        = %q
  api_key         = %q
  max_retries     = 2
  request_timeout = %q
}
`, endpoint, campaignAPIKey, requestTimeout.String())
	users := slices.Clone(c.users)
	if c.reversed {
		slices.Reverse(users)
	}
	ids := hclList(users)
	var tokenArgs strings.Builder
	if !c.store {
		tokenArgs.WriteString("  store_token = false\n")
	}
	if c.rotateAfter != "" {
		fmt.Fprintf(&tokenArgs, "  rotate_after = %q\n", c.rotateAfter)
	}
	if c.generation > 0 {
		fmt.Fprintf(&tokenArgs, "  rotation_triggers = {\n    generation = \"%d\"\n  }\n", c.generation)
	}
	if c.bulk {
		fmt.Fprintf(&b, `
resource "point_users" "all" {
  user_ids        = %s
  deletion_policy = %q
  max_concurrency = 2
}

resource "point_refresh_tokens" "all" {
  user_ids        = point_users.all.user_ids
  max_concurrency = 2
%s}
`, ids, c.policy, tokenArgs.String())
	} else {
		fmt.Fprintf(&b, `
resource "point_user" "u" {
  for_each        = toset(%s)
  user_id         = each.key
  deletion_policy = %q
}

resource "point_refresh_token" "u" {
  for_each = toset(%s)
  user_id  = point_user.u[each.key].user_id
%s}
`, ids, c.policy, ids, tokenArgs.String())
	}
	if c.consumer && len(c.users) > 0 && !c.bulk {
		fmt.Fprintf(&b, "\nephemeral \"point_access_token\" \"consumer\" {\n  user_id = point_refresh_token.u[%q].id\n}\n", c.users[0])
	}
	if c.action != "" {
		fmt.Fprintf(&b, "\naction \"point_revoke_refresh_token\" \"now\" {\n  config {\n    user_id = %q\n  }\n}\n", c.action)
	}
	for _, from := range c.removed {
		fmt.Fprintf(&b, "\nremoved {\n  from = %s\n  lifecycle {\n    destroy = false\n  }\n}\n", from)
	}
	for _, imp := range c.imports {
		if imp.identity != "" {
			fmt.Fprintf(&b, "\nimport {\n  to = %s\n  identity = {\n    user_id = %q\n  }\n}\n", imp.to, imp.identity)
			continue
		}
		fmt.Fprintf(&b, "\nimport {\n  to = %s\n  id = %q\n}\n", imp.to, imp.id)
	}
	return b.String()
}

func hclList(ids []string) string {
	quoted := make([]string, len(ids))
	for i, id := range ids {
		quoted[i] = fmt.Sprintf("%q", id)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}
