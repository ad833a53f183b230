package network

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/gantry-dev/gantry/libs/iptablesutil"
)

// Chains this package owns.
const (
	natChain    = "GANTRY-POSTROUTING"
	filterChain = "GANTRY-FORWARD"
)

// The portmap plugin's shared chains. Pod teardown removes each pod's
// CNI-DN-* chain but leaves these; CleanupNode removes them when no pod
// of any CNI network uses them any more.
const (
	portmapDNATChain    = "CNI-HOSTPORT-DNAT"
	portmapSetMarkChain = "CNI-HOSTPORT-SETMARK"
	portmapMasqChain    = "CNI-HOSTPORT-MASQ"
)

// jump is a rule in a built-in chain that sends traffic to one of ours.
type jump struct {
	table, from, to, comment string
	first                    bool // insert at the top instead of appending
}

func (j jump) rule() []string {
	return []string{"-m", "comment", "--comment", j.comment, "-j", j.to}
}

var jumps = []jump{
	{table: "nat", from: "POSTROUTING", to: natChain, comment: "gantry: masquerade pod traffic leaving the cluster"},
	// First, so that a FORWARD policy or rule dropping traffic (Docker
	// sets the policy to DROP) does not cut pods off.
	{table: "filter", from: "FORWARD", to: filterChain, comment: "gantry: forward pod traffic", first: true},
}

// chainRules is the iptables-restore input that (re)writes our chains
// atomically: a chain declared with --noflush is flushed and refilled in
// one transaction, so there is no moment without the rules.
func (n *Network) chainRules() string {
	pod, cluster := n.cfg.PodCIDR.String(), n.cfg.ClusterCIDR.String()
	var b strings.Builder
	fmt.Fprintf(&b, "*nat\n:%s - [0:0]\n", natChain)
	fmt.Fprintf(&b, "-A %s -s %s ! -d %s -m comment --comment \"gantry: pod traffic leaving the cluster CIDR\" -j MASQUERADE\n",
		natChain, pod, cluster)
	b.WriteString("COMMIT\n")
	fmt.Fprintf(&b, "*filter\n:%s - [0:0]\n", filterChain)
	fmt.Fprintf(&b, "-A %s -s %s -m comment --comment \"gantry: from pods\" -j ACCEPT\n", filterChain, cluster)
	fmt.Fprintf(&b, "-A %s -d %s -m comment --comment \"gantry: to pods\" -j ACCEPT\n", filterChain, cluster)
	b.WriteString("COMMIT\n")
	return b.String()
}

// setupIPTables writes our chains and makes sure the built-in chains
// jump to them.
func (n *Network) setupIPTables(ctx context.Context) error {
	if err := iptablesRestore(ctx, n.chainRules()); err != nil {
		return err
	}
	for _, j := range jumps {
		ok, err := ruleExists(ctx, j.table, j.from, j.rule()...)
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		op := []string{"-A", j.from}
		if j.first {
			op = []string{"-I", j.from, "1"}
		}
		if _, err := iptables(ctx, append(append([]string{"-t", j.table}, op...), j.rule()...)...); err != nil {
			return err
		}
	}
	return nil
}

// cleanupIPTables removes our chains and the portmap plugin's shared
// chains if nothing uses them.
func (n *Network) cleanupIPTables(ctx context.Context) error {
	var errs []error
	for _, j := range jumps {
		errs = append(errs, deleteChain(ctx, j.table, j.to))
	}
	rules, err := chainRuleSpecs(ctx, "nat", portmapDNATChain)
	switch {
	case err != nil:
		errs = append(errs, err)
	case len(rules) > 0:
		n.log.Info("leaving the portmap chains: other pods still use host ports", "rules", len(rules))
	default:
		for _, c := range []string{portmapDNATChain, portmapMasqChain, portmapSetMarkChain} {
			if err := deleteChain(ctx, "nat", c); err != nil {
				n.log.Warn("could not remove portmap chain", "chain", c, "err", err)
			}
		}
	}
	return errors.Join(errs...)
}

// deleteChain removes every rule of a built-in chain that jumps to
// chain, then the chain itself. A missing chain is not an error.
func deleteChain(ctx context.Context, table, chain string) error {
	if ok, err := chainExists(ctx, table, chain); err != nil || !ok {
		return err
	}
	for _, from := range builtinChains[table] {
		specs, err := chainRuleSpecs(ctx, table, from)
		if err != nil {
			return err
		}
		for _, spec := range specs {
			if len(spec) >= 2 && spec[len(spec)-2] == "-j" && spec[len(spec)-1] == chain {
				if _, err := iptables(ctx, append([]string{"-t", table, "-D", from}, spec...)...); err != nil {
					return err
				}
			}
		}
	}
	if _, err := iptables(ctx, "-t", table, "-F", chain); err != nil {
		return err
	}
	_, err := iptables(ctx, "-t", table, "-X", chain)
	return err
}

var builtinChains = map[string][]string{
	"nat":    {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"},
	"filter": {"INPUT", "FORWARD", "OUTPUT"},
}

// chainRuleSpecs lists a chain's rules as argument lists (without the
// leading "-A chain").
func chainRuleSpecs(ctx context.Context, table, chain string) ([][]string, error) {
	if ok, err := chainExists(ctx, table, chain); err != nil || !ok {
		return nil, err
	}
	out, err := iptables(ctx, "-t", table, "-S", chain)
	if err != nil {
		return nil, err
	}
	var specs [][]string
	for _, line := range strings.Split(out, "\n") {
		f := iptablesutil.SplitRule(line)
		if len(f) > 2 && f[0] == "-A" && f[1] == chain {
			specs = append(specs, f[2:])
		}
	}
	return specs, nil
}

func chainExists(ctx context.Context, table, chain string) (bool, error) {
	return succeeds(iptables(ctx, "-t", table, "-n", "-L", chain))
}

func ruleExists(ctx context.Context, table, chain string, rule ...string) (bool, error) {
	return succeeds(iptables(ctx, append([]string{"-t", table, "-C", chain}, rule...)...))
}

// succeeds turns "exit status 1" (no such rule or chain) into false.
func succeeds(_ string, err error) (bool, error) {
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		return false, nil
	}
	return err == nil, err
}

// iptables runs the iptables command (waiting for the xtables lock held
// by other writers, such as the CNI plugins or the proxy).
func iptables(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "iptables", append([]string{"-w", "10"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", &commandError{cmd: "iptables " + strings.Join(args, " "), stderr: stderr.String(), err: err}
	}
	return stdout.String(), nil
}

func iptablesRestore(ctx context.Context, input string) error {
	cmd := exec.CommandContext(ctx, "iptables-restore", "-w", "10", "--noflush")
	cmd.Stdin = strings.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return &commandError{cmd: "iptables-restore", stderr: stderr.String(), err: err}
	}
	return nil
}

// commandError keeps the exit status (for errors.As) and says what ran.
type commandError struct {
	cmd, stderr string
	err         error
}

func (e *commandError) Error() string {
	return fmt.Sprintf("%s: %v: %s", e.cmd, e.err, strings.TrimSpace(e.stderr))
}

func (e *commandError) Unwrap() error { return e.err }
