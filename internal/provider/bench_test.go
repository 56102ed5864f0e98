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

// These benchmarks call the provider's protocol server in-process: no Terraform CLI and no gRPC. The
// sandbox runs in the same process, so the figures of benchmarks that reach the API include its work
// and allocations, and requests/op counts its HTTP requests.

var benchNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

type benchEnv struct {
	ctx                 context.Context
	server              tfprotov6.ProviderServer
	sandbox             *sandbox.Server
	userType, tokenType tftypes.Type
}

func benchServer(b *testing.B) tfprotov6.ProviderServer {
	server, err := providerserver.NewProtocol6WithError(newWithOptions("bench", options{now: func() time.Time { return benchNow }})())()
	if err != nil {
		b.Fatal(err)
	}
	return server
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	s := sandbox.New(sandbox.Options{Now: func() time.Time { return benchNow }})
	url, closeFn := s.Start()
	b.Cleanup(closeFn)
	server := benchServer(b)
	schemas := acctest.ConfigureServer(b, server, "1.11.0",
		map[string]tftypes.Value{"endpoint": benchString(url), "api_key": benchString(s.APIKey())})
	return &benchEnv{ctx: context.Background(), server: server, sandbox: s,
		userType:  schemas.ResourceSchemas["point_user"].ValueType(),
		tokenType: schemas.ResourceSchemas["point_refresh_token"].ValueType()}
}

func benchString(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }

// loop times call and reports the sandbox's requests per iteration.
func (e *benchEnv) loop(b *testing.B, call func()) {
	before := e.sandbox.Requests()
	b.ReportAllocs()
	for b.Loop() {
		call()
	}
	b.ReportMetric(float64(e.sandbox.Requests()-before)/float64(b.N), "requests/op")
}

func (e *benchEnv) plan(b *testing.B, req *tfprotov6.PlanResourceChangeRequest) *tfprotov6.PlanResourceChangeResponse {
	resp, err := e.server.PlanResourceChange(e.ctx, req)
	if err != nil {
		b.Fatal(err)
	}
	acctest.NoDiagnostics(b, "PlanResourceChange", resp.Diagnostics)
	return resp
}

func (e *benchEnv) read(b *testing.B, req *tfprotov6.ReadResourceRequest) *tfprotov6.ReadResourceResponse {
	resp, err := e.server.ReadResource(e.ctx, req)
	if err != nil {
		b.Fatal(err)
	}
	acctest.NoDiagnostics(b, "ReadResource", resp.Diagnostics)
	return resp
}

// benchTokenState is a refresh token issued by Terraform at benchNow with a
// 90-day rotation period, not yet due.
func (e *benchEnv) benchTokenState(b *testing.B, userID, token string) *tfprotov6.DynamicValue {
	return acctest.DynamicValue(b, e.tokenType, map[string]tftypes.Value{
		"id": benchString(userID), "user_id": benchString(userID), "token": benchString(token),
		"issued_at": benchString(benchNow.Format(time.RFC3339)), "rotate_after": benchString("2160h"),
		"rotate_at": benchString(benchNow.Add(2160 * time.Hour).Format(time.RFC3339)), "store_token": tftypes.NewValue(tftypes.Bool, true),
		"token_version": tftypes.NewValue(tftypes.Number, 1), "token_sha256": benchString(tokenSHA256(token)),
	})
}

func benchSameObject(b *testing.B, typ tftypes.Type, got, want *tfprotov6.DynamicValue, what string) {
	gotAttrs := acctest.DecodeObject(b, typ, got)
	for name, v := range acctest.DecodeObject(b, typ, want) {
		if !gotAttrs[name].Equal(v) {
			b.Fatalf("%s changes %s: %v, want %v", what, name, gotAttrs[name], v)
		}
	}
}

func BenchmarkProviderSchema(b *testing.B) {
	server, ctx := benchServer(b), context.Background()
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

// BenchmarkUserPlan plans a point_user's creation, its computed attributes null as Terraform proposes them.
func BenchmarkUserPlan(b *testing.B) {
	e := newBenchEnv(b)
	config := acctest.DynamicValue(b, e.userType, map[string]tftypes.Value{"user_id": benchString("bench")})
	req := &tfprotov6.PlanResourceChangeRequest{TypeName: "point_user", PriorState: acctest.DynamicValue(b, e.userType, nil),
		ProposedNewState: config, Config: config}
	planned := acctest.DecodeObject(b, e.userType, e.plan(b, req).PlannedState)
	if planned["id"].IsKnown() || !planned["deletion_policy"].Equal(benchString(deletionAbandon)) {
		b.Fatalf("unexpected plan: %v", planned)
	}
	e.loop(b, func() { e.plan(b, req) })
}

// BenchmarkUserApply creates a new point_user per iteration. The requests
// are encoded before the timer starts, since encoding them is Terraform's
// work, which is why this benchmark loops on b.N.
func BenchmarkUserApply(b *testing.B) {
	e := newBenchEnv(b)
	prior, unknown := acctest.DynamicValue(b, e.userType, nil), tftypes.NewValue(tftypes.String, tftypes.UnknownValue)
	reqs := make([]*tfprotov6.ApplyResourceChangeRequest, b.N)
	for i := range reqs {
		userID := benchString(fmt.Sprintf("bench-%d", i))
		reqs[i] = &tfprotov6.ApplyResourceChangeRequest{TypeName: "point_user", PriorState: prior,
			PlannedState: acctest.DynamicValue(b, e.userType, map[string]tftypes.Value{"id": unknown,
				"user_id": userID, "deletion_policy": benchString(deletionAbandon)}),
			Config: acctest.DynamicValue(b, e.userType, map[string]tftypes.Value{"user_id": userID}),
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

	b.ReportMetric(float64(e.sandbox.Requests()-before)/float64(b.N), "requests/op")
	if got := len(e.sandbox.UserIDs()); got != b.N {
		b.Fatalf("the sandbox holds %d users after %d creates", got, b.N)
	}
	resp, err := e.server.ApplyResourceChange(e.ctx, reqs[b.N-1])
	if err != nil {
		b.Fatal(err)
	}
	if len(resp.Diagnostics) != 1 || resp.Diagnostics[0].Summary != "Point User Already Exists" {
		b.Fatalf("applying bench-%d twice: want the already-exists error, got %+v", b.N-1, resp.Diagnostics)
	}
}

func BenchmarkUserRead(b *testing.B) {
	e := newBenchEnv(b)
	e.sandbox.AddUser("bench")
	bench := benchString("bench")
	state := acctest.DynamicValue(b, e.userType,
		map[string]tftypes.Value{"id": bench, "user_id": bench, "deletion_policy": benchString(deletionAbandon)})
	req := &tfprotov6.ReadResourceRequest{TypeName: "point_user", CurrentState: state}
	if got := acctest.DecodeObject(b, e.userType, e.read(b, req).NewState); got == nil || !got["user_id"].Equal(bench) {
		b.Fatalf("unexpected state after read: %v", got)
	}
	e.loop(b, func() { e.read(b, req) })
}

// BenchmarkRefreshTokenPlanNoChange plans a refresh token whose configuration matches its state, as
// most plans of an existing configuration do: ModifyPlan runs and decides not to rotate.
func BenchmarkRefreshTokenPlanNoChange(b *testing.B) {
	e := newBenchEnv(b)
	prior := e.benchTokenState(b, "bench", e.sandbox.AddUser("bench"))
	req := &tfprotov6.PlanResourceChangeRequest{TypeName: "point_refresh_token", PriorState: prior, ProposedNewState: prior,
		Config: acctest.DynamicValue(b, e.tokenType,
			map[string]tftypes.Value{"user_id": benchString("bench"), "rotate_after": benchString("2160h")})}
	resp := e.plan(b, req)
	benchSameObject(b, e.tokenType, resp.PlannedState, prior, "the plan")
	if len(resp.RequiresReplace) > 0 {
		b.Fatalf("the plan replaces the token: %v", resp.RequiresReplace)
	}
	e.loop(b, func() { e.plan(b, req) })
}

func BenchmarkRefreshTokenRead(b *testing.B) {
	e := newBenchEnv(b)
	state := e.benchTokenState(b, "bench", e.sandbox.AddUser("bench"))
	req := &tfprotov6.ReadResourceRequest{TypeName: "point_refresh_token", CurrentState: state}
	benchSameObject(b, e.tokenType, e.read(b, req).NewState, state, "read")
	e.loop(b, func() { e.read(b, req) })
}
