// Command calgate runs the calendar and webhook synchronization gateway.
//
//	calgate serve     API and workers in one process (the default)
//	calgate api       the REST API only
//	calgate worker    the queue workers only
//	calgate migrate   apply database migrations and exit
//	calgate tokens create --workspace W --user U
//	calgate health    exit 0 when the local gateway is ready
//	calgate import    --template T FILE: import a file locally or through a remote gateway
//	calgate version   print the version and the commit
//
// Every command's --help lists its own flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "calgate:", err)
		os.Exit(1)
	}
}

// command is one of calgate's commands.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands lists calgate's commands in the order the help shows them.
var commands = []command{
	{"serve", "run the API and the workers in one process (the default)", func(ctx context.Context, args []string, stdout, _ io.Writer) error {
		return runGateway(ctx, "serve", args, stdout, roleAPI|roleWorker)
	}},
	{"api", "run the REST API only (needs REDIS_URL)", func(ctx context.Context, args []string, stdout, _ io.Writer) error {
		return runGateway(ctx, "api", args, stdout, roleAPI)
	}},
	{"worker", "run the queue workers only (needs REDIS_URL)", func(ctx context.Context, args []string, stdout, _ io.Writer) error {
		return runGateway(ctx, "worker", args, stdout, roleWorker)
	}},
	{"migrate", "apply database migrations and exit", func(ctx context.Context, args []string, stdout, _ io.Writer) error {
		return runMigrate(ctx, args, stdout)
	}},
	{"tokens", "create an API token: calgate tokens create --workspace W --user U", func(ctx context.Context, args []string, stdout, _ io.Writer) error {
		return runTokens(ctx, args, stdout)
	}},
	{"health", "ask a running gateway's /readyz (for container health checks)", func(ctx context.Context, args []string, stdout, _ io.Writer) error {
		return runHealth(ctx, args, stdout)
	}},
	{"import", "import a CSV, Excel or JSON file through a template: calgate import --template T FILE", runImport},
	{"version", "print the version and the commit it was built from", func(_ context.Context, args []string, stdout, _ io.Writer) error {
		return runVersion(args, stdout)
	}},
}

// usage is calgate's own help.
func usage(w io.Writer) {
	fmt.Fprint(w, "usage: calgate <command> [flags]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun \"calgate <command> --help\" for a command's flags. Every setting is also an\nenvironment variable, named after the flag in the help.\n")
}

// run runs the command args name (serve when args start with a flag or
// are empty). Help asked for (-h, --help, help) is printed on stdout and
// is not an error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	name := "serve"
	if len(args) > 0 {
		switch a := args[0]; {
		case a == "help" && len(args) > 1:
			// calgate help tokens: the command's own help.
			name, args = args[1], []string{"--help"}
		case a == "help" || a == "-h" || a == "-help" || a == "--help":
			usage(stdout)
			return nil
		case a == "--version" || a == "-version":
			name, args = "version", nil
		case a != "" && a[0] != '-':
			name, args = a, args[1:]
		}
	}
	for _, c := range commands {
		if c.name == name {
			err := c.run(ctx, args, stdout, stderr)
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return err
		}
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", name)
}

// newFlags is the flag set of a command. synopsis and about head its help.
func newFlags(name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet("calgate "+name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: calgate %s\n\n%s\n", synopsis, about)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprint(fs.Output(), "\nflags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parse parses args into fs. On -h or --help it prints the command's
// help on stdout and returns flag.ErrHelp; a parse error is returned (not
// printed) with a pointer to the help.
func parse(fs *flag.FlagSet, args []string, stdout io.Writer, parseFn func([]string) error) error {
	fs.SetOutput(io.Discard)
	err := parseFn(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fs.Usage()
		return err
	}
	if err != nil {
		return fmt.Errorf("%w (see %s --help)", err, fs.Name())
	}
	return nil
}

// parseConfig registers the settings of scopes on fs beside the command's
// own flags and parses args: the configuration, or flag.ErrHelp after the
// help is printed.
func parseConfig(fs *flag.FlagSet, scopes scope, args []string, stdout io.Writer) (*Config, error) {
	var cfg *Config
	err := parse(fs, args, stdout, func(args []string) error {
		c, err := loadConfig(fs, scopes, args)
		cfg = c
		return err
	})
	return cfg, err
}
