package main

import (
	"context"
	"fmt"
	"io"

	"github.com/wirewatch/wirewatch/tail"
)

func cmdTail(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("tail", stderr)
	path := fs.String("config", "", "config file (its nats.url, or the embedded server's nats.listen)")
	url := fs.String("nats", "", "NATS URL (overrides the config)")
	var topics multiFlag
	fs.Var(&topics, "topic", "only this topic (repeatable, or comma-separated)")
	all := fs.Bool("all", false, "replay every stored alert first")
	since := fs.Duration("since", 0, "replay alerts from this long ago first (e.g. 1h)")
	asJSON := fs.Bool("json", false, "one JSON object per alert per line")
	limit := fs.Int("n", 0, "stop after this many alerts (0: follow)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *all && *since > 0 {
		fmt.Fprintln(stderr, "wirewatch tail: --all and --since exclude each other")
		return errUsage
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	nc, js, err := connectJetStream(cfg, *url, "wirewatch-tail", stderrLogger(stderr))
	if err != nil {
		return err
	}
	defer nc.Close()
	return tail.Follow(ctx, js, tail.Options{Topics: topics, All: *all, Since: *since, JSON: *asJSON, Limit: *limit}, stdout)
}
