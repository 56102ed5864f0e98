package provider

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The provider runs under Terraform and OpenTofu alike, so what it says at
// run time (diagnostics, progress and logs) never claims that Terraform is
// the CLI in use. This test reads every string literal of the package's
// code, except the schema descriptions that the documentation is generated
// from, which may describe what Terraform does.
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
