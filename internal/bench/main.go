// Command bench times terraform apply, plan and destroy of N point_user and
// N point_refresh_token resources against the sandbox, next to 2N
// terraform_data resources: Terraform's own work with no provider, the floor
// under any provider. It prints medians, the ratio to the floor, the
// provider's CPU time and peak memory, and what the sandbox saw. With
// -scale it times users in bulk instead: see scale.go.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/areyoupoint/terraform-provider-point/internal/devenv"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// When the bench runs as the provider's wrapper, these variables name the
// real provider binary and the file that collects its resource usage.
const (
	envWrapTarget = "POINT_BENCH_PROVIDER"
	envUsageFile  = "POINT_BENCH_USAGE_FILE"
)

var phases = []string{"apply", "plan", "destroy"}

func main() {
	if target := os.Getenv(envWrapTarget); target != "" {
		os.Exit(runProvider(target, os.Getenv(envUsageFile)))
	}
	n := flag.Int("n", 500, "number of point_user (and of point_refresh_token) resources")
	rounds := flag.Int("rounds", 3, "rounds, each timing both configurations")
	parallelism := flag.Int("parallelism", 10, "terraform -parallelism")
	terraform := flag.String("terraform", "", "terraform binary (default: TF_ACC_TERRAFORM_PATH, else terraform on PATH)")
	providerPath := flag.String("provider", "", "an already built provider binary to measure instead of building this one")
	profileDir := flag.String("profile", "", "directory for CPU and heap profiles of the provider (builds it with -tags pprof)")
	scale := flag.Bool("scale", false, "scale mode: time apply, plan and destroy of N users in each of -shapes (see scale.go)")
	scaleN := flag.String("scale-n", "1000", "scale mode: numbers of users, separated by commas; growth is reported from the first to the last")
	shapes := flag.String("shapes", strings.Join(allShapes, ","), "scale mode: shapes to time, separated by commas: "+strings.Join(allShapes, ", "))
	slowRounds := flag.Int("slow-rounds", 1, "scale mode: rounds of the singular shape and the floor, which take minutes at N=1000")
	flag.Parse()
	if *scale {
		if err := runScale(*scaleN, *shapes, *rounds, *slowRounds, *parallelism, *terraform, *providerPath, *profileDir); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*n, *rounds, *parallelism, *terraform, *providerPath, *profileDir); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// runProvider runs the real provider with this process's standard streams,
// so that Terraform talks to it directly, and records its resource usage.
func runProvider(target, usageFile string) int {
	cmd := exec.Command(target, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	if cmd.ProcessState != nil && usageFile != "" {
		ps := cmd.ProcessState
		f, ferr := os.OpenFile(usageFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if ferr == nil {
			fmt.Fprintf(f, "%d %d %d\n", ps.UserTime().Microseconds(), ps.SystemTime().Microseconds(), peakRSSKiB(ps))
			_ = f.Close()
		}
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.ExitCode()
	}
	if err != nil {
		return 1
	}
	return 0
}

type measurement struct {
	wall        time.Duration
	cpu         time.Duration
	peakRSSKiB  int64
	requests    int
	connections int
}

// harness is what every timed run shares: the Terraform CLI, a provider
// binary served through this program so that its resource usage is
// recorded, and a sandbox to serve Point.
type harness struct {
	terraform string
	work      string
	env       []string
	usageFile string
	box       *sandbox.Server
	endpoint  string
	stop      func()
}

func (h *harness) close() {
	h.stop()
	_ = os.RemoveAll(h.work)
}

func newHarness(terraform, providerPath, profileDir string) (*harness, error) {
	terraformPath := terraform
	if terraformPath == "" {
		var err error
		if terraformPath, err = devenv.Terraform(); err != nil {
			return nil, err
		}
	}
	work, err := os.MkdirTemp("", "point-bench-")
	if err != nil {
		return nil, err
	}
	h := &harness{terraform: terraformPath, work: work, stop: func() {}}
	if err := h.prepare(providerPath, profileDir); err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

func (h *harness) prepare(providerPath, profileDir string) error {
	providerBinary := providerPath
	if providerBinary == "" {
		var buildArgs []string
		if profileDir != "" {
			buildArgs = []string{"-tags", "pprof"}
		}
		var err error
		if providerBinary, err = devenv.BuildProvider(filepath.Join(h.work, "provider"), buildArgs...); err != nil {
			return err
		}
	}
	// Terraform starts this program in place of the provider, so that it can
	// record the provider's resource usage.
	self, err := os.Executable()
	if err != nil {
		return err
	}
	pluginDir := filepath.Join(h.work, "plugins")
	if err := os.MkdirAll(pluginDir, 0o755); err != nil {
		return err
	}
	if err := os.Symlink(self, filepath.Join(pluginDir, "terraform-provider-point")); err != nil {
		return err
	}
	cliConfig := filepath.Join(h.work, "terraformrc")
	if err := devenv.WriteCLIConfig(cliConfig, pluginDir); err != nil {
		return err
	}

	h.box = sandbox.New(sandbox.Options{})
	h.endpoint, h.stop = h.box.Start()

	h.usageFile = filepath.Join(h.work, "usage")
	h.env = append(devenv.Environ(cliConfig),
		envWrapTarget+"="+providerBinary,
		envUsageFile+"="+h.usageFile,
	)
	if profileDir != "" {
		if err := os.MkdirAll(profileDir, 0o755); err != nil {
			return err
		}
		abs, _ := filepath.Abs(profileDir)
		h.env = append(h.env, "POINT_PROVIDER_PROFILE_DIR="+abs)
	}
	return nil
}

// measure runs one terraform command in dir and returns what it cost.
func (h *harness) measure(dir string, extraEnv []string, phase string, parallelism int) (measurement, error) {
	_ = os.Remove(h.usageFile)
	requests, connections := h.box.Requests(), h.box.Connections()
	wall, err := terraformRun(h.terraform, dir, append(slices.Clone(h.env), extraEnv...), phase, parallelism)
	if err != nil {
		return measurement{}, err
	}
	m := measurement{wall: wall, requests: h.box.Requests() - requests, connections: h.box.Connections() - connections}
	m.cpu, m.peakRSSKiB = readUsage(h.usageFile)
	return m, nil
}

func run(n, rounds, parallelism int, terraform, providerPath, profileDir string) error {
	h, err := newHarness(terraform, providerPath, profileDir)
	if err != nil {
		return err
	}
	defer h.close()
	work, box, endpoint := h.work, h.box, h.endpoint

	ownDir := filepath.Join(work, "own")
	floorDir := filepath.Join(work, "floor")
	if err := writeConfig(ownDir, ownConfig(n, endpoint, box.APIKey())); err != nil {
		return err
	}
	if err := writeConfig(floorDir, floorConfig(n)); err != nil {
		return err
	}

	results := map[string]map[string][]measurement{"own": {}, "floor": {}}
	for round := 0; round < rounds; round++ {
		order := []string{"own", "floor"}
		if round%2 == 1 {
			order = []string{"floor", "own"}
		}
		for _, name := range order {
			dir := map[string]string{"own": ownDir, "floor": floorDir}[name]
			for _, phase := range phases {
				m, err := h.measure(dir, []string{fmt.Sprintf("TF_VAR_round=%d", round+1)}, phase, parallelism)
				if err != nil {
					return fmt.Errorf("round %d, %s %s: %w", round+1, name, phase, err)
				}
				results[name][phase] = append(results[name][phase], m)
				fmt.Fprintf(os.Stderr, "round %d  %-5s %-7s %8.2fs\n", round+1, name, phase, m.wall.Seconds())
			}
		}
	}
	if got := len(box.UserIDs()); got != n*rounds {
		return fmt.Errorf("the sandbox holds %d users, expected %d", got, n*rounds)
	}
	printTable(n, rounds, parallelism, results)
	return nil
}

func terraformRun(terraform, dir string, env []string, phase string, parallelism int) (time.Duration, error) {
	args := []string{phase, "-input=false", "-no-color", fmt.Sprintf("-parallelism=%d", parallelism)}
	switch phase {
	case "apply", "destroy":
		args = append(args, "-auto-approve")
	case "plan":
		args = append(args, "-detailed-exitcode")
	}
	cmd := exec.Command(terraform, args...)
	cmd.Dir, cmd.Env = dir, env
	var output strings.Builder
	cmd.Stdout, cmd.Stderr = &output, &output
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		var exitErr *exec.ExitError
		if phase == "plan" && errors.As(err, &exitErr) && exitErr.ExitCode() == 2 {
			return wall, fmt.Errorf("the plan after apply was not empty:\n%s", tail(output.String(), 40))
		}
		return wall, fmt.Errorf("%w\n%s", err, tail(output.String(), 40))
	}
	return wall, nil
}

func readUsage(file string) (cpu time.Duration, peakRSSKiB int64) {
	f, err := os.Open(file)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) != 3 {
			continue
		}
		user, _ := strconv.ParseInt(fields[0], 10, 64)
		system, _ := strconv.ParseInt(fields[1], 10, 64)
		rss, _ := strconv.ParseInt(fields[2], 10, 64)
		cpu += time.Duration(user+system) * time.Microsecond
		peakRSSKiB = max(peakRSSKiB, rss)
	}
	return cpu, peakRSSKiB
}

func ownConfig(n int, endpoint, apiKey string) string {
	return fmt.Sprintf(`terraform {
  required_providers {
    point = { source = "areyoupoint/point" }
  }
}

provider "point" {
  endpoint = %q
  api_key  = %q
}

# Point cannot delete users, so every round registers users of its own.
variable "round" {
  type = number
}

resource "point_user" "bench" {
  count   = %d
  user_id = format("bench-%%d-user-%%05d", var.round, count.index)
}

resource "point_refresh_token" "bench" {
  count   = %d
  user_id = point_user.bench[count.index].user_id
}
`, endpoint, apiKey, n, n)
}

// floorConfig has the same shape of graph as ownConfig: N resources, and N
// more that each depend on one of them.
func floorConfig(n int) string {
	return fmt.Sprintf(`resource "terraform_data" "user" {
  count = %d
  input = format("bench-user-%%05d", count.index)
}

resource "terraform_data" "token" {
  count = %d
  input = terraform_data.user[count.index].output
}
`, n, n)
}

func writeConfig(dir, config string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o600)
}

func median(ms []measurement, value func(measurement) float64) float64 {
	values := make([]float64, len(ms))
	for i, m := range ms {
		values[i] = value(m)
	}
	slices.Sort(values)
	if len(values) == 0 {
		return 0
	}
	if len(values)%2 == 1 {
		return values[len(values)/2]
	}
	return (values[len(values)/2-1] + values[len(values)/2]) / 2
}

func printTable(n, rounds, parallelism int, results map[string]map[string][]measurement) {
	fmt.Printf("\n%d point_user + %d point_refresh_token vs %d terraform_data; median of %d rounds; -parallelism=%d\n\n", n, n, 2*n, rounds, parallelism)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "phase\tprovider (s)\tfloor (s)\tratio\tprovider CPU (s)\tpeak RSS (MB)\tHTTP requests\tnew TCP connections\t")
	for _, phase := range phases {
		own, floor := results["own"][phase], results["floor"][phase]
		wallOwn := median(own, func(m measurement) float64 { return m.wall.Seconds() })
		wallFloor := median(floor, func(m measurement) float64 { return m.wall.Seconds() })
		fmt.Fprintf(w, "%s\t%.2f\t%.2f\t%.2f×\t%.2f\t%.1f\t%.0f\t%.0f\t\n", phase, wallOwn, wallFloor, wallOwn/wallFloor,
			median(own, func(m measurement) float64 { return m.cpu.Seconds() }),
			median(own, func(m measurement) float64 { return float64(m.peakRSSKiB) / 1024 }),
			median(own, func(m measurement) float64 { return float64(m.requests) }),
			median(own, func(m measurement) float64 { return float64(m.connections) }))
	}
	_ = w.Flush()
}

func tail(s string, lines int) string {
	all := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}
