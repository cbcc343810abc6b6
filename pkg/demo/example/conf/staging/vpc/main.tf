# Staging VPC: the same network module as production.
module "network" {
  source = "../../../modules/network"
  cidr   = var.cidr
}

variable "cidr" {
  type = string
}
