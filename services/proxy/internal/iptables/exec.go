package iptables

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"

	goipt "github.com/coreos/go-iptables/iptables"

	"github.com/gantry-dev/gantry/libs/iptablesutil"
)

// Jump is a rule in a built-in chain sending traffic to one of ours.
type Jump struct {
	Table, From, To, Comment string
	// Match is extra match arguments (before the comment).
	Match []string
}

func (j Jump) spec() []string {
	return append(slices.Clone(j.Match), "-m", "comment", "--comment", j.Comment, "-j", j.To)
}

// Executor is what the proxier does to the kernel's tables; Exec is the
// real one, tests use a fake.
type Executor interface {
	// Restore applies iptables-restore input with --noflush, atomically.
	Restore(ctx context.Context, data []byte) error
	// Chains lists a table's chains.
	Chains(ctx context.Context, table string) ([]string, error)
	// EnsureJumps makes each built-in chain named in jumps start with
	// those jumps, in order, before any rule that is not one of ours
	// (ours tells a chain of ours by name).
	EnsureJumps(ctx context.Context, jumps []Jump, ours func(chain string) bool) error
	// RemoveJumps deletes every rule of the table's built-in chains
	// that jumps to a chain of ours.
	RemoveJumps(ctx context.Context, table string, ours func(chain string) bool) error
}

// Exec runs iptables, iptables-save and iptables-restore.
type Exec struct {
	ipt *goipt.IPTables
}

// NewExec finds iptables and probes its features.
func NewExec() (*Exec, error) {
	ipt, err := goipt.New(goipt.Timeout(10))
	if err != nil {
		return nil, fmt.Errorf("iptables: %w", err)
	}
	return &Exec{ipt: ipt}, nil
}

// HasRandomFully reports whether MASQUERADE --random-fully is supported.
func (e *Exec) HasRandomFully() bool { return e.ipt.HasRandomFully() }

// Restore implements Executor.
func (e *Exec) Restore(ctx context.Context, data []byte) error {
	cmd := exec.CommandContext(ctx, "iptables-restore", "-w", "10", "--noflush")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("iptables-restore: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Chains implements Executor, from iptables-save's chain lines.
func (e *Exec) Chains(ctx context.Context, table string) ([]string, error) {
	out, err := exec.CommandContext(ctx, "iptables-save", "-t", table).Output()
	if err != nil {
		return nil, fmt.Errorf("iptables-save -t %s: %w", table, err)
	}
	return chainsOf(out), nil
}

// chainsOf returns the chains declared in iptables-save output.
func chainsOf(save []byte) []string {
	var chains []string
	sc := bufio.NewScanner(bytes.NewReader(save))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) > 1 && line[0] == ':' {
			if i := bytes.IndexByte(line, ' '); i > 1 {
				chains = append(chains, string(line[1:i]))
			}
		}
	}
	return chains
}

// EnsureJumps implements Executor.
func (e *Exec) EnsureJumps(_ context.Context, jumps []Jump, ours func(string) bool) error {
	type key struct{ table, from string }
	var order []key
	byChain := map[key][]Jump{}
	for _, j := range jumps {
		k := key{j.Table, j.From}
		if _, ok := byChain[k]; !ok {
			order = append(order, k)
		}
		byChain[k] = append(byChain[k], j)
	}
	for _, k := range order {
		want := byChain[k]
		ok, err := e.jumpsFirst(k.table, k.from, want, ours)
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		// Take ours out and put them back on top, in order.
		if err := e.removeJumps(k.table, k.from, ours); err != nil {
			return err
		}
		for i := len(want) - 1; i >= 0; i-- {
			if err := e.ipt.Insert(k.table, k.from, 1, want[i].spec()...); err != nil {
				return fmt.Errorf("insert jump %s %s -> %s: %w", k.table, k.from, want[i].To, err)
			}
		}
	}
	return nil
}

// jumpsFirst reports whether chain holds exactly the wanted jumps of
// ours, and before every other rule.
func (e *Exec) jumpsFirst(table, chain string, want []Jump, ours func(string) bool) (bool, error) {
	for _, j := range want {
		ok, err := e.ipt.Exists(table, chain, j.spec()...)
		if err != nil {
			return false, fmt.Errorf("check jump %s %s -> %s: %w", table, chain, j.To, err)
		}
		if !ok {
			return false, nil
		}
	}
	rules, err := e.ipt.List(table, chain)
	if err != nil {
		return false, err
	}
	i := 0
	for _, r := range rules {
		args := iptablesutil.SplitRule(r)
		if len(args) < 2 || args[0] != "-A" {
			continue
		}
		target := targetOf(args)
		if ours(target) {
			if i >= len(want) {
				return false, nil // an extra (duplicate or stale) jump
			}
			i++
			continue
		}
		return i == len(want), nil // a foreign rule: ours must all be above it
	}
	return i == len(want), nil
}

// RemoveJumps implements Executor.
func (e *Exec) RemoveJumps(_ context.Context, table string, ours func(string) bool) error {
	for _, chain := range builtinChains[table] {
		if err := e.removeJumps(table, chain, ours); err != nil {
			return err
		}
	}
	return nil
}

var builtinChains = map[string][]string{
	"filter": {"INPUT", "FORWARD", "OUTPUT"},
	"nat":    {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"},
}

func (e *Exec) removeJumps(table, chain string, ours func(string) bool) error {
	rules, err := e.ipt.List(table, chain)
	if err != nil {
		return fmt.Errorf("list %s %s: %w", table, chain, err)
	}
	for _, r := range rules {
		args := iptablesutil.SplitRule(r)
		if len(args) < 2 || args[0] != "-A" || !ours(targetOf(args)) {
			continue
		}
		if err := e.ipt.DeleteIfExists(table, chain, args[2:]...); err != nil {
			return fmt.Errorf("delete %s %s rule %q: %w", table, chain, r, err)
		}
	}
	return nil
}

// targetOf returns the -j target of a rule's arguments.
func targetOf(args []string) string {
	for i := len(args) - 2; i >= 0; i-- {
		if args[i] == "-j" || args[i] == "-g" {
			return args[i+1]
		}
	}
	return ""
}
