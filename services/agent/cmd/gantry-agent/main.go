// Command gantry-agent is Gantry's node agent: it runs the pods bound to
// its node on containerd. "gantry-agent logger ..." is the log writer
// containerd's shim starts for each container; "gantry-agent --cleanup"
// stops and removes the node's pods and their networking and exits.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/gantry-dev/gantry/libs/sdnotify"
	"github.com/gantry-dev/gantry/services/agent/internal/agent"
	"github.com/gantry-dev/gantry/services/agent/internal/logger"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "logger" {
		os.Exit(logger.Main(os.Args[2:]))
	}
	cfg, err := agent.ParseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "gantry-agent:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.Cleanup {
		if err := agent.CleanupNode(ctx, cfg); err != nil {
			fmt.Fprintln(os.Stderr, "gantry-agent:", err)
			os.Exit(1)
		}
		return
	}
	defer sdnotify.StoppingWhenDone(ctx)()
	a, err := agent.New(cfg)
	if err == nil {
		err = a.Run(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gantry-agent:", err)
		os.Exit(1)
	}
}
