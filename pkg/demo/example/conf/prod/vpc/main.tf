# Production VPC: its subnets come from the shared network module.
module "network" {
  source = "../../../modules/network"
  cidr   = var.cidr
}

variable "cidr" {
  type = string
}

output "subnets" {
  value = module.network.subnets
}
