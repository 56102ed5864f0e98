package invariants

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
)

// tfState is what the campaign reads of terraform.tfstate.
type tfState struct {
	Resources []struct {
		Mode      string `json:"mode"`
		Type      string `json:"type"`
		Name      string `json:"name"`
		Instances []struct {
			IndexKey            any             `json:"index_key"`
			Status              string          `json:"status"`
			Attributes          map[string]any  `json:"attributes"`
			SensitiveAttributes json.RawMessage `json:"sensitive_attributes"`
		} `json:"instances"`
	} `json:"resources"`
}

// tracked is how state tracks one user's refresh token.
type tracked struct {
	// addr is the resource instance that tracks it.
	addr   string
	token  string
	sha256 string
	store  bool
}

// view is state as the invariants see it.
type view struct {
	raw []byte
	// users maps each user in state to the deletion_policy recorded for it.
	users map[string]string
	// userAddrs maps each user to the resource instance that holds it.
	userAddrs map[string]string
	// tokens maps each user whose refresh token a resource manages to how
	// state tracks it.
	tokens map[string]tracked
	// tainted lists the tainted resource instances.
	tainted []string
	// addrs lists every resource instance.
	addrs []string
}

func (v view) hasAddr(addr string) bool { return slices.Contains(v.addrs, addr) }

func tokenSHA256(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// readView reads the working directory's state; an absent state is empty.
func readView(dir string) (view, error) {
	v := view{users: map[string]string{}, userAddrs: map[string]string{}, tokens: map[string]tracked{}}
	b, err := os.ReadFile(filepath.Join(dir, "terraform.tfstate"))
	if errors.Is(err, os.ErrNotExist) {
		return v, nil
	}
	if err != nil {
		return v, err
	}
	v.raw = b
	var st tfState
	if err := json.Unmarshal(b, &st); err != nil {
		return v, err
	}
	for _, r := range st.Resources {
		if r.Mode != "managed" {
			continue
		}
		for _, inst := range r.Instances {
			addr := r.Type + "." + r.Name
			if key, ok := inst.IndexKey.(string); ok {
				addr += `["` + key + `"]`
			}
			v.addrs = append(v.addrs, addr)
			if inst.Status == "tainted" {
				v.tainted = append(v.tainted, addr)
			}
			a := inst.Attributes
			store, _ := a["store_token"].(bool)
			policy, _ := a["deletion_policy"].(string)
			switch r.Type {
			case "point_user":
				id, _ := a["user_id"].(string)
				v.users[id], v.userAddrs[id] = policy, addr
			case "point_users":
				for _, id := range stringList(a["user_ids"]) {
					v.users[id], v.userAddrs[id] = policy, addr
				}
			case "point_refresh_token":
				id, _ := a["user_id"].(string)
				tok, _ := a["token"].(string)
				sum, _ := a["token_sha256"].(string)
				v.tokens[id] = tracked{addr: addr, token: tok, sha256: sum, store: store}
			case "point_refresh_tokens":
				toks, _ := a["tokens"].(map[string]any)
				sums, _ := a["token_sha256"].(map[string]any)
				for _, id := range stringList(a["user_ids"]) {
					tok, _ := toks[id].(string)
					sum, _ := sums[id].(string)
					v.tokens[id] = tracked{addr: addr, token: tok, sha256: sum, store: store}
				}
			}
		}
	}
	return v, nil
}

func stringList(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// tracks reports whether state tracks token as the user's, by value or by
// fingerprint.
func (t tracked) tracks(token string) bool {
	return token != "" && (t.token == token || t.sha256 == tokenSHA256(token))
}
