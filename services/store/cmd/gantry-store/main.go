// Command gantry-store is Gantry's Raft-replicated key-value store. It
// speaks etcd's v3 API and takes etcd's flag names.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/gantry-dev/gantry/libs/sdnotify"
	"github.com/gantry-dev/gantry/services/store/internal/server"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "snapshot" {
		snapshot(os.Args[2:])
		return
	}
	cfg, err := server.ParseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "gantry-store:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	defer sdnotify.StoppingWhenDone(ctx)()
	s, err := server.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gantry-store:", err)
		os.Exit(1)
	}
	if err := s.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "gantry-store:", err)
		os.Exit(1)
	}
}

// snapshot runs `gantry-store snapshot restore`.
func snapshot(args []string) {
	cfg, err := server.ParseSnapshotFlags(args, os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gantry-store snapshot:", err)
		os.Exit(2)
	}
	res, err := server.Restore(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gantry-store snapshot restore:", err)
		os.Exit(1)
	}
	fmt.Println(res)
}
