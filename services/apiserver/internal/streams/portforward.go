package streams

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	agentv1 "github.com/gantry-dev/gantry/proto/gantry/agent/v1"
	"github.com/gorilla/websocket"
	corev1 "k8s.io/api/core/v1"
	clientportforward "k8s.io/client-go/tools/portforward"
	streamhttp "k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"
)

// servePortForward answers pods/{name}/portforward: SPDY on the upgraded
// connection, or SPDY tunnelled in a WebSocket.
func (h *Handler) servePortForward(w http.ResponseWriter, r *http.Request, req request) error {
	upgrade, err := portForwardUpgrader(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	pod, err := h.scheduledPod(ctx, req)
	if err != nil {
		return err
	}
	agent, err := h.dialAgent(ctx, pod)
	if err != nil {
		return err
	}
	defer agent.close()
	pf := &portForward{
		pod: pod, agent: agent, timeout: h.streamTimeout,
		streams: make(chan streamhttp.Stream), done: make(chan struct{}),
	}
	conn, err := upgrade(w, r, pf.newStream)
	if err != nil {
		// The upgrader has answered the request or the connection is gone.
		h.log.Debug("port-forward upgrade failed", "pod", req.namespace+"/"+req.name, "err", err)
		return nil
	}
	pf.serve(ctx, conn)
	return nil
}

type streamUpgrader func(http.ResponseWriter, *http.Request, streamhttp.NewStreamHandler) (streamhttp.Connection, error)

// portForwardUpgrader checks the client's protocol before anything else
// happens and returns what upgrades the connection later.
func portForwardUpgrader(r *http.Request) (streamUpgrader, error) {
	switch transportOf(r) {
	case webSocketUpgrade:
		protocol, err := negotiate(websocket.Subprotocols(r), wsPortForwardProtocols)
		if err != nil {
			return nil, err
		}
		return func(w http.ResponseWriter, r *http.Request, newStream streamhttp.NewStreamHandler) (streamhttp.Connection, error) {
			ws, err := upgradeWebSocket(w, r, protocol)
			if err != nil {
				return nil, err
			}
			// Every binary message carries bytes of the SPDY connection.
			return spdy.NewServerConnection(clientportforward.NewTunnelingConnection("server", ws), newStream)
		}, nil
	case spdyUpgrade:
		protocol, err := negotiate(spdyProtocols(r), spdyPortForwardProtocols)
		if err != nil {
			return nil, err
		}
		return func(w http.ResponseWriter, r *http.Request, newStream streamhttp.NewStreamHandler) (streamhttp.Connection, error) {
			return upgradeSPDY(w, r, protocol, newStream)
		}, nil
	}
	return nil, upgradeRequired()
}

// portForward serves the streams of one port-forward connection.
type portForward struct {
	pod     *corev1.Pod
	agent   *agent
	timeout time.Duration
	// streams hands the client's new streams to serve; done closes when
	// serve stops taking them.
	streams chan streamhttp.Stream
	done    chan struct{}
}

// streamPair is the data and error stream of one forwarded connection.
type streamPair struct {
	requestID  string
	port       uint16
	data, errs streamhttp.Stream
	timer      *time.Timer
}

func (p *streamPair) complete() bool { return p != nil && p.data != nil && p.errs != nil }

// newStream accepts a stream with valid headers and hands it to serve.
func (pf *portForward) newStream(s streamhttp.Stream, _ <-chan struct{}) error {
	hdr := s.Headers()
	if _, err := streamPort(hdr); err != nil {
		return err
	}
	if typ := hdr.Get(corev1.StreamType); typ != corev1.StreamTypeData && typ != corev1.StreamTypeError {
		return fmt.Errorf("invalid stream type %q", typ)
	}
	if hdr.Get(corev1.PortForwardRequestIDHeader) == "" {
		return fmt.Errorf("%q header is required", corev1.PortForwardRequestIDHeader)
	}
	select {
	case pf.streams <- s:
		return nil
	case <-pf.done:
		return errors.New("port forwarding has ended")
	}
}

func streamPort(hdr http.Header) (uint16, error) {
	s := hdr.Get(corev1.PortHeader)
	if s == "" {
		return 0, fmt.Errorf("%q header is required", corev1.PortHeader)
	}
	port, err := strconv.ParseUint(s, 10, 16)
	if err != nil || port == 0 {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	return uint16(port), nil
}

// serve pairs the client's streams by requestID and forwards every
// complete pair, until the client closes the connection or ctx ends.
func (pf *portForward) serve(ctx context.Context, conn streamhttp.Connection) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	pending := map[string]*streamPair{}
	expired := make(chan string)
	defer func() {
		close(pf.done)
		for _, p := range pending {
			p.timer.Stop()
			pf.abandon(conn, p)
		}
		cancel()
		_ = conn.Close()
		wg.Wait()
	}()
	for {
		select {
		case s := <-pf.streams:
			if p := pf.pair(pending, s, expired); p.complete() {
				delete(pending, p.requestID)
				p.timer.Stop()
				wg.Go(func() {
					defer conn.RemoveStreams(p.data, p.errs)
					pf.forward(ctx, p)
				})
			}
		case id := <-expired:
			if p := pending[id]; p != nil {
				delete(pending, id)
				pf.abandon(conn, p)
			}
		case <-conn.CloseChan():
			return
		case <-ctx.Done():
			return
		}
	}
}

// pair files s under its requestID; a duplicate is reset.
func (pf *portForward) pair(pending map[string]*streamPair, s streamhttp.Stream, expired chan<- string) *streamPair {
	id := s.Headers().Get(corev1.PortForwardRequestIDHeader)
	p := pending[id]
	if p == nil {
		port, _ := streamPort(s.Headers())
		p = &streamPair{requestID: id, port: port}
		p.timer = time.AfterFunc(pf.timeout, func() {
			select {
			case expired <- id:
			case <-pf.done:
			}
		})
		pending[id] = p
	}
	slot := &p.data
	if s.Headers().Get(corev1.StreamType) == corev1.StreamTypeError {
		slot = &p.errs
	}
	if *slot != nil {
		_ = s.Reset()
		return nil
	}
	*slot = s
	return p
}

// abandon ends a pair whose other stream never came.
func (pf *portForward) abandon(conn streamhttp.Connection, p *streamPair) {
	if p.errs != nil {
		fmt.Fprintf(p.errs, "timed out waiting for the data stream of request %s", p.requestID)
		_ = p.errs.Close()
	}
	if p.data != nil {
		_ = p.data.Reset()
	}
	conn.RemoveStreams(p.data, p.errs)
}

// forward carries one connection through one PortForward call. A failure
// is written on the error stream, which is closed in any case before the
// server waits for the client to end its side of the data stream.
func (pf *portForward) forward(ctx context.Context, p *streamPair) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	call, err := pf.agent.PortForward(ctx)
	if err != nil {
		_ = p.data.Reset()
		pf.fail(p, pf.agentFailure(err))
		return
	}
	// A failed Send reports io.EOF; the call's status comes from Recv.
	_ = call.Send(&agentv1.PortForwardFrame{Frame: &agentv1.PortForwardFrame_Start{
		Start: &agentv1.PortForwardStart{Pod: podRef(pf.pod), Port: uint32(p.port)},
	}})
	uploaded := make(chan struct{})
	go func() {
		defer close(uploaded)
		upload(call, p.data)
	}()
	if err := pf.download(call, p.data); err != nil {
		_ = p.data.Reset()
		pf.fail(p, err)
	} else {
		_ = p.data.Close()
		_ = p.errs.Close()
	}
	<-uploaded
}

// fail reports err on the pair's error stream, as the kubelet words it.
func (pf *portForward) fail(p *streamPair, err error) {
	fmt.Fprintf(p.errs, "error forwarding port %d to pod %s, uid %s: %v", p.port, pf.pod.Name, pf.pod.UID, err)
	_ = p.errs.Close()
}

func (pf *portForward) agentFailure(err error) error {
	return errors.New(agentMessage(pf.agent.node, err))
}

// upload sends what the client writes on the data stream, then close. It
// reads until the client ends or resets the stream even after the call
// ended, so that unread data never holds up the SPDY connection.
func upload(call agentv1.Agent_PortForwardClient, data io.Reader) {
	buf := make([]byte, 32<<10)
	sending := true
	for {
		n, err := data.Read(buf)
		if n > 0 && sending {
			sending = call.Send(&agentv1.PortForwardFrame{Frame: &agentv1.PortForwardFrame_Data{Data: buf[:n]}}) == nil
		}
		if err != nil {
			break
		}
	}
	if sending {
		_ = call.Send(&agentv1.PortForwardFrame{Frame: &agentv1.PortForwardFrame_Close{Close: true}})
		_ = call.CloseSend()
	}
}

// download writes what the agent sends on the data stream until the call
// ends; it returns the failure to report, if any.
func (pf *portForward) download(call agentv1.Agent_PortForwardClient, data io.WriteCloser) error {
	for {
		f, err := call.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return pf.agentFailure(err)
		}
		switch f := f.GetFrame().(type) {
		case *agentv1.PortForwardFrame_Data:
			if _, err := data.Write(f.Data); err != nil {
				return err
			}
		case *agentv1.PortForwardFrame_Close:
			_ = data.Close()
		case *agentv1.PortForwardFrame_Error:
			return errors.New(f.Error)
		}
	}
}
