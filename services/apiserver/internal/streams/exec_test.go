package streams

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/remotecommand"
	clientremotecommand "k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/util/exec"
)

// executors are the ways client-go (and so kubectl) runs exec and attach.
var executors = []struct {
	name string
	new  func(*testing.T, *testEnv, *url.URL) clientremotecommand.Executor
}{
	{"websocket v5", func(t *testing.T, env *testEnv, u *url.URL) clientremotecommand.Executor {
		e, err := clientremotecommand.NewWebSocketExecutor(env.config, http.MethodGet, u.String())
		if err != nil {
			t.Fatal(err)
		}
		return e
	}},
	{"websocket v4", func(t *testing.T, env *testEnv, u *url.URL) clientremotecommand.Executor {
		e, err := clientremotecommand.NewWebSocketExecutorForProtocols(env.config, http.MethodGet, u.String(), remotecommand.StreamProtocolV4Name)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}},
	{"spdy", func(t *testing.T, env *testEnv, u *url.URL) clientremotecommand.Executor {
		e, err := clientremotecommand.NewSPDYExecutor(env.config, http.MethodPost, u)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}},
}

// oneSize reports one terminal size, then none.
type oneSize struct{ sent bool }

func (s *oneSize) Next() *clientremotecommand.TerminalSize {
	if s.sent {
		return nil
	}
	s.sent = true
	return &clientremotecommand.TerminalSize{Width: 100, Height: 40}
}

func TestExec(t *testing.T) {
	env := newTestEnv(t)
	for _, ex := range executors {
		for _, tc := range []struct {
			name       string
			command    []string
			stdin      string
			tty        bool
			wantStdout string
			wantStderr string
			wantCode   int
			wantErr    string
		}{
			{name: "stdout", command: []string{"echo", "hello", "world"}, wantStdout: "hello world\n"},
			{name: "non-zero exit code", command: []string{"fail"}, wantStdout: "out\n", wantStderr: "err\n", wantCode: 3},
			{name: "stdin until its end", command: []string{"cat"}, stdin: "some input", wantStdout: "some input"},
			{name: "terminal size", command: []string{"size"}, tty: true, wantStdout: "100x40\n"},
			{name: "runtime failure", command: []string{"broken"}, wantErr: "error executing command in container: runtime failure"},
		} {
			t.Run(ex.name+"/"+tc.name, func(t *testing.T) {
				opts := &corev1.PodExecOptions{Container: "web", Command: tc.command, Stdin: tc.stdin != "",
					Stdout: true, Stderr: !tc.tty, TTY: tc.tty}
				var stdout, stderr bytes.Buffer
				so := clientremotecommand.StreamOptions{Stdout: &stdout, Tty: tc.tty}
				if !tc.tty {
					so.Stderr = &stderr
				}
				if opts.Stdin {
					so.Stdin = strings.NewReader(tc.stdin)
				}
				if tc.tty {
					so.TerminalSizeQueue = &oneSize{}
				}
				err := ex.new(t, env, env.subresourceURL(testPod, "exec", opts)).StreamWithContext(testContext(t), so)
				checkExecResult(t, err, tc.wantCode, tc.wantErr)
				if stdout.String() != tc.wantStdout || stderr.String() != tc.wantStderr {
					t.Errorf("stdout %q, stderr %q; want %q, %q", stdout.String(), stderr.String(), tc.wantStdout, tc.wantStderr)
				}
			})
		}
	}
}

func checkExecResult(t *testing.T, err error, wantCode int, wantErr string) {
	t.Helper()
	var exit exec.CodeExitError
	switch {
	case wantCode != 0:
		if !errors.As(err, &exit) || exit.Code != wantCode {
			t.Errorf("got %v, want exit code %d", err, wantCode)
		}
	case wantErr != "":
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("got %v, want an error with %q", err, wantErr)
		}
	case err != nil:
		t.Errorf("got %v, want success", err)
	}
}

func TestAttach(t *testing.T) {
	env := newTestEnv(t)
	for _, ex := range executors {
		t.Run(ex.name, func(t *testing.T) {
			u := env.subresourceURL(testPod, "attach", &corev1.PodAttachOptions{Container: "web", Stdin: true, Stdout: true})
			var stdout bytes.Buffer
			err := ex.new(t, env, u).StreamWithContext(testContext(t), clientremotecommand.StreamOptions{
				Stdin: strings.NewReader("typed"), Stdout: &stdout,
			})
			if err != nil || stdout.String() != "typed" {
				t.Errorf("got %q, %v; want the input echoed", stdout.String(), err)
			}
			start := env.agent.lastExecStart()
			if !start.GetAttach() || len(start.GetCommand()) != 0 || !start.GetStdin() || start.GetStderr() {
				t.Errorf("agent got %v, want an attach to stdin and stdout", start)
			}
		})
	}
}

func TestExecRefusals(t *testing.T) {
	env := newTestEnv(t)
	for _, tc := range []struct {
		name    string
		opts    *corev1.PodExecOptions
		wantErr string
	}{
		{"container waiting", &corev1.PodExecOptions{Container: "sidecar", Command: []string{"echo"}, Stdout: true}, `container "sidecar" in pod "web-0" is waiting to start`},
		{"unknown container", &corev1.PodExecOptions{Container: "nope", Command: []string{"echo"}, Stdout: true}, "container nope is not valid for pod web-0"},
		{"no such program", &corev1.PodExecOptions{Container: "web", Command: []string{"nosuchprogram"}, Stdout: true}, "executable file not found"},
		{"no command", &corev1.PodExecOptions{Container: "web", Stdout: true}, "you must specify at least one command for the container"},
		{"no streams", &corev1.PodExecOptions{Container: "web", Command: []string{"echo"}}, "you must specify at least 1 of stdin, stdout, stderr"},
	} {
		for _, ex := range executors {
			t.Run(ex.name+"/"+tc.name, func(t *testing.T) {
				err := ex.new(t, env, env.subresourceURL(testPod, "exec", tc.opts)).StreamWithContext(testContext(t),
					clientremotecommand.StreamOptions{Stdout: &bytes.Buffer{}})
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("got %v, want an error with %q", err, tc.wantErr)
				}
			})
		}
	}
}

func TestExecNeedsAnUpgrade(t *testing.T) {
	env := newTestEnv(t)
	code, st := env.do(t, http.MethodPost, "web-0/exec?command=echo&stdout=true&container=web")
	if code != http.StatusBadRequest || st.Message != "Upgrade request required" {
		t.Errorf("got %d %q, want 400 Upgrade request required", code, st.Message)
	}
}

func TestExecEndsWhenTheClientGoesAway(t *testing.T) {
	env := newTestEnv(t)
	for _, ex := range executors {
		t.Run(ex.name, func(t *testing.T) {
			opts := &corev1.PodExecOptions{Container: "web", Command: []string{"cat"}, Stdin: true, Stdout: true}
			stdin, typing := io.Pipe()
			defer typing.Close()
			stdout := &signalWriter{wrote: make(chan struct{}, 1)}
			ctx, cancel := context.WithCancel(testContext(t))
			done := make(chan error, 1)
			go func() {
				done <- ex.new(t, env, env.subresourceURL(testPod, "exec", opts)).StreamWithContext(ctx,
					clientremotecommand.StreamOptions{Stdin: stdin, Stdout: stdout})
			}()
			if _, err := io.WriteString(typing, "first"); err != nil {
				t.Fatal(err)
			}
			select {
			case <-stdout.wrote:
			case <-ctx.Done():
				t.Fatal("no output")
			}
			cancel()
			<-done
			env.agent.waitIdle(t)
		})
	}
}

// signalWriter signals every write.
type signalWriter struct{ wrote chan struct{} }

func (w *signalWriter) Write(p []byte) (int, error) {
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}
