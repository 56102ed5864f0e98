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
	// The oldest releases with ephemeral resources.
	minTerraform = "1.10.0"
	minOpenTofu  = "1.11.0"
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
	cli, err := findTerraform()
	if err != nil {
		return err
	}
	root, err := devenv.ModuleRoot()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "point-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	fmt.Fprintln(out, "Building the provider...")
	pluginDir := filepath.Join(work, "plugins")
	if _, err := devenv.BuildProvider(pluginDir); err != nil {
		return err
	}
	cliConfig := filepath.Join(work, "terraformrc")
	if err := devenv.WriteCLIConfig(cliConfig, pluginDir); err != nil {
		return err
	}

	box := sandbox.New(sandbox.Options{})
	endpoint, closeBox := box.Start()
	defer closeBox()
	existingToken := box.AddUser(existingUserID)

	dir := filepath.Join(work, "quickstart")
	if err := copyConfig(filepath.Join(root, "examples", "quickstart"), dir); err != nil {
		return err
	}
	tfvars := fmt.Sprintf("existing_users = {\n  %q = %q\n}\n", existingUserKey, existingUserID)
	if err := os.WriteFile(filepath.Join(dir, "existing.auto.tfvars"), []byte(tfvars), 0o600); err != nil {
		return err
	}

	d := &demo{
		out:       out,
		terraform: cli.Path,
		product:   cli.Product(),
		command:   cli.Name,
		dir:       dir,
		env:       append(devenv.Environ(cliConfig), "POINT_ENDPOINT="+endpoint, "POINT_API_KEY="+box.APIKey()),
		box:       box,
	}
	fmt.Fprintf(out, "Sandbox at %s; %s registered beforehand, for the import blocks to adopt.\n", endpoint, existingUserID)
	fmt.Fprintf(out, "Running examples/quickstart in a copy at %s\n", dir)
	fmt.Fprintf(out, "Running %s (%s).\n", cli, cli.Path)
	fmt.Fprintf(out, "%s warns that provider development overrides are in effect: that is how it runs the provider just built, without %s init.\n", d.product, d.command)

	secrets := []string{box.APIKey(), existingToken}
	defer func() {
		secrets = append(secrets, d.currentTokens()...)
		for _, at := range box.AccessTokens() {
			secrets = append(secrets, at.Token)
		}
		d.checkNoSecretsShown(secrets)
		d.printAccount(time.Since(start))
		if err == nil {
			err = d.failedChecks()
		}
	}()

	// 1. Register the users, adopt the existing one, issue refresh tokens,
	// and hand an access token to the consumer.
	if err := d.terraformStep(ctx, "apply", "apply", "-auto-approve"); err != nil {
		return err
	}
	userIDs := box.UserIDs()
	managed, err := d.outputUserIDs()
	if err != nil {
		return err
	}
	d.expect(slices.Equal(managed, userIDs) && slices.Contains(managed, existingUserID),
		"apply registered %d users and adopted %s; Point holds exactly the users in the user_ids output", len(managed)-1, existingUserID)
	current, _ := box.CurrentRefreshToken(existingUserID)
	d.expect(current == existingToken, "the adopted user's refresh token was imported, not replaced")
	d.checkReceipt("apply")
	d.checkStateHasNoAccessToken("apply")
	secrets = append(secrets, d.currentTokens()...)

	// 2. Nothing changed, so the plan must be empty.
	if err := d.terraformStep(ctx, "plan", "plan", "-detailed-exitcode"); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) && exitErr.ExitCode() == 2 {
			d.expect(false, "the plan right after apply is empty")
			return errors.New("the plan right after apply is not empty: the provider planned changes that nothing asked for (see the plan above)")
		}
		return err
	}
	d.expect(true, "the plan right after apply is empty")

	// 3. Rotate every refresh token on demand.
	before := map[string]string{}
	for _, id := range userIDs {
		before[id], _ = box.CurrentRefreshToken(id)
	}
	revokedBefore := box.RefreshTokensRevoked()
	if err := os.Remove(filepath.Join(dir, receiptFile)); err != nil {
		return err
	}
	if err := d.terraformStep(ctx, "rotate", "apply", "-auto-approve", "-var", "rotation_generation=2"); err != nil {
		return err
	}
	rotated := 0
	for _, id := range userIDs {
		if now, ok := box.CurrentRefreshToken(id); ok && now != before[id] {
			rotated++
		}
	}
	d.expect(rotated == len(userIDs), "rotation gave every user a new refresh token (%d of %d)", rotated, len(userIDs))
	revoked := box.RefreshTokensRevoked() - revokedBefore
	d.expect(revoked == len(userIDs), "rotation revoked every previous refresh token (%d of %d)", revoked, len(userIDs))
	d.checkReceipt("rotation")
	d.checkStateHasNoAccessToken("rotation")

	// 4. Destroy: Point cannot delete users, so their refresh tokens are revoked.
	if err := d.terraformStep(ctx, "destroy", "destroy", "-auto-approve", "-var", "rotation_generation=2"); err != nil {
		return err
	}
	d.expect(len(box.UserIDs()) == len(userIDs), "destroy left the %d users registered in Point, which has no delete endpoint", len(userIDs))
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

func (d *demo) checkNoSecretsShown(secrets []string) {
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

// findTerraform returns the Terraform or OpenTofu CLI the tests use, else
// the one on PATH, provided it is recent enough for ephemeral resources.
func findTerraform() (devenv.CLI, error) {
	path, err := devenv.Terraform()
	if err != nil {
		return devenv.CLI{}, fmt.Errorf("terraform %s or tofu %s or later is needed: %w", minTerraform, minOpenTofu, err)
	}
	cli, err := devenv.DescribeCLI(path)
	if err != nil {
		return devenv.CLI{}, err
	}
	minimum := minTerraform
	if cli.OpenTofu() {
		minimum = minOpenTofu
	}
	if !atLeast(cli.Version, minimum) {
		return devenv.CLI{}, fmt.Errorf("%s is %s; %s or later is needed for ephemeral resources", path, cli, minimum)
	}
	return cli, nil
}

// atLeast compares dotted release versions, ignoring any pre-release suffix.
func atLeast(version, minimum string) bool {
	parse := func(s string) []int {
		s, _, _ = strings.Cut(s, "-")
		var parts []int
		for _, p := range strings.Split(s, ".") {
			n, _ := strconv.Atoi(p)
			parts = append(parts, n)
		}
		return parts
	}
	return slices.Compare(parse(version), parse(minimum)) >= 0
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
