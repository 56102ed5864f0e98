resource "point_user" "alice" {
  # Your own id for the user. Point forbids personal information in ids,
  # so never use an email address.
  user_id = "org-user-8271"

  # Point cannot delete users: on destroy, revoke the user's refresh token and
  # stop managing the user. The default, ABANDON, only stops managing it;
  # PREVENT makes destroy fail.
  deletion_policy = "REVOKE"
}
