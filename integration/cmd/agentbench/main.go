// Command agentbench measures how fast gantry-agent starts pods, against
// the floor of bare containerd on the same machine in the same run.
//
// It starts a private containerd, a one-member gantry-store with one
// gantry-apiserver, and one gantry-agent on that containerd, then
//
//   - the floor: creates and starts busybox `sleep 3600` containers
//     directly through the containerd/v2 client, one after another and
//     then all at once, and removes them;
//   - the agent: creates pods bound to the agent's node all at once with
//     client-go and measures, per pod, the time from its create call to
//     the first watch event showing phase Running; then deletes them and
//     waits until they are gone from the API and from containerd.
//
// Everything runs inside a network and mount namespace of its own (the
// program re-executes itself into them), so the agent's bridge, routes and
// iptables chains cannot touch the host's (the chain names GANTRY-* are
// fixed, and another agent on the host uses them), and whatever is left
// behind disappears with the namespaces. Besides that, the program stops
// every process it started by PID, deletes its containers, unmounts what
// is mounted under its temporary directory and removes it, on success, on
// an error and on Ctrl-C.
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

	"golang.org/x/sys/unix"

	"github.com/gantry-dev/gantry/integration/cluster"
)

const inNamespaceEnv = "GANTRY_AGENTBENCH_IN_NAMESPACE"

type config struct {
	pods     int
	floor    int
	markdown bool
	timeout  time.Duration
	agentLog string
}

func main() {
	var cfg config
	flag.IntVar(&cfg.pods, "pods", 100, "pods created at once on the agent")
	flag.IntVar(&cfg.floor, "containers", 100, "containers of each floor run (sequential, then all at once)")
	flag.BoolVar(&cfg.markdown, "markdown", false, "print the table as Markdown")
	flag.DurationVar(&cfg.timeout, "timeout", 5*time.Minute, "give up on a phase after this long")
	flag.StringVar(&cfg.agentLog, "agent-log", "", "copy the agent's log to this file at the end")
	flag.Parse()

	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "agentbench: needs root (containerd, runc, pod networking)")
		os.Exit(1)
	}
	if os.Getenv(inNamespaceEnv) != "1" {
		os.Exit(reexecInNamespaces())
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, cfg)
	cluster.RemoveBuilt()
	if err != nil {
		fmt.Fprintln(os.Stderr, "agentbench:", err)
		os.Exit(1)
	}
}

// reexecInNamespaces runs this program again in a new network and mount
// namespace and returns its exit code. Signals are left to the child,
// which shares our process group, so a Ctrl-C reaches it directly.
func reexecInNamespaces() int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "agentbench:", err)
		return 1
	}
	signal.Ignore(os.Interrupt, syscall.SIGTERM)
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), inNamespaceEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS,
		Pdeathsig:  syscall.SIGKILL,
	}
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return max(exit.ExitCode(), 1)
		}
		fmt.Fprintln(os.Stderr, "agentbench: run in a namespace of its own:", err)
		return 1
	}
	return 0
}

// setupNamespaces makes our mounts private (nothing mounted here reaches
// the host) and brings up the loopback device of the new network
// namespace.
func setupNamespaces() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / rprivate: %w", err)
	}
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		return fmt.Errorf("ip link set lo up: %v: %s", err, out)
	}
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}
