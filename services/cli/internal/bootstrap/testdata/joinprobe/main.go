// Command joinprobe drives package bootstrap's join steps for the
// integration tests, until gantry join does: it discovers the cluster
// at --server with the CA pins --pin, then asks for a node client
// certificate for --node with --token, and writes ca.crt, server,
// node.crt and node.key into --out.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/services/cli/internal/bootstrap"
)

func main() {
	var (
		server, token, node, out string
		pins                     []string
		timeout                  time.Duration
	)
	flag.StringVar(&server, "server", "", "the API server to discover")
	flag.Func("pin", "a CA hash sha256:<hex> (repeatable)", func(s string) error { pins = append(pins, s); return nil })
	flag.StringVar(&token, "token", "", "the bootstrap token")
	flag.StringVar(&node, "node", "", "the node name")
	flag.StringVar(&out, "out", "", "where to write the results")
	flag.DurationVar(&timeout, "timeout", time.Minute, "how long to wait for the certificate")
	flag.Parse()
	if err := run(server, pins, token, node, out, timeout); err != nil {
		fmt.Fprintln(os.Stderr, "joinprobe:", err)
		os.Exit(1)
	}
}

func run(server string, pins []string, token, node, out string, timeout time.Duration) error {
	if out == "" {
		return fmt.Errorf("no --out")
	}
	ctx := context.Background()
	ca, serverURL, err := bootstrap.Discover(ctx, server, pins)
	if err != nil {
		return fmt.Errorf("discover: %w", err)
	}
	if err := write(out, "ca.crt", ca); err != nil {
		return err
	}
	if err := write(out, "server", []byte(serverURL)); err != nil {
		return err
	}
	cert, key, err := bootstrap.RequestNodeCredentials(ctx, serverURL, ca, strings.TrimSpace(token), node, timeout,
		bootstrap.WithExpiration(time.Hour))
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	if err := write(out, "node.crt", cert); err != nil {
		return err
	}
	return write(out, "node.key", key)
}

func write(dir, name string, data []byte) error {
	return os.WriteFile(filepath.Join(dir, name), data, 0o600)
}
