package streaming

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	agentv1 "github.com/gantry-dev/gantry/proto/gantry/agent/v1"
	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// execEnv is a server whose pod has a running container "web" and a
// stopped one "done".
type execEnv struct {
	client  agentv1.AgentClient
	runtime *fakeRuntime
}

func newExecEnv(t *testing.T) *execEnv {
	e := &execEnv{runtime: newFakeRuntime()}
	pods := &fakePods{current: map[string]runtime.ContainerStatus{
		"web":  {ID: "c1", Name: "web", State: runtime.StateRunning},
		"done": {ID: "c2", Name: "done", State: runtime.StateExited},
	}}
	e.client = startServer(t, New(Config{Pods: pods, Runtime: e.runtime, Log: testLogger(t)}))
	return e
}

func execStart(cmd ...string) *agentv1.ExecStart {
	return &agentv1.ExecStart{Pod: testPodRef(), Container: "web", Command: cmd, Stdout: true, Stderr: true}
}

func startInput(s *agentv1.ExecStart) *agentv1.ExecInput {
	return &agentv1.ExecInput{Input: &agentv1.ExecInput_Start{Start: s}}
}

// execResult is what an Exec call sent.
type execResult struct {
	stdout, stderr string
	exit           *agentv1.ExecExit
	err            error // how the call ended, nil for OK
}

// startExec sends start and waits for the headers, as the API server does.
func (e *execEnv) startExec(ctx context.Context, t *testing.T, start *agentv1.ExecStart) (agentv1.Agent_ExecClient, error) {
	t.Helper()
	call, err := e.client.Exec(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := call.Send(startInput(start)); err != nil {
		t.Fatal(err)
	}
	md, err := call.Header()
	if err != nil {
		return nil, err
	}
	if md == nil {
		_, err = call.Recv()
		return nil, err
	}
	return call, nil
}

// collect reads the output until the call ends.
func collect(call agentv1.Agent_ExecClient) execResult {
	var r execResult
	var out, errOut strings.Builder
	for {
		msg, err := call.Recv()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				r.err = err
			}
			r.stdout, r.stderr = out.String(), errOut.String()
			return r
		}
		switch o := msg.GetOutput().(type) {
		case *agentv1.ExecOutput_Stdout:
			if r.exit != nil {
				r.err = fmt.Errorf("stdout after the exit")
			}
			out.Write(o.Stdout)
		case *agentv1.ExecOutput_Stderr:
			errOut.Write(o.Stderr)
		case *agentv1.ExecOutput_Exit:
			r.exit = o.Exit
		}
	}
}

func TestExec(t *testing.T) {
	e := newExecEnv(t)
	tests := []struct {
		name  string
		start *agentv1.ExecStart
		// input is sent after start.
		input []*agentv1.ExecInput
		want  execResult
	}{
		{
			name:  "output",
			start: execStart("echo", "hello", "world"),
			want:  execResult{stdout: "hello world\n", exit: &agentv1.ExecExit{}},
		},
		{
			name:  "exit code and stderr",
			start: execStart("fail"),
			want:  execResult{stdout: "out\n", stderr: "err\n", exit: &agentv1.ExecExit{Code: 3}},
		},
		{
			name:  "no stderr wanted",
			start: &agentv1.ExecStart{Pod: testPodRef(), Container: "web", Command: []string{"fail"}, Stdout: true},
			want:  execResult{stdout: "out\n", exit: &agentv1.ExecExit{Code: 3}},
		},
		{
			name:  "stdin until close_stdin",
			start: &agentv1.ExecStart{Pod: testPodRef(), Container: "web", Command: []string{"cat"}, Stdin: true, Stdout: true},
			input: []*agentv1.ExecInput{
				{Input: &agentv1.ExecInput_Stdin{Stdin: []byte("abc")}},
				{Input: &agentv1.ExecInput_Stdin{Stdin: []byte("def\n")}},
				{Input: &agentv1.ExecInput_CloseStdin{CloseStdin: true}},
			},
			want: execResult{stdout: "abcdef\n", exit: &agentv1.ExecExit{}},
		},
		{
			name:  "terminal size",
			start: &agentv1.ExecStart{Pod: testPodRef(), Container: "web", Command: []string{"size"}, Stdin: true, Stdout: true, Tty: true},
			input: []*agentv1.ExecInput{
				{Input: &agentv1.ExecInput_Resize{Resize: &agentv1.TerminalSize{Width: 80, Height: 24}}},
			},
			want: execResult{stdout: "80x24\n", exit: &agentv1.ExecExit{}},
		},
		{
			name:  "runtime error",
			start: execStart("broken"),
			want:  execResult{exit: &agentv1.ExecExit{Error: "runtime failure"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			call, err := e.startExec(ctx, t, tc.start)
			if err != nil {
				t.Fatalf("exec refused: %v", err)
			}
			for _, in := range tc.input {
				if err := call.Send(in); err != nil {
					t.Fatal(err)
				}
			}
			got := collect(call)
			if got.stdout != tc.want.stdout || got.stderr != tc.want.stderr || !proto.Equal(got.exit, tc.want.exit) || got.err != nil {
				t.Errorf("got %+v; want %+v", got, tc.want)
			}
		})
	}
}

func TestExecRefused(t *testing.T) {
	e := newExecEnv(t)
	attach := execStart()
	attach.Attach = true
	stopped := execStart("echo")
	stopped.Container = "done"
	tests := []struct {
		name  string
		first *agentv1.ExecInput
		code  codes.Code
		msg   string
	}{
		{"nothing", nil, codes.InvalidArgument, "the first message must be start"},
		{"not start", &agentv1.ExecInput{Input: &agentv1.ExecInput_Stdin{Stdin: []byte("x")}}, codes.InvalidArgument, "the first message must be start"},
		{"no command", startInput(execStart()), codes.InvalidArgument, "you must specify at least one command for the container"},
		{"attach", startInput(attach), codes.Unimplemented, "gantry-agent cannot attach to a container's main process; use kubectl exec"},
		{"not running", startInput(stopped), codes.FailedPrecondition, `container "done" in pod "web-0" is not running`},
		{"waiting", startInput(&agentv1.ExecStart{Pod: testPodRef(), Container: "waiting", Command: []string{"sh"}}), codes.FailedPrecondition, `container "waiting" in pod "web-0" is waiting to start: ContainerCreating`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			call, err := e.client.Exec(testContext(t))
			if err != nil {
				t.Fatal(err)
			}
			if tc.first != nil {
				_ = call.Send(tc.first)
			}
			_ = call.CloseSend()
			md, err := call.Header()
			if md != nil {
				t.Errorf("got headers %v before the refusal", md)
			}
			if err == nil {
				_, err = call.Recv()
			}
			if st := status.Convert(err); st.Code() != tc.code || st.Message() != tc.msg {
				t.Errorf("got %v; want %v %q", err, tc.code, tc.msg)
			}
		})
	}
}

func TestExecCancel(t *testing.T) {
	e := newExecEnv(t)
	ctx, cancel := context.WithCancel(testContext(t))
	call, err := e.startExec(ctx, t, execStart("sleep"))
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := call.Recv(); status.Code(err) != codes.Canceled {
		t.Errorf("got %v after cancelling", err)
	}
	select {
	case err := <-e.runtime.execDone:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the process's context ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the process was not stopped when the caller went away")
	}
}
