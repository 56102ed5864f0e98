resource "point_user" "bob" {
  user_id = "org-user-8272"
}

# Without refresh_token, the provider reads the user's current refresh token
# with the organisation API key. When this configuration also creates the
# user, set user_id to point_user.<name>.id: it is known only once the user
# exists, so Terraform opens the access token after creating the user rather
# than during the plan, before the user exists.
ephemeral "point_access_token" "bob" {
  user_id = point_user.bob.id
}
