package streaming

import (
	"errors"
	"io"
	"net"
	"sync"

	agentv1 "github.com/gantry-dev/gantry/proto/gantry/agent/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

type portForwardStream = grpc.BidiStreamingServer[agentv1.PortForwardFrame, agentv1.PortForwardFrame]

// PortForward carries one TCP connection to a port of a pod.
func (s *Server) PortForward(stream portForwardStream) error {
	ctx := stream.Context()
	first, err := stream.Recv()
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	start := first.GetStart()
	switch {
	case start == nil:
		return invalid("the first frame must be start")
	case start.GetPod() == nil:
		return invalid("the pod is required")
	case start.GetPort() < 1 || start.GetPort() > 65535:
		return invalid("invalid port %d", start.GetPort())
	}
	netns, err := s.pods.NetNS(ctx, podRefOf(start.GetPod()))
	if err != nil {
		return toStatus(err)
	}
	f := &forward{stream: stream}
	conn, err := dialPod(ctx, netns, uint16(start.GetPort()))
	if err != nil {
		if ctx.Err() != nil {
			return status.FromContextError(ctx.Err()).Err()
		}
		f.fail(err)
		return nil
	}
	f.conn = conn
	defer conn.Close()
	return f.run()
}

// forward copies one connection both ways.
type forward struct {
	stream portForwardStream
	conn   *net.TCPConn

	mu sync.Mutex
	// failed is set once an error frame has been sent; nothing follows it.
	failed bool
}

// run copies until both sides have closed, one side fails, or the call
// ends.
func (f *forward) run() error {
	uploaded := make(chan error, 1)
	// The upload ends when Recv fails, at the latest once the handler has
	// returned. Its result is in uploaded before it closes the connection
	// (which ends a read of fromPod), so that run tells the two apart.
	go func() {
		err := f.toPod()
		uploaded <- err
		if err != nil {
			_ = f.conn.Close()
		}
	}()
	if err := f.fromPod(); err != nil {
		var uerr error
		select {
		case uerr = <-uploaded:
		default:
		}
		switch {
		case f.stream.Context().Err() != nil:
			return status.FromContextError(f.stream.Context().Err()).Err()
		case uerr != nil:
			return callError(uerr)
		}
		f.fail(err)
		return nil
	}
	// The pod has closed its side: wait for the caller's.
	return callError(<-uploaded)
}

// toPod writes the caller's data to the pod; the caller's close (or the
// end of its input) half-closes the connection. A failed write is
// reported with an error frame.
func (f *forward) toPod() error {
	for {
		in, err := f.stream.Recv()
		if errors.Is(err, io.EOF) || in.GetClose() {
			// The pod may have gone already; that is not the caller's
			// problem.
			_ = f.conn.CloseWrite()
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := f.conn.Write(in.GetData()); err != nil {
			f.fail(err)
			return errReported
		}
	}
}

// fromPod sends what the pod writes, then close at its end. It returns
// the error that ended the connection early, if any.
func (f *forward) fromPod() error {
	buf := make([]byte, chunkSize)
	for {
		n, err := f.conn.Read(buf)
		if n > 0 {
			data := append([]byte(nil), buf[:n]...)
			if serr := f.send(&agentv1.PortForwardFrame{Frame: &agentv1.PortForwardFrame_Data{Data: data}}); serr != nil {
				return serr
			}
		}
		if errors.Is(err, io.EOF) {
			return f.send(&agentv1.PortForwardFrame{Frame: &agentv1.PortForwardFrame_Close{Close: true}})
		}
		if err != nil {
			return err
		}
	}
}

// errReported says that an error frame has been sent.
var errReported = errors.New("the error has been sent to the caller")

func (f *forward) send(frame *agentv1.PortForwardFrame) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failed {
		return errReported
	}
	return f.stream.Send(frame)
}

// fail sends err as the error frame, unless one has been sent, and closes
// the connection.
func (f *forward) fail(err error) {
	f.mu.Lock()
	if !f.failed && !errors.Is(err, errReported) {
		f.failed = true
		_ = f.stream.Send(&agentv1.PortForwardFrame{Frame: &agentv1.PortForwardFrame_Error{Error: err.Error()}})
	}
	f.mu.Unlock()
	if f.conn != nil {
		_ = f.conn.Close()
	}
}

// callError is what the handler returns for an error of the upload.
func callError(err error) error {
	if err == nil || errors.Is(err, errReported) {
		return nil
	}
	return err
}
