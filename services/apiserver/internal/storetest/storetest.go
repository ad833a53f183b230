// Package storetest starts a one-member store for the API server's tests:
// gantry-store from $GANTRY_BIN_DIR when that is set (make test), Debian's
// etcd otherwise.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// ErrNoStore means neither store binary is there; the tests cannot run.
var ErrNoStore = errors.New("no store binary: set GANTRY_BIN_DIR (make build) or install etcd")

// Start starts a one-member store on free loopback ports in a temporary
// directory and returns its client URL; stop kills it (by its PID) and
// removes the directory.
func Start() (url string, stop func(), err error) {
	bin, ok := binary()
	if !ok {
		return "", nil, ErrNoStore
	}
	dir, err := os.MkdirTemp("", "apiserver-test-store-")
	if err != nil {
		return "", nil, err
	}
	clientURL := "http://127.0.0.1:" + strconv.Itoa(FreePort())
	peerURL := "http://127.0.0.1:" + strconv.Itoa(FreePort())
	cmd := exec.Command(bin,
		"--name", "default", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "default="+peerURL)
	logFile, err := os.Create(filepath.Join(dir, "store.log"))
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		os.RemoveAll(dir)
		return "", nil, err
	}
	stop = func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logFile.Close()
		os.RemoveAll(dir)
	}
	if err := wait(clientURL); err != nil {
		stop()
		return "", nil, fmt.Errorf("%s did not start: %w", bin, err)
	}
	return clientURL, stop, nil
}

// binary is gantry-store from $GANTRY_BIN_DIR, or etcd.
func binary() (string, bool) {
	if dir := os.Getenv("GANTRY_BIN_DIR"); dir != "" {
		p := filepath.Join(dir, "gantry-store")
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	if p, err := exec.LookPath("etcd"); err == nil {
		return p, true
	}
	return "", false
}

func wait(url string) error {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{url}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	defer cli.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := cli.Put(ctx, "/storetest/started", "yes")
		cancel()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
