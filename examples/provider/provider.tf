terraform {
  required_providers {
    point = {
      source  = "areyoupoint/point"
      version = "~> 0.1"
    }
  }
}

# The organisation API key is best kept out of configuration: export
# POINT_API_KEY instead. POINT_ENVIRONMENT and POINT_ENDPOINT stand in for
# environment and endpoint in the same way. A value set in this block beats
# its environment variable.
provider "point" {
  environment = "staging" # or "production", the default
}

# The local sandbox: `make sandbox` prints its endpoint and API key, for
# example as POINT_ENDPOINT and POINT_API_KEY. Plain http is accepted only for
# loopback addresses, because the API key travels in a header.
provider "point" {
  alias    = "sandbox"
  endpoint = "http://127.0.0.1:8080"
  api_key  = var.sandbox_api_key
}

variable "sandbox_api_key" {
  type      = string
  sensitive = true
}
