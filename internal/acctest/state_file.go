package acctest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// StateFile is what the tests read of a terraform.tfstate.
type StateFile struct {
	Resources []struct {
		Type, Name string
		Instances  []struct {
			Status     string         `json:"status"`
			Attributes map[string]any `json:"attributes"`
		}
	}
}

// Attributes returns the attributes of the single instance at addr, or nil.
func (s StateFile) Attributes(addr string) map[string]any {
	for _, r := range s.Resources {
		if r.Type+"."+r.Name == addr && len(r.Instances) == 1 {
			return r.Instances[0].Attributes
		}
	}
	return nil
}

// Status returns the status of the single instance at addr: "" when it is ready, "tainted", or "absent".
func (s StateFile) Status(addr string) string {
	for _, r := range s.Resources {
		if r.Type+"."+r.Name == addr && len(r.Instances) == 1 {
			return r.Instances[0].Status
		}
	}
	return "absent"
}

// ReadStateFile reads the terraform.tfstate the CLI wrote.
func ReadStateFile(t *testing.T, cli *CLI) StateFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cli.Dir, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	var state StateFile
	if err := json.Unmarshal(b, &state); err != nil {
		t.Fatal(err)
	}
	return state
}

// StateFileUserIDs returns the user_ids of the resource at addr.
func StateFileUserIDs(s StateFile, addr string) []string {
	return listStrings(s.Attributes(addr), "user_ids")
}

// ByUser returns attribute attr of every instance of the resource type typ, by its user_id.
func (s StateFile) ByUser(typ, attr string) map[string]string {
	values := map[string]string{}
	for _, r := range s.Resources {
		for _, inst := range r.Instances {
			if r.Type == typ {
				id, _ := inst.Attributes["user_id"].(string)
				values[id], _ = inst.Attributes[attr].(string)
			}
		}
	}
	return values
}

// StateFileTokens returns the tokens of the resource at addr, by user id.
func StateFileTokens(s StateFile, addr string) map[string]string {
	tokens := map[string]string{}
	m, _ := s.Attributes(addr)["tokens"].(map[string]any)
	for id, v := range m {
		tokens[id], _ = v.(string)
	}
	return tokens
}

// ExpectNotTainted fails when a resource at addrs is tainted or absent from state.
func ExpectNotTainted(t *testing.T, cli *CLI, addrs ...string) {
	t.Helper()
	state := ReadStateFile(t, cli)
	for _, addr := range addrs {
		if status := state.Status(addr); status != "" {
			t.Errorf("%s is %s in state, want it ready", addr, status)
		}
	}
}
