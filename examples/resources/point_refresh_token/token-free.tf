resource "point_user" "bob" {
  user_id = "org-user-8272"
}

# Keeps the token out of plan and state: state holds only its fingerprint,
# token_sha256, and token_version, which grows by one with each new token.
resource "point_refresh_token" "bob" {
  user_id      = point_user.bob.user_id
  store_token  = false
  rotate_after = "2160h"
}

# Read it where it is needed, with the organisation API key.
ephemeral "point_refresh_token" "bob" {
  user_id = point_refresh_token.bob.id
}

# point_access_token reads it too when refresh_token is omitted.
ephemeral "point_access_token" "bob" {
  user_id = point_refresh_token.bob.id
}
