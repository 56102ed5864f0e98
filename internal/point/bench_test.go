package point_test

import (
	"context"
	"testing"

	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// The sandbox runs in the same process, so allocations include the server's.

func BenchmarkClientRoundTrip(b *testing.B) {
	s, url := startSandbox(b, sandbox.Options{})
	s.AddUser("bench")
	c := newClient(b, url, s.APIKey())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.GetUser(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClientRoundTripParallel(b *testing.B) {
	s, url := startSandbox(b, sandbox.Options{})
	s.AddUser("bench")
	c := newClient(b, url, s.APIKey())
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.GetUser(ctx, "bench"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkClientIssueAccessToken(b *testing.B) {
	s, url := startSandbox(b, sandbox.Options{})
	refresh := s.AddUser("bench")
	c := newClient(b, url, "")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.IssueAccessToken(ctx, "bench", refresh); err != nil {
			b.Fatal(err)
		}
	}
}
