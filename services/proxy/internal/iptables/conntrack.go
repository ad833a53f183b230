package iptables

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
)

// Flow is a set of conntrack entries to delete: entries to OrigDst (and
// OrigPort, when set), or to any local address on NodePort, that were
// DNATed to DNATTo (any endpoint when invalid). Unreplied narrows it to
// TCP connections whose SYN got no answer (state SYN_SENT), matched by
// the endpoint they were sent to (the source of the reply they wait for).
type Flow struct {
	Protocol  string
	OrigDst   netip.Addr
	OrigPort  int32
	NodePort  int32
	DNATTo    netip.Addr
	Unreplied bool
}

func (f Flow) args() []string {
	args := []string{"-D", "-p", f.Protocol}
	if f.Unreplied {
		args = append(args, "--state", "SYN_SENT")
	}
	if f.OrigDst.IsValid() {
		args = append(args, "--orig-dst", f.OrigDst.String())
	}
	if f.OrigPort > 0 {
		args = append(args, "--orig-port-dst", strconv.Itoa(int(f.OrigPort)))
	}
	if f.NodePort > 0 {
		args = append(args, "--orig-port-dst", strconv.Itoa(int(f.NodePort)))
	}
	switch {
	case f.DNATTo.IsValid() && f.Unreplied:
		args = append(args, "--reply-src", f.DNATTo.String())
	case f.DNATTo.IsValid():
		args = append(args, "--dst-nat", f.DNATTo.String())
	}
	return args
}

func (f Flow) String() string { return strings.Join(f.args()[1:], " ") }

// Conntrack deletes conntrack entries; Tool is the real one.
type Conntrack interface {
	Delete(ctx context.Context, f Flow) error
}

// Tool runs the conntrack command-line tool (Debian package conntrack).
type Tool struct{ Path string }

// ErrNoConntrack says the conntrack tool is not installed.
var ErrNoConntrack = errors.New("the conntrack tool is not installed (Debian package conntrack): stale flows are not flushed")

// NewTool finds conntrack in PATH.
func NewTool() (*Tool, error) {
	p, err := exec.LookPath("conntrack")
	if err != nil {
		return nil, ErrNoConntrack
	}
	return &Tool{Path: p}, nil
}

// Delete implements Conntrack. No matching entry is not an error.
func (t *Tool) Delete(ctx context.Context, f Flow) error {
	out, err := exec.CommandContext(ctx, t.Path, f.args()...).CombinedOutput()
	if err != nil {
		// conntrack exits 1 with "0 flow entries have been deleted"
		// when nothing matched.
		if strings.Contains(string(out), "0 flow entries") {
			return nil
		}
		return fmt.Errorf("conntrack %s: %w: %s", f, err, strings.TrimSpace(string(out)))
	}
	return nil
}
