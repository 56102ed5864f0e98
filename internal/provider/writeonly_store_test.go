package provider

import (
	"context"
	"slices"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	fwprovider "github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
)

// wostore is a test-only provider shaped like a secret store with
// write-only arguments, such as aws_secretsmanager_secret_version with
// secret_string_wo and secret_string_wo_version: no provider of that kind
// can be downloaded here. wostore_secret names a secret;
// wostore_secret_version writes secret_string_wo into it on create, and
// again only when secret_string_wo_version changes, as such providers do.
// Its store records every value each apply received and every value it
// wrote, so that tests can check what a consumer was given.

// woStore is what wostore holds and what it was given.
type woStore struct {
	mu sync.Mutex
	// secrets holds the value last written to each secret.
	secrets map[string]string
	// received lists, per secret, every secret_string_wo an apply received,
	// written or not.
	received map[string][]string
	// writes lists, per secret, every value written, with its version.
	writes map[string][]woWrite
}

type woWrite struct {
	Version int64
	Value   string
}

func newWOStore() *woStore {
	return &woStore{secrets: map[string]string{}, received: map[string][]string{}, writes: map[string][]woWrite{}}
}

// Secret returns the value last written to the secret, or "".
func (s *woStore) Secret(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.secrets[id]
}

// Writes returns the values written to the secret, oldest first.
func (s *woStore) Writes(id string) []woWrite {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.writes[id])
}

// Received returns every value an apply gave the secret, oldest first.
func (s *woStore) Received(id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.received[id])
}

// AllReceived returns every value any apply gave any secret.
func (s *woStore) AllReceived() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []string
	for _, values := range s.received {
		all = append(all, values...)
	}
	return all
}

func (s *woStore) receive(id string, value types.String, version types.Int64, write bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if value.IsNull() || value.IsUnknown() {
		return
	}
	s.received[id] = append(s.received[id], value.ValueString())
	if write {
		s.secrets[id] = value.ValueString()
		s.writes[id] = append(s.writes[id], woWrite{Version: version.ValueInt64(), Value: value.ValueString()})
	}
}

func (s *woStore) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.secrets, id)
}

type woStoreProvider struct{ store *woStore }

func (p *woStoreProvider) Metadata(_ context.Context, _ fwprovider.MetadataRequest, resp *fwprovider.MetadataResponse) {
	resp.TypeName = "wostore"
}

func (p *woStoreProvider) Schema(context.Context, fwprovider.SchemaRequest, *fwprovider.SchemaResponse) {
}

func (p *woStoreProvider) Configure(_ context.Context, _ fwprovider.ConfigureRequest, resp *fwprovider.ConfigureResponse) {
	resp.ResourceData = p.store
}

func (p *woStoreProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		func() resource.Resource { return &woSecretResource{} },
		func() resource.Resource { return &woSecretVersionResource{} },
	}
}

func (p *woStoreProvider) DataSources(context.Context) []func() datasource.DataSource { return nil }

// wostore_secret: a named secret, with no value of its own.
type woSecretResource struct{}

type woSecretModel struct {
	ID   types.String `tfsdk:"id"`
	Name types.String `tfsdk:"name"`
}

func (r *woSecretResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_secret"
}

func (r *woSecretResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{Attributes: map[string]schema.Attribute{
		"id":   schema.StringAttribute{Computed: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
		"name": schema.StringAttribute{Required: true, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
	}}
}

func (r *woSecretResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m woSecretModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	m.ID = m.Name
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

func (r *woSecretResource) Read(context.Context, resource.ReadRequest, *resource.ReadResponse) {}

func (r *woSecretResource) Update(_ context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	resp.State.Raw = req.Plan.Raw
}

func (r *woSecretResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {
}

// wostore_secret_version: writes a value into a secret.
type woSecretVersionResource struct{ store *woStore }

type woSecretVersionModel struct {
	ID            types.String `tfsdk:"id"`
	SecretID      types.String `tfsdk:"secret_id"`
	SecretString  types.String `tfsdk:"secret_string_wo"`
	SecretVersion types.Int64  `tfsdk:"secret_string_wo_version"`
}

func (r *woSecretVersionResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_secret_version"
}

func (r *woSecretVersionResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{Attributes: map[string]schema.Attribute{
		"id":                       schema.StringAttribute{Computed: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
		"secret_id":                schema.StringAttribute{Required: true, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
		"secret_string_wo":         schema.StringAttribute{Optional: true, Sensitive: true, WriteOnly: true},
		"secret_string_wo_version": schema.Int64Attribute{Optional: true},
	}}
}

func (r *woSecretVersionResource) Configure(_ context.Context, req resource.ConfigureRequest, _ *resource.ConfigureResponse) {
	if store, ok := req.ProviderData.(*woStore); ok {
		r.store = store
	}
}

func (r *woSecretVersionResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m woSecretVersionModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	var value types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("secret_string_wo"), &value)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.store.receive(m.SecretID.ValueString(), value, m.SecretVersion, true)
	m.ID = m.SecretID
	m.SecretString = types.StringNull()
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

func (r *woSecretVersionResource) Read(context.Context, resource.ReadRequest, *resource.ReadResponse) {
}

func (r *woSecretVersionResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state woSecretVersionModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	var value types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("secret_string_wo"), &value)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.store.receive(plan.SecretID.ValueString(), value, plan.SecretVersion, !plan.SecretVersion.Equal(state.SecretVersion))
	plan.SecretString = types.StringNull()
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *woSecretVersionResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m woSecretVersionModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	r.store.remove(m.SecretID.ValueString())
}

// factoriesWith serves env's provider, the echo provider and wostore, backed
// by store.
func factoriesWith(env *acctest.Env, store *woStore) map[string]func() (tfprotov6.ProviderServer, error) {
	factories := env.Factories()
	factories["wostore"] = providerserver.NewProtocol6WithError(&woStoreProvider{store: store})
	return factories
}
