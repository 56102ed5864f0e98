resource "point_user" "alice" {
  user_id = "org-user-8271"
}

resource "point_refresh_token" "alice" {
  user_id = point_user.alice.user_id
}

# A short-lived access token that never reaches plan or state, revoked when
# Terraform closes it at the end of the run.
ephemeral "point_access_token" "alice" {
  user_id       = point_refresh_token.alice.user_id
  refresh_token = point_refresh_token.alice.token
}

# Ephemeral values can configure another provider, set a write-only argument,
# or reach a provisioner through its environment, as here.
resource "terraform_data" "export" {
  # Provisioners run on create: re-run the export whenever the refresh token rotates.
  triggers_replace = [point_refresh_token.alice.issued_at]

  provisioner "local-exec" {
    command = "./export-observations.sh"
    environment = {
      POINT_AUTHORIZATION = ephemeral.point_access_token.alice.authorization_header
    }
  }
}
