import {
  to = point_refresh_token.alice
  identity = {
    user_id = "org-user-8271"
  }
}
