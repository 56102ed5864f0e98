locals {
  users = merge(var.users, var.existing_users)
}

resource "point_user" "this" {
  for_each = local.users

  user_id = each.value

  # Point cannot delete users: destroy revokes the user's refresh token and
  # stops managing the user, who stays registered in Point.
  deletion_policy = "REVOKE"
}

# Adopt users that already exist, rather than fail to register them again.
# Their current refresh tokens are adopted too, and keep working until the
# next rotation.
import {
  for_each = var.existing_users
  to       = point_user.this[each.key]
  id       = each.value
}

import {
  for_each = var.existing_users
  to       = point_refresh_token.this[each.key]
  id       = each.value
}

# One refresh token per user, rotated in place every 90 days, or at once when
# rotation_generation changes. The token is a secret kept in state.
resource "point_refresh_token" "this" {
  for_each = point_user.this

  user_id      = each.value.user_id
  rotate_after = "2160h"

  rotation_triggers = {
    generation = var.rotation_generation
  }
}

# A short-lived access token for the consumer. It never reaches plan or
# state, and is revoked when Terraform closes it at the end of the run.
ephemeral "point_access_token" "consumer" {
  user_id       = point_refresh_token.this[var.consumer].user_id
  refresh_token = point_refresh_token.this[var.consumer].token
}

# A one-off job that needs the user's access token, such as an export. It runs
# when created, and again whenever the refresh token rotates: triggers are
# stored in state, so they name the rotation, never the ephemeral token.
# Terraform suppresses the output of a provisioner that is given an
# ephemeral value, so the job leaves a receipt that proves it got a token
# without revealing it.
resource "terraform_data" "consumer" {
  triggers_replace = [
    point_refresh_token.this[var.consumer].id,
    point_refresh_token.this[var.consumer].issued_at,
  ]

  provisioner "local-exec" {
    command = "test -n \"$POINT_AUTHORIZATION\" && echo \"consumer received a token of $${#POINT_AUTHORIZATION} characters\" > consumer-receipt.txt"
    environment = {
      POINT_AUTHORIZATION = ephemeral.point_access_token.consumer.authorization_header
    }
  }
}
