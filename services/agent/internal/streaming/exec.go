package streaming

import (
	"errors"
	"io"
	"sync"

	agentv1 "github.com/gantry-dev/gantry/proto/gantry/agent/v1"
	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

type execStream = grpc.BidiStreamingServer[agentv1.ExecInput, agentv1.ExecOutput]

// Exec runs a command in a running container. Attach is not supported.
func (s *Server) Exec(stream execStream) error {
	ctx := stream.Context()
	in, err := stream.Recv()
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	start := in.GetStart()
	switch {
	case start == nil:
		return invalid("the first message must be start")
	case start.GetPod() == nil:
		return invalid("the pod is required")
	case start.GetAttach():
		return status.Error(codes.Unimplemented, "gantry-agent cannot attach to a container's main process; use kubectl exec")
	case len(start.GetCommand()) == 0:
		return invalid("you must specify at least one command for the container")
	}
	pod := podRefOf(start.GetPod())
	c, err := s.pods.Container(ctx, pod, start.GetContainer(), false)
	if err != nil {
		return toStatus(err)
	}
	if c.State != runtime.StateRunning {
		return status.Errorf(codes.FailedPrecondition, "container %q in pod %q is not running", start.GetContainer(), pod.Name)
	}
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	sess := newExecSession(stream, start)
	// The input goroutine ends when Recv fails, which it does at the
	// latest when this handler has returned.
	go sess.readInput()
	code, err := s.runtime.Exec(ctx, c.ID, sess.config(start))
	sess.ended()
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	exit := &agentv1.ExecExit{Code: int32(code)}
	if err != nil {
		s.log.Debug("exec failed", "pod", pod.Namespace+"/"+pod.Name, "container", start.GetContainer(), "err", err)
		exit = &agentv1.ExecExit{Error: err.Error()}
	}
	return sess.send(&agentv1.ExecOutput{Output: &agentv1.ExecOutput_Exit{Exit: exit}})
}

// errExecEnded fails writes to the stdin of a process that has ended.
var errExecEnded = errors.New("the process has ended")

// execSession connects a process's stdio to an Exec call.
type execSession struct {
	stream execStream
	sendMu sync.Mutex
	// stdin (nil without stdin) is read by the process and written from
	// the caller's stdin frames.
	stdin  *io.PipeReader
	stdinW *io.PipeWriter
	// resize holds the latest terminal size the process has not taken.
	resize chan runtime.TermSize
}

func newExecSession(stream execStream, start *agentv1.ExecStart) *execSession {
	e := &execSession{stream: stream, resize: make(chan runtime.TermSize, 1)}
	if start.GetStdin() {
		e.stdin, e.stdinW = io.Pipe()
	}
	return e
}

func (e *execSession) config(start *agentv1.ExecStart) runtime.ExecConfig {
	cfg := runtime.ExecConfig{Cmd: start.GetCommand(), TTY: start.GetTty()}
	if e.stdin != nil {
		cfg.Stdin = e.stdin
	}
	if start.GetStdout() {
		cfg.Stdout = &outputWriter{e: e}
	}
	if start.GetStderr() && !start.GetTty() {
		cfg.Stderr = &outputWriter{e: e, stderr: true}
	}
	if start.GetTty() {
		cfg.Resize = e.resize
	}
	return cfg
}

// readInput hands the caller's messages to the process until the call
// ends its input. The end of input ends stdin too.
func (e *execSession) readInput() {
	defer e.closeStdin()
	for {
		in, err := e.stream.Recv()
		if err != nil {
			return
		}
		switch in := in.GetInput().(type) {
		case *agentv1.ExecInput_Stdin:
			if e.stdinW != nil {
				// Blocks until the process has read it; fails once it ended.
				_, _ = e.stdinW.Write(in.Stdin)
			}
		case *agentv1.ExecInput_CloseStdin:
			e.closeStdin()
		case *agentv1.ExecInput_Resize:
			e.setSize(runtime.TermSize{Width: uint16(in.Resize.GetWidth()), Height: uint16(in.Resize.GetHeight())})
		}
	}
}

func (e *execSession) closeStdin() {
	if e.stdinW != nil {
		_ = e.stdinW.Close()
	}
}

// setSize queues a terminal size, replacing one not taken yet. Only
// readInput calls it, so the second send cannot block.
func (e *execSession) setSize(size runtime.TermSize) {
	select {
	case e.resize <- size:
		return
	default:
	}
	select {
	case <-e.resize:
	default:
	}
	e.resize <- size
}

// ended unblocks a stdin write the process will never read.
func (e *execSession) ended() {
	if e.stdin != nil {
		_ = e.stdin.CloseWithError(errExecEnded)
	}
}

func (e *execSession) send(out *agentv1.ExecOutput) error {
	e.sendMu.Lock()
	defer e.sendMu.Unlock()
	return e.stream.Send(out)
}

// outputWriter sends what the process writes to stdout or stderr.
type outputWriter struct {
	e      *execSession
	stderr bool
}

func (w *outputWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), chunkSize)
		// A copy: Write must not keep p, and gRPC may hold on to a message.
		data := append([]byte(nil), p[:n]...)
		out := &agentv1.ExecOutput{Output: &agentv1.ExecOutput_Stdout{Stdout: data}}
		if w.stderr {
			out = &agentv1.ExecOutput{Output: &agentv1.ExecOutput_Stderr{Stderr: data}}
		}
		if err := w.e.send(out); err != nil {
			return written, err
		}
		written += n
		p = p[n:]
	}
	return written, nil
}
