package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
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

func TestRun(t *testing.T) {
	urlFile := filepath.Join(t.TempDir(), "url")
	env := map[string]string{"POINT_SANDBOX_API_KEY": "env-key"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-url-file", urlFile, "-idempotent-create", "-rate-limit-every", "1000"},
			func(k string) string { return env[k] }, &stdout, &stderr)
	}()

	var base string
	for deadline := time.Now().Add(10 * time.Second); ; {
		if b, err := os.ReadFile(urlFile); err == nil {
			base = strings.TrimSpace(string(b))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("url file never appeared; stderr: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("base URL = %q", base)
	}

	for range 2 {
		req, _ := http.NewRequest("POST", base+"/organizations/users/u1", nil)
		req.Header.Set("Authorization", "Bearer env-key")
		resp, err := http.DefaultClient.Do(req)
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
	resp, err := http.DefaultClient.Do(req)
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

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
	want := "POINT_ENDPOINT=" + base + "\nPOINT_API_KEY=env-key\n"
	if got := stdout.String(); got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if _, err := os.Stat(urlFile); !os.IsNotExist(err) {
		t.Errorf("url file left behind: %v", err)
	}
	// Two creates; the state request is not an API request.
	if want := "point-sandbox: stopped after 2 API requests (users registered: 1)\n"; stderr.String() != want {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
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
