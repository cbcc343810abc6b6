# Production cluster: uses the cluster module only.
module "cluster" {
  source = "../../../modules/cluster"
  name   = "prod"
}
