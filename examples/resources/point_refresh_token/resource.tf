resource "point_user" "alice" {
  user_id = "org-user-8271"
}

# Rotate every 90 days: the first plan after rotate_at rotates the token in
# place, issuing the new one before the old one stops working.
resource "point_refresh_token" "alice" {
  user_id      = point_user.alice.user_id
  rotate_after = "2160h"

  # Rotate on demand as well: change the value, then apply.
  rotation_triggers = {
    generation = "1"
  }
}
