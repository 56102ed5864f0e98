resource "point_user" "alice" {
  user_id = "org-user-8271"
}

resource "point_refresh_token" "alice" {
  user_id = point_user.alice.user_id
}

# Revokes Alice's current refresh token, whoever holds it. Declaring the
# action does nothing by itself; during an incident, run
#
#   terraform apply -invoke=action.point_revoke_refresh_token.alice
#
# and, once the incident allows it, a plain terraform apply to issue Alice a
# new token.
action "point_revoke_refresh_token" "alice" {
  config {
    user_id = point_user.alice.user_id
  }
}
