# Ids and times only: the tokens stay in state, and never in outputs.

output "user_ids" {
  description = "Point user ids, by key."
  value       = { for key, user in point_user.this : key => user.user_id }
}

output "refresh_tokens" {
  description = "When each user's refresh token was issued by Terraform and when it falls due for rotation. Null for a token adopted by import until Terraform first rotates it."
  value = {
    for key, token in point_refresh_token.this : key => {
      issued_at = token.issued_at
      rotate_at = token.rotate_at
    }
  }
}
