package invariants

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
)

// secrets are the values that must never be shown: the API key, every
// refresh token and every access token Point issued.
type secrets struct {
	apiKey  string
	refresh map[string]bool
	access  map[string]bool
}

// scanText returns a finding for every secret in text, and for anything
// shaped like a refresh token or an access token, which would be one that
// the campaign did not see.
func (s secrets) scanText(where string, text []byte, withAPIKey bool) []string {
	var found []string
	if withAPIKey && bytes.Contains(text, []byte(s.apiKey)) {
		found = append(found, where+" holds the API key")
	}
	for _, m := range acctest.RefreshTokenShape.FindAll(text, -1) {
		what := "something shaped like a refresh token"
		if s.refresh[string(m)] {
			what = "a refresh token"
		}
		found = append(found, fmt.Sprintf("%s holds %s (%.8s…)", where, what, m))
	}
	for _, m := range acctest.JwtShape.FindAll(text, -1) {
		what := "something shaped like an access token"
		if s.access[string(m)] {
			what = "an access token"
		}
		found = append(found, fmt.Sprintf("%s holds %s (%.12s…)", where, what, m))
	}
	return found
}

// scanState checks a state file: a refresh token may stand only as the
// token of a point_refresh_token, or one of the tokens of a
// point_refresh_tokens, that keeps its token in state and marks that
// attribute sensitive. No access token or API key may stand anywhere.
func (s secrets) scanState(where string, text []byte) []string {
	var root any
	if err := json.Unmarshal(text, &root); err != nil {
		return []string{fmt.Sprintf("%s is not JSON: %v", where, err)}
	}
	var found []string
	acctest.WalkJSONStrings(root, func(v string, path []any) {
		switch {
		case v == s.apiKey || strings.Contains(v, s.apiKey):
			found = append(found, fmt.Sprintf("%s holds the API key at %s", where, acctest.JSONPathString(path)))
		case acctest.JwtShape.MatchString(v):
			found = append(found, fmt.Sprintf("%s holds an access token at %s", where, acctest.JSONPathString(path)))
		case acctest.RefreshTokenShape.MatchString(v) && !sensitiveTokenPlace(root, path):
			found = append(found, fmt.Sprintf("%s holds a refresh token at %s, which is not a sensitive token attribute of a resource that stores its token", where, acctest.JSONPathString(path)))
		}
	})
	return found
}

// sensitiveTokenPlace reports whether path in a state file is where a
// refresh token may be kept: resources[i].instances[j].attributes.token of
// a point_refresh_token, or .tokens[k] of a point_refresh_tokens, with
// store_token true and the attribute marked sensitive.
func sensitiveTokenPlace(root any, path []any) bool {
	if len(path) < 6 || path[0] != "resources" || path[2] != "instances" || path[4] != "attributes" {
		return false
	}
	resource, _ := acctest.JSONAt(root, path[:2]).(map[string]any)
	resourceType, _ := resource["type"].(string)
	var attribute string
	switch {
	case resourceType == "point_refresh_token" && len(path) == 6 && path[5] == "token":
		attribute = "token"
	case resourceType == "point_refresh_tokens" && len(path) == 7 && path[5] == "tokens":
		attribute = "tokens"
	default:
		return false
	}
	instance, _ := acctest.JSONAt(root, path[:4]).(map[string]any)
	attributes, _ := instance["attributes"].(map[string]any)
	if store, _ := attributes["store_token"].(bool); !store {
		return false
	}
	marked, _ := instance["sensitive_attributes"].([]any)
	for _, m := range marked {
		steps, _ := m.([]any)
		if len(steps) == 0 {
			continue
		}
		if first, ok := steps[0].(map[string]any); ok && first["type"] == "get_attr" && first["value"] == attribute {
			return true
		}
	}
	return false
}

// scanPlanFile checks every entry of a saved plan: the state snapshots as
// state files, the configuration (which holds the API key, as the
// campaign's main.tf does) for tokens, and everything else for any secret.
// The binary plan itself records prior and planned values with their
// sensitivity marks, as Terraform designs it, and is left alone.
func (s secrets) scanPlanFile(where string, data []byte) []string {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return []string{fmt.Sprintf("%s is not a plan file: %v", where, err)}
	}
	var found []string
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return append(found, err.Error())
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return append(found, err.Error())
		}
		entry := where + " entry " + f.Name
		switch {
		case f.Name == "tfplan":
		case f.Name == "tfstate" || f.Name == "tfstate-prev":
			found = append(found, s.scanState(entry, b)...)
		case strings.HasPrefix(f.Name, "tfconfig/"):
			found = append(found, s.scanText(entry, b, false)...)
		default:
			found = append(found, s.scanText(entry, b, true)...)
		}
	}
	return found
}
