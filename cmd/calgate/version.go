package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

// version and commit name the build. Release builds set them with
// -ldflags "-X main.version=v1.4.0 -X main.commit=<sha>"; otherwise the
// module version and the VCS revision Go records in the binary are used.
var (
	version = ""
	commit  = ""
)

// buildVersion is the version and commit of a binary: the -ldflags values
// when set, else what info records (the module version, vcs.revision and
// vcs.modified), else "devel" and "unknown".
func buildVersion(info *debug.BuildInfo) (ver, rev string) {
	ver, rev = version, commit
	modified := false
	if info != nil {
		if ver == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			ver = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if rev == "" {
					rev = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if ver == "" {
		ver = "devel"
	}
	switch {
	case rev == "":
		rev = "unknown"
	case modified && commit == "":
		rev += "+modified"
	}
	return ver, rev
}

// runVersion prints "calgate VERSION (commit REV, GOVERSION)".
func runVersion(args []string, stdout io.Writer) error {
	fs := newFlags("version", "version", "Print the version and the commit calgate was built from.")
	if err := parse(fs, args, stdout, fs.Parse); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("calgate version takes no arguments")
	}
	info, _ := debug.ReadBuildInfo()
	ver, rev := buildVersion(info)
	goVersion := "unknown Go"
	if info != nil {
		goVersion = info.GoVersion
	}
	fmt.Fprintf(stdout, "calgate %s (commit %s, %s)\n", ver, rev, goVersion)
	return nil
}
