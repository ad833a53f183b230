package logger

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// drainAfterTerm bounds how long the logger keeps reading after the shim
// asks it to stop (the shim kills it after 12 s).
const drainAfterTerm = 5 * time.Second

// Main runs the logger with the arguments that follow the "logger"
// subcommand (one: the encoded Options) and the shim's descriptors 3, 4
// and 5. It returns the process exit code.
func Main(args []string) int {
	if len(args) != 1 {
		fmt.Fprintf(os.Stderr, "usage: %s <options>\n", Subcommand)
		return 2
	}
	opts, err := ParseOptions(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	stdout := os.NewFile(3, "stdout")
	stderr := os.NewFile(4, "stderr")
	ready := os.NewFile(5, "ready")
	if stdout == nil || stderr == nil {
		fmt.Fprintln(os.Stderr, "logger: descriptors 3 and 4 must be the container's stdout and stderr")
		return 2
	}
	return run(opts, stdout, stderr, ready)
}

func run(opts Options, stdout, stderr io.Reader, ready io.Closer) int {
	// The shim sends SIGTERM after closing its ends of the pipes: keep
	// reading what is buffered, but not forever.
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)

	f, err := Open(opts)
	if ready != nil {
		ready.Close()
	}
	if err != nil {
		// Nowhere to write: drain the pipes, so the container is not
		// killed by SIGPIPE for the lack of a log.
		fmt.Fprintf(os.Stderr, "logger: %v\n", err)
		go io.Copy(io.Discard, stderr)
		io.Copy(io.Discard, stdout)
		return 1
	}
	defer f.Close()

	done := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	code := 0
	for _, s := range []struct {
		name string
		r    io.Reader
	}{{Stdout, stdout}, {Stderr, stderr}} {
		wg.Go(func() {
			if err := f.Copy(s.name, s.r); err != nil {
				fmt.Fprintf(os.Stderr, "logger: %s: %v\n", s.name, err)
				mu.Lock()
				code = 1
				mu.Unlock()
				io.Copy(io.Discard, s.r)
			}
		})
	}
	go func() { wg.Wait(); close(done) }()

	select {
	case <-done:
	case <-term:
		select {
		case <-done:
		case <-time.After(drainAfterTerm):
		}
	}
	mu.Lock()
	defer mu.Unlock()
	return code
}
