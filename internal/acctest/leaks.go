package acctest

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TokenWatch runs CLI commands, keeping their output, and samples every
// user's refresh token around each: a scan seeks every token ever current.
type TokenWatch struct {
	env *Env
	cli interface {
		MustRun(want int, args ...string) string
	}
	users       []string
	EverCurrent map[string]bool
	Output      bytes.Buffer
}

// NewTokenWatch watches users; known are tokens current before it starts.
func NewTokenWatch(env *Env, cli interface {
	MustRun(want int, args ...string) string
}, users []string, known ...string) *TokenWatch {
	w := &TokenWatch{env: env, cli: cli, users: users, EverCurrent: map[string]bool{}}
	for _, tok := range known {
		w.EverCurrent[tok] = true
	}
	return w
}

func (w *TokenWatch) sample() {
	for _, id := range w.users {
		if tok := w.env.CurrentRefreshToken(id); tok != "" {
			w.EverCurrent[tok] = true
		}
	}
}

// Run runs the CLI with args and -no-color, expecting exit code want.
func (w *TokenWatch) Run(want int, args ...string) string {
	w.sample()
	out := w.cli.MustRun(want, append(args, "-no-color")...)
	w.Output.WriteString(out)
	w.sample()
	return out
}

// planSensitivityMaps names, for each of a plan's value objects, the object beside it that marks its
// sensitive attributes.
var planSensitivityMaps = map[any]string{"values": "sensitive_values", "before": "before_sensitive", "after": "after_sensitive"}

// PlanAttributeSensitive is a CheckSensitiveOnly rule for a plan's JSON: it accepts a token only in
// attribute of a resourceType (one of its values when mapElement) that the matching map marks.
func PlanAttributeSensitive(resourceType, attribute string, mapElement bool) func(root any, path []any) bool {
	return func(root any, path []any) bool {
		n := len(path)
		if mapElement {
			n--
		}
		if n < 2 || path[n-1] != attribute || planSensitivityMaps[path[n-2]] == "" {
			return false
		}
		owner := "" // of the nearest object above that has a type
		for i := n - 1; i >= 0 && owner == ""; i-- {
			m, _ := JSONAt(root, path[:i]).(map[string]any)
			owner, _ = m["type"].(string)
		}
		return owner == resourceType && JSONAt(root, append(slices.Clone(path[:n-2]), planSensitivityMaps[path[n-2]], attribute)) == true
	}
}

// StateAttributeSensitive is a CheckSensitiveOnly rule for a state file: it
// accepts a token only in attribute of a resourceType instance (one of its
// values when mapElement) whose sensitive_attributes mark the attribute.
func StateAttributeSensitive(resourceType, attribute string, mapElement bool) func(root any, path []any) bool {
	depth := 6
	if mapElement {
		depth = 7
	}
	return func(root any, path []any) bool {
		if len(path) != depth || path[0] != "resources" || path[2] != "instances" || path[4] != "attributes" || path[5] != attribute {
			return false
		}
		if owner, _ := JSONAt(root, path[:2]).(map[string]any); owner["type"] != resourceType {
			return false
		}
		marked, _ := JSONAt(root, append(slices.Clone(path[:4]), "sensitive_attributes")).([]any)
		for _, p := range marked {
			steps, _ := p.([]any)
			if len(steps) == 1 || (mapElement && len(steps) > 1) {
				if step, ok := steps[0].(map[string]any); ok && step["type"] == "get_attr" && step["value"] == attribute {
					return true
				}
			}
		}
		return false
	}
}

// JwtShape matches an access token, a JWT.
var JwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)

// RefreshTokenShape matches a refresh token.
var RefreshTokenShape = regexp.MustCompile(`rt_[A-Za-z0-9_-]{40,}`)

// FindSecret reports, and counts, secret in text: whole, or its last 16
// characters, which would betray one that was cut short.
func FindSecret(t *testing.T, where string, text []byte, name, secret string) int {
	t.Helper()
	tail := secret
	if len(secret) > 16 {
		tail = secret[len(secret)-16:]
	}
	switch {
	case bytes.Contains(text, []byte(secret)):
		t.Errorf("the %s holds %s", where, name)
		return 1
	case bytes.Contains(text, []byte(tail)):
		t.Errorf("the %s holds the end of %s", where, name)
		return 1
	}
	return 0
}

// ZipEntries returns the entries of a saved plan, a zip archive.
func ZipEntries(t *testing.T, file string) map[string][]byte {
	t.Helper()
	zr, err := zip.OpenReader(file)
	if err != nil {
		t.Fatalf("opening the saved plan: %v", err)
	}
	defer zr.Close()
	entries := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		entries[f.Name] = b
	}
	return entries
}

// CheckSensitiveOnly fails for each of tokens in the JSON text at a place
// no rule accepts; it counts those (bad), and the others by rule (ok).
func CheckSensitiveOnly(t *testing.T, where string, text []byte, tokens map[string]bool, rules map[string]func(root any, path []any) bool) (bad int, ok map[string]int) {
	t.Helper()
	ok = map[string]int{}
	var root any
	if err := json.Unmarshal(text, &root); err != nil {
		t.Errorf("the %s is not JSON: %v", where, err)
		return 0, ok
	}
	WalkJSONStrings(root, func(v string, path []any) {
		if !tokens[v] {
			return
		}
		for name, rule := range rules {
			if rule(root, path) {
				ok[name]++
				return
			}
		}
		bad++
		t.Errorf("the %s holds a refresh token at %s, which is not a sensitive token attribute", where, JSONPathString(path))
	})
	return bad, ok
}

// JSONPathString writes a path into a JSON value, such as .a[0].b.
func JSONPathString(path []any) string {
	var b strings.Builder
	for _, p := range path {
		switch p := p.(type) {
		case int:
			b.WriteString("[" + strconv.Itoa(p) + "]")
		default:
			b.WriteString("." + fmt.Sprint(p))
		}
	}
	return b.String()
}

// WalkJSONStrings visits every string in a JSON value, with its path.
func WalkJSONStrings(v any, visit func(s string, path []any)) {
	var walk func(v any, path []any)
	walk = func(v any, path []any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				walk(e, append(slices.Clone(path), k))
			}
		case []any:
			for i, e := range v {
				walk(e, append(slices.Clone(path), i))
			}
		case string:
			visit(v, path)
		}
	}
	walk(v, nil)
}

// JSONAt returns the value at path in a JSON value, or nil.
func JSONAt(root any, path []any) any {
	v := root
	for _, p := range path {
		switch p := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[p]
		case int:
			s, ok := v.([]any)
			if !ok || p >= len(s) {
				return nil
			}
			v = s[p]
		}
	}
	return v
}
