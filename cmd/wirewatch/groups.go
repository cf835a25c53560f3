package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
)

// subcommand is one verb of a command group such as `wirewatch topics`.
type subcommand struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// topicsCommands are the verbs of `wirewatch topics`, one file each.
func topicsCommands() map[string]subcommand {
	return map[string]subcommand{
		"test":     {"what a query or topic file tags in feeds, files or URLs, matches highlighted", cmdTopicsTest},
		"backtest": {"what a new or edited rule would have tagged in a daemon's archive", cmdTopicsBacktest},
		"train":    {"learn a topic from example articles, a folder per label; held-out report", cmdTopicsTrain},
		"label":    {"mark archived articles as examples of a topic (or not), for topics train", cmdTopicsLabel},
	}
}

// evalCommands are the verbs of `wirewatch eval`, one file each.
func evalCommands() map[string]subcommand {
	return map[string]subcommand{
		"classify": {"learned classifier vs naive Bayes on Reuters R8, BBC News, AG News", cmdEvalClassify},
		"dedup":    {"near-duplicate detection (MinHash + LSH) vs SimHash on bbc-news and rss-2026-01", cmdEvalDedup},
	}
}

func cmdTopics(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runGroup(ctx, "topics", topicsCommands(), args, stdout, stderr)
}

func cmdEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runGroup(ctx, "eval", evalCommands(), args, stdout, stderr)
}

func runGroup(ctx context.Context, group string, cmds map[string]subcommand, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || cmds[args[0]].run == nil {
		if len(args) > 0 && args[0] != "help" && args[0] != "-h" && args[0] != "--help" {
			fmt.Fprintf(stderr, "wirewatch %s: unknown command %q\n\n", group, args[0])
		}
		names := make([]string, 0, len(cmds))
		for n := range cmds {
			names = append(names, n)
		}
		slices.Sort(names)
		var b strings.Builder
		fmt.Fprintf(&b, "Usage: wirewatch %s COMMAND [flags]\n\n", group)
		for _, n := range names {
			fmt.Fprintf(&b, "  %-10s %s\n", n, cmds[n].summary)
		}
		fmt.Fprint(stderr, b.String())
		return errUsage
	}
	return cmds[args[0]].run(ctx, args[1:], stdout, stderr)
}
