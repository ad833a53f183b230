package iptables

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Sysctls sets and loads what the rules need; Host is the real one.
type Sysctls interface {
	// Ensure sets /proc/sys/<key> to value.
	Ensure(key, value string) error
	// LoadModule loads a kernel module unless path already exists.
	LoadModule(ctx context.Context, module, path string) error
}

// Host changes the host's sysctls.
type Host struct{ Log *slog.Logger }

// Ensure implements Sysctls.
func (h Host) Ensure(key, value string) error {
	path := filepath.Join("/proc/sys", key)
	old, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("sysctl %s: %w", key, err)
	}
	if strings.TrimSpace(string(old)) == value {
		return nil
	}
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", key, value, err)
	}
	h.Log.Info("set sysctl", "key", strings.ReplaceAll(key, "/", "."), "value", value)
	return nil
}

// LoadModule implements Sysctls.
func (h Host) LoadModule(ctx context.Context, module, path string) error {
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		return err
	}
	out, err := exec.CommandContext(ctx, "modprobe", module).CombinedOutput()
	if err != nil {
		return fmt.Errorf("modprobe %s: %w: %s", module, err, strings.TrimSpace(string(out)))
	}
	h.Log.Info("loaded kernel module", "module", module)
	return nil
}

// Sysctl keys the proxier sets.
const (
	sysctlBridgeNF      = "net/bridge/bridge-nf-call-iptables"
	sysctlRouteLocalnet = "net/ipv4/conf/all/route_localnet"
)

// setupHost makes bridged pod traffic pass iptables (pod to Service on
// the same bridge) and, when NodePorts answer on localhost, lets DNAT
// send 127.0.0.1 traffic to pods.
func setupHost(ctx context.Context, s Sysctls, localnet bool) error {
	var errs []error
	if err := s.LoadModule(ctx, "br_netfilter", filepath.Join("/proc/sys", sysctlBridgeNF)); err != nil {
		errs = append(errs, err)
	} else if err := s.Ensure(sysctlBridgeNF, "1"); err != nil {
		errs = append(errs, err)
	}
	if localnet {
		if err := s.Ensure(sysctlRouteLocalnet, "1"); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
