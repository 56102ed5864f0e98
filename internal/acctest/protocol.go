package acctest

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// ConfiguredServer returns the provider under test, configured for this environment, with its schemas.
func (e *Env) ConfiguredServer(tb testing.TB) (tfprotov6.ProviderServer, *tfprotov6.GetProviderSchemaResponse) {
	tb.Helper()
	return e.ConfiguredServerFor(tb, e.Endpoint, e.APIKey, "1.11.0")
}

// ConfiguredServerFor is ConfiguredServer for endpoint with apiKey ("" for none) and terraformVersion.
func (e *Env) ConfiguredServerFor(tb testing.TB, endpoint, apiKey, terraformVersion string) (tfprotov6.ProviderServer, *tfprotov6.GetProviderSchemaResponse) {
	tb.Helper()
	server, err := NewProvider(e)()
	if err != nil {
		tb.Fatal(err)
	}
	settings := map[string]tftypes.Value{"endpoint": tftypes.NewValue(tftypes.String, endpoint)}
	if apiKey != "" {
		settings["api_key"] = tftypes.NewValue(tftypes.String, apiKey)
	}
	return server, ConfigureServer(tb, server, terraformVersion, settings)
}

// ConfigureServer configures server with settings as terraformVersion would, and returns its schemas.
func ConfigureServer(tb testing.TB, server tfprotov6.ProviderServer, terraformVersion string, settings map[string]tftypes.Value) *tfprotov6.GetProviderSchemaResponse {
	tb.Helper()
	ctx := context.Background()
	schemas, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		tb.Fatal(err)
	}
	NoDiagnostics(tb, "GetProviderSchema", schemas.Diagnostics)
	config := DynamicValue(tb, schemas.Provider.ValueType(), settings)
	configured, err := server.ConfigureProvider(ctx, &tfprotov6.ConfigureProviderRequest{TerraformVersion: terraformVersion, Config: config})
	if err != nil {
		tb.Fatal(err)
	}
	NoDiagnostics(tb, "ConfigureProvider", configured.Diagnostics)
	return schemas
}

// NoDiagnostics fails unless a call answered without diagnostics.
func NoDiagnostics(tb testing.TB, rpc string, diags []*tfprotov6.Diagnostic) {
	tb.Helper()
	for _, d := range diags {
		tb.Fatalf("%s: %s: %s", rpc, d.Summary, d.Detail)
	}
}

// DynamicValue encodes an object of type typ with the given attributes, null for others; nil encodes null.
func DynamicValue(tb testing.TB, typ tftypes.Type, given map[string]tftypes.Value) *tfprotov6.DynamicValue {
	tb.Helper()
	value := tftypes.NewValue(typ, nil)
	if given != nil {
		obj, ok := typ.(tftypes.Object)
		if !ok {
			tb.Fatalf("%s is not an object type", typ)
		}
		vals := make(map[string]tftypes.Value, len(obj.AttributeTypes))
		for name, attrType := range obj.AttributeTypes {
			vals[name] = tftypes.NewValue(attrType, nil)
		}
		for name, v := range given {
			if _, ok := obj.AttributeTypes[name]; !ok {
				tb.Fatalf("schema has no attribute %q", name)
			}
			vals[name] = v
		}
		value = tftypes.NewValue(typ, vals)
	}
	dv, err := tfprotov6.NewDynamicValue(typ, value)
	if err != nil {
		tb.Fatal(err)
	}
	return &dv
}

// DecodeObject returns the attributes of an encoded object, nil when it is null.
func DecodeObject(tb testing.TB, typ tftypes.Type, dv *tfprotov6.DynamicValue) map[string]tftypes.Value {
	tb.Helper()
	if dv == nil {
		tb.Fatal("no value in the response")
	}
	value, err := dv.Unmarshal(typ)
	if err != nil {
		tb.Fatal(err)
	}
	if value.IsNull() {
		return nil
	}
	attrs := map[string]tftypes.Value{}
	if err := value.As(&attrs); err != nil {
		tb.Fatal(err)
	}
	return attrs
}

// StringOrNil returns a string value, or nil when it is null.
func StringOrNil(tb testing.TB, v tftypes.Value) *string {
	tb.Helper()
	if v.IsNull() {
		return nil
	}
	var s string
	if err := v.As(&s); err != nil {
		tb.Fatal(err)
	}
	return &s
}
