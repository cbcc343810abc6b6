# A staging application with no shared modules.
variable "replicas" {
  type = number
}

resource "terraform_data" "app" {
  input = { replicas = var.replicas }
}
