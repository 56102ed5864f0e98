# The import ID is the list of Point user ids, separated by commas; each
# user's current refresh token is adopted without rotation. End it with
# /store_token=false to import the tokens without writing them to state.
terraform import point_refresh_tokens.all org-user-8271,org-user-8272,org-user-8273
