package invariants

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/areyoupoint/terraform-provider-point/internal/point"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// The invariants must be able to fail: each test here breaks one on
// purpose, behind the provider's back, and expects the checks to say so.

// sabotaged runs steps, then sabotage, then the checks, and returns the
// violations.
func sabotaged(t *testing.T, steps []step, sabotage func(r *run)) []string {
	t.Helper()
	cli := campaignCLI(t)
	t.Parallel()
	w := newWorld(t, cli, sandbox.Dialects[0], strings.ReplaceAll(t.Name(), "/", "_"))
	defer w.close()
	r := newRun(w)
	for i, s := range steps {
		r.step = i
		r.do(s)
	}
	if len(r.violations) > 0 {
		t.Fatalf("the steps broke the invariants before the sabotage:\n%s", strings.Join(r.violations, "\n"))
	}
	r.step = len(steps)
	before := r.view()
	r.snapshot()
	sabotage(r)
	r.check(step{Do: doApply}, &result{}, before)
	return r.violations
}

func expectViolation(t *testing.T, violations []string, want string) {
	t.Helper()
	for _, v := range violations {
		if strings.Contains(v, want) {
			return
		}
	}
	t.Errorf("no violation says %q; got %q", want, violations)
}

var oneUserApplied = []step{{Do: doAddUser, User: "amber-01"}, {Do: doApply}}

// Tokens issued through the front, as at the provider's request, and kept
// by no one are lost: one that replaced a managed user's token, and one
// that came with the registration of a user that no state holds.
func TestSelfCheck_lostTokens(t *testing.T) {
	violations := sabotaged(t, oneUserApplied, func(r *run) {
		client := point.New(point.Config{BaseURL: r.w.front.url, APIKey: campaignAPIKey})
		if _, err := client.IssueRefreshToken(context.Background(), "amber-01"); err != nil {
			t.Fatal(err)
		}
		if _, err := client.CreateUser(context.Background(), "cedar-03"); err != nil {
			t.Fatal(err)
		}
	})
	expectViolation(t, violations, `Point's current refresh token of "amber-01" is not the one point_refresh_token.u["amber-01"] tracks`)
	expectViolation(t, violations, `still tracks the refresh token of "amber-01" that the step revoked or replaced`)
	expectViolation(t, violations, `a refresh token Point issued for "cedar-03" at the provider's request is valid, tracked by no state`)
}

// A bulk resource marked tainted would be replaced by the next plan.
func TestSelfCheck_taintedBulk(t *testing.T) {
	steps := append([]step{{Do: doShape, Arg: "bulk"}}, oneUserApplied...)
	violations := sabotaged(t, steps, func(r *run) {
		r.w.terraform(nil, "taint", "-no-color", usersAddr)
	})
	expectViolation(t, violations, "point_users.all is tainted")
}

// A refresh token written into state where it is not sensitive is a leak,
// and so is a user in state that Point does not have.
func TestSelfCheck_stateEdited(t *testing.T) {
	violations := sabotaged(t, oneUserApplied, func(r *run) {
		file := filepath.Join(r.w.dir, "terraform.tfstate")
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := r.w.point.CurrentRefreshToken("amber-01")
		edited := strings.Replace(string(b), `"deletion_policy": "ABANDON"`, `"deletion_policy": "`+tok+`"`, 1)
		edited = strings.ReplaceAll(edited, `"amber-01"`, `"nobody-99"`)
		if edited == string(b) {
			t.Fatal("the state did not change")
		}
		if err := os.WriteFile(file, []byte(edited), 0o600); err != nil {
			t.Fatal(err)
		}
	})
	expectViolation(t, violations, "the state holds a refresh token at .resources[")
	expectViolation(t, violations, `user "nobody-99" is in state but not in Point`)
}

// The scans find every kind of secret, and accept a refresh token only as
// a sensitive token attribute of a resource that stores its token.
func TestSelfCheck_secretScans(t *testing.T) {
	refresh := "rt_" + strings.Repeat("a1B2", 11)
	access := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
	sec := secrets{apiKey: campaignAPIKey, refresh: map[string]bool{refresh: true}, access: map[string]bool{access: true}}
	for text, want := range map[string]string{
		"key " + campaignAPIKey:         "holds the API key",
		"token " + refresh:              "holds a refresh token",
		"bearer " + access:              "holds an access token",
		"rt_" + strings.Repeat("z", 43): "something shaped like a refresh token",
	} {
		if found := sec.scanText("the output", []byte(text), true); len(found) != 1 || !strings.Contains(found[0], want) {
			t.Errorf("scanText(%.20q) = %q, want one finding that says %q", text, found, want)
		}
	}
	state := func(resourceType, attribute string, store bool, marked string) string {
		value := `"` + refresh + `"`
		if attribute == "tokens" {
			value = `{"amber-01": "` + refresh + `"}`
		}
		storeJSON := "false"
		if store {
			storeJSON = "true"
		}
		return `{"resources": [{"type": "` + resourceType + `", "instances": [{"attributes": {"` + attribute + `": ` + value +
			`, "store_token": ` + storeJSON + `}, "sensitive_attributes": [` + marked + `]}]}]}`
	}
	sensitive := func(attribute string) string { return `[{"type": "get_attr", "value": "` + attribute + `"}]` }
	for _, c := range []struct {
		state string
		bad   bool
	}{
		{state("point_refresh_token", "token", true, sensitive("token")), false},
		{state("point_refresh_tokens", "tokens", true, sensitive("tokens")), false},
		{state("point_refresh_token", "token", true, ""), true},
		{state("point_refresh_token", "token", false, sensitive("token")), true},
		{state("point_refresh_token", "token_sha256", true, sensitive("token_sha256")), true},
		{state("point_user", "token", true, sensitive("token")), true},
	} {
		if found := sec.scanState("the state", []byte(c.state)); (len(found) > 0) != c.bad {
			t.Errorf("scanState(%s) = %q, want a finding: %v", c.state, found, c.bad)
		}
	}
}

// The secret scans read the logs they are meant to: Terraform's TRACE log
// of every command, and the provider's, which logs every request to Point.
func TestSelfCheck_logsScanned(t *testing.T) {
	cli := campaignCLI(t)
	t.Parallel()
	w := newWorld(t, cli, sandbox.Dialects[0], strings.ReplaceAll(t.Name(), "/", "_"))
	defer w.close()
	r := newRun(w)
	for i, s := range oneUserApplied {
		r.step = i
		r.do(s)
	}
	requests := w.point.Requests()
	if r.traceRead == 0 || r.providerLogRead == 0 || r.providerLogRequests < requests {
		t.Errorf("scanned %d bytes of Terraform's TRACE logs and %d of the provider's, with %d lines about requests to Point, which saw %d",
			r.traceRead, r.providerLogRead, r.providerLogRequests, requests)
	}
}
