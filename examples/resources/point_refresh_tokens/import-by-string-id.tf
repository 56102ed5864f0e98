import {
  to = point_refresh_tokens.all
  id = join(",", ["org-user-8271", "org-user-8272", "org-user-8273"])
}
