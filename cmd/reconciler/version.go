package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time:
//
//	go build -ldflags "-X main.version=v1.2.3" ./cmd/reconciler
//
// Without it, the module version recorded by go install is used.
var version = ""

func (m *Main) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of the reconciler",
		Long: "Version prints the release version, the commit the binary was built from when the build recorded it, " +
			"and the Go version and platform.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(m.Stdout, versionString(version, readBuildInfo()))
			return err
		},
	}
}

func readBuildInfo() *debug.BuildInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	return bi
}

// versionString renders "reconciler v1.2.3 (commit abc1234, 2025-01-02T03:04:05Z, modified) go1.26 linux/amd64".
func versionString(v string, bi *debug.BuildInfo) string {
	if v == "" && bi != nil && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	if v == "" {
		v = "dev"
	}
	s := "reconciler " + v
	if vcs := vcsInfo(bi); vcs != "" {
		s += " (" + vcs + ")"
	}
	return fmt.Sprintf("%s %s %s/%s", s, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func vcsInfo(bi *debug.BuildInfo) string {
	if bi == nil {
		return ""
	}
	var rev, at, modified string
	for _, kv := range bi.Settings {
		switch kv.Key {
		case "vcs.revision":
			rev = kv.Value
		case "vcs.time":
			at = kv.Value
		case "vcs.modified":
			if kv.Value == "true" {
				modified = ", modified"
			}
		}
	}
	if rev == "" {
		return ""
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	s := "commit " + rev
	if at != "" {
		s += ", " + at
	}
	return s + modified
}
