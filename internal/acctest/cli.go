package acctest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/areyoupoint/terraform-provider-point/internal/devenv"
)

var builtProvider struct {
	once      sync.Once
	dir       string
	cliConfig string
	err       error
}

func sharedCLIConfig(t *testing.T) string {
	t.Helper()
	builtProvider.once.Do(buildSharedProvider)
	if builtProvider.err != nil {
		t.Fatal(builtProvider.err)
	}
	return builtProvider.cliConfig
}

// Main runs the tests for TestMain, building the provider meanwhile in a full run, and returns the exit code.
func Main(m *testing.M) int {
	collectCLIGarbageLate()
	if err := setOpenTofuProviderHost(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	flag.Parse()
	if os.Getenv("TF_ACC") != "" && flag.Lookup("test.run").Value.String() == "" {
		// A full run builds beside the first tests, not in the first CLI test while the others wait.
		go builtProvider.once.Do(buildSharedProvider)
	}
	code := m.Run()
	builtProvider.once.Do(func() {}) // waits for a build still running
	if builtProvider.dir != "" {
		_ = os.RemoveAll(builtProvider.dir)
	}
	return code
}

func buildSharedProvider() {
	// Shared by every test, so not t.TempDir; Main removes it.
	builtProvider.dir, builtProvider.err = os.MkdirTemp("", "point-provider-") //nolint:usetesting
	if builtProvider.err != nil {
		return
	}
	if _, builtProvider.err = devenv.BuildProvider(builtProvider.dir); builtProvider.err != nil {
		return
	}
	builtProvider.cliConfig = filepath.Join(builtProvider.dir, "terraformrc")
	builtProvider.err = devenv.WriteCLIConfig(builtProvider.cliConfig, builtProvider.dir)
}

// collectCLIGarbageLate has the CLI and provider processes the tests start, each living for one command,
// collect only near cliMemoryLimit: collecting slowed the CPU-bound suite by an eighth. This process read
// GOGC when it started, so it keeps its collector; a caller's GOGC or GOMEMLIMIT wins.
func collectCLIGarbageLate() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	os.Setenv("GOGC", "off")
	os.Setenv("GOMEMLIMIT", cliMemoryLimit)
}

// cliMemoryLimit is far above what one command needs, yet fits eight tests at once on a small CI runner.
const cliMemoryLimit = "512MiB"

var describeTestCLI = sync.OnceValues(func() (devenv.CLI, error) {
	path, err := devenv.Terraform()
	if err != nil {
		return devenv.CLI{}, err
	}
	return devenv.DescribeCLI(path)
})

// setOpenTofuProviderHost serves the in-process providers where OpenTofu seeks a provider with no source:
// terraform-plugin-testing registers them under registry.terraform.io unless TF_ACC_PROVIDER_HOST says
// otherwise, and OpenTofu resolves such a provider under registry.opentofu.org.
func setOpenTofuProviderHost() error {
	if os.Getenv("TF_ACC") == "" || os.Getenv("TF_ACC_PROVIDER_HOST") != "" {
		return nil
	}
	cli, err := describeTestCLI()
	if err != nil {
		return err
	}
	if cli.OpenTofu() {
		return os.Setenv("TF_ACC_PROVIDER_HOST", devenv.OpenTofuRegistryHost)
	}
	return nil
}

// OpenTofu reports whether the tests run OpenTofu rather than Terraform.
func OpenTofu(t *testing.T) bool {
	t.Helper()
	return TestCLI(t).OpenTofu()
}

// SkipOnOpenTofu is a TestCase version check that skips on OpenTofu, which lacks the feature it names.
type SkipOnOpenTofu string

func (reason SkipOnOpenTofu) CheckTerraformVersion(_ context.Context, _ tfversion.CheckTerraformVersionRequest, resp *tfversion.CheckTerraformVersionResponse) {
	cli, err := describeTestCLI()
	if err != nil {
		resp.Error = err
		return
	}
	if cli.OpenTofu() {
		resp.Skip = fmt.Sprintf("OpenTofu %s: %s", cli.Version, string(reason))
	}
}

// CLI is a working directory where a test drives Terraform, for what terraform-plugin-testing hides.
type CLI struct {
	t         *testing.T
	Dir       string
	cliConfig string
	Env       []string // added to the environment of every command
}

func NewCLI(t *testing.T) *CLI {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1")
	}
	return &CLI{t: t, Dir: t.TempDir(), cliConfig: sharedCLIConfig(t)}
}

// WriteConfig writes main.tf: env's provider block, then config.
func (c *CLI) WriteConfig(env *Env, config string) {
	c.t.Helper()
	c.WriteMain(env.ProviderBlock() + config)
}

// RequiredProviders maps "point" to the provider under test.
const RequiredProviders = "terraform {\n  required_providers {\n    point = {\n      source = \"areyoupoint/point\"\n    }\n  }\n}\n"

// WriteMain writes main.tf: the provider requirement, then config.
func (c *CLI) WriteMain(config string) {
	c.t.Helper()
	text := RequiredProviders + "\n" + config
	if err := os.WriteFile(filepath.Join(c.Dir, "main.tf"), []byte(text), 0o600); err != nil {
		c.t.Fatal(err)
	}
}

func (c *CLI) command(ctx context.Context, out *bytes.Buffer, args ...string) *exec.Cmd {
	c.t.Helper()
	cmd := exec.CommandContext(ctx, TestCLI(c.t).Path, args...)
	cmd.Dir = c.Dir
	cmd.Env = append(devenv.Environ(c.cliConfig), c.Env...)
	cmd.Stdout, cmd.Stderr = out, out
	return cmd
}

// Run runs terraform with args and returns its combined output and exit code.
func (c *CLI) Run(args ...string) (string, int) {
	c.t.Helper()
	var out bytes.Buffer
	err := c.command(c.t.Context(), &out, args...).Run()
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		return out.String(), exitErr.ExitCode()
	case err != nil:
		c.t.Fatalf("terraform %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), 0
}

// MustRun runs terraform and fails the test unless it exits with want.
func (c *CLI) MustRun(want int, args ...string) string {
	c.t.Helper()
	out, code := c.Run(args...)
	if code != want {
		c.t.Fatalf("terraform %s exited %d, want %d:\n%s", strings.Join(args, " "), code, want, out)
	}
	return out
}

// PlannedActions returns the action planned for each resource address by the output of plan -json.
func PlannedActions(out string) map[string]string {
	actions := map[string]string{}
	for line := range strings.Lines(out) {
		var message struct {
			Type   string `json:"type"`
			Change struct {
				Resource struct {
					Addr string `json:"addr"`
				} `json:"resource"`
				Action string `json:"action"`
			} `json:"change"`
		}
		if json.Unmarshal([]byte(line), &message) == nil && message.Type == "planned_change" {
			actions[message.Change.Resource.Addr] = message.Change.Action
		}
	}
	return actions
}

// InProcessCLI runs the CLI on in-process providers; ProviderLog has their logs, which Terraform never gets.
type InProcessCLI struct {
	*CLI
	ProviderLog string
}

// NewInProcessCLI serves factories for one test; a logLevel other than "" turns on the providers' logs.
func NewInProcessCLI(t *testing.T, factories map[string]func() (tfprotov6.ProviderServer, error), logLevel string) *InProcessCLI {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1")
	}
	dir := t.TempDir()
	cliConfig := dir + "/terraformrc"
	if err := os.WriteFile(cliConfig, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	logFile := dir + "/providers.log"
	if logLevel != "" {
		// The in-process servers' logging sink reads these when each one starts.
		t.Setenv("TF_LOG", logLevel)
		t.Setenv("TF_LOG_PATH_MASK", strings.ReplaceAll(dir, "%", "%%")+"/providers-%s.log")
		logFile = fmt.Sprintf(dir+"/providers-%s.log", strings.ReplaceAll(t.Name(), "/", "_"))
	}

	sink := tf6server.WithLoggingSink(t) // without TF_LOG, it keeps the providers quiet
	reattach, stop := ServeProviders(t, factories, OpenTofu(t), sink)
	t.Cleanup(stop)
	cli := &CLI{t: t, Dir: dir + "/work", cliConfig: cliConfig, Env: []string{"TF_REATTACH_PROVIDERS=" + reattach}}
	if err := os.Mkdir(cli.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return &InProcessCLI{CLI: cli, ProviderLog: logFile}
}

// ServeProviders serves factories in the test process and returns their TF_REATTACH_PROVIDERS and a stop.
func ServeProviders(t testing.TB, factories map[string]func() (tfprotov6.ProviderServer, error), openTofu bool, sink tf6server.ServeOpt) (string, func()) {
	t.Helper()
	host := "registry.terraform.io"
	if openTofu {
		host = devenv.OpenTofuRegistryHost
	}
	type reattachConfig struct {
		Protocol        string
		ProtocolVersion int
		Pid             int
		Test            bool
		Addr            struct{ Network, String string }
	}
	ctx, cancel := context.WithCancel(context.Background())
	reattach := map[string]reattachConfig{}
	var closers []chan struct{}
	stop := func() {
		cancel()
		for _, c := range closers {
			select {
			case <-c:
			case <-time.After(10 * time.Second):
			}
		}
	}
	for name, factory := range factories {
		server, err := factory()
		if err != nil {
			stop()
			t.Fatal(err)
		}
		configCh := make(chan *plugin.ReattachConfig)
		closeCh := make(chan struct{})
		opts := []tf6server.ServeOpt{
			tf6server.WithDebug(ctx, configCh, closeCh),
			tf6server.WithGoPluginLogger(hclog.New(&hclog.LoggerOptions{Output: io.Discard, Level: hclog.Off})),
			tf6server.WithoutLogStderrOverride(),
			sink,
		}
		go func() {
			if err := tf6server.Serve(name, func() tfprotov6.ProviderServer { return server }, opts...); err != nil {
				t.Errorf("serving %s: %v", name, err)
			}
		}()
		var config *plugin.ReattachConfig
		select {
		case config = <-configCh:
		case <-time.After(20 * time.Second):
			stop()
			t.Fatalf("the %s provider did not start", name)
		}
		rc := reattachConfig{Protocol: string(config.Protocol), ProtocolVersion: config.ProtocolVersion, Pid: config.Pid, Test: config.Test}
		rc.Addr.Network, rc.Addr.String = config.Addr.Network(), config.Addr.String()
		namespace := "hashicorp"
		if name == "point" {
			namespace = "areyoupoint"
		}
		reattach[host+"/"+namespace+"/"+name] = rc
		closers = append(closers, closeCh)
	}
	encoded, err := json.Marshal(reattach)
	if err != nil {
		stop()
		t.Fatal(err)
	}
	return string(encoded), stop
}

// InterruptedApply sends terraform apply SIGINT once ready reports true, and returns its failed output.
func InterruptedApply(t *testing.T, cli *CLI, ready func() bool) string {
	t.Helper()
	var out bytes.Buffer
	cmd := cli.command(context.Background(), &out, "apply", "-input=false", "-auto-approve", "-no-color")
	startInOwnProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !ready() {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("the apply never reached the point of interruption:\n%s", out.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := interruptProcessGroup(cmd); err != nil {
		t.Fatal(err)
	}
	var exitErr *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &exitErr) || exitErr.ExitCode() == 0 {
		t.Fatalf("interrupted apply: err = %v, want a non-zero exit\n%s", err, out.String())
	}
	if !bytes.Contains(out.Bytes(), []byte("Interrupt received")) {
		t.Errorf("terraform did not report the interrupt:\n%s", out.String())
	}
	return out.String()
}
