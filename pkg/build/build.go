// Package build holds the version information that release builds inject
// with -ldflags "-X github.com/atoll-tf/atoll/pkg/build.Version=...".
package build

// Set by the linker in release builds; the defaults mark a development build.
var (
	Version = "dev"
	Commit  = "none"
	Date    = "unknown"
)
