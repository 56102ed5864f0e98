# The import ID is the Point user id.
terraform import point_user.alice org-user-8271
