package containerd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
)

func TestExec(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("exec")
	id := e.run(sb, e.config(sb, "target", "sleep", "300"))

	t.Run("exit code and output", func(t *testing.T) {
		code, out, errOut := e.exec(id, "sh", "-c", "echo out; echo err >&2; exit 7")
		if code != 7 || out != "out\n" || errOut != "err\n" {
			t.Fatalf("got %d %q %q", code, out, errOut)
		}
	})

	t.Run("stdin", func(t *testing.T) {
		var out bytes.Buffer
		code, err := e.rt.Exec(e.ctx, id, runtime.ExecConfig{Cmd: []string{"cat"}, Stdin: strings.NewReader("from stdin\n"), Stdout: &out})
		if err != nil || code != 0 || out.String() != "from stdin\n" {
			t.Fatalf("got %d %q %v", code, out.String(), err)
		}
	})

	t.Run("tty and resize", func(t *testing.T) {
		stdinR, stdinW := io.Pipe()
		resize := make(chan runtime.TermSize)
		var out bytes.Buffer
		done := make(chan error, 1)
		go func() {
			code, err := e.rt.Exec(e.ctx, id, runtime.ExecConfig{Cmd: []string{"sh", "-c", "read line; stty size; exit 4"},
				TTY: true, Stdin: stdinR, Stdout: &out, Resize: resize})
			if err == nil && code != 4 {
				err = errors.New("exit code not 4")
			}
			done <- err
		}()
		// The second send returns only after the first resize was
		// applied.
		resize <- runtime.TermSize{Width: 123, Height: 45}
		resize <- runtime.TermSize{Width: 123, Height: 45}
		io.WriteString(stdinW, "go\n")
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("tty exec did not finish")
		}
		stdinW.Close()
		if !strings.Contains(out.String(), "45 123") {
			t.Fatalf("terminal output %q lacks the size 45 123", out.String())
		}
	})

	t.Run("timeout", func(t *testing.T) {
		start := time.Now()
		_, err := e.rt.Exec(e.ctx, id, runtime.ExecConfig{Cmd: []string{"sleep", "60"}, Timeout: 300 * time.Millisecond})
		if !errors.Is(err, ErrExecTimeout) {
			t.Fatalf("got %v, want ErrExecTimeout", err)
		}
		if took := time.Since(start); took > 20*time.Second {
			t.Fatalf("timed out exec took %v", took)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(e.ctx)
		defer cancel()
		// Cancelled once the command runs.
		started := &signalWriter{c: make(chan struct{})}
		go func() { <-started.c; cancel() }()
		start := time.Now()
		_, err := e.rt.Exec(ctx, id, runtime.ExecConfig{Cmd: []string{"sh", "-c", "echo started; exec sleep 60"}, Stdout: started})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want Canceled", err)
		}
		if took := time.Since(start); took > 20*time.Second {
			t.Fatalf("cancelled exec took %v", took)
		}
		if _, out, _ := e.exec(id, "ps"); strings.Contains(out, "sleep 60") {
			t.Fatalf("the cancelled command still runs:\n%s", out)
		}
	})

	t.Run("missing binary", func(t *testing.T) {
		if _, err := e.rt.Exec(e.ctx, id, runtime.ExecConfig{Cmd: []string{"/no/such/binary"}}); err == nil {
			t.Fatal("exec of a missing binary succeeded")
		}
	})

	t.Run("not running", func(t *testing.T) {
		done := e.run(sb, e.config(sb, "done", "true"))
		e.waitExit(done)
		if _, err := e.rt.Exec(e.ctx, done, runtime.ExecConfig{Cmd: []string{"true"}}); err == nil {
			t.Fatal("exec in an exited container succeeded")
		}
		if _, err := e.rt.Exec(e.ctx, "nope", runtime.ExecConfig{Cmd: []string{"true"}}); !errors.Is(err, runtime.ErrNotFound) {
			t.Fatalf("exec in a missing container: %v, want ErrNotFound", err)
		}
	})
}

func TestStats(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("stats")
	cfg := e.config(sb, "busy", "sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo done; sleep 300")
	id := e.run(sb, cfg)
	waitLog(t, cfg.LogPath, "stdout done")
	s, err := e.rt.Stats(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if s.CPUUsageNanos == 0 || s.MemoryUsage == 0 || s.MemoryWorkingSet == 0 || s.MemoryWorkingSet > s.MemoryUsage || s.PidsCurrent == 0 || s.Time.IsZero() {
		t.Fatalf("stats %+v", s)
	}
	if err := e.rt.StopContainer(e.ctx, id, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.rt.Stats(e.ctx, id); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("stats of a stopped container: %v, want ErrNotFound", err)
	}
}

// signalWriter closes c at its first write.
type signalWriter struct {
	c    chan struct{}
	once sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.c) })
	return len(p), nil
}
