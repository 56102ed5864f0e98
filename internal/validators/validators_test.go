package validators

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestUserIDProblem(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want string // substring of the problem; "" means valid
	}{
		{"org-user-8271", ""},
		{"a", ""},
		{strings.Repeat("x", 128), ""},
		{strings.Repeat("é", 128), ""},
		{"user_1.2:3+4", ""},
		{"", "must not be empty"},
		{strings.Repeat("x", 129), "at most 128 characters long, got 129"},
		{"team/alice", `must not contain "/"`},
		{"alice@example.com", "no personal information, such as email addresses"},
		{"alice smith", "whitespace"},
		{"alice\tsmith", "whitespace"},
		{"alice\n", "whitespace"},
		{"\u00a0alice", "whitespace"},
		{"alice\x00", "control characters"},
		{"alice\x7f", "control characters"},
		{"alice\xff", "valid UTF-8"},
		{".", `must not be "." or ".."`},
		{"..", `must not be "." or ".."`},
		{"...", ""},
	} {
		got := UserIDProblem(tc.id)
		if tc.want == "" && got != "" {
			t.Errorf("UserIDProblem(%q) = %q, want valid", tc.id, got)
		}
		if tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("UserIDProblem(%q) = %q, want it to mention %q", tc.id, got, tc.want)
		}
	}
}

func TestDurationProblem(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want string
	}{
		{"30s", ""},
		{"1h30m", ""},
		{"2160h", ""},
		{"1ns", ""},
		{"soon", `must be a duration such as "30s"`},
		{"", `must be a duration such as "30s"`},
		{"30", `must be a duration such as "30s"`},
		{"3d", `must be a duration such as "30s"`},
		{"0s", "must be greater than zero"},
		{"-1s", "must be greater than zero"},
	} {
		got := DurationProblem(tc.s)
		if tc.want == "" && got != "" {
			t.Errorf("DurationProblem(%q) = %q, want valid", tc.s, got)
		}
		if tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("DurationProblem(%q) = %q, want it to mention %q", tc.s, got, tc.want)
		}
	}
}

func TestEndpointProblem(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want string
	}{
		{"https://staging.sdk.areyoupoint.com", ""},
		{"https://proxy.example.com:8443/point/", ""},
		{"http://127.0.0.1:8080", ""},
		{"http://localhost:8080", ""},
		{"http://LOCALHOST", ""},
		{"http://[::1]:8080", ""},
		{"http://127.5.6.7", ""},
		{"not a url", "must be an absolute URL"},
		{"", "must be an absolute URL"},
		{"staging.sdk.areyoupoint.com", "must be an absolute URL"},
		{"/organizations", "must be an absolute URL"},
		{"sandbox", "must be an absolute URL"},
		{"://x", "must be an absolute URL"},
		{"127.0.0.1:80", "must be an absolute URL"},
		{"ftp://x", `must use the https scheme, got "ftp"`},
		{"http://example.com", `must use https for host "example.com"`},
		{"http://10.0.0.1", "plain http is accepted only for loopback hosts"},
		{"http://localhost.example.com", "plain http is accepted only for loopback hosts"},
		{"https://u:p@host", "must not contain credentials"},
		{"https://host?x=1", "must not have a query or fragment"},
		{"https://host#top", "must not have a query or fragment"},
	} {
		got := EndpointProblem(tc.s)
		if tc.want == "" && got != "" {
			t.Errorf("EndpointProblem(%q) = %q, want valid", tc.s, got)
		}
		if tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("EndpointProblem(%q) = %q, want it to mention %q", tc.s, got, tc.want)
		}
	}
}

func TestStringValidators(t *testing.T) {
	for _, tc := range []struct {
		name    string
		v       validator.String
		value   types.String
		wantErr string
	}{
		{"valid user id", UserID(), types.StringValue("org-user-1"), ""},
		{"invalid user id", UserID(), types.StringValue("a@b"), `Attribute user_id must not contain "@"`},
		{"null is left to Required", UserID(), types.StringNull(), ""},
		{"unknown is checked later", UserID(), types.StringUnknown(), ""},
		{"invalid duration", Duration(), types.StringValue("soon"), "Attribute user_id must be a duration"},
		{"invalid endpoint", Endpoint(), types.StringValue("ftp://x"), "Attribute user_id must use the https scheme"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := validator.StringRequest{Path: path.Root("user_id"), ConfigValue: tc.value}
			var resp validator.StringResponse
			tc.v.ValidateString(context.Background(), req, &resp)
			if tc.wantErr == "" {
				if resp.Diagnostics.HasError() {
					t.Fatalf("unexpected diagnostics: %v", resp.Diagnostics)
				}
				return
			}
			if resp.Diagnostics.ErrorsCount() != 1 {
				t.Fatalf("got %d errors, want 1: %v", resp.Diagnostics.ErrorsCount(), resp.Diagnostics)
			}
			if detail := resp.Diagnostics[0].Detail(); !strings.Contains(detail, tc.wantErr) {
				t.Errorf("detail %q does not contain %q", detail, tc.wantErr)
			}
		})
	}
}
