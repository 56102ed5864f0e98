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

// TestAccUserDataSource reads a user and its profile, all of it sensitive, and fails on a user Point does
// not have. Users fill in their profiles in Point's apps and the API cannot set one, so only the sandbox
// gives the user a profile; against real Point its fields are null, as the reference's new user shows.
func TestAccUserDataSource(t *testing.T) {
	env := acctest.NewEnv(t, sandbox.Options{})
	userID, unknownID := env.UserID("profiled"), env.UserID("nobody")
	refreshToken := env.AddUser(userID)
	config := func(id string) string {
		return env.ProviderBlock() + fmt.Sprintf("\ndata \"point_user\" \"test\" {\n  user_id = %q\n}\n", id)
	}
	reads := func() int { return requestCounts(env)[sandbox.RouteGetUser] }

	null := knownvalue.Null()
	profile := map[string]knownvalue.Check{"email": null, "birthday": null, "height": null, "weight": null, "gender": null,
		"pronoun": null, "expectation": null, "first_name": null, "timezone": null}
	if env.Sandbox != nil {
		email, timezone, firstName, height := "r.kowalska@example.com", "Europe/Warsaw", "", 171.5
		env.Sandbox.SetProfile(userID, sandbox.Profile{Email: &email, Timezone: &timezone, FirstName: &firstName, Height: &height})
		profile["email"], profile["timezone"] = knownvalue.StringExact(email), knownvalue.StringExact(timezone)
		profile["height"] = knownvalue.Float64Exact(height)
		profile["first_name"] = knownvalue.StringExact("") // an empty string the user entered stays "", distinct from null
	}
	const address = "data.point_user.test"
	checks := []statecheck.StateCheck{
		statecheck.ExpectKnownValue(address, tfjsonpath.New("id"), knownvalue.StringExact(userID)),
		statecheck.ExpectKnownValue(address, tfjsonpath.New("user_id"), knownvalue.StringExact(userID)),
	}
	for name, want := range profile {
		checks = append(checks, statecheck.ExpectKnownValue(address, tfjsonpath.New(name), want),
			statecheck.ExpectSensitiveValue(address, tfjsonpath.New(name)))
	}
	var readsBeforeUnknown int

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{
			{
				Config:            config(userID),
				ConfigStateChecks: checks,
				Check: resource.ComposeAggregateTestCheckFunc(
					func(s *terraform.State) error { return acctest.NoSeenTokenInState(s, nil, refreshToken) },
					func(*terraform.State) error {
						if env.Sandbox != nil && reads() == 0 {
							return fmt.Errorf("the data source did not read the user from Point")
						}
						return acctest.ExpectRequests(env, sandbox.RouteCreateUser, 0)
					},
					acctest.RefreshTokenUnchanged(env, userID, &refreshToken),
				),
			},
			{
				// email is sensitive whatever its value.
				Config:      config(userID) + "\noutput \"email\" {\n  value = data.point_user.test.email\n}\n",
				ExpectError: acctest.DiagnosticMatching("Output refers to sensitive values"),
			},
			{
				PreConfig: func() { readsBeforeUnknown = reads() },
				Config:    config(unknownID),
				ExpectError: acctest.DiagnosticMatching("Point User Not Found",
					fmt.Sprintf("Point has no user with id %q. Check user_id;", unknownID)),
			},
		},
	})
	if env.Sandbox != nil && reads() == readsBeforeUnknown {
		t.Error("the data source did not ask Point for the unknown user")
	}
}
