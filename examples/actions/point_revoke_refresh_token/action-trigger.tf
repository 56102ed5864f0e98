# Revoke the tokens of every user listed in compromised_users as part of the
# apply that adds them to the list. Run terraform apply once more afterwards
# to issue them new tokens.
variable "compromised_users" {
  type    = set(string)
  default = []
}

action "point_revoke_refresh_token" "compromised" {
  for_each = var.compromised_users

  config {
    user_id = each.value
  }
}

resource "terraform_data" "incident" {
  for_each = var.compromised_users

  input = each.value

  lifecycle {
    action_trigger {
      events  = [after_create]
      actions = [action.point_revoke_refresh_token.compromised[each.key]]
    }
  }
}
