variable "user_ids" {
  description = "Your organisation's ids for its Point users, for example read from your user directory."
  type        = set(string)
  default     = ["org-user-8271", "org-user-8272", "org-user-8273"]
}

# One resource for any number of users: adding an id registers the user,
# removing one revokes its refresh token and leaves it in Point (REVOKE),
# and a plan reads them all, max_concurrency requests at a time.
resource "point_users" "all" {
  user_ids        = var.user_ids
  deletion_policy = "REVOKE"
}
