package provider

import (
	"fmt"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// TestAccInterrupt_applyCLI sends SIGINT to terraform in the middle of an
// apply against a slow Point, then applies again and checks that every
// user and refresh token is accounted for.
func TestAccInterrupt_applyCLI(t *testing.T) {
	const users = 30
	cli := acctest.NewCLI(t)
	env := acctest.NewEnv(t, sandbox.Options{})
	env.RequireSandbox()
	t.Parallel()
	front := acctest.NewDelayingFront(env.Sandbox)
	front.Delay.Store(int64(100 * time.Millisecond))
	server := httptest.NewServer(front)
	t.Cleanup(server.Close)
	env.Sandbox.SetFaults(sandbox.Faults{Latency: 200 * time.Millisecond})
	cli.WriteMain(acctest.ProviderBlockFor(env, server.URL, 2) + fmt.Sprintf(`
resource "point_user" "u" {
  count   = %[1]d
  user_id = format("intr-%%02d", count.index)
}

resource "point_refresh_token" "u" {
  count   = %[1]d
  user_id = point_user.u[count.index].user_id
}
`, users))

	// inState returns the users in state, sorted, and their refresh tokens.
	inState := func() (ids []string, tokens map[string]string) {
		t.Helper()
		tokens = map[string]string{}
		for _, r := range acctest.ReadStateFile(t, cli).Resources {
			for _, inst := range r.Instances {
				id, _ := inst.Attributes["user_id"].(string)
				switch r.Type {
				case "point_user":
					ids = append(ids, id)
				case "point_refresh_token":
					tokens[id], _ = inst.Attributes["token"].(string)
				}
			}
		}
		slices.Sort(ids)
		return ids, tokens
	}
	interrupt := func(phase string, ready func() bool) {
		t.Helper()
		out := acctest.InterruptedApply(t, cli, ready)
		stateUsers, stateTokens := inState()
		pointUsers, lost := env.Sandbox.UserIDs(), front.TakeLost()
		t.Logf("interrupt %s: %d users in Point, %d in state, %d refresh tokens in state; answers lost on the way back: %v; refresh tokens issued %d, revoked or replaced %d",
			phase, len(pointUsers), len(stateUsers), len(stateTokens), lost, env.Sandbox.RefreshTokensIssued(), env.Sandbox.RefreshTokensRevoked())
		if len(stateTokens) == users {
			t.Errorf("interrupt %s came too late: all refresh tokens were issued", phase)
		}
		for _, id := range pointUsers {
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
	interrupt("during refresh token issue", func() bool { return env.Sandbox.RefreshTokensIssued()-users >= 1 })

	env.Sandbox.SetFaults(sandbox.Faults{})
	front.Delay.Store(0)
	cli.MustRun(0, "apply", "-input=false", "-auto-approve", "-no-color")
	cli.MustRun(0, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	stateUsers, stateTokens := inState()
	var want []string
	for i := range users {
		want = append(want, fmt.Sprintf("intr-%02d", i))
	}
	if pointUsers := env.Sandbox.UserIDs(); !slices.Equal(pointUsers, want) || !slices.Equal(stateUsers, want) {
		t.Errorf("after the final apply Point holds %v and state %v, want %v", pointUsers, stateUsers, want)
	}
	for _, id := range want {
		if current := env.CurrentRefreshToken(id); current == "" || current != stateTokens[id] {
			t.Errorf("the refresh token of %q in state is not its current one in Point", id)
		}
	}
	issued, revoked := env.Sandbox.RefreshTokensIssued(), env.Sandbox.RefreshTokensRevoked()
	if issued-revoked != users {
		t.Errorf("refresh tokens: %d issued, %d revoked or replaced; %d still valid, want %d, one per user", issued, revoked, issued-revoked, users)
	}
	t.Logf("after the final apply: refresh tokens issued %d (%d with the users, %d by point_refresh_token), revoked or replaced %d, valid %d",
		issued, users, issued-users, revoked, issued-revoked)
}
