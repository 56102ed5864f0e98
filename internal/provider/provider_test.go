package provider

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
)

// The acceptance tests serve the provider with the environment's clock and
// short retry waits.
func init() {
	acctest.NewProvider = func(env *acctest.Env) func() (tfprotov6.ProviderServer, error) {
		return providerserver.NewProtocol6WithError(newWithOptions("test", options{
			now:          env.Clock.Now,
			retryWaitMin: 5 * time.Millisecond,
			retryWaitMax: 50 * time.Millisecond,
		})())
	}
}

func TestMain(m *testing.M) {
	os.Exit(acctest.Main(m))
}

func TestProvider_schemaValid(t *testing.T) {
	server, err := providerserver.NewProtocol6WithError(New("test")())()
	if err != nil {
		t.Fatal(err)
	}
	schemaResp, err := server.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range schemaResp.Diagnostics {
		t.Errorf("schema diagnostic: %s: %s", d.Summary, d.Detail)
	}
	for _, name := range []string{"point_user", "point_refresh_token", "point_users", "point_refresh_tokens"} {
		if _, ok := schemaResp.ResourceSchemas[name]; !ok {
			t.Errorf("resource %s missing", name)
		}
	}
	if _, ok := schemaResp.DataSourceSchemas["point_user"]; !ok {
		t.Error("data source point_user missing")
	}
	if _, ok := schemaResp.EphemeralResourceSchemas["point_access_token"]; !ok {
		t.Error("ephemeral resource point_access_token missing")
	}
}
