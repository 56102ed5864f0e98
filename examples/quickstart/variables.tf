variable "point_environment" {
  description = "Point environment, staging or production. Null: POINT_ENVIRONMENT, else production."
  type        = string
  default     = null
}

variable "point_endpoint" {
  description = "Base URL of the Point API, such as the local sandbox's. Null: POINT_ENDPOINT, else the environment's URL."
  type        = string
  default     = null
}

variable "point_api_key" {
  description = "Organisation API key. Null: POINT_API_KEY, which keeps it out of files."
  type        = string
  default     = null
  sensitive   = true
}

variable "users" {
  description = "Users to register, keyed by a name used in resource addresses. Values are Point user ids, which must carry no personal information such as email addresses."
  type        = map(string)
  default = {
    participant-01 = "org-user-0001"
    participant-02 = "org-user-0002"
    participant-03 = "org-user-0003"
  }
}

variable "existing_users" {
  description = "Users already registered in Point (by an app, or before Terraform), to adopt with their current refresh tokens instead of registering them."
  type        = map(string)
  default     = {}
}

variable "rotation_generation" {
  description = "Change this number and apply to rotate every refresh token now."
  type        = number
  default     = 1
}

variable "consumer" {
  description = "Key of the user whose access token is handed to the consumer."
  type        = string
  default     = "participant-01"

  validation {
    condition     = contains(keys(merge(var.users, var.existing_users)), var.consumer)
    error_message = "The consumer must be a key of users or existing_users."
  }
}
