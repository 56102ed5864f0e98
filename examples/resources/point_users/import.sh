# The import ID is the list of Point user ids, separated by commas.
terraform import point_users.all org-user-8271,org-user-8272,org-user-8273
