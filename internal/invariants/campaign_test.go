package invariants

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/areyoupoint/terraform-provider-point/internal/devenv"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// The campaign's settings, as flags or, for make, environment variables.
var (
	flagSequences  = flag.Int("invariants.sequences", envInt("INVARIANTS_SEQUENCES", 0), "how many random sequences the campaign runs (make invariants)")
	flagSeed       = flag.Uint64("invariants.seed", uint64(envInt("INVARIANTS_SEED", 0)), "the campaign's seed; 0 picks one")
	flagSequence   = flag.Int("invariants.sequence", envInt("INVARIANTS_SEQUENCE", -1), "run only this sequence of the seed")
	flagShrinkTime = flag.Duration("invariants.shrinktime", 3*time.Minute, "how long to spend shrinking a failing sequence")
	flagFaultRate  = flag.Float64("invariants.faultrate", 1.0/3, "the share of steps that run the CLI under a fault")
	flagOutput     = flag.Bool("invariants.output", false, "add the output of every command to what the steps did")
	flagVerbose    = flag.Bool("invariants.v", os.Getenv("INVARIANTS_VERBOSE") != "", "log every sequence and what its steps did")
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// providerLogMask names the provider's log file of each run.
var providerLogMask string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "point-invariants-logs-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The provider served in this process logs at TRACE into a file per
	// run, which the invariants scan for secrets; the sink reads these
	// when each provider server starts.
	providerLogMask = filepath.Join(dir, "provider-%s.log")
	os.Setenv("TF_LOG", "TRACE")
	os.Setenv("TF_LOG_PATH_MASK", strings.ReplaceAll(dir, "%", "%%")+"/provider-%s.log")
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// sequence is what one run replays: the sandbox's dialect at the start,
// and the steps.
type sequence struct {
	Dialect string
	Steps   []step
}

func (s sequence) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sequence{Dialect: %q, Steps: []step{\n", s.Dialect)
	for _, st := range s.Steps {
		fmt.Fprintf(&b, "\t%v,\n", st)
	}
	b.WriteString("}}")
	return b.String()
}

// campaignCLI returns the CLI the campaign runs, or skips the test.
func campaignCLI(t *testing.T) devenv.CLI {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("the invariant campaign drives the Terraform CLI: set TF_ACC=1")
	}
	cli, err := devenv.FindCLI()
	if err != nil {
		t.Fatal(err)
	}
	return cli
}

// TestInvariants is the campaign: -invariants.sequences random sequences
// of -invariants.seed, side by side (go test -parallel), each in a world of
// its own.
func TestInvariants(t *testing.T) {
	if *flagSequences <= 0 && *flagSequence < 0 {
		t.Skip("the campaign runs with make invariants (INVARIANTS_SEQUENCES or -invariants.sequences); the fixed sequences of regressions_test.go run here")
	}
	cli := campaignCLI(t)
	seed := *flagSeed
	if seed == 0 {
		seed = rand.Uint64() % 1_000_000_000
	}
	first, last := 0, *flagSequences-1
	if *flagSequence >= 0 {
		first, last = *flagSequence, *flagSequence
	}
	var steps, failed, done atomic.Int64
	total := int64(last - first + 1)
	start := time.Now()
	notes := skippedKinds(cli)
	fmt.Printf("invariants: %s, seed %d, sequences %d..%d%s\n", cli, seed, first, last, notes)
	t.Cleanup(func() {
		fmt.Printf("invariants: seed %d: %d sequences, %d steps, %d failed, in %s\n",
			seed, last-first+1, steps.Load(), failed.Load(), time.Since(start).Round(time.Second))
	})
	for i := first; i <= last; i++ {
		t.Run(fmt.Sprintf("seq-%05d", i), func(t *testing.T) {
			t.Parallel()
			seq := generate(seed, i)
			steps.Add(int64(len(seq.Steps)))
			defer func() {
				if n := done.Add(1); total >= 200 && n%(total/10) == 0 {
					fmt.Printf("invariants: %d of %d sequences run, %d failed, %s\n", n, total, failed.Load(), time.Since(start).Round(time.Second))
				}
			}()
			name := fmt.Sprintf("s%d-q%d", seed, i)
			r := replaySequence(t, cli, seq, name)
			violations, trail := r.violations, r.trail
			if len(violations) == 0 {
				if !*flagVerbose {
					return
				}
				t.Logf("%v\n  %s", seq, strings.Join(trail, "\n  "))
				return
			}
			failed.Add(1)
			minimal, minViolations, minTrail := shrink(t, cli, seq, name)
			if minViolations == nil {
				minimal, minViolations, minTrail = seq, violations, trail
			}
			t.Errorf("sequence %d of seed %d broke the invariants; shrunk from %d steps to %d.\n\n"+
				"Violations:\n  %s\n\nWhat the steps did:\n  %s\n\n"+
				"To replay it: make invariants SEED=%d SEQUENCE=%d\n"+
				"As a regression test in internal/invariants/regressions_test.go:\n\n"+
				"func TestRegression_NAME(t *testing.T) {\n\treplay(t, %s)\n}\n",
				i, seed, len(seq.Steps), len(minimal.Steps),
				strings.Join(minViolations, "\n  "), strings.Join(minTrail, "\n  "),
				seed, i, strings.ReplaceAll(minimal.String(), "\n", "\n\t"))
		})
	}
}

// skippedKinds says which kinds of steps the CLI cannot take.
func skippedKinds(cli devenv.CLI) string {
	if cli.AtLeast(identityVersion) {
		return ""
	}
	return fmt.Sprintf("; %s cannot import by identity (%s or later), so import steps of that kind import by id", cli, identityVersion)
}

// replay runs a fixed sequence, as a regression test, and fails the test
// if it breaks an invariant, or if what the steps did (the commands, their
// exit status and the provider's diagnostics) and the commands' output
// lack one of expect: the sequence must still take the course it was
// written for.
func replay(t *testing.T, seq sequence, expect ...string) {
	t.Helper()
	cli := campaignCLI(t)
	t.Parallel()
	r := replaySequence(t, cli, seq, strings.ReplaceAll(t.Name(), "/", "_"))
	violations, trail := r.violations, r.trail
	did := strings.Join(trail, "\n  ")
	t.Logf("what the steps did:\n  %s", did)
	outputs := strings.Join(r.outputs, "\n")
	for _, e := range expect {
		if !strings.Contains(did, e) && !strings.Contains(outputs, e) {
			t.Errorf("what the steps did lacks %q", e)
		}
	}
	if len(violations) > 0 {
		t.Errorf("the sequence broke the invariants:\n  %s\n\nWhat the steps did:\n  %s", strings.Join(violations, "\n  "), strings.Join(trail, "\n  "))
	}
}

// attempts counts runs, so that every run's provider logs to a file of
// its own.
var attempts atomic.Int64

// replaySequence runs seq in a new world, settles it, and returns the run,
// with the invariants it broke and what each step did.
func replaySequence(t *testing.T, cli devenv.CLI, seq sequence, name string) *run {
	t.Helper()
	dialect := sandbox.Dialects[0]
	if seq.Dialect != "" {
		var err error
		if dialect, err = sandbox.DialectNamed(seq.Dialect); err != nil {
			t.Fatal(err)
		}
	}
	w := newWorld(t, cli, dialect, fmt.Sprintf("%s-a%d", name, attempts.Add(1)))
	defer w.close()
	r := newRun(w)
	for i, s := range seq.Steps {
		r.step = i
		r.do(s)
	}
	r.settle()
	return r
}

// shrink looks for a shorter sequence that still breaks an invariant, by
// leaving out ever smaller runs of steps, then the faults, within
// -invariants.shrinktime. It returns nil violations when it could not
// reproduce the failure at all.
func shrink(t *testing.T, cli devenv.CLI, seq sequence, name string) (sequence, []string, []string) {
	deadline := time.Now().Add(*flagShrinkTime)
	var bestViolations, bestTrail []string
	fails := func(cand sequence) bool {
		if time.Now().After(deadline) {
			return false
		}
		if r := replaySequence(t, cli, cand, name); len(r.violations) > 0 {
			bestViolations, bestTrail = r.violations, r.trail
			return true
		}
		return false
	}
	if !fails(seq) {
		return seq, nil, nil
	}
	best := seq
	for chunk := len(best.Steps) / 2; chunk >= 1; chunk /= 2 {
		for i := len(best.Steps) - chunk; i >= 0; i-- {
			if i+chunk > len(best.Steps) {
				continue
			}
			cand := best
			cand.Steps = append(append([]step{}, best.Steps[:i]...), best.Steps[i+chunk:]...)
			if fails(cand) {
				best = cand
			}
		}
	}
	for i := range best.Steps {
		if best.Steps[i].Fault == "" {
			continue
		}
		cand := best
		cand.Steps = append([]step{}, best.Steps...)
		cand.Steps[i].Fault, cand.Steps[i].N = "", 0
		if fails(cand) {
			best = cand
		}
	}
	return best, bestViolations, bestTrail
}

// generate returns sequence i of seed: a configuration to start from, an
// apply most of the time, then a few random steps.
func generate(seed uint64, i int) sequence {
	rng := rand.New(rand.NewPCG(seed, uint64(i)))
	seq := sequence{Dialect: sandbox.Dialects[i%len(sandbox.Dialects)].Name}
	if d := os.Getenv(sandbox.EnvDialect); d != "" {
		seq.Dialect = d
	}
	add := func(s step) { seq.Steps = append(seq.Steps, s) }
	pickUser := func() string { return userPool[rng.IntN(len(userPool))] }

	if rng.IntN(5) < 2 {
		add(step{Do: doShape, Arg: "bulk"})
	}
	add(step{Do: doAddUser, User: pickUser()})
	if rng.IntN(2) == 0 {
		add(step{Do: doAddUser, User: pickUser()})
	}
	if rng.IntN(3) == 0 {
		add(step{Do: doStoreToken, Arg: "false"})
	}
	if rng.IntN(3) == 0 {
		add(step{Do: doPolicy, Arg: pick(rng, "REVOKE", "PREVENT")})
	}
	if rng.IntN(3) == 0 {
		add(step{Do: doRotateAfter, Arg: "1h"})
	}
	if rng.IntN(5) < 4 {
		add(withFault(rng, step{Do: doApply}))
	}
	for range 5 + rng.IntN(6) {
		add(randomStep(rng, pickUser))
	}
	return seq
}

func pick(rng *rand.Rand, options ...string) string { return options[rng.IntN(len(options))] }

// stepWeights says how often each kind of step comes.
var stepWeights = []struct {
	do     string
	weight int
}{
	{doApply, 20}, {doPlan, 7}, {doPlanOut, 5}, {doApplySaved, 5}, {doRefreshOnly, 4},
	{doDestroy, 3}, {doStateRm, 3}, {doImport, 5},
	{doAddUser, 6}, {doRemoveUser, 4}, {doStoreToken, 3}, {doRotateAfter, 3}, {doTrigger, 4}, {doPolicy, 3},
	{doShape, 2}, {doReorder, 1}, {doConsumer, 2}, {doRevokeNow, 2},
	{doRotateElsewhere, 5}, {doRevokeElsewhere, 4}, {doClock, 4}, {doRegisterElse, 3}, {doDialect, 2},
}

func randomStep(rng *rand.Rand, pickUser func() string) step {
	total := 0
	for _, sw := range stepWeights {
		total += sw.weight
	}
	n := rng.IntN(total)
	var do string
	for _, sw := range stepWeights {
		if n < sw.weight {
			do = sw.do
			break
		}
		n -= sw.weight
	}
	s := step{Do: do}
	switch do {
	case doAddUser, doRemoveUser, doRotateElsewhere, doRevokeElsewhere, doRegisterElse, doRevokeNow:
		s.User = pickUser()
	case doShape:
		s.Arg = pick(rng, "bulk", "singular")
	case doConsumer:
		s.Arg = pick(rng, "on", "off")
	case doDialect:
		s.Arg = sandbox.Dialects[rng.IntN(len(sandbox.Dialects))].Name
	case doStateRm:
		if rng.IntN(2) == 0 {
			s.Arg = pick(rng, "users", "tokens")
		} else {
			s.User = pickUser()
		}
	case doImport:
		s.Arg = pick(rng, "cli", "block", "identity")
	case doStoreToken:
		s.Arg = pick(rng, "true", "false")
	case doRotateAfter:
		s.Arg = pick(rng, "", "1h", "2h")
	case doPolicy:
		s.Arg = pick(rng, "ABANDON", "REVOKE", "PREVENT")
	case doClock:
		s.Arg = pick(rng, "30m", "90m", "3h")
	case doPlan, doPlanOut, doDestroy:
		if rng.IntN(4) == 0 {
			s.Arg = "no-refresh"
		}
	}
	switch do {
	case doApply, doPlan, doPlanOut, doApplySaved, doRefreshOnly, doDestroy, doImport:
		s = withFault(rng, s)
	}
	return s
}

// withFault gives a step that runs the CLI a fault, one time in three
// unless -invariants.faultrate says otherwise.
func withFault(rng *rand.Rand, s step) step {
	if rng.Float64() >= *flagFaultRate {
		return s
	}
	switch rng.IntN(11) {
	case 0:
		s.Fault, s.N = fault503, 20+10*rng.IntN(4)
	case 1:
		s.Fault, s.N = fault429, 2+rng.IntN(3)
	case 2:
		s.Fault, s.N = faultLatency, 10+10*rng.IntN(3)
	case 3:
		s.Fault, s.N = faultDrop, 1+rng.IntN(2)
	case 4:
		s.Fault, s.N = fault502, 1+rng.IntN(2)
	case 5:
		s.Fault, s.N = faultSlow, 1
	case 6:
		s.Fault = fault404HTML
	case 7:
		s.Fault = fault404JSON
	case 8:
		s.Fault, s.N = fault503Lost, 1+rng.IntN(2)
	case 9:
		s.Fault = fault404Revocations
	default:
		s.Fault, s.N = faultSIGINT, 1+rng.IntN(3)
	}
	return s
}
