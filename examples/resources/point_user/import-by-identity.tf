import {
  to = point_user.alice
  identity = {
    user_id = "org-user-8271"
  }
}
