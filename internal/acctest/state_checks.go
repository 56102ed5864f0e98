package acctest

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

func stateRefreshToken(s *terraform.State) (string, error) {
	rs, ok := s.RootModule().Resources[RefreshTokenAddr]
	if !ok {
		return "", fmt.Errorf("%s not in state", RefreshTokenAddr)
	}
	token := rs.Primary.Attributes["token"]
	if token == "" {
		return "", fmt.Errorf("%s has no token in state", RefreshTokenAddr)
	}
	return token, nil
}

// CaptureStateToken records the token in state, for later steps.
func CaptureStateToken(into *string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		token, err := stateRefreshToken(s)
		*into = token
		return err
	}
}

// CheckStateTokenCurrent asserts that the token in state is the user's current token, and accepted.
func CheckStateTokenCurrent(env *Env, userID string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		token, err := stateRefreshToken(s)
		if err != nil {
			return err
		}
		if current := env.CurrentRefreshToken(userID); current != token {
			return fmt.Errorf("the current refresh token of %q in Point is not the one in state (current set: %t)", userID, current != "")
		}
		return env.CheckRefreshTokenAccepted(userID, token)
	}
}

// StateMap reads a map attribute of a resource from state.
func StateMap(s *terraform.State, addr, attr string) (map[string]string, error) {
	rs, ok := s.RootModule().Resources[addr]
	if !ok {
		return nil, fmt.Errorf("%s not in state", addr)
	}
	out := map[string]string{}
	for k, v := range rs.Primary.Attributes {
		if key, ok := strings.CutPrefix(k, attr+"."); ok && key != "%" {
			out[key] = v
		}
	}
	return out, nil
}

// CheckStateTokens checks that addr holds the current tokens of exactly ids; into, when not nil, gets them.
func CheckStateTokens(env *Env, addr string, ids []string, into *map[string]string) func(*terraform.State) error {
	return func(s *terraform.State) error {
		tokens, err := StateMap(s, addr, "tokens")
		if err != nil {
			return err
		}
		if got, want := slices.Sorted(maps.Keys(tokens)), slices.Sorted(slices.Values(ids)); !slices.Equal(got, want) {
			return fmt.Errorf("%s holds tokens of %d users %v, want %d %v", addr, len(got), got, len(want), want)
		}
		for id, token := range tokens {
			if token == "" || token != env.CurrentRefreshToken(id) {
				return fmt.Errorf("the token of %q in %s is not its current refresh token in Point", id, addr)
			}
		}
		if into != nil {
			*into = tokens
		}
		return nil
	}
}

// SameStateTokens checks that the tokens of ids at addr are those in want: none was issued again.
func SameStateTokens(addr string, ids []string, want *map[string]string) func(*terraform.State) error {
	return func(s *terraform.State) error {
		tokens, err := StateMap(s, addr, "tokens")
		if err != nil {
			return err
		}
		for _, id := range ids {
			if tokens[id] == "" || tokens[id] != (*want)[id] {
				return fmt.Errorf("the token of %q in %s changed", id, addr)
			}
		}
		return nil
	}
}

// SeenTokens collects every refresh token that was current at some check, so that state is searched for all.
type SeenTokens map[string]bool

// NoSeenTokenInState fails when any attribute of any resource in state holds one of the tokens.
func NoSeenTokenInState(s *terraform.State, seen SeenTokens, extra ...string) error {
	tokens := slices.AppendSeq(slices.Clone(extra), maps.Keys(seen))
	for addr, rs := range s.RootModule().Resources {
		for name, v := range rs.Primary.Attributes {
			for _, tok := range tokens {
				if tok != "" && strings.Contains(v, tok) {
					return fmt.Errorf("%s.%s holds a refresh token", addr, name)
				}
			}
		}
	}
	return nil
}
