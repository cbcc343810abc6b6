variable "cidr" {
  type = string
}

# The network module calls the subnets module: a change there reaches every
# project that uses network, transitively.
module "subnets" {
  source = "../subnets"
  cidr   = var.cidr
}

output "subnets" {
  value = module.subnets.ids
}
