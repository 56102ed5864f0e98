import {
  to = point_refresh_token.alice
  id = "org-user-8271"
}
