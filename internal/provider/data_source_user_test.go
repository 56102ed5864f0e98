package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/areyoupoint/terraform-provider-point/internal/acctest"
	"github.com/areyoupoint/terraform-provider-point/internal/sandbox"
)

func userDataSourceTestConfig(env *acctest.Env, userID string) string {
	return env.ProviderBlock() + fmt.Sprintf(`
data "point_user" "test" {
  user_id = %[1]q
}
`, userID)
}

// TestAccUserDataSource reads a user through the data source, then shows
// that its profile is sensitive in an output, then asks for a user Point
// does not have. Users fill in their profiles in Point's apps, and the API
// has no endpoint that sets one, so only the sandbox can give the user a
// profile to check field by field; against real Point the user is a new
// one, whose fields are all null, and still sensitive.
func TestAccUserDataSource(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID, unknownID := env.UserID("profiled"), env.UserID("nobody")
	refreshToken := env.AddUser(userID)
	profile := []string{"email", "birthday", "height", "weight", "gender", "pronoun", "expectation", "first_name", "timezone"}

	const address = "data.point_user.test"
	checks := []statecheck.StateCheck{
		statecheck.ExpectKnownValue(address, tfjsonpath.New("id"), knownvalue.StringExact(userID)),
		statecheck.ExpectKnownValue(address, tfjsonpath.New("user_id"), knownvalue.StringExact(userID)),
	}
	if env.Sandbox != nil {
		email, timezone, firstName, height := "r.kowalska@example.com", "Europe/Warsaw", "", 171.5
		env.Sandbox.SetProfile(userID, sandbox.Profile{Email: &email, Timezone: &timezone, FirstName: &firstName, Height: &height})
		checks = append(checks,
			statecheck.ExpectKnownValue(address, tfjsonpath.New("email"), knownvalue.StringExact(email)),
			statecheck.ExpectKnownValue(address, tfjsonpath.New("timezone"), knownvalue.StringExact(timezone)),
			// An empty string the user entered stays "", distinct from null.
			statecheck.ExpectKnownValue(address, tfjsonpath.New("first_name"), knownvalue.StringExact("")),
			statecheck.ExpectKnownValue(address, tfjsonpath.New("height"), knownvalue.Float64Exact(height)),
		)
		for _, name := range []string{"birthday", "weight", "gender", "pronoun", "expectation"} {
			checks = append(checks, statecheck.ExpectKnownValue(address, tfjsonpath.New(name), knownvalue.Null()))
		}
	} else {
		// A user just registered has filled in nothing, as the reference's
		// example of a new user shows.
		for _, name := range profile {
			checks = append(checks, statecheck.ExpectKnownValue(address, tfjsonpath.New(name), knownvalue.Null()))
		}
	}
	for _, name := range profile {
		checks = append(checks, statecheck.ExpectSensitiveValue(address, tfjsonpath.New(name)))
	}
	var readsBeforeUnknown int

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{
			{
				Config:            userDataSourceTestConfig(env, userID),
				ConfigStateChecks: checks,
				Check: func(s *terraform.State) error {
					rs, ok := s.RootModule().Resources[address]
					if !ok {
						return fmt.Errorf("%s not in state", address)
					}
					for name, value := range rs.Primary.Attributes {
						if value == refreshToken {
							return fmt.Errorf("%s exposes the refresh token in %s", address, name)
						}
					}
					if env.Sandbox != nil && env.Sandbox.RequestCounts()[sandbox.RouteGetUser] == 0 {
						return fmt.Errorf("the data source did not read the user from Point")
					}
					if err := acctest.ExpectRequests(env, sandbox.RouteCreateUser, 0); err != nil {
						return err
					}
					if env.CurrentRefreshToken(userID) != refreshToken {
						return fmt.Errorf("reading the user changed its refresh token")
					}
					return nil
				},
			},
			{
				// email is sensitive whatever its value.
				Config: userDataSourceTestConfig(env, userID) + `
output "email" {
  value = data.point_user.test.email
}
`,
				ExpectError: acctest.DiagnosticMatching("Output refers to sensitive values"),
			},
			{
				PreConfig: func() {
					if env.Sandbox != nil {
						readsBeforeUnknown = env.Sandbox.RequestCounts()[sandbox.RouteGetUser]
					}
				},
				Config: userDataSourceTestConfig(env, unknownID),
				ExpectError: acctest.DiagnosticMatching("Point User Not Found",
					fmt.Sprintf("Point has no user with id %q. Check user_id;", unknownID)),
			},
		},
	})
	if env.Sandbox != nil && env.Sandbox.RequestCounts()[sandbox.RouteGetUser] == readsBeforeUnknown {
		t.Error("the data source did not ask Point for the unknown user")
	}
}
