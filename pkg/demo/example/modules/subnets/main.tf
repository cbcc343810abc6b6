variable "cidr" {
  type = string
}

locals {
  ids = [for i in range(2) : cidrsubnet(var.cidr, 8, i)]
}

resource "terraform_data" "subnets" {
  input = local.ids
}

output "ids" {
  value = local.ids
}
