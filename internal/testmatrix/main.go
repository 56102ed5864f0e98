// Command testmatrix runs the test suite once per Terraform or OpenTofu CLI
// (make test-matrix) and reports passed, failed and skipped tests per CLI.
//
//	go run ./internal/testmatrix [-out FILE] [-json DIR] [-dialects all] CLI... -- [go test flags] PACKAGES
//
// Each CLI is the path of a terraform or tofu binary; one that reports the
// same product and version as an earlier one is left out. The suite runs as
// `go test -json ARGS` with TF_ACC_TERRAFORM_PATH set to the CLI; the rest
// of the environment (TF_ACC, TF_CLI_CONFIG_FILE, ...) is the caller's.
// With -dialects, the rows take turns with the sandbox's dialects
// (sandbox.EnvDialect), so that each dialect runs the whole suite on
// some CLI without a run of its own. It
// prints each failing test's output, one line per CLI, and writes the table
// as Markdown to -out. It exits 1 when any test or package fails.
//
//	go run ./internal/testmatrix -readme README.md -out FILE
//
// copies the table of the last run from FILE into README.md, between the
// lines <!-- test-matrix:begin --> and <!-- test-matrix:end -->.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/areyoupoint/terraform-provider-point/internal/devenv"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

const (
	beginMarker = "<!-- test-matrix:begin -->"
	endMarker   = "<!-- test-matrix:end -->"
)

func main() {
	out := flag.String("out", "bin/test-matrix.md", "write the table as Markdown to this file")
	jsonDir := flag.String("json", "bin/test-matrix", "keep each run's go test -json output in this directory")
	readme := flag.String("readme", "", "copy the table of the last run (-out) into this README instead of running tests")
	dialects := flag.String("dialects", "", `the sandbox dialects the rows take turns with, comma-separated; "all" is every dialect, the default one last (make test runs it); empty leaves the dialect to the environment`)
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: testmatrix [flags] CLI... -- [go test flags] PACKAGES\n       testmatrix -readme README.md [-out FILE]\n")
		flag.PrintDefaults()
	}
	flag.Parse()

	if *readme != "" {
		if err := updateReadme(*readme, *out); err != nil {
			fmt.Fprintln(os.Stderr, "testmatrix:", err)
			os.Exit(1)
		}
		return
	}

	clis, testArgs := splitArgs(flag.Args())
	if len(clis) == 0 || len(testArgs) == 0 {
		flag.Usage()
		os.Exit(2)
	}
	turns, err := dialectTurns(*dialects)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testmatrix:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := run(ctx, os.Stdout, clis, turns, testArgs, *out, *jsonDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testmatrix:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

// dialectTurns returns the dialects the rows take turns with, from the
// -dialects flag; nil leaves the dialect to the environment.
func dialectTurns(flagValue string) ([]string, error) {
	switch flagValue {
	case "":
		return nil, nil
	case "all":
		names := sandbox.DialectNames()
		// The default dialect last: make test runs it already, so a
		// short matrix reaches the others first.
		i := slices.Index(names, sandbox.DefaultDialect)
		return append(slices.Delete(slices.Clone(names), i, i+1), sandbox.DefaultDialect), nil
	}
	names := strings.Split(flagValue, ",")
	for _, name := range names {
		if _, err := sandbox.DialectNamed(name); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// splitArgs separates the CLI paths from the go test flags after "--".
func splitArgs(args []string) (clis, testArgs []string) {
	if i := slices.Index(args, "--"); i >= 0 {
		return args[:i], args[i+1:]
	}
	return args, nil
}

// row is one CLI's result.
type row struct {
	CLI, Version string
	// Dialect is the sandbox dialect of the run, "" when the environment
	// chose it.
	Dialect                 string
	Passed, Failed, Skipped int
	Elapsed                 time.Duration
	// FailedTests are package.Test names.
	FailedTests []string
	// FailedPackages failed with no failing test: a build error, a panic
	// or a timeout.
	FailedPackages []string
	anyTestResult  bool
	runErr         error
}

func (r row) ok() bool {
	return r.runErr == nil && r.Failed == 0 && len(r.FailedPackages) == 0 && r.anyTestResult
}

func run(ctx context.Context, w io.Writer, clis, dialects, testArgs []string, out, jsonDir string) (int, error) {
	if err := os.MkdirAll(jsonDir, 0o755); err != nil {
		return 1, err
	}
	var rows []row
	for _, path := range clis {
		if ctx.Err() != nil {
			return 1, errors.New("interrupted")
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return 1, err
		}
		cli, err := devenv.DescribeCLI(abs)
		if err != nil {
			return 1, err
		}
		name, version := cli.Name, cli.Version
		if slices.ContainsFunc(rows, func(r row) bool { return r.CLI == name && r.Version == version }) {
			fmt.Fprintf(w, "\n==> %s %s (%s): already run\n", name, version, path)
			continue
		}
		dialect := ""
		if len(dialects) > 0 {
			dialect = dialects[len(rows)%len(dialects)]
			fmt.Fprintf(w, "\n==> %s %s (%s), sandbox dialect %s\n", name, version, path, dialect)
		} else {
			fmt.Fprintf(w, "\n==> %s %s (%s)\n", name, version, path)
		}
		r := runSuite(ctx, w, abs, dialect, testArgs, filepath.Join(jsonDir, name+"-"+version+".json"))
		r.CLI, r.Version, r.Dialect = name, version, dialect
		rows = append(rows, r)
		fmt.Fprintf(w, "%s\n", r.line())
	}

	fmt.Fprintf(w, "\nTest matrix\n")
	code := 0
	var passed, failed, skipped int
	for _, r := range rows {
		fmt.Fprintf(w, "  %s\n", r.line())
		passed += r.Passed
		failed += r.Failed + len(r.FailedPackages)
		skipped += r.Skipped
		if !r.ok() {
			code = 1
		}
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return 1, err
	}
	if err := os.WriteFile(out, []byte(markdown(rows)), 0o644); err != nil {
		return 1, err
	}
	fmt.Fprintf(w, "  (table written to %s)\n", out)
	// The closing line counts every CLI together.
	fmt.Fprintf(w, "matrix: %d passed, %d failed, %d skipped\n", passed, failed, skipped)
	return code, nil
}

func (r row) line() string {
	s := fmt.Sprintf("%-9s %-8s %4d passed, %d failed, %3d skipped  (%s)", r.CLI, r.Version, r.Passed, r.Failed, r.Skipped, r.Elapsed.Round(time.Second))
	if r.Dialect != "" {
		s += "  dialect " + r.Dialect
	}
	if len(r.FailedPackages) > 0 {
		s += "; packages failed: " + strings.Join(r.FailedPackages, ", ")
	}
	if r.runErr != nil {
		s += "; " + r.runErr.Error()
	} else if !r.anyTestResult {
		s += "; no test ran"
	}
	if len(r.FailedTests) > 0 {
		s += "\n            failed: " + strings.Join(r.FailedTests, " ")
	}
	return s
}

// event is one line of go test -json output.
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

func runSuite(ctx context.Context, w io.Writer, cli, dialect string, testArgs []string, jsonFile string) (r row) {
	started := time.Now()
	defer func() { r.Elapsed = time.Since(started) }()

	args := append([]string{"test", "-json"}, testArgs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), "TF_ACC_TERRAFORM_PATH="+cli, "CHECKPOINT_DISABLE=1")
	if dialect != "" {
		cmd.Env = append(cmd.Env, sandbox.EnvDialect+"="+dialect)
	}
	// Let the tests clean up (temporary directories, Terraform processes).
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = time.Minute
	var stderr bytes.Buffer
	cmd.Stderr = io.MultiWriter(&stderr, w)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		r.runErr = err
		return r
	}
	raw, err := os.Create(jsonFile)
	if err != nil {
		r.runErr = err
		return r
	}
	defer raw.Close()
	if err := cmd.Start(); err != nil {
		r.runErr = err
		return r
	}

	outputs := map[string]*bytes.Buffer{} // package + test -> output so far
	failedPackages := map[string]bool{}
	sc := bufio.NewScanner(io.TeeReader(stdout, raw))
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// Not JSON: a build failure message, for example.
			fmt.Fprintln(w, sc.Text())
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			if outputs[key] == nil {
				outputs[key] = &bytes.Buffer{}
			}
			outputs[key].WriteString(e.Output)
		case "pass", "fail", "skip":
			if e.Test == "" {
				fmt.Fprintf(w, "%-4s %s (%.1fs)\n", map[string]string{"pass": "ok", "fail": "FAIL", "skip": "--"}[e.Action], e.Package, e.Elapsed)
				if e.Action == "fail" {
					failedPackages[e.Package] = true
					if buf := outputs[key]; buf != nil && !r.anyFailedIn(e.Package) {
						// A package that failed without a failing test:
						// a build error, a panic or a timeout.
						fmt.Fprint(w, indent(buf.String()))
					}
				}
				delete(outputs, key)
				continue
			}
			r.anyTestResult = true
			switch e.Action {
			case "pass":
				r.Passed++
			case "fail":
				r.Failed++
				r.FailedTests = append(r.FailedTests, e.Package[strings.LastIndex(e.Package, "/")+1:]+"."+e.Test)
				fmt.Fprintf(w, "--- FAIL: %s (%s)\n", e.Test, e.Package)
				if buf := outputs[key]; buf != nil {
					fmt.Fprint(w, indent(buf.String()))
				}
			case "skip":
				r.Skipped++
			}
			delete(outputs, key)
		}
	}
	if err := sc.Err(); err != nil {
		r.runErr = err
	}
	err = cmd.Wait()
	for pkg := range failedPackages {
		if !r.anyFailedIn(pkg) {
			r.FailedPackages = append(r.FailedPackages, pkg)
		}
	}
	slices.Sort(r.FailedPackages)
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		r.runErr = errors.New("interrupted")
	case errors.As(err, &exitErr):
		// go test exits 1 when a test fails; anything else, or a failure
		// that no test or package explains, is an error of its own.
		if r.Failed == 0 && len(r.FailedPackages) == 0 {
			r.runErr = fmt.Errorf("go test exited %d: %s", exitErr.ExitCode(), strings.TrimSpace(stderr.String()))
		}
	case err != nil:
		r.runErr = err
	}
	return r
}

// anyFailedIn reports whether a test of the package failed.
func (r *row) anyFailedIn(pkg string) bool {
	short := pkg[strings.LastIndex(pkg, "/")+1:] + "."
	for _, t := range r.FailedTests {
		if strings.HasPrefix(t, short) {
			return true
		}
	}
	return false
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ") + "\n"
}

// markdown renders the table: one row per CLI, with the sandbox dialect of
// each when the rows took turns with dialects.
func markdown(rows []row) string {
	withDialect := slices.ContainsFunc(rows, func(r row) bool { return r.Dialect != "" })
	var b strings.Builder
	if withDialect {
		b.WriteString("| CLI | version | sandbox dialect | passed | failed | skipped | time |\n")
		b.WriteString("|---|---|---|---:|---:|---:|---:|\n")
	} else {
		b.WriteString("| CLI | version | passed | failed | skipped | time |\n")
		b.WriteString("|---|---|---:|---:|---:|---:|\n")
	}
	for _, r := range rows {
		failed := fmt.Sprint(r.Failed)
		if n := len(r.FailedPackages); n > 0 {
			failed += fmt.Sprintf(" (+%d package%s)", n, map[bool]string{true: "s"}[n > 1])
		}
		if r.runErr != nil || !r.anyTestResult {
			failed += " (run failed)"
		}
		name := map[string]string{"terraform": "Terraform", "tofu": "OpenTofu"}[r.CLI]
		version := r.Version
		if withDialect {
			version += " | " + r.Dialect
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %d | %s |\n", name, version, r.Passed, failed, r.Skipped, r.Elapsed.Round(time.Second))
	}
	return b.String()
}

// updateReadme replaces what lies between the markers in readme with the
// table in tableFile.
func updateReadme(readme, tableFile string) error {
	table, err := os.ReadFile(tableFile)
	if err != nil {
		return fmt.Errorf("%w (run make test-matrix first)", err)
	}
	text, err := os.ReadFile(readme)
	if err != nil {
		return err
	}
	begin := bytes.Index(text, []byte(beginMarker))
	end := bytes.Index(text, []byte(endMarker))
	if begin < 0 || end < begin {
		return fmt.Errorf("%s has no %s ... %s section", readme, beginMarker, endMarker)
	}
	var b bytes.Buffer
	b.Write(text[:begin+len(beginMarker)])
	b.WriteString("\n")
	b.Write(bytes.TrimSpace(table))
	b.WriteString("\n")
	b.Write(text[end:])
	return os.WriteFile(readme, b.Bytes(), 0o644)
}
