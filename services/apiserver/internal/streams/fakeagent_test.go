package streams

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	agentv1 "github.com/gantry-dev/gantry/proto/gantry/agent/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// fakeAgent is an in-process gantry-agent for one pod. Its containers:
//
//   - web: log "line 1\nline 2\n", then, with follow, every string sent
//     on follow; exec runs the commands of fakeExec.
//   - sidecar: refused with FailedPrecondition as a waiting container.
//
// Port forwarding dials 127.0.0.1 at the requested port.
type fakeAgent struct {
	agentv1.UnimplementedAgentServer
	pod    *agentv1.PodRef
	follow chan string
	// active counts the calls in progress.
	active atomic.Int32

	mu       sync.Mutex
	logsReqs []*agentv1.LogsRequest
	starts   []*agentv1.ExecStart
}

func newFakeAgent(pod *agentv1.PodRef) *fakeAgent {
	return &fakeAgent{pod: pod, follow: make(chan string)}
}

// waitIdle polls until no call is in progress.
func (a *fakeAgent) waitIdle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for a.active.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d agent calls still running", a.active.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (a *fakeAgent) checkPod(pod *agentv1.PodRef, container string) error {
	if !proto.Equal(pod, a.pod) {
		return status.Errorf(codes.NotFound, "pod %s/%s (uid %s) does not run here", pod.GetNamespace(), pod.GetName(), pod.GetUid())
	}
	switch container {
	case "web", "":
		return nil
	case "sidecar":
		return status.Errorf(codes.FailedPrecondition, "container %q in pod %q is waiting to start: ContainerCreating", container, pod.GetName())
	}
	return status.Errorf(codes.NotFound, "container %q not found in pod %q", container, pod.GetName())
}

func (a *fakeAgent) lastLogsRequest() *agentv1.LogsRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.logsReqs) == 0 {
		return nil
	}
	return a.logsReqs[len(a.logsReqs)-1]
}

func (a *fakeAgent) lastExecStart() *agentv1.ExecStart {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.starts) == 0 {
		return nil
	}
	return a.starts[len(a.starts)-1]
}

func (a *fakeAgent) Logs(req *agentv1.LogsRequest, stream grpc.ServerStreamingServer[agentv1.LogChunk]) error {
	a.active.Add(1)
	defer a.active.Add(-1)
	a.mu.Lock()
	a.logsReqs = append(a.logsReqs, req)
	a.mu.Unlock()
	if err := a.checkPod(req.GetPod(), req.GetContainer()); err != nil {
		return err
	}
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	for _, line := range []string{"line 1\n", "line 2\n"} {
		if err := stream.Send(&agentv1.LogChunk{Data: []byte(line)}); err != nil {
			return err
		}
	}
	for req.GetFollow() {
		select {
		case line := <-a.follow:
			if err := stream.Send(&agentv1.LogChunk{Data: []byte(line)}); err != nil {
				return err
			}
		case <-stream.Context().Done():
			return nil
		}
	}
	return nil
}

func (a *fakeAgent) Exec(stream grpc.BidiStreamingServer[agentv1.ExecInput, agentv1.ExecOutput]) error {
	a.active.Add(1)
	defer a.active.Add(-1)
	in, err := stream.Recv()
	if err != nil {
		return err
	}
	start := in.GetStart()
	if start == nil {
		return status.Error(codes.InvalidArgument, "the first message must be start")
	}
	a.mu.Lock()
	a.starts = append(a.starts, start)
	a.mu.Unlock()
	if err := a.checkPod(start.GetPod(), start.GetContainer()); err != nil {
		return err
	}
	if len(start.GetCommand()) > 0 && start.GetCommand()[0] == "nosuchprogram" {
		return status.Error(codes.FailedPrecondition, `exec: "nosuchprogram": executable file not found in $PATH`)
	}
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	exit := fakeExec(start, &execStreams{stream: stream})
	return stream.Send(&agentv1.ExecOutput{Output: &agentv1.ExecOutput_Exit{Exit: exit}})
}

// execStreams is the process's side of an Exec call.
type execStreams struct {
	stream grpc.BidiStreamingServer[agentv1.ExecInput, agentv1.ExecOutput]
}

func (s *execStreams) stdout(text string) {
	_ = s.stream.Send(&agentv1.ExecOutput{Output: &agentv1.ExecOutput_Stdout{Stdout: []byte(text)}})
}

func (s *execStreams) stderr(text string) {
	_ = s.stream.Send(&agentv1.ExecOutput{Output: &agentv1.ExecOutput_Stderr{Stderr: []byte(text)}})
}

// fakeExec runs one of these commands (attach behaves as cat):
//
//	echo ARGS...   prints ARGS
//	fail           prints "out" and "err", exits 3
//	cat            copies stdin to stdout until stdin ends
//	size           prints the first terminal size, WIDTHxHEIGHT
//	broken         cannot be run by the runtime
func fakeExec(start *agentv1.ExecStart, s *execStreams) *agentv1.ExecExit {
	cmd := []string{"cat"}
	if !start.GetAttach() {
		cmd = start.GetCommand()
	}
	switch cmd[0] {
	case "echo":
		s.stdout(strings.Join(cmd[1:], " ") + "\n")
	case "fail":
		s.stdout("out\n")
		s.stderr("err\n")
		return &agentv1.ExecExit{Code: 3}
	case "cat", "size":
		for {
			in, err := s.stream.Recv()
			if err != nil {
				return &agentv1.ExecExit{Error: err.Error()}
			}
			switch {
			case in.GetCloseStdin() && cmd[0] == "cat":
				return &agentv1.ExecExit{}
			case in.GetResize() != nil && cmd[0] == "size":
				s.stdout(fmt.Sprintf("%dx%d\n", in.GetResize().GetWidth(), in.GetResize().GetHeight()))
				return &agentv1.ExecExit{}
			case in.GetStdin() != nil:
				s.stdout(string(in.GetStdin()))
			}
		}
	case "broken":
		return &agentv1.ExecExit{Error: "runtime failure"}
	default:
		return &agentv1.ExecExit{Code: 127}
	}
	return &agentv1.ExecExit{}
}

func (a *fakeAgent) PortForward(stream grpc.BidiStreamingServer[agentv1.PortForwardFrame, agentv1.PortForwardFrame]) error {
	a.active.Add(1)
	defer a.active.Add(-1)
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	start := first.GetStart()
	if start == nil {
		return status.Error(codes.InvalidArgument, "the first frame must be start")
	}
	if err := a.checkPod(start.GetPod(), ""); err != nil {
		return err
	}
	conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", fmt.Sprint(start.GetPort())))
	if err != nil {
		return stream.Send(&agentv1.PortForwardFrame{Frame: &agentv1.PortForwardFrame_Error{Error: err.Error()}})
	}
	defer conn.Close()
	var wg sync.WaitGroup
	wg.Go(func() { toPod(stream, conn.(*net.TCPConn)) })
	fromPod(stream, conn)
	wg.Wait()
	return nil
}

// toPod writes the caller's data to the pod and half-closes on close.
func toPod(stream grpc.BidiStreamingServer[agentv1.PortForwardFrame, agentv1.PortForwardFrame], conn *net.TCPConn) {
	defer conn.CloseWrite()
	for {
		f, err := stream.Recv()
		if err != nil || f.GetClose() {
			return
		}
		if _, err := conn.Write(f.GetData()); err != nil {
			return
		}
	}
}

// fromPod sends what the pod writes, then close.
func fromPod(stream grpc.BidiStreamingServer[agentv1.PortForwardFrame, agentv1.PortForwardFrame], conn net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			if stream.Send(&agentv1.PortForwardFrame{Frame: &agentv1.PortForwardFrame_Data{Data: buf[:n]}}) != nil {
				return
			}
		}
		if errors.Is(err, io.EOF) {
			_ = stream.Send(&agentv1.PortForwardFrame{Frame: &agentv1.PortForwardFrame_Close{Close: true}})
			return
		}
		if err != nil {
			return
		}
	}
}
