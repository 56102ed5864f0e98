package invariants

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/hashicorp/go-version"

	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

var sandboxCalm = sandbox.Faults{}

// identityVersion is the first Terraform that imports by identity, and
// actionsVersion the first that invokes actions.
var (
	identityVersion = version.Must(version.NewVersion("1.12.0"))
	actionsVersion  = version.Must(version.NewVersion("1.14.0"))
)

// check checks the invariants after a step; res is the step's CLI command,
// nil for a step that ran none.
func (r *run) check(s step, res *result, before view) {
	after := r.view()
	point := r.w.point

	// No bulk resource is ever tainted: the next plan would replace it.
	for _, addr := range after.tainted {
		if addr == usersAddr || addr == tokensAddr {
			r.violate("%s is tainted: the next plan replaces it", addr)
		}
	}

	// Every user in state exists in Point, unless the step that left it
	// there named it (point_users records a user it could not register
	// until the next refresh takes it out).
	for id := range r.absent {
		if _, inState := after.users[id]; !inState || point.HasUser(id) {
			delete(r.absent, id)
		}
	}
	for id := range after.users {
		if point.HasUser(id) || r.absent[id] {
			continue
		}
		r.absent[id] = true
		if !res.names(id) {
			r.violate("user %q is in state but not in Point, and no diagnostic of the step names it", id)
		}
	}

	// A user of the configuration that a command found in state, or that
	// the provider registered during it, is still in state, or the step
	// named it: nothing is orphaned without a word. Destroy and state rm
	// let users go on purpose.
	// A user a warning named while state held it (point_users records a
	// user that already existed, and the next refresh takes it out) is not
	// judged when it leaves state.
	if res != nil && s.Do != doDestroy && s.Do != doStateRm {
		for _, id := range r.cfg.users {
			_, inState := after.users[id]
			_, wasInState := before.users[id]
			registered := r.registrations(id) > r.registeredBefore[id]
			if inState && res.warns(id) {
				r.warnedInState[id] = true
			}
			if !inState && point.HasUser(id) && (wasInState || registered) && !res.names(id) && !r.warnedInState[id] {
				r.violate("user %q is registered in Point and in configuration, but not in state, and no diagnostic of the step names it", id)
			}
		}
	}
	for id := range r.warnedInState {
		if _, inState := after.users[id]; !inState {
			delete(r.warnedInState, id)
		}
	}

	// Every refresh token that Point holds as current for a user whose
	// token a resource manages is the one state tracks, unless the world
	// replaced it since the last refresh or the step named the user.
	for id, tr := range after.tokens {
		cur, ok := point.CurrentRefreshToken(id)
		if !ok || tr.tracks(cur) || r.touched[id] || r.judged[cur] {
			continue
		}
		if res.names(id) {
			r.judged[cur] = true
			continue
		}
		r.violate("Point's current refresh token of %q is not the one %s tracks, and no diagnostic of the step names %q", id, tr.addr, id)
		r.judged[cur] = true
	}

	// A command records what it did: state does not keep tracking a token
	// that was valid before the command and that the command revoked or
	// replaced, unless a diagnostic of the step names the user.
	if res != nil {
		for id, was := range before.tokens {
			now, ok := after.tokens[id]
			prior := r.currentBefore[id]
			if !ok || r.touched[id] || prior == "" || !was.tracks(prior) || !now.tracks(prior) {
				continue
			}
			if cur, _ := point.CurrentRefreshToken(id); cur != prior && !res.names(id) {
				r.violate("%s still tracks the refresh token of %q that the step revoked or replaced, and no diagnostic of the step names %q", now.addr, id, id)
			}
		}
	}

	// No token is issued and then lost: every refresh token that Point
	// issued at the provider's request is revoked or replaced, tracked by
	// state, or was named by the step that left it.
	for _, tok := range r.issuedTokens() {
		id := r.w.front.issuedTo(tok)
		cur, ok := point.CurrentRefreshToken(id)
		if !ok || cur != tok {
			continue
		}
		if r.judged[tok] {
			// Reported by an error before, and by a warning now, such as
			// the one that abandons the user: accounted for.
			if !r.released[tok] && res.warns(id) {
				r.released[tok] = true
			}
			continue
		}
		if tr, managed := after.tokens[id]; managed && tr.tracks(tok) {
			continue
		}
		if _, userInState := after.users[id]; userInState && r.fromRegistration(tok) {
			// Registering a user issues its first token, which the
			// user's refresh token resource replaces when it is created.
			if _, tokenInState := after.tokens[id]; !tokenInState {
				continue
			}
		}
		if res.names(id) {
			r.judged[tok] = true
			r.released[tok] = res.warns(id)
			continue
		}
		r.violate("a refresh token Point issued for %q at the provider's request is valid, tracked by no state, and no diagnostic of the step names %q", id, id)
		r.judged[tok] = true
	}

	// Every access token Point issued is revoked by the end of the command
	// that opened it, or a diagnostic of that step names its user.
	for _, rec := range point.AccessTokens() {
		if rec.Revoked || r.judgedAccess[rec.Token] {
			continue
		}
		r.judgedAccess[rec.Token] = true
		if !res.names(rec.UserID) {
			r.violate("an access token Point issued for %q is still valid after the step, and no diagnostic of the step names %q", rec.UserID, rec.UserID)
		}
	}

	// Secrets: the state file, and the provider's log since the last step.
	if after.raw != nil {
		r.scanSecrets(func(sec secrets) []string { return sec.scanState("the state", after.raw) })
	}
	if backup, err := os.ReadFile(filepath.Join(r.w.dir, "terraform.tfstate.backup")); err == nil && len(backup) > 0 {
		r.scanSecrets(func(sec secrets) []string { return sec.scanState("the state's backup", backup) })
	}
	if f, err := os.Open(r.w.providerLog); err == nil {
		_, _ = f.Seek(r.providerLogRead, io.SeekStart)
		b, _ := io.ReadAll(f)
		f.Close()
		r.providerLogRead += int64(len(b))
		r.providerLogRequests += bytes.Count(b, []byte(`"Point request"`)) + bytes.Count(b, []byte("Point request:"))
		r.scanSecrets(func(sec secrets) []string { return sec.scanText("the provider's log", b, true) })
	}
}

// secrets returns every secret known so far.
func (r *run) secrets() secrets {
	sec := secrets{apiKey: campaignAPIKey, refresh: map[string]bool{}, access: map[string]bool{}}
	f := r.w.front
	f.mu.Lock()
	for tok := range f.issued {
		sec.refresh[tok] = true
	}
	for tok := range f.access {
		sec.access[tok] = true
	}
	f.mu.Unlock()
	for tok := range r.w.worldTokens {
		sec.refresh[tok] = true
	}
	return sec
}

// scanSecrets records a violation for every finding of scan, given every
// secret known so far.
func (r *run) scanSecrets(scan func(secrets) []string) {
	for _, finding := range scan(r.secrets()) {
		r.violate("%s", finding)
	}
}

// issuedTokens returns the refresh tokens Point issued at the provider's
// request, sorted.
func (r *run) issuedTokens() []string {
	f := r.w.front
	f.mu.Lock()
	defer f.mu.Unlock()
	var toks []string
	for tok := range f.issued {
		toks = append(toks, tok)
	}
	slices.Sort(toks)
	return toks
}

// registrations counts the users that Point registered at the provider's
// request with id.
func (r *run) registrations(id string) int {
	f := r.w.front
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.registered[id]
}

func (r *run) fromRegistration(tok string) bool {
	f := r.w.front
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.atRegistration[tok]
}

func (f *front) issuedTo(tok string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.issued[tok]
}

// settle ends a sequence as a user would, with the world calm: they apply
// until an apply succeeds and the plan after it is empty, within
// maxSettleApplies applies. Between applies they do what the provider's
// diagnostics and the guides say: put back users that deletion_policy =
// "PREVENT" keeps, and import what configuration has, state lacks and
// Point holds (for point_users already in state, by forgetting it and
// importing it again with all of its ids). Then every token the provider
// had Point issue must be revoked or tracked.
func (r *run) settle() {
	r.step = -1
	r.w.point.SetFaults(sandboxCalm)
	r.w.front.calm()
	converged := false
	for attempt := 1; attempt <= maxSettleApplies && !converged; attempt++ {
		v := r.view()
		for id, policy := range v.users {
			if policy == "PREVENT" && !slices.Contains(r.cfg.users, id) {
				r.cfg.addUser(id)
			}
		}
		if attempt > 1 {
			if r.cfg.bulk && v.hasAddr(usersAddr) {
				for _, id := range r.cfg.users {
					if _, ok := v.users[id]; !ok && r.w.point.HasUser(id) {
						r.note("forgetting %s to import it again with every id", usersAddr)
						r.cli(step{Do: doStateRm}, "state", "rm", usersAddr)
						v = r.view()
						break
					}
				}
			}
			r.cfg.imports = r.importables(v, false)
		}
		r.writeConfig()
		r.snapshot()
		res := r.cli(step{Do: doApply}, "apply", "-auto-approve")
		r.cfg.imports = nil
		if res.code == 0 {
			r.releaseRemoved(v)
			r.cfg.removed, r.moving = nil, false
		}
		r.check(step{Do: doApply}, res, v)
		if res.code != 0 {
			continue
		}
		r.writeConfig()
		plan := r.cli(step{Do: doPlan}, "plan", "-detailed-exitcode")
		converged = plan.code == 0
	}
	if !converged {
		r.violate("no apply of a calm world left an empty plan within %d applies", maxSettleApplies)
		return
	}

	// Settled, nothing may be left aside: every user of the configuration
	// is in state, with its current token tracked, and every token the
	// provider had Point issue is revoked, tracked, or let go of on
	// purpose.
	v := r.view()
	for _, id := range r.cfg.users {
		if _, ok := v.users[id]; !ok {
			r.violate("settled, user %q of the configuration is not in state", id)
			continue
		}
		cur, ok := r.w.point.CurrentRefreshToken(id)
		if tr, managed := v.tokens[id]; !ok || !managed || !tr.tracks(cur) {
			r.violate("settled, the refresh token of %q is not Point's current one (Point has one: %v; state manages one: %v)", id, ok, managed)
		}
	}
	for _, tok := range r.issuedTokens() {
		id := r.w.front.issuedTo(tok)
		cur, ok := r.w.point.CurrentRefreshToken(id)
		if !ok || cur != tok || r.released[tok] {
			continue
		}
		if tr, managed := v.tokens[id]; !managed || !tr.tracks(tok) {
			r.violate("settled, a refresh token Point issued for %q at the provider's request is valid and tracked by no state", id)
		}
	}
}

const maxSettleApplies = 3
