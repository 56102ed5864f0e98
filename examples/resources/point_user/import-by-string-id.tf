import {
  to = point_user.alice
  id = "org-user-8271"
}
