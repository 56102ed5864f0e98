# Reads a user that already exists in Point. Every profile field is the end
# user's personal data: marked sensitive, but still written to state.
data "point_user" "alice" {
  user_id = "org-user-8271"
}
