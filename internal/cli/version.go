package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X github.com/batchport/batchport/internal/cli.Version=...".
var Version = "dev"

// Commit is set at build time with -ldflags "-X github.com/batchport/batchport/internal/cli.Commit=..."
// where the build has no .git folder to read the commit from, as in the Dockerfile.
var Commit = ""

func newVersionCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, args []string) {
			commit, modified := "unknown", ""
			if Commit != "" {
				commit = Commit
			}
			if info, ok := debug.ReadBuildInfo(); ok {
				for _, setting := range info.Settings {
					switch setting.Key {
					case "vcs.revision":
						commit = setting.Value
					case "vcs.modified":
						if setting.Value == "true" {
							modified = " (modified)"
						}
					}
				}
			}
			fmt.Fprintf(a.streams.Out, "batchport %s\ncommit %s%s\n%s\n", Version, commit, modified, runtime.Version())
		},
	}
}
