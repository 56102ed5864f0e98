package provider

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

const interruptUsers = 30

// interruptStateTokens reads the refresh tokens by user id from a state file.
func interruptStateTokens(t *testing.T, dir string) (users []string, tokens map[string]string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "terraform.tfstate"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, map[string]string{}
	}
	if err != nil {
		t.Fatal(err)
	}
	var state struct {
		Resources []struct {
			Type      string
			Instances []struct {
				Attributes map[string]any
			}
		}
	}
	if err := json.Unmarshal(b, &state); err != nil {
		t.Fatal(err)
	}
	tokens = map[string]string{}
	for _, r := range state.Resources {
		for _, inst := range r.Instances {
			id, _ := inst.Attributes["user_id"].(string)
			switch r.Type {
			case "point_user":
				users = append(users, id)
			case "point_refresh_token":
				tokens[id], _ = inst.Attributes["token"].(string)
			}
		}
	}
	slices.Sort(users)
	return users, tokens
}

// TestAccInterrupt_applyCLI sends SIGINT to terraform in the middle of an
// apply against a slow Point, then applies again and checks that every
// user and refresh token is accounted for.
func TestAccInterrupt_applyCLI(t *testing.T) {
	cli := acctest.NewCLI(t)
	env := acctest.NewEnv(t, sandbox.Options{})
	env.RequireSandbox()
	t.Parallel()
	front := acctest.NewDelayingFront(env.Sandbox)
	front.Delay.Store(int64(100 * time.Millisecond))
	server := httptest.NewServer(front)
	t.Cleanup(server.Close)
	env.Sandbox.SetFaults(sandbox.Faults{Latency: 200 * time.Millisecond})

	cfg := fmt.Sprintf(`provider "point" {
  endpoint    = %[1]q
  api_key     = %[2]q
  max_retries = 2
}

resource "point_user" "u" {
  count   = %[3]d
  user_id = format("intr-%%02d", count.index)
}

resource "point_refresh_token" "u" {
  count   = %[3]d
  user_id = point_user.u[count.index].user_id
}
`, server.URL, env.APIKey, interruptUsers)
	cli.WriteMain(cfg)

	interrupt := func(phase string, ready func() bool) {
		t.Helper()
		out := acctest.InterruptedApply(t, cli, ready)
		stateUsers, stateTokens := interruptStateTokens(t, cli.Dir)
		sandboxUsers := env.Sandbox.UserIDs()
		lost := front.TakeLost()
		t.Logf("interrupt %s: %d users in Point, %d in state, %d refresh tokens in state; answers lost on the way back: %v; refresh tokens issued %d, revoked or replaced %d",
			phase, len(sandboxUsers), len(stateUsers), len(stateTokens), lost, env.Sandbox.RefreshTokensIssued(), env.Sandbox.RefreshTokensRevoked())
		if len(stateTokens) == interruptUsers {
			t.Errorf("interrupt %s came too late: all refresh tokens were issued", phase)
		}
		for _, id := range sandboxUsers {
			if !slices.Contains(stateUsers, id) {
				t.Errorf("interrupt %s: user %q exists in Point but not in state", phase, id)
			}
		}
		for id, token := range stateTokens {
			if token != env.CurrentRefreshToken(id) {
				t.Errorf("interrupt %s: the refresh token of %q in state is not its current one in Point", phase, id)
			}
		}
		if lost[sandbox.RouteCreateUser] > 0 && !acctest.DiagnosticPattern("Warning: Point User Registered Without an Answer").MatchString(out) {
			t.Errorf("interrupt %s lost %d answers to creates but reported no user registered without an answer:\n%s", phase, lost[sandbox.RouteCreateUser], out)
		}
	}

	// First while users are created (Terraform creates them all before any
	// refresh token, which depends on point_user.u as a whole), then while
	// refresh tokens are issued.
	interrupt("during user creation", func() bool { return len(env.Sandbox.UserIDs()) >= 10 })
	interrupt("during refresh token issue", func() bool {
		return env.Sandbox.RefreshTokensIssued()-interruptUsers >= 1
	})

	env.Sandbox.SetFaults(sandbox.Faults{})
	front.Delay.Store(0)
	out2, code := cli.Run("apply", "-input=false", "-auto-approve", "-no-color")
	if code != 0 {
		t.Fatalf("final apply exited %d:\n%s", code, out2)
	}
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")

	stateUsers, stateTokens := interruptStateTokens(t, cli.Dir)
	sandboxUsers := env.Sandbox.UserIDs()
	var want []string
	for i := range interruptUsers {
		want = append(want, fmt.Sprintf("intr-%02d", i))
	}
	if !slices.Equal(sandboxUsers, want) || !slices.Equal(stateUsers, want) {
		t.Errorf("after the final apply Point holds %v and state %v, want %v", sandboxUsers, stateUsers, want)
	}
	for _, id := range want {
		if current := env.CurrentRefreshToken(id); current == "" || current != stateTokens[id] {
			t.Errorf("the refresh token of %q in state is not its current one in Point", id)
		}
	}
	issued, revoked := env.Sandbox.RefreshTokensIssued(), env.Sandbox.RefreshTokensRevoked()
	if issued-revoked != interruptUsers {
		t.Errorf("refresh tokens: %d issued, %d revoked or replaced; %d still valid, want %d, one per user", issued, revoked, issued-revoked, interruptUsers)
	}
	t.Logf("after the final apply: refresh tokens issued %d (%d with the users, %d by point_refresh_token), revoked or replaced %d, valid %d",
		issued, interruptUsers, issued-interruptUsers, revoked, issued-revoked)
}
