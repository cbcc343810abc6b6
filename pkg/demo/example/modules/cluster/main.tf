variable "name" {
  type = string
}

resource "terraform_data" "cluster" {
  input = var.name
}
