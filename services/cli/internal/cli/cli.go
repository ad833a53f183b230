// Package cli is the gantry command: it parses the command line and runs
// the cluster lifecycle commands of package cluster and token create
// (package bootstrap).
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gantry-dev/gantry/services/cli/internal/cluster"
	"github.com/gantry-dev/gantry/services/cli/internal/layout"
)

const usage = `gantry manages a Gantry cluster on this host.

Usage:
  gantry up [flags]            start a whole cluster on this host (again: reuses what runs)
  gantry down [--purge] [flags] stop it and remove its host networking
  gantry status [flags]        show each component's process and health; exit 1 if any is down
  gantry kubectl ARGS...       run kubectl with the admin kubeconfig
  gantry init [flags]          make this host the first control-plane host of a multi-host cluster
  gantry join [flags]          join this host to a cluster as a worker or control-plane host
  gantry token create [flags]  create a bootstrap token for joining a host

Flags (up, down, status):
  --bin-dir DIR    the gantry-* binaries (default $GANTRY_BIN_DIR, else the directory of gantry)
  --data-dir DIR   the state directory (default $GANTRY_DATA_DIR, else /var/lib/gantry as root,
                   else ${XDG_DATA_HOME:-~/.local/share}/gantry)
  --timeout D      up: how long to wait for each component to be ready (default 60s)
  --grace D        down: how long a daemon has to exit after SIGTERM (default 30s)
  --purge          down: also remove the state directory and the admin kubeconfig

Flags (init, join; --bin-dir, --data-dir as above; running one again brings the host back up):
  --advertise-address IP  this host's address the other hosts reach (init: required;
                          join: default the address it reaches --server from)
  --node-name NAME        the node's name (default: the host name in lower case)
  --timeout D             how long to wait for each step (default 2m)
  --shared-machine        other nodes run on this machine (network namespaces): own containerd,
                          containerd namespace, cgroup parent and pod logs under --data-dir
  --token-ttl D           init: validity of the printed bootstrap token (default 24h)
  --server URL            join: an API server, https://host:6443
  --token ID.SECRET       join: the bootstrap token
  --discovery-token-ca-cert-hash sha256:HEX
                          join: the pinned cluster CA (repeatable)
  --control-plane         join: as a control-plane host (store member, API server, scheduler,
                          controllers); needs --certificate-key
  --certificate-key HEX   join: the key gantry init printed

Flags (token create; --data-dir as above, for the admin kubeconfig):
  --ttl D                 how long the token is valid (default 24h; 0: it never expires)
  --description TEXT      what the token is for, kept with it
  --print-join-command    print "gantry join --server ... --token ... --discovery-token-ca-cert-hash ..."
                          instead of the token alone
  --control-plane         with --print-join-command on a control-plane host of a multi-host cluster:
                          also upload the control plane's credentials under a new certificate key
                          and print the control-plane join command
`

// Main runs gantry with args (without the program name) and returns the
// exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, args := args[0], args[1:]
	var err error
	switch cmd {
	case "up", "down", "status":
		return lifecycle(cmd, args, stdout, stderr)
	case "init", "join":
		return hostCommand(cmd, args, stdout, stderr)
	case "token":
		return token(args, stdout, stderr)
	case "kubectl":
		err = kubectl(layout.Resolve(layout.FromOS()), args)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "gantry: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "gantry %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

// options are the flags of up, down and status.
type options struct {
	env     layout.Env
	timeout time.Duration
	grace   time.Duration
	purge   bool
}

// parseFlags reads the flags of cmd over the environment's defaults.
func parseFlags(cmd string, args []string, env layout.Env, stderr io.Writer) (options, error) {
	o := options{env: env}
	fs := flag.NewFlagSet("gantry "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	fs.StringVar(&o.env.BinDir, "bin-dir", env.BinDir, "the gantry-* binaries")
	fs.StringVar(&o.env.DataDir, "data-dir", env.DataDir, "the state directory")
	if cmd == "up" {
		fs.DurationVar(&o.timeout, "timeout", 60*time.Second, "how long to wait for each component")
	}
	if cmd == "down" {
		fs.DurationVar(&o.grace, "grace", 30*time.Second, "how long a daemon has to exit after SIGTERM")
		fs.BoolVar(&o.purge, "purge", false, "also remove the state directory and the admin kubeconfig")
	}
	if err := parseArgs(fs, args, &o.env); err != nil {
		return o, err
	}
	return o, nil
}

// parseArgs parses args with fs, which takes no positional arguments,
// and makes env's directories absolute.
func parseArgs(fs *flag.FlagSet, args []string, env *layout.Env) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, d := range []*string{&env.BinDir, &env.DataDir} {
		if *d == "" {
			continue
		}
		abs, err := filepath.Abs(*d)
		if err != nil {
			return err
		}
		*d = abs
	}
	return nil
}

func lifecycle(cmd string, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(cmd, args, layout.FromOS(), stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "gantry %s: %v\n", cmd, err)
		return 2
	}
	node, err := layout.NodeName()
	if err != nil {
		fmt.Fprintf(stderr, "gantry %s: host name: %v\n", cmd, err)
		return 1
	}
	c, err := cluster.New(cluster.Options{Layout: layout.Resolve(o.env), NodeName: node, Out: stdout,
		Wait: o.timeout, Grace: o.grace})
	if err == nil {
		switch cmd {
		case "up":
			err = c.Up()
		case "down":
			err = c.Down(o.purge)
		case "status":
			rows := c.Status()
			if err := cluster.PrintStatus(stdout, rows); err != nil {
				fmt.Fprintf(stderr, "gantry status: %v\n", err)
				return 1
			}
			for _, r := range rows {
				if !r.Healthy() {
					return 1
				}
			}
			return 0
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "gantry %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

// kubectl replaces this process with kubectl, KUBECONFIG set to the
// admin kubeconfig.
func kubectl(l layout.Layout, args []string) error {
	if _, err := os.Stat(l.Kubeconfig); err != nil {
		return fmt.Errorf("no admin kubeconfig (is the cluster up? start it with: gantry up): %w", err)
	}
	path, err := exec.LookPath("kubectl")
	if err != nil {
		return err
	}
	return syscall.Exec(path, append([]string{"kubectl"}, args...), kubectlEnv(os.Environ(), l.Kubeconfig))
}

// kubectlEnv returns environ with KUBECONFIG set to kubeconfig: a
// KUBECONFIG already there is dropped, since a program sees the first of
// duplicate variables.
func kubectlEnv(environ []string, kubeconfig string) []string {
	env := make([]string, 0, len(environ)+1)
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "KUBECONFIG=") {
			env = append(env, kv)
		}
	}
	return append(env, "KUBECONFIG="+kubeconfig)
}
