terraform {
  # Ephemeral resources, and ephemeral values in provisioners, need Terraform 1.10.
  required_version = ">= 1.10.0"

  required_providers {
    point = {
      source  = "areyoupoint/point"
      version = "~> 0.1"
    }
  }
}

# Settings left null fall back to the POINT_ENVIRONMENT, POINT_ENDPOINT and
# POINT_API_KEY environment variables.
provider "point" {
  environment = var.point_environment
  endpoint    = var.point_endpoint
  api_key     = var.point_api_key
}
