// Command calgate runs the calendar and webhook synchronization gateway.
//
//	calgate serve     API and workers in one process (the default)
//	calgate api       the REST API only
//	calgate worker    the queue workers only
//	calgate migrate   apply database migrations and exit
//	calgate tokens create --workspace W --user U
//	calgate health    exit 0 when the local gateway is ready
//	calgate import    --template T FILE: import a file locally or through a remote gateway
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
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "calgate:", err)
		}
		os.Exit(1)
	}
}

const usage = `usage: calgate <command> [flags]

commands:
  serve     run the API and the workers in one process (default)
  api       run the REST API only (needs REDIS_URL)
  worker    run the queue workers only (needs REDIS_URL)
  migrate   apply database migrations and exit
  tokens    create an API token: calgate tokens create --workspace W --user U
  health    ask a running gateway's /readyz (for container health checks)
  import    import a CSV, Excel or JSON file through a template: calgate import --template T FILE
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return runGateway(ctx, args, stdout, roleAPI|roleWorker)
	case "api":
		return runGateway(ctx, args, stdout, roleAPI)
	case "worker":
		return runGateway(ctx, args, stdout, roleWorker)
	case "migrate":
		return runMigrate(ctx, args, stdout)
	case "tokens":
		return runTokens(ctx, args, stdout)
	case "health":
		return runHealth(ctx, args, stdout)
	case "import":
		return runImport(ctx, args, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}
