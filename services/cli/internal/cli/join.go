package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/services/cli/internal/cluster"
	"github.com/gantry-dev/gantry/services/cli/internal/layout"
)

// multiValue is a flag that may be given several times.
type multiValue []string

func (m *multiValue) String() string     { return strings.Join(*m, ",") }
func (m *multiValue) Set(v string) error { *m = append(*m, v); return nil }

// hostOptions are the flags of init and join.
type hostOptions struct {
	env      layout.Env
	nodeName string
	timeout  time.Duration
	init     cluster.InitOptions
	join     cluster.JoinOptions
}

func parseHostFlags(cmd string, args []string, env layout.Env, stderr io.Writer) (hostOptions, error) {
	o := hostOptions{env: env}
	fs := flag.NewFlagSet("gantry "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	fs.StringVar(&o.env.BinDir, "bin-dir", env.BinDir, "the gantry-* binaries")
	fs.StringVar(&o.env.DataDir, "data-dir", env.DataDir, "the state directory")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Minute, "how long to wait for each step")
	fs.StringVar(&o.nodeName, "node-name", "", "this node's name (default: the host name in lower case)")
	var shared bool
	fs.BoolVar(&shared, "shared-machine", false, "other nodes run on this machine (network namespaces)")
	var advertise string
	fs.StringVar(&advertise, "advertise-address", "", "this host's address the other hosts reach")
	var pins multiValue
	if cmd == "init" {
		fs.DurationVar(&o.init.TokenTTL, "token-ttl", 24*time.Hour, "how long the printed bootstrap token is valid; 0: forever")
	} else {
		fs.StringVar(&o.join.Server, "server", "", "an API server of the cluster, https://host:6443")
		fs.StringVar(&o.join.Token, "token", "", "the bootstrap token")
		fs.Var(&pins, "discovery-token-ca-cert-hash", "sha256:<hex> of the cluster CA's public key (repeatable)")
		fs.BoolVar(&o.join.ControlPlane, "control-plane", false, "join as a control-plane host")
		fs.StringVar(&o.join.CertificateKey, "certificate-key", "", "with --control-plane: the key the control plane's credentials are encrypted with")
	}
	if err := parseArgs(fs, args, &o.env); err != nil {
		return o, err
	}
	o.nodeName = strings.ToLower(o.nodeName)
	if cmd == "init" {
		o.init.AdvertiseAddress, o.init.SharedMachine = advertise, shared
		if o.init.TokenTTL < 0 {
			return o, fmt.Errorf("--token-ttl %v: want 0 (no expiry) or a positive duration", o.init.TokenTTL)
		}
		return o, nil
	}
	o.join.AdvertiseAddress, o.join.SharedMachine, o.join.CAPins = advertise, shared, pins
	var missing []string
	for _, f := range []struct{ name, v string }{{"--server", o.join.Server}, {"--token", o.join.Token}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(pins) == 0 {
		missing = append(missing, "--discovery-token-ca-cert-hash")
	}
	if len(missing) > 0 {
		return o, fmt.Errorf("missing %s (gantry init printed the command)", strings.Join(missing, ", "))
	}
	if o.join.CertificateKey != "" && !o.join.ControlPlane {
		return o, errors.New("--certificate-key is for --control-plane")
	}
	return o, nil
}

// hostCommand runs gantry init or gantry join.
func hostCommand(cmd string, args []string, stdout, stderr io.Writer) int {
	o, err := parseHostFlags(cmd, args, layout.FromOS(), stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "gantry %s: %v\n", cmd, err)
		return 2
	}
	if o.nodeName == "" {
		if o.nodeName, err = layout.NodeName(); err != nil {
			fmt.Fprintf(stderr, "gantry %s: host name: %v\n", cmd, err)
			return 1
		}
	}
	c, err := cluster.New(cluster.Options{Layout: layout.Resolve(o.env), NodeName: o.nodeName, Out: stdout, Wait: o.timeout})
	if err == nil {
		if cmd == "init" {
			err = c.Init(o.init)
		} else {
			err = c.Join(o.join)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "gantry %s: %v\n", cmd, err)
		return 1
	}
	return 0
}
