package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/atoll-tf/atoll/pkg/runner"
	"github.com/atoll-tf/atoll/pkg/ui"
)

// bundlePath is the --bundle FILE as a path, relative ones taken from the
// directory atoll runs in (-C DIR).
func bundlePath(s *session, file string) string {
	if filepath.IsAbs(file) {
		return file
	}
	return filepath.Join(s.Cwd, file)
}

// clearBundle removes what is at the place plan writes its bundle, before
// planning: a plan that fails or is interrupted then never leaves an
// older bundle that reads as this one. A link there is removed, never
// followed.
func clearBundle(file string) error {
	fi, err := os.Lstat(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	case fi.IsDir():
		return usagef("--bundle %s: that is a directory; name the bundle file to write", file)
	default:
		if err := os.Remove(file); err != nil {
			return err
		}
	}
	if fi, err := os.Stat(filepath.Dir(file)); err != nil || !fi.IsDir() {
		return usagef("--bundle %s: the directory %s does not exist", file, filepath.Dir(file))
	}
	return nil
}

// writeBundle writes the plans of a plan run to the bundle file, unless
// the run was interrupted.
func writeBundle(ctx context.Context, io *ui.IO, rs *runSetup, rep *runner.Report, file string) error {
	if ctx.Err() != nil {
		return nil
	}
	n, err := runner.WriteBundle(ctx, rs.opts, rep, file)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("writing the bundle %s: %w", file, err)
	}
	s := ui.NewStyles(io.Err, io.Color)
	fmt.Fprintf(io.Err, "wrote %s: %s of %s, for atoll apply --bundle. %s it holds the plans' secrets in clear: keep it private and short-lived\n",
		file, plural(n, "plan"), rs.res.Comparison.Head.SHA.Short(), s.Warning.Render("note:"))
	return nil
}

// importBundle puts the plans of a bundle into the work dir, after
// checking it against HEAD, the base and the merge-base.
func importBundle(ctx context.Context, io *ui.IO, rs *runSetup, file string) error {
	if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
		return &ExitError{Code: ExitInput, Err: fmt.Errorf("--bundle %s: no such file", file),
			Hint: "give the file atoll plan --bundle wrote; in CI, download the artifact to that path first"}
	}
	imp, err := runner.ImportBundle(ctx, rs.opts, file)
	if err != nil {
		return err
	}
	m := imp.Manifest
	fmt.Fprintf(io.Err, "bundle %s: %s of %s, planned with atoll %s at %s: %d imported, %d already in the work dir\n",
		file, plural(len(m.Plans), "plan"), m.Head[:8], m.AtollVersion, m.Created.Format("2006-01-02 15:04:05Z"), len(imp.Imported), len(imp.Kept))
	return nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
