package provider

import (
	"context"
	"maps"
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

// wostore is a test-only provider shaped like a secret store with write-only arguments, such as
// aws_secretsmanager_secret_version, none of which can be downloaded here: wostore_secret_version
// writes secret_string_wo on create, and again only when secret_string_wo_version changes, as they do.

// woStore is what wostore holds and what it was given.
type woStore struct {
	mu       sync.Mutex
	secrets  map[string]string   // the value last written to each secret
	received map[string][]string // per secret, every secret_string_wo an apply received, written or not
	writes   map[string][]string // per secret, every value written
}

func newWOStore() *woStore {
	return &woStore{secrets: map[string]string{}, received: map[string][]string{}, writes: map[string][]string{}}
}

func (s *woStore) lock() (unlock func()) { s.mu.Lock(); return s.mu.Unlock }

func (s *woStore) Secret(id string) string { defer s.lock()(); return s.secrets[id] }

func (s *woStore) Writes(id string) []string { defer s.lock()(); return slices.Clone(s.writes[id]) }

func (s *woStore) AllReceived() []string {
	defer s.lock()()
	return slices.Concat(slices.Collect(maps.Values(s.received))...)
}

func (s *woStore) receive(id string, value types.String, write bool) {
	defer s.lock()()
	if value.IsNull() || value.IsUnknown() {
		return
	}
	s.received[id] = append(s.received[id], value.ValueString())
	if write {
		s.secrets[id] = value.ValueString()
		s.writes[id] = append(s.writes[id], value.ValueString())
	}
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

var (
	woComputedID = schema.StringAttribute{Computed: true,
		PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}}
	woRequiredName = schema.StringAttribute{Required: true, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}}
)

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
	resp.Schema = schema.Schema{Attributes: map[string]schema.Attribute{"id": woComputedID, "name": woRequiredName}}
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
		"id":                       woComputedID,
		"secret_id":                woRequiredName,
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
	var value types.String
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("secret_string_wo"), &value)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.store.receive(m.SecretID.ValueString(), value, true)
	m.ID, m.SecretString = m.SecretID, types.StringNull()
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

func (r *woSecretVersionResource) Read(context.Context, resource.ReadRequest, *resource.ReadResponse) {
}

func (r *woSecretVersionResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state woSecretVersionModel
	var value types.String
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("secret_string_wo"), &value)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.store.receive(plan.SecretID.ValueString(), value, !plan.SecretVersion.Equal(state.SecretVersion))
	plan.SecretString = types.StringNull()
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *woSecretVersionResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m woSecretVersionModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	defer r.store.lock()()
	delete(r.store.secrets, m.SecretID.ValueString())
}

// factoriesWith serves env's provider, the echo provider and wostore, backed by store.
func factoriesWith(env *acctest.Env, store *woStore) map[string]func() (tfprotov6.ProviderServer, error) {
	factories := env.Factories()
	factories["wostore"] = providerserver.NewProtocol6WithError(&woStoreProvider{store: store})
	return factories
}
