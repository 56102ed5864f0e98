// Package provider is the Terraform surface of the Point provider.
package provider

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/areyoupoint/terraform-provider-point/internal/point"
	"github.com/areyoupoint/terraform-provider-point/internal/validators"
)

const defaultEnvironment = "production"

var (
	_ provider.ProviderWithEphemeralResources = &pointProvider{}
	_ provider.ProviderWithValidateConfig     = &pointProvider{}
	_ provider.ProviderWithActions            = &pointProvider{}
)

// options are the provider's seams for tests: a clock, and shorter waits
// between retries.
type options struct {
	now          func() time.Time
	retryWaitMin time.Duration
	retryWaitMax time.Duration
}

type pointProvider struct {
	version string
	options options
}

type pointProviderModel struct {
	Environment    types.String `tfsdk:"environment"`
	APIKey         types.String `tfsdk:"api_key"`
	Endpoint       types.String `tfsdk:"endpoint"`
	RequestTimeout types.String `tfsdk:"request_timeout"`
	MaxRetries     types.Int64  `tfsdk:"max_retries"`
}

// New returns a constructor for the provider at the given version.
func New(version string) func() provider.Provider {
	return newWithOptions(version, options{})
}

func newWithOptions(version string, opts options) func() provider.Provider {
	if opts.now == nil {
		opts.now = time.Now
	}
	return func() provider.Provider {
		return &pointProvider{version: version, options: opts}
	}
}

func (p *pointProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "point"
	resp.Version = p.version
}

func (p *pointProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The Point provider manages users of [Point](https://areyoupoint.com), a health-data API, and their credentials.",
		Attributes: map[string]schema.Attribute{
			"environment": schema.StringAttribute{
				MarkdownDescription: "Point environment: `staging` or `production`. Can also be set with the `POINT_ENVIRONMENT` environment variable. Defaults to `production`. Ignored when `endpoint` is set.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.OneOf("staging", "production")},
			},
			"api_key": schema.StringAttribute{
				MarkdownDescription: "Organisation API key. Can also be set with the `POINT_API_KEY` environment variable, which keeps it out of configuration. Needed by `point_user`, `point_refresh_token`, `point_users`, `point_refresh_tokens`, the `point_user` data source and the `point_refresh_token` ephemeral resource, and by `point_access_token` when no `refresh_token` is given.",
				Optional:            true,
				Sensitive:           true,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"endpoint": schema.StringAttribute{
				MarkdownDescription: "Base URL of the Point API, overriding `environment`: for the local sandbox or a proxy. Must be an absolute URL; plain `http` is accepted only for loopback hosts. Can also be set with the `POINT_ENDPOINT` environment variable.",
				Optional:            true,
				Validators:          []validator.String{validators.Endpoint()},
			},
			"request_timeout": schema.StringAttribute{
				MarkdownDescription: "Time limit for each HTTP request, as a duration such as `30s`. Defaults to `30s`.",
				Optional:            true,
				Validators:          []validator.String{validators.Duration()},
			},
			"max_retries": schema.Int64Attribute{
				MarkdownDescription: "How many times a failed request that is safe to repeat is retried, with exponential backoff, from 0 to 10. Defaults to `4`.",
				Optional:            true,
				Validators:          []validator.Int64{int64validator.Between(0, 10)},
			},
		},
	}
}

// ValidateConfig checks the environment variables that stand in for unset
// attributes, so that a bad value is reported at validate time too.
func (p *pointProvider) ValidateConfig(ctx context.Context, req provider.ValidateConfigRequest, resp *provider.ValidateConfigResponse) {
	var cfg pointProviderModel
	if !getInto(ctx, req.Config, &cfg, &resp.Diagnostics) {
		return
	}
	resolveSettings(cfg, &resp.Diagnostics)
}

// settings are the provider's values once configuration and environment
// variables are combined.
type settings struct {
	baseURL        string
	apiKey         string
	requestTimeout time.Duration
	maxRetries     int
	// unknown lists attributes whose values are not known yet.
	unknown []string
}

func resolveSettings(cfg pointProviderModel, diags *diag.Diagnostics) settings {
	var s settings
	for _, setting := range []struct {
		name  string
		value interface{ IsUnknown() bool }
	}{
		{"environment", cfg.Environment}, {"api_key", cfg.APIKey}, {"endpoint", cfg.Endpoint},
		{"request_timeout", cfg.RequestTimeout}, {"max_retries", cfg.MaxRetries},
	} {
		if setting.value.IsUnknown() {
			s.unknown = append(s.unknown, setting.name)
		}
	}

	environment := stringSetting(cfg.Environment, point.EnvEnvironment, defaultEnvironment)
	if cfg.Environment.IsNull() && environment != "staging" && environment != "production" {
		diags.AddAttributeError(path.Root("environment"), "Invalid Point Environment",
			fmt.Sprintf("The %s environment variable is %q, but the Point environment must be \"staging\" or \"production\". Correct the variable, or set environment in the provider block.", point.EnvEnvironment, environment))
	}
	s.baseURL = point.EnvironmentURL(environment)

	if endpoint := stringSetting(cfg.Endpoint, point.EnvEndpoint, ""); endpoint != "" {
		if problem := validators.EndpointProblem(endpoint); problem != "" && cfg.Endpoint.IsNull() {
			diags.AddAttributeError(path.Root("endpoint"), "Invalid Point Endpoint",
				fmt.Sprintf("The %s environment variable %s. Correct the variable, or set endpoint in the provider block.", point.EnvEndpoint, problem))
		}
		s.baseURL = strings.TrimRight(endpoint, "/")
	}

	s.apiKey = stringSetting(cfg.APIKey, point.EnvAPIKey, "")
	if s.apiKey != "" && strings.ContainsFunc(s.apiKey, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		source := "api_key"
		if cfg.APIKey.IsNull() {
			source = "The " + point.EnvAPIKey + " environment variable"
		}
		diags.AddAttributeError(path.Root("api_key"), "Invalid Point API Key",
			source+" holds whitespace or a control character, which no API key has: often the newline at the end of a file read with file(). "+
				"Wrap it in trimspace(), for example api_key = trimspace(file(\"point.key\")), or remove the whitespace from "+point.EnvAPIKey+".")
	}

	s.requestTimeout = point.DefaultRequestTimeout
	if !cfg.RequestTimeout.IsNull() && !cfg.RequestTimeout.IsUnknown() {
		if d, err := time.ParseDuration(cfg.RequestTimeout.ValueString()); err == nil && d > 0 {
			s.requestTimeout = d
		}
	}
	s.maxRetries = point.DefaultMaxRetries
	if !cfg.MaxRetries.IsNull() && !cfg.MaxRetries.IsUnknown() {
		s.maxRetries = int(cfg.MaxRetries.ValueInt64())
	}
	return s
}

// stringSetting returns the configured value, else the environment
// variable, else def. A value in configuration always wins.
func stringSetting(v types.String, env, def string) string {
	if !v.IsNull() && !v.IsUnknown() {
		return v.ValueString()
	}
	if fromEnv := os.Getenv(env); fromEnv != "" {
		return fromEnv
	}
	return def
}

func (p *pointProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg pointProviderModel
	if !getInto(ctx, req.Config, &cfg, &resp.Diagnostics) {
		return
	}
	s := resolveSettings(cfg, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}

	data := &providerData{now: p.options.now, unknown: s.unknown, revocations: newRevocationLog()}
	if len(s.unknown) == 0 {
		data.client = point.New(point.Config{
			BaseURL:        s.baseURL,
			APIKey:         s.apiKey,
			UserAgent:      userAgent(p.version, req.TerraformVersion),
			RequestTimeout: s.requestTimeout,
			MaxRetries:     s.maxRetries,
			RetryWaitMin:   p.options.retryWaitMin,
			RetryWaitMax:   p.options.retryWaitMax,
		})
	}
	tflog.Debug(ctx, "Configured the Point provider", map[string]any{
		"point_base_url": s.baseURL, "api_key_set": s.apiKey != "", "unknown_settings": strings.Join(s.unknown, ","),
	})
	resp.ResourceData = data
	resp.DataSourceData = data
	resp.EphemeralResourceData = data
	resp.ActionData = data
}

func userAgent(version, terraformVersion string) string {
	ua := fmt.Sprintf("terraform-provider-point/%s Terraform/%s", version, terraformVersion)
	if extra := strings.TrimSpace(os.Getenv("TF_APPEND_USER_AGENT")); extra != "" {
		ua += " " + extra
	}
	return ua
}

func (p *pointProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{newUserResource, newRefreshTokenResource, newUsersResource, newRefreshTokensResource}
}

func (p *pointProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{newUserDataSource}
}

func (p *pointProvider) EphemeralResources(context.Context) []func() ephemeral.EphemeralResource {
	return []func() ephemeral.EphemeralResource{newAccessTokenEphemeralResource, newRefreshTokenEphemeralResource}
}

// Actions need Terraform 1.14 or later; earlier versions ignore them.
func (p *pointProvider) Actions(context.Context) []func() action.Action {
	return []func() action.Action{newRevokeRefreshTokenAction}
}
