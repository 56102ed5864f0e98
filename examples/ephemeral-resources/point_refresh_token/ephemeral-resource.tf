resource "point_user" "alice" {
  user_id = "org-user-8271"
}

# The token is issued and rotated here, and never written to plan or state.
resource "point_refresh_token" "alice" {
  user_id      = point_user.alice.user_id
  store_token  = false
  rotate_after = "2160h"
}

# Reads the current token with the organisation API key. user_id refers to
# the id of point_refresh_token.alice, so Terraform reads the token after
# that resource has issued or rotated it in the same run.
ephemeral "point_refresh_token" "alice" {
  user_id = point_refresh_token.alice.id
}

# Ephemeral values can set a write-only argument, configure another provider,
# or reach a provisioner through its environment, as here. The job runs again
# whenever the token changes.
resource "terraform_data" "handoff" {
  triggers_replace = [point_refresh_token.alice.token_version]

  provisioner "local-exec" {
    command = "./store-refresh-token.sh"
    environment = {
      POINT_REFRESH_TOKEN = ephemeral.point_refresh_token.alice.token
    }
  }
}
