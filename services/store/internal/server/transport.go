package server

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// splitListener shares one listener between gRPC and another protocol by
// the first byte of each connection: HTTP/2, and so gRPC, starts with "PRI";
// a raft RPC starts with a small type number and an HTTP/1 request with a
// method name. The peer URL carries gRPC and raft, a client URL gRPC and
// HTTP/1 (/health, /metrics, /version) like etcd's.
type splitListener struct {
	ln       net.Listener
	grpcCh   chan net.Conn
	otherCh  chan net.Conn
	done     chan struct{}
	closeOne sync.Once
}

func newSplitListener(ln net.Listener) *splitListener {
	return &splitListener{ln: ln, grpcCh: make(chan net.Conn), otherCh: make(chan net.Conn), done: make(chan struct{})}
}

func (m *splitListener) serve() {
	for {
		c, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			m.close()
			return
		}
		go m.route(c)
	}
}

func (m *splitListener) route(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	first, err := br.Peek(1)
	_ = c.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return
	}
	ch := m.otherCh
	if first[0] == 'P' {
		ch = m.grpcCh
	}
	select {
	case ch <- &bufConn{Conn: c, r: br}:
	case <-m.done:
		c.Close()
	}
}

func (m *splitListener) close() {
	m.closeOne.Do(func() {
		close(m.done)
		m.ln.Close()
	})
}

func (m *splitListener) grpc() net.Listener  { return &chanListener{m: m, ch: m.grpcCh} }
func (m *splitListener) http() net.Listener  { return &chanListener{m: m, ch: m.otherCh} }
func (m *splitListener) other() net.Listener { return &chanListener{m: m, ch: m.otherCh} }

// bufConn is a connection whose first bytes were peeked.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// chanListener hands out the connections routed to one protocol.
type chanListener struct {
	m  *splitListener
	ch chan net.Conn
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.m.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error   { l.m.close(); return nil }
func (l *chanListener) Addr() net.Addr { return l.m.ln.Addr() }

// raftLayer is the raft.StreamLayer on the peer listener.
type raftLayer struct {
	net.Listener
	dialTLS *tls.Config
}

func (l *raftLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout}
	if l.dialTLS != nil {
		return tls.DialWithDialer(d, "tcp", string(addr), l.dialTLS)
	}
	return d.Dial("tcp", string(addr))
}
