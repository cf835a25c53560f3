// Command wirewatch watches news feeds as they publish, and alerts on the
// topics you follow. Run `wirewatch help` for the subcommands.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/wirewatch/wirewatch/daemon"
)

const usage = `wirewatch: live news monitoring

Usage:
  wirewatch demo    [--data-dir D] [--every 3s]         run on built-in sample feeds, print alerts
  wirewatch run     --config wirewatch.yaml              run the daemon
  wirewatch tail    [--config F | --nats URL] [--topic T ...] [--all | --since 1h] [--json]
  wirewatch inspect [--config F] [--text] SOURCE...      run the stages offline on files, dirs, URLs
  wirewatch check   --config F                           validate config, feeds and topic rules
  wirewatch topics  COMMAND                              work with topic rules (wirewatch topics help)
  wirewatch eval    COMMAND                              evaluations on public datasets (wirewatch eval help)
  wirewatch bench   [--quick] [--json F]                 measure against the broker's one-hop limit
  wirewatch notify  --config F | test SUBSCRIPTION --config F   run the subscriptions only, or send a test alert
  wirewatch version
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a subcommand and returns the exit code: 0 ok, 1 failure,
// 2 usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"demo":    cmdDemo,
		"run":     cmdRun,
		"tail":    cmdTail,
		"inspect": cmdInspect,
		"check":   cmdCheck,
		"topics":  cmdTopics,
		"eval":    cmdEval,
		"notify":  cmdNotify,
		"bench":   cmdBench,
		"version": func(context.Context, []string, io.Writer, io.Writer) error {
			fmt.Fprintln(stdout, "wirewatch", daemon.Version())
			return nil
		},
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		if args[0] != "help" && args[0] != "-h" && args[0] != "--help" {
			fmt.Fprintf(stderr, "wirewatch: unknown command %q\n\n", args[0])
		}
		fmt.Fprint(stderr, usage)
		return 2
	}
	if err := cmd(ctx, args[1:], stdout, stderr); err != nil {
		if err == errUsage {
			return 2
		}
		fmt.Fprintf(stderr, "wirewatch %s: %v\n", args[0], err)
		return 1
	}
	return 0
}
