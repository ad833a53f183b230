// Command ingressbench measures the latency gantry-ingress adds: the
// same HTTP load against a backend directly and through gantry-ingress,
// reporting requests per second and p50/p99/max latency of each, and the
// p50 and p99 the ingress adds.
//
// It starts a one-member gantry-store, a gantry-apiserver and a
// gantry-ingress, and an HTTP backend in this process answering a small
// body; the backend sits behind a selector-less Service and an
// EndpointSlice the program writes, and an Ingress routes a host to it.
// The load is a closed loop of -connections keep-alive clients for
// -duration (built in), or wrk when -wrk is given (Debian package wrk).
//
// Everything runs in a network namespace of its own (the program
// re-executes itself into it), where the backend listens on 10.99.0.1
// (the API server refuses loopback endpoint addresses); nothing touches
// the host's network, and the namespace disappears with the program.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/gantry-dev/gantry/integration/cluster"
)

const inNamespaceEnv = "GANTRY_INGRESSBENCH_IN_NAMESPACE"

type config struct {
	connections int
	duration    time.Duration
	warmup      time.Duration
	bodySize    int
	wrk         bool
	markdown    bool
}

func main() {
	var cfg config
	flag.IntVar(&cfg.connections, "connections", 32, "concurrent keep-alive connections")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Second, "how long each target is loaded")
	flag.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "load before measuring, per target")
	flag.IntVar(&cfg.bodySize, "body-size", 256, "bytes of each response body")
	flag.BoolVar(&cfg.wrk, "wrk", false, "load with wrk (--latency) instead of the built-in generator")
	flag.BoolVar(&cfg.markdown, "markdown", false, "print the table as Markdown")
	flag.Parse()

	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "ingressbench: needs root (a network namespace of its own)")
		os.Exit(1)
	}
	if os.Getenv(inNamespaceEnv) != "1" {
		os.Exit(reexecInNamespace())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, cfg)
	cluster.RemoveBuilt()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingressbench:", err)
		os.Exit(1)
	}
}

// reexecInNamespace runs this program again in a new network namespace
// and returns its exit code.
func reexecInNamespace() int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingressbench:", err)
		return 1
	}
	signal.Ignore(os.Interrupt, syscall.SIGTERM)
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), inNamespaceEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return max(exit.ExitCode(), 1)
		}
		fmt.Fprintln(os.Stderr, "ingressbench: run in a namespace of its own:", err)
		return 1
	}
	return 0
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}
