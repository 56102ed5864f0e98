package invariants

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/devenv"
	"github.com/areyoupoint/terraform-provider-point/internal/provider"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// campaignStart is where every sequence's clock starts.
var campaignStart = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// world is everything one run of a sequence acts on: Point (a sandbox of
// its own, behind a front that records and loses answers), the clock that
// the sandbox and the provider share, the provider served from the test
// process, and a working directory for the CLI.
type world struct {
	t      *testing.T
	dir    string
	clock  *sandbox.ManualClock
	point  *sandbox.Server
	front  *front
	cli    devenv.CLI
	env    []string
	logDir string
	// commands counts the CLI commands run, which names their logs.
	commands int
	// providerLog is the file the provider served for this run logs into.
	providerLog string
	// worldTokens are the refresh tokens that the world's own steps got
	// from Point, which are as secret as the provider's.
	worldTokens map[string]bool
	// cleanups run when the run ends, last first.
	cleanups []func()
}

// close stops the provider and Point and removes the run's files.
func (w *world) close() {
	for i := len(w.cleanups) - 1; i >= 0; i-- {
		w.cleanups[i]()
	}
	w.cleanups = nil
}

// newWorld starts Point and the provider for one run of a sequence.
func newWorld(t *testing.T, cli devenv.CLI, dialect sandbox.Dialect, runName string) *world {
	t.Helper()
	// Not t.TempDir: a test that shrinks a sequence replays it many
	// times, and each run's files go when the run ends.
	root, err := os.MkdirTemp("", "point-invariants-") //nolint:usetesting
	if err != nil {
		t.Fatal(err)
	}
	w := &world{
		t:           t,
		dir:         filepath.Join(root, "work"),
		logDir:      filepath.Join(root, "logs"),
		clock:       sandbox.NewManualClock(campaignStart),
		cli:         cli,
		worldTokens: map[string]bool{},
	}
	w.cleanups = append(w.cleanups, func() { _ = os.RemoveAll(root) })
	for _, d := range []string{w.dir, w.logDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	w.point = sandbox.New(sandbox.Options{APIKey: campaignAPIKey, Now: w.clock.Now, Dialect: dialect})
	w.front = newFront(w.point)
	server := httptest.NewServer(w.front)
	w.cleanups = append(w.cleanups, server.Close)
	w.front.url = server.URL

	reattach := w.serveProvider(runName)
	cliConfig := filepath.Join(root, "terraformrc")
	if err := os.WriteFile(cliConfig, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// The CLI's collector runs only when its heap nears the limit: each
	// command is short-lived, and collecting cost it a sixth of its time.
	w.env = append(devenv.Environ(cliConfig), "TF_REATTACH_PROVIDERS="+reattach, "TF_LOG=TRACE", "GOGC=off", "GOMEMLIMIT=512MiB")
	return w
}

// namedT names the provider's log file after the run rather than the test.
type namedT struct {
	*testing.T
	name string
}

func (n namedT) Name() string { return n.name }

// serveProvider serves the provider in this process, with the world's
// clock and short waits between retries, and returns the
// TF_REATTACH_PROVIDERS value that makes the CLI use it.
func (w *world) serveProvider(runName string) string {
	t := w.t
	newProvider := provider.NewForHarness("invariants", w.clock.Now, 5*time.Millisecond, 40*time.Millisecond)
	w.providerLog = fmt.Sprintf(providerLogMask, runName)
	factories := map[string]func() (tfprotov6.ProviderServer, error){"point": providerserver.NewProtocol6WithError(newProvider())}
	reattach, stop := acctest.ServeProviders(t, factories, w.cli.OpenTofu(), tf6server.WithLoggingSink(namedT{T: t, name: runName}))
	w.cleanups = append(w.cleanups, func() {
		stop()
		_ = os.Remove(w.providerLog)
	})
	return reattach
}

// result is what one CLI command left: its output, exit status and the
// TRACE log Terraform wrote.
type result struct {
	args        []string
	out         string
	code        int
	interrupted bool
	trace       []byte
}

// terraform runs the CLI in the world's working directory. When interrupt
// is not nil, a SIGINT goes to the CLI as soon as interrupt reports true.
func (w *world) terraform(interrupt func() bool, args ...string) result {
	w.t.Helper()
	w.commands++
	tracePath := filepath.Join(w.logDir, fmt.Sprintf("cmd-%03d.log", w.commands))
	cmd := exec.Command(w.cli.Path, args...)
	cmd.Dir = w.dir
	cmd.Env = append(w.env, "TF_LOG_PATH="+tracePath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	done := make(chan struct{})
	interrupted := false
	var wg sync.WaitGroup
	if interrupt != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				case <-time.After(2 * time.Millisecond):
				}
				if interrupt() {
					interrupted = cmd.Process.Signal(os.Interrupt) == nil
					return
				}
			}
		}()
	}
	timer := time.AfterFunc(3*time.Minute, func() { _ = cmd.Process.Kill() })
	err := cmd.Wait()
	timer.Stop()
	close(done)
	wg.Wait()
	r := result{args: args, out: out.String(), interrupted: interrupted}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		r.code = exitErr.ExitCode()
	case err != nil:
		w.t.Fatalf("terraform %s: %v", strings.Join(args, " "), err)
	}
	r.trace, _ = os.ReadFile(tracePath)
	_ = os.Remove(tracePath)
	return r
}

// writeFile writes a file of the working directory.
func (w *world) writeFile(name, text string) {
	w.t.Helper()
	if err := os.WriteFile(filepath.Join(w.dir, name), []byte(text), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// front stands before the sandbox as a proxy would: it records every
// token in Point's answers, and loses or replaces answers when a step asks
// it to.
type front struct {
	next http.Handler
	url  string

	mu sync.Mutex
	// issued maps each refresh token that Point issued at the provider's
	// request (creating a user, issuing a token) to its user, whether or
	// not the answer reached the provider.
	issued map[string]string
	// atRegistration lists the tokens of issued that came with a user's
	// registration, and registered the users the provider registered.
	atRegistration map[string]bool
	registered     map[string]int
	// access holds every access token Point issued.
	access map[string]string
	// writes counts requests that change something in Point.
	writes int
	// loseWrites loses the answers to that many requests that change
	// something, once Point has acted on them.
	loseWrites int
	// loseAs says how, as a fault: faultDrop closes the connection,
	// fault502 and fault503Lost answer as a gateway that lost Point's
	// answer, faultSlow answers after the client gave up.
	loseAs string
	// notFound answers API requests with a proxy's 404 of this kind
	// without passing them on: every request with an HTML page ("html")
	// or a JSON object ("json"), or with a JSON object the revocations of
	// refresh tokens alone ("revocations").
	notFound string
	// slowWrites delays answers to requests that change something, after
	// Point acted on them.
	slowWrites time.Duration
}

func newFront(next http.Handler) *front {
	return &front{
		next: next, issued: map[string]string{}, access: map[string]string{},
		atRegistration: map[string]bool{}, registered: map[string]int{},
	}
}

// calm ends whatever a step asked of the front.
func (f *front) calm() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loseWrites, f.loseAs, f.notFound, f.slowWrites = 0, "", "", 0
}

// lose makes the front lose the answers to the next n requests that change
// something, as the fault how says (faultDrop, fault502, fault503Lost or
// faultSlow).
func (f *front) lose(n int, how string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loseWrites, f.loseAs = n, how
}

// answerNotFound makes the front answer API requests with a proxy's 404 of
// the kind given (see notFound).
func (f *front) answerNotFound(kind string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notFound = kind
}

// slowAnswers delays the answers to requests that change something.
func (f *front) slowAnswers(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.slowWrites = d
}

func (f *front) writeCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route := sandbox.RouteOf(r)
	f.mu.Lock()
	notFound := f.notFound
	f.mu.Unlock()
	if notFound == "revocations" && route != sandbox.RouteRevokeRefreshToken {
		notFound = ""
	}
	if notFound != "" && route != "" {
		if notFound == "html" {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, "<html><body><h1>404 Not Found</h1></body></html>")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":"not_found","message":"no such route"}`)
		return
	}
	rec := httptest.NewRecorder()
	f.next.ServeHTTP(rec, r)
	write := r.Method == http.MethodPost || r.Method == http.MethodDelete
	body := rec.Body.Bytes()
	userID := acctest.UserIDOfPath(r.URL.Path)

	f.mu.Lock()
	if rec.Code < 300 {
		switch route {
		case sandbox.RouteCreateUser, sandbox.RouteIssueRefreshToken:
			for _, tok := range acctest.RefreshTokenShape.FindAll(body, -1) {
				f.issued[string(tok)] = userID
				if route == sandbox.RouteCreateUser {
					f.atRegistration[string(tok)] = true
					f.registered[userID]++
				}
			}
		case sandbox.RouteIssueAccessToken:
			for _, tok := range acctest.JwtShape.FindAll(body, -1) {
				f.access[string(tok)] = userID
			}
		}
	}
	lose, slow := false, time.Duration(0)
	if write && route != sandbox.RouteRevokeAccessToken {
		f.writes++
		if f.loseWrites > 0 && r.Context().Err() == nil {
			f.loseWrites--
			lose = true
		}
		slow = f.slowWrites
	}
	loseAs := f.loseAs
	f.mu.Unlock()

	if lose {
		switch loseAs {
		case faultSlow:
			// Point's answer comes after the client gave up.
			select {
			case <-time.After(requestTimeout + 500*time.Millisecond):
			case <-r.Context().Done():
			}
			panic(http.ErrAbortHandler)
		case fault502, fault503Lost:
			status := http.StatusBadGateway
			if loseAs == fault503Lost {
				status = http.StatusServiceUnavailable
			}
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(status)
			_, _ = fmt.Fprintf(w, "<html><body>%d %s</body></html>", status, http.StatusText(status))
			return
		}
		panic(http.ErrAbortHandler)
	}
	if slow > 0 {
		select {
		case <-time.After(slow):
		case <-r.Context().Done():
			return
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}
