// Command gantry-store is Gantry's Raft-replicated key-value store. It
// speaks etcd's v3 API and takes etcd's flag names.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/gantry-dev/gantry/libs/sdnotify"
	"github.com/gantry-dev/gantry/services/store/internal/server"
)

func main() {
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
