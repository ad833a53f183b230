package network

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The root tests run in a network namespace of their own that stands in
// for the node: TestMain re-executes the test binary inside a fresh
// namespace ("ip netns exec"), so the bridge, routes, iptables rules and
// sysctls the tests make never touch the host's network or a real
// agent's, and the "node" has no link to any other network. Deleting the
// node namespace at the end removes whatever a crashed test left behind.
const (
	nodeNetnsEnv = "GANTRY_NETWORK_TEST_NODE_NETNS"
	runIDEnv     = "GANTRY_NETWORK_TEST_RUN"
)

func TestMain(m *testing.M) {
	if os.Getenv(nodeNetnsEnv) == "" && rootTestsUnavailable() == "" {
		os.Exit(runInNodeNetns())
	}
	os.Exit(m.Run())
}

// rootTestsUnavailable says why the root tests cannot run, or "".
func rootTestsUnavailable() string {
	if os.Geteuid() != 0 {
		return "needs root"
	}
	for _, bin := range []string{"ip", "iptables", "iptables-restore", "iptables-save"} {
		if _, err := exec.LookPath(bin); err != nil {
			return "needs " + bin
		}
	}
	for _, plugin := range []string{"bridge", "host-local", "portmap", "loopback"} {
		if _, err := os.Stat(filepath.Join(DefaultCNIBinDir, plugin)); err != nil {
			return "needs the CNI plugin " + plugin + " in " + DefaultCNIBinDir
		}
	}
	return ""
}

// runInNodeNetns runs the tests in a new network namespace and deletes it
// (and any pod namespace file left behind) afterwards.
func runInNodeNetns() int {
	runID := randomHex(3)
	node := "gantry-test-node-" + runID
	if err := run("ip", "netns", "add", node); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cleanupNetns(runID, node)
	if err := run("ip", "-n", node, "link", "set", "lo", "up"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", node, os.Args[0]}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), nodeNetnsEnv+"="+node, runIDEnv+"="+runID)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { // forwards signals to the child until it exits
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	signal.Stop(sigs)
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// cleanupNetns deletes the node namespace and any pod namespace file of
// this run that a failed test did not delete (its mount died with the
// child's mount namespace; the file stays).
func cleanupNetns(runID, node string) {
	if err := run("ip", "netns", "del", node); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	left, _ := filepath.Glob(filepath.Join("/run/netns", podNetnsPrefix+runID+"-*"))
	for _, path := range left {
		_ = run("ip", "netns", "del", filepath.Base(path))
	}
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
