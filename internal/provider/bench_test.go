package provider

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

// These benchmarks call the provider through the framework's protocol
// server in-process: no Terraform CLI and no gRPC. The sandbox runs in the
// same process, so the figures of benchmarks that reach the API include the
// sandbox's work and allocations. Those also report requests/op, the HTTP
// requests the sandbox saw per operation.

var benchNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

type benchEnv struct {
	ctx       context.Context
	server    tfprotov6.ProviderServer
	sandbox   *sandbox.Server
	userType  tftypes.Type
	tokenType tftypes.Type
}

// newBenchEnv starts a sandbox and a provider server configured for it.
func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	s := sandbox.New(sandbox.Options{Now: func() time.Time { return benchNow }})
	url, closeFn := s.Start()
	b.Cleanup(closeFn)

	server, err := providerserver.NewProtocol6WithError(newWithOptions("bench", options{now: func() time.Time { return benchNow }})())()
	if err != nil {
		b.Fatal(err)
	}
	schemas := acctest.ConfigureServer(b, server, "1.11.0", map[string]tftypes.Value{
		"endpoint": tftypes.NewValue(tftypes.String, url),
		"api_key":  tftypes.NewValue(tftypes.String, s.APIKey()),
	})
	return &benchEnv{
		ctx:       context.Background(),
		server:    server,
		sandbox:   s,
		userType:  schemas.ResourceSchemas["point_user"].ValueType(),
		tokenType: schemas.ResourceSchemas["point_refresh_token"].ValueType(),
	}
}

func benchString(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }

// benchRequestsPerOp reports the sandbox's requests since before, per iteration.
func (e *benchEnv) benchRequestsPerOp(b *testing.B, before int) {
	b.ReportMetric(float64(e.sandbox.Requests()-before)/float64(b.N), "requests/op")
}

// benchTokenState is a refresh token issued by Terraform at benchNow with a
// 90-day rotation period, not yet due.
func (e *benchEnv) benchTokenState(b *testing.B, userID, token string) *tfprotov6.DynamicValue {
	b.Helper()
	return acctest.DynamicValue(b, e.tokenType, map[string]tftypes.Value{
		"id":            benchString(userID),
		"user_id":       benchString(userID),
		"token":         benchString(token),
		"issued_at":     benchString(benchNow.Format(time.RFC3339)),
		"rotate_after":  benchString("2160h"),
		"rotate_at":     benchString(benchNow.Add(2160 * time.Hour).Format(time.RFC3339)),
		"store_token":   tftypes.NewValue(tftypes.Bool, true),
		"token_version": tftypes.NewValue(tftypes.Number, 1),
		"token_sha256":  benchString(tokenSHA256(token)),
	})
}

func BenchmarkProviderSchema(b *testing.B) {
	server, err := providerserver.NewProtocol6WithError(newWithOptions("bench", options{now: func() time.Time { return benchNow }})())()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
		if err != nil {
			b.Fatal(err)
		}
		if len(resp.Diagnostics) > 0 || len(resp.ResourceSchemas) == 0 {
			b.Fatalf("unexpected schema response: %d diagnostics, %d resource schemas", len(resp.Diagnostics), len(resp.ResourceSchemas))
		}
	}
}

// BenchmarkUserPlan plans the creation of a point_user, with the computed
// attributes null as Terraform proposes them.
func BenchmarkUserPlan(b *testing.B) {
	e := newBenchEnv(b)
	config := acctest.DynamicValue(b, e.userType, map[string]tftypes.Value{"user_id": benchString("bench")})
	req := &tfprotov6.PlanResourceChangeRequest{
		TypeName:         "point_user",
		PriorState:       acctest.DynamicValue(b, e.userType, nil),
		ProposedNewState: config,
		Config:           config,
	}

	resp, err := e.server.PlanResourceChange(e.ctx, req)
	if err != nil {
		b.Fatal(err)
	}
	acctest.NoDiagnostics(b, "PlanResourceChange", resp.Diagnostics)
	planned := acctest.DecodeObject(b, e.userType, resp.PlannedState)
	if planned["id"].IsKnown() || !planned["deletion_policy"].Equal(benchString(deletionAbandon)) {
		b.Fatalf("unexpected plan: %v", planned)
	}
	before := e.sandbox.Requests()

	b.ReportAllocs()
	for b.Loop() {
		resp, err := e.server.PlanResourceChange(e.ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		acctest.NoDiagnostics(b, "PlanResourceChange", resp.Diagnostics)
	}
	e.benchRequestsPerOp(b, before)
}

// BenchmarkUserApply creates a new point_user per iteration. The requests
// are encoded before the timer starts, since encoding them is Terraform's
// work, which is why this benchmark loops on b.N.
func BenchmarkUserApply(b *testing.B) {
	e := newBenchEnv(b)
	prior := acctest.DynamicValue(b, e.userType, nil)
	reqs := make([]*tfprotov6.ApplyResourceChangeRequest, b.N)
	for i := range reqs {
		userID := fmt.Sprintf("bench-%d", i)
		reqs[i] = &tfprotov6.ApplyResourceChangeRequest{
			TypeName:   "point_user",
			PriorState: prior,
			PlannedState: acctest.DynamicValue(b, e.userType, map[string]tftypes.Value{
				"id":              tftypes.NewValue(tftypes.String, tftypes.UnknownValue),
				"user_id":         benchString(userID),
				"deletion_policy": benchString(deletionAbandon),
			}),
			Config: acctest.DynamicValue(b, e.userType, map[string]tftypes.Value{"user_id": benchString(userID)}),
		}
	}
	before := e.sandbox.Requests()

	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := e.server.ApplyResourceChange(e.ctx, reqs[i])
		if err != nil {
			b.Fatal(err)
		}
		acctest.NoDiagnostics(b, "ApplyResourceChange", resp.Diagnostics)
	}
	b.StopTimer()

	e.benchRequestsPerOp(b, before)
	if got := len(e.sandbox.UserIDs()); got != b.N {
		b.Fatalf("the sandbox holds %d users after %d creates", got, b.N)
	}
	last := fmt.Sprintf("bench-%d", b.N-1)
	resp, err := e.server.ApplyResourceChange(e.ctx, reqs[b.N-1])
	if err != nil {
		b.Fatal(err)
	}
	if len(resp.Diagnostics) != 1 || resp.Diagnostics[0].Summary != "Point User Already Exists" {
		b.Fatalf("applying %s twice: want the already-exists error, got %+v", last, resp.Diagnostics)
	}
}

func BenchmarkUserRead(b *testing.B) {
	e := newBenchEnv(b)
	e.sandbox.AddUser("bench")
	state := acctest.DynamicValue(b, e.userType, map[string]tftypes.Value{
		"id":              benchString("bench"),
		"user_id":         benchString("bench"),
		"deletion_policy": benchString(deletionAbandon),
	})
	req := &tfprotov6.ReadResourceRequest{TypeName: "point_user", CurrentState: state}

	resp, err := e.server.ReadResource(e.ctx, req)
	if err != nil {
		b.Fatal(err)
	}
	acctest.NoDiagnostics(b, "ReadResource", resp.Diagnostics)
	if got := acctest.DecodeObject(b, e.userType, resp.NewState); got == nil || !got["user_id"].Equal(benchString("bench")) {
		b.Fatalf("unexpected state after read: %v", got)
	}
	before := e.sandbox.Requests()

	b.ReportAllocs()
	for b.Loop() {
		resp, err := e.server.ReadResource(e.ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		acctest.NoDiagnostics(b, "ReadResource", resp.Diagnostics)
	}
	e.benchRequestsPerOp(b, before)
}

// BenchmarkRefreshTokenPlanNoChange plans a refresh token whose
// configuration matches its state, as most plans of an existing
// configuration do: ModifyPlan runs and decides not to rotate.
func BenchmarkRefreshTokenPlanNoChange(b *testing.B) {
	e := newBenchEnv(b)
	token := e.sandbox.AddUser("bench")
	prior := e.benchTokenState(b, "bench", token)
	req := &tfprotov6.PlanResourceChangeRequest{
		TypeName:         "point_refresh_token",
		PriorState:       prior,
		ProposedNewState: prior,
		Config: acctest.DynamicValue(b, e.tokenType, map[string]tftypes.Value{
			"user_id":      benchString("bench"),
			"rotate_after": benchString("2160h"),
		}),
	}

	resp, err := e.server.PlanResourceChange(e.ctx, req)
	if err != nil {
		b.Fatal(err)
	}
	acctest.NoDiagnostics(b, "PlanResourceChange", resp.Diagnostics)
	planned := acctest.DecodeObject(b, e.tokenType, resp.PlannedState)
	for name, want := range acctest.DecodeObject(b, e.tokenType, prior) {
		if !planned[name].Equal(want) {
			b.Fatalf("the plan changes %s: %v, want %v", name, planned[name], want)
		}
	}
	if len(resp.RequiresReplace) > 0 {
		b.Fatalf("the plan replaces the token: %v", resp.RequiresReplace)
	}
	before := e.sandbox.Requests()

	b.ReportAllocs()
	for b.Loop() {
		resp, err := e.server.PlanResourceChange(e.ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		acctest.NoDiagnostics(b, "PlanResourceChange", resp.Diagnostics)
	}
	e.benchRequestsPerOp(b, before)
}

func BenchmarkRefreshTokenRead(b *testing.B) {
	e := newBenchEnv(b)
	token := e.sandbox.AddUser("bench")
	state := e.benchTokenState(b, "bench", token)
	req := &tfprotov6.ReadResourceRequest{TypeName: "point_refresh_token", CurrentState: state}

	resp, err := e.server.ReadResource(e.ctx, req)
	if err != nil {
		b.Fatal(err)
	}
	acctest.NoDiagnostics(b, "ReadResource", resp.Diagnostics)
	got := acctest.DecodeObject(b, e.tokenType, resp.NewState)
	for name, want := range acctest.DecodeObject(b, e.tokenType, state) {
		if !got[name].Equal(want) {
			b.Fatalf("read changed %s: %v, want %v", name, got[name], want)
		}
	}
	before := e.sandbox.Requests()

	b.ReportAllocs()
	for b.Loop() {
		resp, err := e.server.ReadResource(e.ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		acctest.NoDiagnostics(b, "ReadResource", resp.Diagnostics)
	}
	e.benchRequestsPerOp(b, before)
}
