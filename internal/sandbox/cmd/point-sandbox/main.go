// Command point-sandbox serves the in-memory Point API fake on a loopback
// address, for demos, benchmarks and the acceptance tests' real mode
// (make testacc), which need it as a separate process. It stops on SIGINT
// or SIGTERM and then reports on stderr how many requests it served.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "point-sandbox:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("point-sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "loopback `address` to listen on")
	apiKey := fs.String("api-key", getenv("POINT_SANDBOX_API_KEY"), "organisation API `key` to accept (default $POINT_SANDBOX_API_KEY, else random)")
	dialectName := fs.String("dialect", getenv(sandbox.EnvDialect), "the `name` of the dialect to speak, listed below (default $"+sandbox.EnvDialect+", else "+sandbox.DefaultDialect+")")
	idempotent := fs.Bool("idempotent-create", false, "answer 200 instead of 409 when creating an existing user, whatever the dialect")
	failureRate := fs.Float64("failure-rate", 0, "share (0..1) of API requests answered 503")
	rateLimitEvery := fs.Int("rate-limit-every", 0, "answer every `N`th API request with 429 (0 disables)")
	latency := fs.Duration("latency", 0, "delay added before answering each API request")
	urlFile := fs.String("url-file", "", "write the base URL to `path` once listening")
	listDialects := fs.Bool("list-dialects", false, "print the names of the dialects, one per line, and exit")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage of point-sandbox:\n")
		fs.PrintDefaults()
		fmt.Fprintf(fs.Output(), "\nDialects, the answers to what Point's reference leaves open (internal/point/CONTRACT.md):\n")
		for _, d := range sandbox.Dialects {
			fmt.Fprintf(fs.Output(), "  %-10s %s\n", d.Name, d.Summary)
		}
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if *listDialects {
		for _, name := range sandbox.DialectNames() {
			fmt.Fprintln(stdout, name)
		}
		return nil
	}
	if *failureRate < 0 || *failureRate > 1 {
		return fmt.Errorf("-failure-rate must be between 0 and 1, got %v", *failureRate)
	}
	if *rateLimitEvery < 0 {
		return fmt.Errorf("-rate-limit-every must not be negative, got %d", *rateLimitEvery)
	}
	if *latency < 0 {
		return fmt.Errorf("-latency must not be negative, got %v", *latency)
	}
	if err := checkLoopback(*listen); err != nil {
		return err
	}
	dialect, err := sandbox.DialectNamed(*dialectName)
	if err != nil {
		return fmt.Errorf("-dialect: %w", err)
	}

	s := sandbox.New(sandbox.Options{APIKey: *apiKey, IdempotentCreate: *idempotent, Dialect: dialect})
	s.SetFaults(sandbox.Faults{FailureRate: *failureRate, RateLimitEvery: *rateLimitEvery, Latency: *latency})

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	var spares spareConns
	srv := &http.Server{
		Handler: s,
		ConnState: func(c net.Conn, st http.ConnState) {
			s.ConnState(c, st)
			spares.track(c, st)
		},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30*time.Second + *latency,
		IdleTimeout:       2 * time.Minute,
	}
	srv.RegisterOnShutdown(spares.closeAll)
	url := "http://" + ln.Addr().String()

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	if *urlFile != "" {
		if err := writeFileAtomic(*urlFile, url+"\n"); err != nil {
			_ = srv.Close()
			return err
		}
		defer os.Remove(*urlFile)
	}
	fmt.Fprintf(stdout, "POINT_ENDPOINT=%s\nPOINT_API_KEY=%s\n", url, s.APIKey())

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	// A script that ran a suite against this process can tell from this
	// line that the suite did reach it.
	fmt.Fprintf(stderr, "point-sandbox: stopped after %d API requests (users registered: %d)\n", s.Requests(), len(s.UserIDs()))
	return nil
}

// spareConns holds the connections that have not sent a request yet.
// Shutdown counts such a connection as busy until it is 5 seconds old, and
// HTTP clients open spare ones that may never carry a request (Go's
// transport keeps the one it dialed while another came free), so without
// closing them every shutdown with a client still connected would wait out
// its whole timeout and fail.
type spareConns struct {
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	shutdown bool
}

func (sc *spareConns) track(c net.Conn, st http.ConnState) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if st == http.StateNew {
		if sc.shutdown {
			_ = c.Close()
			return
		}
		if sc.conns == nil {
			sc.conns = make(map[net.Conn]struct{})
		}
		sc.conns[c] = struct{}{}
		return
	}
	delete(sc.conns, c)
}

// closeAll closes the spare connections, and any that comes later: the
// listener is closed by then, but a connection it accepted just before may
// report itself new only after this runs.
func (sc *spareConns) closeAll() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.shutdown = true
	for c := range sc.conns {
		_ = c.Close()
	}
	clear(sc.conns)
}

// checkLoopback refuses addresses reachable from other machines: the sandbox
// accepts a throwaway key and prints it.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-listen %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-listen %q: refusing a non-loopback address; use 127.0.0.1, [::1] or localhost", addr)
}

// writeFileAtomic makes content appear at path all at once, so scripts that
// poll for the file never read it half-written.
func writeFileAtomic(path, content string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".point-sandbox-url-*")
	if err != nil {
		return err
	}
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
