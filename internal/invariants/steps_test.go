package invariants

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// A step is one thing a user or the world does. Do names it; User, Arg and
// N are its parameters; Fault is what the world does to Point while a step
// that runs the CLI runs (see faults). Steps print as Go literals, so that
// a failing sequence can be pasted into a regression test.
type step struct {
	Do    string
	User  string
	Arg   string
	Fault string
	N     int
}

func (s step) String() string {
	parts := []string{fmt.Sprintf("Do: %q", s.Do)}
	if s.User != "" {
		parts = append(parts, fmt.Sprintf("User: %q", s.User))
	}
	if s.Arg != "" {
		parts = append(parts, fmt.Sprintf("Arg: %q", s.Arg))
	}
	if s.Fault != "" {
		parts = append(parts, fmt.Sprintf("Fault: %q", s.Fault))
	}
	if s.N != 0 {
		parts = append(parts, fmt.Sprintf("N: %d", s.N))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// What users do that runs the CLI.
const (
	doApply       = "apply"        // terraform apply
	doPlan        = "plan"         // terraform plan -detailed-exitcode (Arg "no-refresh": -refresh=false)
	doPlanOut     = "plan-out"     // terraform plan -out, applied later by apply-saved (Arg "no-refresh": -refresh=false)
	doApplySaved  = "apply-saved"  // terraform apply of the last saved plan
	doRefreshOnly = "refresh-only" // terraform apply -refresh-only
	doDestroy     = "destroy"      // terraform destroy (Arg "no-refresh": -refresh=false)
	doStateRm     = "state-rm"     // terraform state rm of User's resources (or the bulk ones, Arg "users"/"tokens")
	doImport      = "import"       // import what configuration has, state lacks and Point holds; Arg "cli", "block" or "identity"
)

// What users change in configuration, for the next plan or apply.
const (
	doAddUser     = "add-user"      // User joins user_ids
	doRemoveUser  = "remove-user"   // User leaves user_ids
	doStoreToken  = "store-token"   // store_token = Arg ("true", "false")
	doRotateAfter = "rotate-after"  // rotate_after = Arg ("" removes it)
	doTrigger     = "trigger"       // rotation_triggers changes
	doPolicy      = "policy"        // deletion_policy = Arg
	doShape       = "shape"         // Arg "bulk" or "singular"; moves what state holds as the guide says
	doReorder     = "reorder"       // user_ids in the other order
	doConsumer    = "consumer"      // Arg "on": a point_access_token for a user of the configuration; "off" removes it
	doRevokeNow   = "revoke-action" // terraform apply -invoke of point_revoke_refresh_token for User (Terraform 1.14 and later)
)

// What the world does between steps.
const (
	doRotateElsewhere = "rotate-elsewhere"   // User's refresh token is rotated outside Terraform
	doRevokeElsewhere = "revoke-elsewhere"   // User's refresh token is revoked outside Terraform
	doClock           = "clock"              // the clock moves by Arg, a duration
	doRegisterElse    = "register-elsewhere" // someone else registers User in Point
	doDialect         = "dialect"            // Point answers in the dialect Arg from now on
)

// What the world does to Point while a step runs the CLI.
const (
	fault503            = "503"             // a share of N% of requests is answered 503
	fault429            = "429"             // every Nth request is answered 429
	faultLatency        = "latency"         // every request takes N ms longer
	faultDrop           = "drop"            // the first N requests that change something reach Point, whose answer is lost: the connection drops
	fault502            = "502"             // the same, a gateway answering 502 instead
	fault503Lost        = "503-lost"        // the same, a gateway answering 503 instead
	faultSlow           = "slow"            // the same, Point answering after request_timeout
	fault404HTML        = "404-html"        // a proxy answers every request with an HTML 404
	fault404JSON        = "404-json"        // a proxy answers every request with a JSON 404
	fault404Revocations = "404-revocations" // a proxy answers the revocations of refresh tokens with a JSON 404
	faultSIGINT         = "sigint"          // SIGINT to the CLI once N requests that change something are under way
)

// requestTimeout is the provider's request_timeout in every configuration.
const requestTimeout = 2 * time.Second

// campaignAPIKey is the API key of every sandbox of the campaign.
const campaignAPIKey = "invariants-api-key-5f0c9e7a2b14d8c3"

// run is one run of a sequence: the world, the configuration as the user
// has written it, and what the invariants remember from step to step.
type run struct {
	w   *world
	cfg config
	// violations are the invariants broken so far, each with its step.
	violations []string
	// trail says what each step did, for the report of a failure, and
	// outputs holds the output of every command.
	trail, outputs []string
	// step is the index of the step being run.
	step int

	// settled is true after an apply that succeeded without any fault,
	// until the configuration or the world changes: the next plan must
	// then be empty.
	settled bool
	// touched lists users whose token the world changed since the last
	// apply that refreshed state.
	touched map[string]bool
	// judged lists refresh tokens found valid and untracked after a step
	// that named their user in a diagnostic, or that the user let go of;
	// they are not judged again until the sequence settles.
	judged map[string]bool
	// released lists the refresh tokens left valid and untracked that
	// count as accounted for even once settled: the user let go of them on
	// purpose (state rm, removed blocks), or a warning of the step that
	// left them named their user.
	released map[string]bool
	// judgedAccess lists the access tokens already judged.
	judgedAccess map[string]bool
	// registeredBefore counts, by user, the registrations the provider
	// asked for before the step.
	registeredBefore map[string]int
	// currentBefore holds, by user, Point's current refresh token before
	// the step.
	currentBefore map[string]string
	// moving is true from a switch between shapes until an apply does
	// it.
	moving bool
	// absent lists the users found in state but not in Point after a step
	// that named them; they are not judged again while that lasts.
	absent map[string]bool
	// warnedInState lists users a warning named while state held them.
	warnedInState map[string]bool
	// savedPlan is whether plan-out has written a plan for apply-saved.
	savedPlan bool
	// providerLogRead is how much of the provider's log was scanned, and
	// traceRead how much of Terraform's.
	providerLogRead, traceRead int64
	// providerLogRequests counts the provider's log lines about requests
	// to Point among what was scanned.
	providerLogRequests int
}

func newRun(w *world) *run {
	return &run{
		w:                w,
		cfg:              config{store: true, policy: "ABANDON"},
		touched:          map[string]bool{},
		judged:           map[string]bool{},
		released:         map[string]bool{},
		judgedAccess:     map[string]bool{},
		absent:           map[string]bool{},
		warnedInState:    map[string]bool{},
		registeredBefore: map[string]int{},
		currentBefore:    map[string]string{},
	}
}

func (r *run) violate(format string, args ...any) {
	r.violations = append(r.violations, r.where()+fmt.Sprintf(format, args...))
}

func (r *run) note(format string, args ...any) {
	r.trail = append(r.trail, r.where()+fmt.Sprintf(format, args...))
}

// where names the step being run, counting from 1 as a sequence prints.
func (r *run) where() string {
	if r.step < 0 {
		return "settling: "
	}
	return fmt.Sprintf("step %d: ", r.step+1)
}

func (r *run) view() view {
	v, err := readView(r.w.dir)
	if err != nil {
		r.w.t.Fatalf("reading state: %v", err)
	}
	return v
}

// do runs one step and checks the invariants after it.
func (r *run) do(s step) {
	before := r.view()
	r.snapshot()
	var res *result
	switch s.Do {
	case doApply:
		changed := r.writeConfig()
		res = r.cli(s, "apply", "-auto-approve")
		r.afterApply(s, res, changed, before)
	case doPlan:
		r.writeConfig()
		res = r.cli(s, withRefresh(s, "plan", "-detailed-exitcode")...)
		if r.settled && s.Fault == "" && res.code != 0 {
			r.violate("the plan after a successful apply, with nothing changed since, is not empty (exit %d)", res.code)
		}
	case doPlanOut:
		r.writeConfig()
		res = r.cli(s, withRefresh(s, "plan", "-out=saved.tfplan")...)
		r.savedPlan = res.code == 0
		if plan, err := os.ReadFile(filepath.Join(r.w.dir, "saved.tfplan")); err == nil {
			r.scanSecrets(func(sec secrets) []string { return sec.scanPlanFile("the saved plan", plan) })
		}
	case doApplySaved:
		if !r.savedPlan {
			r.note("no saved plan to apply")
			break
		}
		// A saved plan applies what its own refresh found: a change the
		// world made since stays for the next refresh to find.
		res = r.cli(s, "apply", "saved.tfplan")
		r.savedPlan = false
		r.settled = false
	case doRefreshOnly:
		r.writeConfig()
		res = r.cli(s, "apply", "-refresh-only", "-auto-approve")
		if res.code == 0 {
			clear(r.touched)
		}
		r.settled = false
	case doDestroy:
		r.writeConfig()
		res = r.cli(s, withRefresh(s, "destroy", "-auto-approve")...)
		r.settled = false
	case doStateRm:
		res = r.stateRm(s, before)
	case doImport:
		res = r.doImport(s, before)
	case doAddUser:
		r.cfg.addUser(s.User)
		r.settled = false
	case doRemoveUser:
		r.cfg.removeUser(s.User)
		r.settled = false
	case doStoreToken:
		r.cfg.store = s.Arg == "true"
		r.settled = false
	case doRotateAfter:
		r.cfg.rotateAfter = s.Arg
		r.settled = false
	case doTrigger:
		r.cfg.generation++
		r.settled = false
	case doPolicy:
		r.cfg.policy = s.Arg
		r.settled = false
	case doShape:
		r.switchShape(s.Arg == "bulk", before)
	case doReorder:
		r.cfg.reversed = !r.cfg.reversed
		r.settled = false
	case doConsumer:
		r.cfg.consumer = s.Arg == "on"
		r.settled = false
	case doRevokeNow:
		res = r.revokeNow(s)
	case doRegisterElse:
		if !r.w.point.HasUser(s.User) {
			if tok := r.w.point.AddUser(s.User); tok != "" {
				r.w.worldTokens[tok] = true
			}
			r.touched[s.User] = true
			r.settled = false
		}
	case doDialect:
		d, err := sandbox.DialectNamed(s.Arg)
		if err != nil {
			r.w.t.Fatalf("step %v: %v", s, err)
		}
		// How Point spells its answers changes nothing in Point: a plan
		// that was empty stays empty.
		r.w.point.SetDialect(d)
	case doRotateElsewhere:
		if tok, ok := r.w.point.RotateRefreshToken(s.User); ok {
			r.w.worldTokens[tok] = true
			r.touched[s.User] = true
			r.settled = false
		}
	case doRevokeElsewhere:
		if r.w.point.RevokeRefreshToken(s.User) {
			r.touched[s.User] = true
			r.settled = false
		}
	case doClock:
		d, err := time.ParseDuration(s.Arg)
		if err != nil {
			r.w.t.Fatalf("step %v: %v", s, err)
		}
		r.w.clock.Advance(d)
		r.settled = false
	default:
		r.w.t.Fatalf("unknown step %v", s)
	}
	r.check(s, res, before)
}

// switchShape moves to the bulk resources or back as the guide says:
// removed blocks forget the old resources, and import blocks adopt the
// same users and tokens, in the next apply.
func (r *run) switchShape(bulk bool, before view) {
	if r.cfg.bulk == bulk {
		return
	}
	r.cfg.bulk = bulk
	r.settled = false
	old := []string{"point_user.u", "point_refresh_token.u"}
	if !bulk {
		old = []string{usersAddr, tokensAddr}
	}
	r.cfg.removed = nil
	for _, from := range old {
		for _, addr := range before.addrs {
			if addr == from || strings.HasPrefix(addr, from+"[") {
				r.cfg.removed = append(r.cfg.removed, from)
				break
			}
		}
	}
	r.moving = len(r.cfg.removed) > 0
}

// withRefresh adds -refresh=false to args when the step's Arg is
// "no-refresh".
func withRefresh(s step, args ...string) []string {
	if s.Arg == "no-refresh" {
		return append(args, "-refresh=false")
	}
	return args
}

// releaseRemoved marks as let go of on purpose the tokens that removed
// blocks forgot, in an apply that succeeded, and that no import brought
// back: those their token resource tracked, and the current token of a
// user forgotten whose token no resource managed.
func (r *run) releaseRemoved(before view) {
	if len(r.cfg.removed) == 0 {
		return
	}
	after := r.view()
	for id, addr := range before.userAddrs {
		_, managed := before.tokens[id]
		for _, from := range r.cfg.removed {
			if managed || addr != from && !strings.HasPrefix(addr, from+"[") {
				continue
			}
			if cur, ok := r.w.point.CurrentRefreshToken(id); ok && !after.tokens[id].tracks(cur) {
				r.judged[cur], r.released[cur] = true, true
			}
		}
	}
	for id, tr := range before.tokens {
		for _, from := range r.cfg.removed {
			if tr.addr != from && !strings.HasPrefix(tr.addr, from+"[") {
				continue
			}
			if cur, ok := r.w.point.CurrentRefreshToken(id); ok && !after.tokens[id].tracks(cur) {
				r.judged[cur], r.released[cur] = true, true
			}
		}
	}
}

// snapshot records what the checks after a step compare with.
func (r *run) snapshot() {
	for _, id := range userPool {
		r.registeredBefore[id] = r.registrations(id)
		r.currentBefore[id], _ = r.w.point.CurrentRefreshToken(id)
	}
}

// writeConfig writes main.tf and reports whether it changed. While moving
// between shapes, it imports what state lacks and Point holds.
func (r *run) writeConfig() bool {
	if r.moving {
		r.cfg.imports = r.importables(r.view(), false)
	}
	text := r.cfg.render(r.w.front.url)
	old, _ := os.ReadFile(filepath.Join(r.w.dir, "main.tf"))
	r.w.writeFile("main.tf", text)
	return string(old) != text
}

// afterApply updates what the invariants remember after an apply.
func (r *run) afterApply(s step, res *result, configChanged bool, before view) {
	if res.code == 0 {
		r.releaseRemoved(before)
	}
	ui := parseUI(res.out)
	if r.settled && !configChanged && s.Fault == "" && res.code == 0 && ui.changes != nil &&
		ui.changes.Add+ui.changes.Change+ui.changes.Remove+ui.changes.Import > 0 {
		r.violate("the apply after a successful apply, with nothing changed since, changed something: %+v", *ui.changes)
	}
	// A move between shapes that failed is tried again by the next apply,
	// with the same removed blocks, as the guide says.
	r.cfg.imports = nil
	if res.code == 0 {
		r.cfg.removed, r.moving = nil, false
	}
	r.settled = res.code == 0 && s.Fault == "" && !res.interrupted
	if res.code == 0 {
		clear(r.touched)
	}
}

// cli runs terraform with the step's fault in place, then checks what it
// wrote for secrets and for a bulk resource planned for replacement.
func (r *run) cli(s step, args ...string) *result {
	w := r.w
	machineReadable := args[0] == "plan" || args[0] == "apply" || args[0] == "destroy"
	// Flags go before the arguments that are not flags.
	verb := 1
	if args[0] == "state" {
		verb = 2
	}
	full := append(slices.Clone(args[:verb]), "-no-color")
	if args[0] != "state" {
		full = append(full, "-input=false")
	}
	if machineReadable {
		full = append(full, "-json")
	}
	full = append(full, args[verb:]...)
	inStateBefore := r.view().addrs
	r.startFault(s)
	var interrupt func() bool
	if s.Fault == faultSIGINT {
		from := w.front.writeCount()
		interrupt = func() bool { return w.front.writeCount() >= from+s.N }
	}
	res := w.terraform(interrupt, full...)
	r.endFault()
	interrupted := ""
	if res.interrupted {
		interrupted = " (interrupted)"
	}
	r.note("terraform %s: exit %d%s%s", strings.Join(args, " "), res.code, interrupted, summarize(res.out, machineReadable))
	r.outputs = append(r.outputs, res.out)
	if *flagOutput {
		r.trail = append(r.trail, res.out)
	}
	r.scanSecrets(func(sec secrets) []string {
		return sec.scanText("the output of terraform "+args[0], []byte(res.out), true)
	})
	r.scanSecrets(func(sec secrets) []string {
		return sec.scanText("the TRACE log of terraform "+args[0], res.trace, true)
	})
	r.traceRead += int64(len(res.trace))
	if machineReadable {
		for addr, action := range parseUI(res.out).actions {
			if (addr == usersAddr || addr == tokensAddr) && (action == "replace" || action == "create" && slices.Contains(inStateBefore, addr)) {
				r.violate("terraform %s plans to %s %s", args[0], action, addr)
			}
		}
	}
	return &res
}

func (r *run) startFault(s step) {
	switch s.Fault {
	case "":
	case fault503:
		r.w.point.SetFaults(sandbox.Faults{FailureRate: float64(s.N) / 100, Seed: int64(r.step + 1)})
	case fault429:
		r.w.point.SetFaults(sandbox.Faults{RateLimitEvery: s.N, RetryAfter: "0"})
	case faultLatency:
		r.w.point.SetFaults(sandbox.Faults{Latency: time.Duration(s.N) * time.Millisecond})
	case faultDrop, fault502, fault503Lost, faultSlow:
		r.w.front.lose(s.N, s.Fault)
	case fault404HTML, fault404JSON, fault404Revocations:
		r.w.front.answerNotFound(strings.TrimPrefix(s.Fault, "404-"))
	case faultSIGINT:
		// Answers come back late, so that the interrupt lands while
		// requests are under way and some answers are lost.
		r.w.front.slowAnswers(150 * time.Millisecond)
	default:
		r.w.t.Fatalf("unknown fault in %v", s)
	}
}

func (r *run) endFault() {
	r.w.point.SetFaults(sandbox.Faults{})
	r.w.front.calm()
}

// stateRm forgets User's resources, or the bulk resource named by Arg.
func (r *run) stateRm(s step, before view) *result {
	var addrs []string
	switch {
	case s.Arg == "users" && before.hasAddr(usersAddr):
		addrs = []string{usersAddr}
	case s.Arg == "tokens" && before.hasAddr(tokensAddr):
		addrs = []string{tokensAddr}
	case s.Arg == "" && s.User != "":
		for _, a := range []string{userAddr(s.User), tokenAddr(s.User)} {
			if before.hasAddr(a) {
				addrs = append(addrs, a)
			}
		}
	}
	if len(addrs) == 0 {
		r.note("nothing to forget")
		return nil
	}
	// The user lets go, on purpose, of the tokens forgotten, and of the
	// token that came with the registration of a user forgotten whose
	// token no resource manages.
	for id, addr := range before.userAddrs {
		_, managed := before.tokens[id]
		if cur, ok := r.w.point.CurrentRefreshToken(id); ok && !managed && slices.Contains(addrs, addr) {
			r.judged[cur], r.released[cur] = true, true
		}
	}
	for id, tr := range before.tokens {
		if cur, ok := r.w.point.CurrentRefreshToken(id); ok && slices.Contains(addrs, tr.addr) {
			r.judged[cur], r.released[cur] = true, true
		}
	}
	r.settled = false
	return r.cli(s, append([]string{"state", "rm"}, addrs...)...)
}

// importables returns, for each shape, the import blocks that bring under
// Terraform what configuration has, state lacks and Point holds.
func (r *run) importables(v view, byIdentity bool) []importBlock {
	var blocks []importBlock
	hasToken := func(id string) bool { _, ok := r.w.point.CurrentRefreshToken(id); return ok }
	tokenID := func(id string) string {
		if r.cfg.store {
			return id
		}
		return id + "/store_token=false"
	}
	if r.cfg.bulk {
		var users, tokens []string
		for _, id := range r.cfg.users {
			if r.w.point.HasUser(id) {
				users = append(users, id)
				if hasToken(id) {
					tokens = append(tokens, id)
				}
			}
		}
		if len(users) > 0 && !v.hasAddr(usersAddr) {
			blocks = append(blocks, importBlock{to: usersAddr, id: strings.Join(users, ",")})
		}
		if len(tokens) > 0 && !v.hasAddr(tokensAddr) {
			id := strings.Join(tokens, ",")
			if !r.cfg.store {
				id += "/store_token=false"
			}
			blocks = append(blocks, importBlock{to: tokensAddr, id: id})
		}
		return blocks
	}
	for _, id := range r.cfg.users {
		if !r.w.point.HasUser(id) {
			continue
		}
		if !v.hasAddr(userAddr(id)) {
			b := importBlock{to: userAddr(id), id: id}
			if byIdentity {
				b = importBlock{to: userAddr(id), identity: id}
			}
			blocks = append(blocks, b)
		}
		if !v.hasAddr(tokenAddr(id)) && hasToken(id) {
			b := importBlock{to: tokenAddr(id), id: tokenID(id)}
			if byIdentity {
				b = importBlock{to: tokenAddr(id), identity: id}
			}
			blocks = append(blocks, b)
		}
	}
	return blocks
}

// doImport imports what configuration has, state lacks and Point holds:
// with terraform import (Arg "cli"), or with import blocks applied (Arg
// "block", or "identity" for import by identity).
func (r *run) doImport(s step, before view) *result {
	byIdentity := s.Arg == "identity" && !r.cfg.bulk
	if byIdentity && !r.w.cli.AtLeast(identityVersion) {
		r.note("import by identity needs %s or later; imported by id", identityVersion)
		byIdentity = false
	}
	blocks := r.importables(before, byIdentity)
	if len(blocks) == 0 {
		r.note("nothing to import")
		return nil
	}
	if s.Arg != "cli" {
		r.cfg.imports = blocks
		changed := r.writeConfig()
		res := r.cli(s, "apply", "-auto-approve")
		r.afterApply(s, res, changed, before)
		return res
	}
	r.writeConfig()
	var last *result
	for _, b := range blocks {
		last = r.cli(s, "import", b.to, b.id)
		if last.code != 0 {
			break
		}
	}
	r.settled = false
	return last
}

// uiOutput is what the campaign reads of terraform's machine-readable
// output.
type uiOutput struct {
	diagnostics []string
	actions     map[string]string
	changes     *changeSummary
}

type changeSummary struct {
	Add, Change, Remove, Import int
}

func parseUI(out string) uiOutput {
	ui := uiOutput{actions: map[string]string{}}
	for line := range strings.Lines(out) {
		var m struct {
			Type       string `json:"type"`
			Diagnostic *struct {
				Severity, Summary, Detail, Address string
			} `json:"diagnostic"`
			Change *struct {
				Resource struct {
					Addr string `json:"addr"`
				} `json:"resource"`
				Action string `json:"action"`
			} `json:"change"`
			Changes *changeSummary `json:"changes"`
		}
		if json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		switch {
		case m.Type == "diagnostic" && m.Diagnostic != nil:
			d := m.Diagnostic
			ui.diagnostics = append(ui.diagnostics, d.Severity+": "+d.Summary+" ("+d.Address+"): "+d.Detail)
		case m.Type == "planned_change" && m.Change != nil:
			ui.actions[m.Change.Resource.Addr] = m.Change.Action
		case m.Type == "change_summary" && m.Changes != nil:
			ui.changes = m.Changes
		}
	}
	return ui
}

// names reports whether a diagnostic of the step named the user. The
// output of commands without machine-readable output counts as a whole.
func (res *result) names(userID string) bool {
	if res == nil {
		return false
	}
	ui := parseUI(res.out)
	if len(ui.diagnostics) == 0 && !strings.HasPrefix(strings.TrimSpace(res.out), "{") {
		return strings.Contains(res.out, userID)
	}
	for _, d := range ui.diagnostics {
		if strings.Contains(d, userID) {
			return true
		}
	}
	return false
}

// warns reports whether a warning of the step named the user.
func (res *result) warns(userID string) bool {
	if res == nil {
		return false
	}
	for _, d := range parseUI(res.out).diagnostics {
		if strings.HasPrefix(d, "warning: ") && strings.Contains(d, userID) {
			return true
		}
	}
	return false
}

// summarize returns the diagnostics' summaries of an output, for the trail.
func summarize(out string, machineReadable bool) string {
	if !machineReadable {
		return ""
	}
	var parts []string
	for _, d := range parseUI(out).diagnostics {
		summary, _, _ := strings.Cut(d, " (")
		parts = append(parts, summary)
	}
	if len(parts) == 0 {
		return ""
	}
	// Resources that Terraform walks side by side report in any order.
	slices.Sort(parts)
	return "; " + strings.Join(parts, "; ")
}

// revokeNow invokes the point_revoke_refresh_token action for User, as in
// the incident runbook.
func (r *run) revokeNow(s step) *result {
	if !r.w.cli.AtLeast(actionsVersion) || r.w.cli.OpenTofu() {
		r.note("actions need Terraform %s or later; nothing invoked", actionsVersion)
		return nil
	}
	r.cfg.action = s.User
	r.writeConfig()
	res := r.cli(s, "apply", "-auto-approve", "-invoke=action.point_revoke_refresh_token.now")
	r.cfg.action = ""
	// The invoke revokes the token and, by design, leaves state alone:
	// the next refresh finds the token revoked, as if the world had.
	r.touched[s.User] = true
	r.settled = false
	return res
}
