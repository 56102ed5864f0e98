resource "point_users" "all" {
  user_ids = ["org-user-8271", "org-user-8272", "org-user-8273"]
}

# The refresh tokens of the same users. Each token rotates in place when
# its own rotate_at passes; changing rotation_triggers rotates all of them.
resource "point_refresh_tokens" "all" {
  user_ids     = point_users.all.user_ids
  rotate_after = "2160h"

  rotation_triggers = {
    generation = "1"
  }
}
