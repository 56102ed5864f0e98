resource "point_user" "bob" {
  user_id = "org-user-8272"
}

resource "point_refresh_token" "bob" {
  user_id           = point_user.bob.user_id
  rotation_triggers = { generation = "1" }
}

# Without refresh_token, the provider reads the user's current refresh token
# with the organisation API key. user_id refers to the id of the user's
# point_refresh_token: it is known only once the token exists, so Terraform
# opens the access token after creating the user and its token rather than
# during the plan; and it makes Terraform open the access token only after a
# rotation of that token in the same apply has finished.
ephemeral "point_access_token" "bob" {
  user_id = point_refresh_token.bob.id
}
