package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startRun runs the command with args and env until the test ends, and
// returns its base URL once it listens, a function that stops it and
// returns its error, and its output.
func startRun(t *testing.T, args []string, env map[string]string) (base string, stop func() error, stdout, stderr *syncBuffer) {
	t.Helper()
	urlFile := filepath.Join(t.TempDir(), "url")
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-url-file", urlFile}, args...), func(k string) string { return env[k] }, stdout, stderr)
	}()
	stopped := false
	stop = func() error {
		t.Helper()
		cancel()
		// Well past the command's own 5-second shutdown timeout, so that a
		// slow machine cannot fail a clean stop.
		select {
		case err := <-done:
			stopped = true
			if _, statErr := os.Stat(urlFile); !os.IsNotExist(statErr) {
				t.Errorf("url file left behind: %v", statErr)
			}
			return err
		case <-time.After(30 * time.Second):
			t.Fatal("run did not stop")
			return nil
		}
	}
	t.Cleanup(func() {
		if !stopped {
			_ = stop()
		}
	})

	for deadline := time.Now().Add(30 * time.Second); ; {
		if b, err := os.ReadFile(urlFile); err == nil {
			base = strings.TrimSpace(string(b))
			break
		}
		select {
		case err := <-done:
			stopped = true
			t.Fatalf("run ended before listening: %v; stderr: %s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("url file never appeared; stderr: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("base URL = %q", base)
	}
	return base, stop, stdout, stderr
}

// testClient is a client of its own per test, so that no connection of
// another test's server lingers in a shared pool.
func testClient(t *testing.T) *http.Client {
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: transport, Timeout: 30 * time.Second}
}

func TestRun(t *testing.T) {
	env := map[string]string{"POINT_SANDBOX_API_KEY": "env-key"}
	base, stop, stdout, stderr := startRun(t, []string{"-idempotent-create", "-rate-limit-every", "1000"}, env)
	client := testClient(t)

	for range 2 {
		req, _ := http.NewRequest("POST", base+"/organizations/users/u1", nil)
		req.Header.Set("Authorization", "Bearer env-key")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("create status %d (want 200 both times with -idempotent-create)", resp.StatusCode)
		}
	}
	req, _ := http.NewRequest("GET", base+"/_sandbox/state", nil)
	req.Header.Set("Authorization", "Bearer env-key")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Users    int `json:"users"`
		Requests int `json:"requests"`
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || st.Users != 1 || st.Requests != 2 {
		t.Errorf("state = %+v, %v", st, err)
	}

	// The client's connections stay open: a stop must not wait for them.
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	want := "POINT_ENDPOINT=" + base + "\nPOINT_API_KEY=env-key\n"
	if got := stdout.String(); got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	// Two creates; the state request is not an API request.
	if want := "point-sandbox: stopped after 2 API requests (users registered: 1)\n"; stderr.String() != want {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
	}
}

// TestRunStopsWithSpareConnection holds a connection that never sends a
// request, as HTTP clients keep spare ones, and stops the command: the stop
// must be prompt and clean, although http.Server.Shutdown counts such a
// connection as busy for 5 seconds, as long as the command's own timeout.
func TestRunStopsWithSpareConnection(t *testing.T) {
	base, stop, _, stderr := startRun(t, nil, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A request on another connection shows that the server has accepted
	// connections by now.
	resp, err := testClient(t).Get(base + "/organizations/users/u1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	start := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("run: %v (stderr %s)", err, stderr.String())
	}
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("stopping took %v: it waited for the spare connection", took)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := conn.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("the spare connection is still open after the stop: read %d, %v", n, err)
	}
}

// TestSpareConnectionNewAfterShutdownIsClosed covers a race the test above
// seldom meets: the listener accepted a connection just before it closed,
// and the connection reports itself new only after the spares were closed.
func TestSpareConnectionNewAfterShutdownIsClosed(t *testing.T) {
	var spares spareConns
	spares.closeAll()
	server, client := net.Pipe()
	defer client.Close()
	spares.track(server, http.StateNew)
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := client.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("a connection new after the shutdown is still open: read %d, %v", n, err)
	}
}

// TestRunDialect checks that -dialect, or else POINT_SANDBOX_DIALECT,
// chooses the dialect: a credential-first one answers 401 to a non-route
// without a credential, where the default answers 404.
func TestRunDialect(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want int
	}{
		{"default", nil, nil, http.StatusNotFound},
		{"flag", []string{"-dialect", "gateway"}, nil, http.StatusUnauthorized},
		{"environment", nil, map[string]string{"POINT_SANDBOX_DIALECT": "gateway"}, http.StatusUnauthorized},
		{"flag over environment", []string{"-dialect", "reference"}, map[string]string{"POINT_SANDBOX_DIALECT": "gateway"}, http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base, stop, _, _ := startRun(t, tc.args, tc.env)
			resp, err := testClient(t).Get(base + "/no-such-route")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("a non-route without a credential: %d, want %d", resp.StatusCode, tc.want)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestUsageListsDialects(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"-h"}, func(string) string { return "" }, &bytes.Buffer{}, &stderr)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run -h = %v", err)
	}
	for _, d := range sandbox.Dialects {
		if !strings.Contains(stderr.String(), d.Name+" ") || !strings.Contains(stderr.String(), d.Summary) {
			t.Errorf("-h does not list dialect %q:\n%s", d.Name, stderr.String())
		}
	}
}

// TestListDialects checks -list-dialects, which CI loops over to run the
// real mode in every dialect.
func TestListDialects(t *testing.T) {
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"-list-dialects"}, func(string) string { return "" }, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatalf("run -list-dialects = %v", err)
	}
	if got, want := strings.Fields(stdout.String()), sandbox.DialectNames(); !slices.Equal(got, want) || len(got) < 2 {
		t.Errorf("-list-dialects printed %q, want %q", got, want)
	}
}

func TestRunRandomKey(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout bytes.Buffer
	if err := run(ctx, nil, func(string) string { return "" }, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "POINT_API_KEY=sandbox-key-") {
		t.Errorf("stdout = %q", stdout.String())
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	cases := map[string][]string{
		"all interfaces":  {"-listen", ":8080"},
		"public address":  {"-listen", "0.0.0.0:0"},
		"hostname":        {"-listen", "example.com:80"},
		"no port":         {"-listen", "127.0.0.1"},
		"failure rate":    {"-failure-rate", "1.5"},
		"rate limit":      {"-rate-limit-every", "-1"},
		"latency":         {"-latency", "-1s"},
		"unknown dialect": {"-dialect", "klingon"},
		"unknown flag":    {"-nope"},
		"extra argument":  {"extra"},
		"unwritable file": {"-url-file", filepath.Join(t.TempDir(), "missing", "url")},
		"listen error":    {"-listen", "127.0.0.1:99999"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := run(context.Background(), args, func(string) string { return "" }, &bytes.Buffer{}, &stderr)
			if err == nil {
				t.Fatal("run succeeded")
			}
			if strings.Contains(name, "address") || name == "all interfaces" || name == "hostname" {
				if !strings.Contains(err.Error(), "non-loopback") {
					t.Errorf("error %q does not explain the loopback rule", err)
				}
			}
		})
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:0", "localhost:8080", "[::1]:0", "127.1.2.3:9"} {
		if err := checkLoopback(ok); err != nil {
			t.Errorf("checkLoopback(%q) = %v", ok, err)
		}
	}
}
