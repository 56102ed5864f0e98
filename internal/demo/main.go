// Command demo runs the quickstart configuration (examples/quickstart) with
// the locally built provider against an in-process sandbox: apply, a plan
// that must be empty, a rotation of every refresh token, and destroy. It
// streams the output of Terraform (or OpenTofu), then prints what the
// sandbox saw and checks it. No Point account, network or `terraform init`
// is needed.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/areyoupoint/terraform-provider-point/internal/devenv"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

const (
	// existingUserID is registered in the sandbox before the first apply,
	// as if by an app, for the quickstart's import blocks to adopt.
	existingUserID  = "org-user-0042"
	existingUserKey = "legacy-01"
	receiptFile     = "consumer-receipt.txt"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := 0
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "\ndemo failed: %v\n", err)
		code = 1
	}
	stop()
	os.Exit(code)
}

type demo struct {
	out       io.Writer
	terraform string
	// product is "Terraform" or "OpenTofu", command "terraform" or "tofu".
	product, command string
	dir              string
	env              []string
	box              *sandbox.Server
	// transcript collects Terraform's output, to check that no secret shows in it.
	transcript bytes.Buffer
	checks     []check
	// existingToken is the refresh token of the user registered beforehand.
	existingToken string
	// userIDs are the users Point holds after the first apply.
	userIDs []string
	// secrets are every key and token seen so far, none of which may show.
	secrets []string
}

type check struct {
	ok   bool
	text string
}

func (d *demo) expect(ok bool, format string, args ...any) {
	d.checks = append(d.checks, check{ok: ok, text: fmt.Sprintf(format, args...)})
}

func run(ctx context.Context, out io.Writer) (err error) {
	start := time.Now()
	d, cleanup, err := setUp(out)
	defer cleanup()
	if err != nil {
		return err
	}
	defer func() {
		d.checkNoSecretsShown()
		d.printAccount(time.Since(start))
		if err == nil {
			err = d.failedChecks()
		}
	}()
	for _, step := range []func(context.Context) error{d.apply, d.planNothing, d.rotate, d.destroy} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// setUp builds the provider, starts the sandbox with one user registered
// beforehand, and copies the quickstart configuration into a working
// directory that cleanup removes.
func setUp(out io.Writer) (d *demo, cleanup func(), err error) {
	cleanup = func() {}
	cli, err := devenv.FindCLI()
	if err != nil {
		return nil, cleanup, err
	}
	root, err := devenv.ModuleRoot()
	if err != nil {
		return nil, cleanup, err
	}
	work, err := os.MkdirTemp("", "point-demo-")
	if err != nil {
		return nil, cleanup, err
	}
	cleanup = func() { _ = os.RemoveAll(work) }

	fmt.Fprintln(out, "Building the provider...")
	pluginDir := filepath.Join(work, "plugins")
	if _, err := devenv.BuildProvider(pluginDir); err != nil {
		return nil, cleanup, err
	}
	cliConfig := filepath.Join(work, "terraformrc")
	if err := devenv.WriteCLIConfig(cliConfig, pluginDir); err != nil {
		return nil, cleanup, err
	}

	box := sandbox.New(sandbox.Options{})
	endpoint, closeBox := box.Start()
	cleanup = func() { closeBox(); _ = os.RemoveAll(work) }
	existingToken := box.AddUser(existingUserID)

	dir := filepath.Join(work, "quickstart")
	if err := copyConfig(filepath.Join(root, "examples", "quickstart"), dir); err != nil {
		return nil, cleanup, err
	}
	tfvars := fmt.Sprintf("existing_users = {\n  %q = %q\n}\n", existingUserKey, existingUserID)
	if err := os.WriteFile(filepath.Join(dir, "existing.auto.tfvars"), []byte(tfvars), 0o600); err != nil {
		return nil, cleanup, err
	}

	d = &demo{
		out:           out,
		terraform:     cli.Path,
		product:       cli.Product(),
		command:       cli.Name,
		dir:           dir,
		env:           append(devenv.Environ(cliConfig), "POINT_ENDPOINT="+endpoint, "POINT_API_KEY="+box.APIKey()),
		box:           box,
		existingToken: existingToken,
		secrets:       []string{box.APIKey(), existingToken},
	}
	fmt.Fprintf(out, "Sandbox at %s; %s registered beforehand, for the import blocks to adopt.\n", endpoint, existingUserID)
	fmt.Fprintf(out, "Running examples/quickstart in a copy at %s\n", dir)
	fmt.Fprintf(out, "Running %s (%s).\n", cli, cli.Path)
	fmt.Fprintf(out, "%s warns that provider development overrides are in effect: that is how it runs the provider just built, without %s init.\n", d.product, d.command)
	return d, cleanup, nil
}

// apply registers the users, adopts the existing one, issues refresh
// tokens, and hands an access token to the consumer.
func (d *demo) apply(ctx context.Context) error {
	if err := d.terraformStep(ctx, "apply", "apply", "-auto-approve"); err != nil {
		return err
	}
	d.userIDs = d.box.UserIDs()
	managed, err := d.outputUserIDs()
	if err != nil {
		return err
	}
	d.expect(slices.Equal(managed, d.userIDs) && slices.Contains(managed, existingUserID),
		"apply registered %d users and adopted %s; Point holds exactly the users in the user_ids output", len(managed)-1, existingUserID)
	current, _ := d.box.CurrentRefreshToken(existingUserID)
	d.expect(current == d.existingToken, "the adopted user's refresh token was imported, not replaced")
	d.checkReceipt("apply")
	d.checkStateHasNoAccessToken("apply")
	d.secrets = append(d.secrets, d.currentTokens()...)
	return nil
}

// planNothing plans again: nothing changed, so the plan must be empty.
func (d *demo) planNothing(ctx context.Context) error {
	if err := d.terraformStep(ctx, "plan", "plan", "-detailed-exitcode"); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) && exitErr.ExitCode() == 2 {
			d.expect(false, "the plan right after apply is empty")
			return errors.New("the plan right after apply is not empty: the provider planned changes that nothing asked for (see the plan above)")
		}
		return err
	}
	d.expect(true, "the plan right after apply is empty")
	return nil
}

// rotate rotates every refresh token on demand.
func (d *demo) rotate(ctx context.Context) error {
	before := map[string]string{}
	for _, id := range d.userIDs {
		before[id], _ = d.box.CurrentRefreshToken(id)
	}
	revokedBefore := d.box.RefreshTokensRevoked()
	if err := os.Remove(filepath.Join(d.dir, receiptFile)); err != nil {
		return err
	}
	if err := d.terraformStep(ctx, "rotate", "apply", "-auto-approve", "-var", "rotation_generation=2"); err != nil {
		return err
	}
	rotated := 0
	for _, id := range d.userIDs {
		if now, ok := d.box.CurrentRefreshToken(id); ok && now != before[id] {
			rotated++
		}
	}
	d.expect(rotated == len(d.userIDs), "rotation gave every user a new refresh token (%d of %d)", rotated, len(d.userIDs))
	revoked := d.box.RefreshTokensRevoked() - revokedBefore
	d.expect(revoked == len(d.userIDs), "rotation revoked every previous refresh token (%d of %d)", revoked, len(d.userIDs))
	d.checkReceipt("rotation")
	d.checkStateHasNoAccessToken("rotation")
	return nil
}

// destroy: Point cannot delete users, so only their refresh tokens are revoked.
func (d *demo) destroy(ctx context.Context) error {
	if err := d.terraformStep(ctx, "destroy", "destroy", "-auto-approve", "-var", "rotation_generation=2"); err != nil {
		return err
	}
	d.expect(len(d.box.UserIDs()) == len(d.userIDs), "destroy left the %d users registered in Point, which has no delete endpoint", len(d.userIDs))
	d.expect(len(d.currentTokens()) == 0, "destroy revoked every refresh token (%d still valid)", len(d.currentTokens()))
	return nil
}

// terraformStep runs one Terraform command in the working copy, streaming
// its output indented, and reports what the sandbox saw meanwhile.
func (d *demo) terraformStep(ctx context.Context, name string, args ...string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted before %s", name)
	}
	args = append(args, "-input=false", "-no-color")
	fmt.Fprintf(d.out, "\n==> %s: %s %s\n", name, d.command, strings.Join(args, " "))

	requests := d.box.Requests()
	accessIssued, accessRevoked := d.accessTokenCounts()
	refreshIssued, refreshRevoked := d.box.RefreshTokensIssued(), d.box.RefreshTokensRevoked()

	cmd := exec.CommandContext(ctx, d.terraform, args...)
	cmd.Dir, cmd.Env = d.dir, d.env
	// Interrupt rather than kill, so that Terraform stops cleanly.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	w := &indentWriter{w: d.out, tee: &d.transcript, indent: "    "}
	cmd.Stdout, cmd.Stderr = w, w
	started := time.Now()
	err := cmd.Run()
	w.flush()

	nowIssued, nowRevoked := d.accessTokenCounts()
	fmt.Fprintf(d.out, "    -- %s took %.1fs; the sandbox saw %d requests; refresh tokens +%d issued, +%d revoked; access tokens +%d issued, +%d revoked\n",
		name, time.Since(started).Seconds(), d.box.Requests()-requests,
		d.box.RefreshTokensIssued()-refreshIssued, d.box.RefreshTokensRevoked()-refreshRevoked,
		nowIssued-accessIssued, nowRevoked-accessRevoked)
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted during %s", name)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", d.command, args[0], err)
	}
	return nil
}

// outputUserIDs returns the sorted values of the configuration's user_ids output.
func (d *demo) outputUserIDs() ([]string, error) {
	cmd := exec.Command(d.terraform, "output", "-json", "user_ids")
	cmd.Dir, cmd.Env = d.dir, d.env
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s output user_ids: %w", d.command, err)
	}
	var byKey map[string]string
	if err := json.Unmarshal(out, &byKey); err != nil {
		return nil, fmt.Errorf("%s output user_ids: %w", d.command, err)
	}
	ids := make([]string, 0, len(byKey))
	for _, id := range byKey {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

func (d *demo) accessTokenCounts() (issued, revoked int) {
	for _, at := range d.box.AccessTokens() {
		issued++
		if at.Revoked {
			revoked++
		}
	}
	return issued, revoked
}

// currentTokens returns the refresh tokens that are valid now.
func (d *demo) currentTokens() []string {
	var tokens []string
	for _, id := range d.box.UserIDs() {
		if token, ok := d.box.CurrentRefreshToken(id); ok {
			tokens = append(tokens, token)
		}
	}
	return tokens
}

var receiptPattern = regexp.MustCompile(`^consumer received a token of (\d+) characters\n$`)

// checkReceipt checks that the consumer ran and got an authorization header
// of the right length for the access token the sandbox issued last.
func (d *demo) checkReceipt(step string) {
	receipt, err := os.ReadFile(filepath.Join(d.dir, receiptFile))
	if err != nil {
		d.expect(false, "after %s, the consumer left a receipt (%v)", step, err)
		return
	}
	fmt.Fprintf(d.out, "    receipt: %s", receipt)
	m := receiptPattern.FindSubmatch(receipt)
	tokens := d.box.AccessTokens()
	ok := m != nil && len(tokens) > 0 && string(m[1]) == strconv.Itoa(len("Bearer ")+len(tokens[len(tokens)-1].Token))
	d.expect(ok, "after %s, the consumer received an access token through its environment", step)
}

func (d *demo) checkStateHasNoAccessToken(step string) {
	state, err := os.ReadFile(filepath.Join(d.dir, "terraform.tfstate"))
	if err != nil {
		d.expect(false, "state is readable (%v)", err)
		return
	}
	found := 0
	for _, at := range d.box.AccessTokens() {
		if bytes.Contains(state, []byte(at.Token)) {
			found++
		}
	}
	d.expect(found == 0, "after %s, no access token is in state (%d found)", step, found)
}

// checkNoSecretsShown looks for every key and token of the run, the access
// tokens and the refresh tokens current at the end included, in what the
// CLI printed.
func (d *demo) checkNoSecretsShown() {
	secrets := append(slices.Clone(d.secrets), d.currentTokens()...)
	for _, at := range d.box.AccessTokens() {
		secrets = append(secrets, at.Token)
	}
	shown := 0
	for _, s := range secrets {
		if s != "" && bytes.Contains(d.transcript.Bytes(), []byte(s)) {
			shown++
		}
	}
	d.expect(shown == 0, "no API key, refresh token or access token appeared in %s's output (%d did)", d.product, shown)
}

func (d *demo) printAccount(elapsed time.Duration) {
	ids := d.box.UserIDs()
	issued, revoked := d.accessTokenCounts()
	fmt.Fprintf(d.out, "\nWhat the sandbox saw\n")
	fmt.Fprintf(d.out, "  users registered        %d  (%s)\n", len(ids), strings.Join(ids, ", "))
	fmt.Fprintf(d.out, "  refresh tokens          %d issued, %d revoked, %d still valid\n",
		d.box.RefreshTokensIssued(), d.box.RefreshTokensRevoked(), len(d.currentTokens()))
	fmt.Fprintf(d.out, "  access tokens           %d issued, %d revoked\n", issued, revoked)
	fmt.Fprintf(d.out, "  requests                %d\n", d.box.Requests())
	counts := d.box.RequestCounts()
	routes := make([]string, 0, len(counts))
	for route := range counts {
		routes = append(routes, route)
	}
	slices.Sort(routes)
	for _, route := range routes {
		fmt.Fprintf(d.out, "    %5d  %s\n", counts[route], route)
	}

	d.expect(issued > 0 && issued == revoked, "every access token issued was revoked (%d of %d)", revoked, issued)
	fmt.Fprintf(d.out, "\nChecks\n")
	for _, c := range d.checks {
		mark := "ok  "
		if !c.ok {
			mark = "FAIL"
		}
		fmt.Fprintf(d.out, "  %s %s\n", mark, c.text)
	}
	fmt.Fprintf(d.out, "\nElapsed: %.1fs\n", elapsed.Seconds())
}

func (d *demo) failedChecks() error {
	var failed []string
	for _, c := range d.checks {
		if !c.ok {
			failed = append(failed, c.text)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d check(s) failed: %s", len(failed), strings.Join(failed, "; "))
	}
	return nil
}

// copyConfig copies the configuration files of src into dst, leaving out
// anything a local run may have left behind.
func copyConfig(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if ext := filepath.Ext(name); !e.Type().IsRegular() || (ext != ".tf" && ext != ".tfvars") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// indentWriter prefixes each line with indent, and copies everything to tee.
type indentWriter struct {
	mu      sync.Mutex
	w       io.Writer
	tee     io.Writer
	indent  string
	partial []byte
}

func (iw *indentWriter) Write(p []byte) (int, error) {
	iw.mu.Lock()
	defer iw.mu.Unlock()
	_, _ = iw.tee.Write(p)
	iw.partial = append(iw.partial, p...)
	for {
		i := bytes.IndexByte(iw.partial, '\n')
		if i < 0 {
			break
		}
		if _, err := fmt.Fprintf(iw.w, "%s%s\n", iw.indent, iw.partial[:i]); err != nil {
			return 0, err
		}
		iw.partial = iw.partial[i+1:]
	}
	return len(p), nil
}

func (iw *indentWriter) flush() {
	iw.mu.Lock()
	defer iw.mu.Unlock()
	if len(iw.partial) > 0 {
		fmt.Fprintf(iw.w, "%s%s\n", iw.indent, iw.partial)
		iw.partial = nil
	}
}
