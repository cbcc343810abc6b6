// Command atoll makes "apply before merge" Terraform work safe in a monorepo.
package main

import (
	"os"

	"github.com/atoll-tf/atoll/pkg/cli"
)

func main() {
	os.Exit(cli.Main())
}
