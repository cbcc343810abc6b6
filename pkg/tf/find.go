package tf

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNotFound is wrapped by Find's error when no usable binary exists.
var ErrNotFound = errors.New("terraform binary not found")

// wellKnownTerraform is where the official installers and most CI images put
// Terraform; it is tried when PATH is minimal (cron, some CI runners).
const wellKnownTerraform = "/usr/local/bin/terraform"

// Find returns the Terraform binary to run: explicit when given (a path, or
// a name looked up on PATH), else "terraform" on PATH, else
// /usr/local/bin/terraform, else OpenTofu's "tofu" on PATH.
func Find(explicit string) (string, error) {
	return find(explicit, exec.LookPath, wellKnownTerraform)
}

func find(explicit string, lookPath func(string) (string, error), wellKnown string) (string, error) {
	if explicit != "" {
		if !strings.ContainsRune(explicit, filepath.Separator) {
			path, err := lookPath(explicit)
			if err != nil {
				return "", fmt.Errorf("%w: %q is not on PATH", ErrNotFound, explicit)
			}
			return path, nil
		}
		if err := checkExecutable(explicit); err != nil {
			return "", fmt.Errorf("%w: %v", ErrNotFound, err)
		}
		return filepath.Abs(explicit)
	}
	if path, err := lookPath("terraform"); err == nil {
		return path, nil
	}
	if checkExecutable(wellKnown) == nil {
		return wellKnown, nil
	}
	if path, err := lookPath("tofu"); err == nil {
		return path, nil
	}
	return "", fmt.Errorf("%w: looked for terraform on PATH, %s and tofu on PATH; "+
		"install Terraform (https://developer.hashicorp.com/terraform/install) or OpenTofu, "+
		"or give the path of the binary explicitly", ErrNotFound, wellKnown)
}

func checkExecutable(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	if info.IsDir() || info.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}
