package cli

import (
	"fmt"
	"runtime"

	"github.com/atoll-tf/atoll/pkg/build"
	"github.com/atoll-tf/atoll/pkg/ui"
	"github.com/spf13/cobra"
)

// NewCmdVersion builds `atoll version`.
func NewCmdVersion(io *ui.IO) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print atoll's version, commit and build date",
		Long:    "Print atoll's version, the commit it was built from and the build date.\n\n" + ExitCodesHelp,
		Args:    cobra.NoArgs,
		Example: "  atoll version\n  atoll version --output json",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			if output == "json" {
				return ui.JSON(io.Out, map[string]string{"version": build.Version, "commit": build.Commit, "date": build.Date, "go": runtime.Version()})
			}
			_, err := fmt.Fprintf(io.Out, "atoll %s (commit %s, built %s, %s)\n", build.Version, build.Commit, build.Date, runtime.Version())
			return err
		},
	}
	outputFlag(cmd, &output, "text", "text", "json")
	return cmd
}
