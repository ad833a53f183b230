// Command gantry-apiserver serves the Kubernetes API on gantry-store.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/gantry-dev/gantry/libs/sdnotify"
	"github.com/gantry-dev/gantry/services/apiserver/internal/server"
)

func main() {
	cfg, err := server.ParseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "gantry-apiserver:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer sdnotify.StoppingWhenDone(ctx)()
	s, err := server.New(cfg)
	if err == nil {
		err = s.Run(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gantry-apiserver:", err)
		os.Exit(1)
	}
}
