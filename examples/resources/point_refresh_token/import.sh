# The import ID is the Point user id; the user's current refresh token is adopted.
terraform import point_refresh_token.alice org-user-8271
