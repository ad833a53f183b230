// Package connset keeps the connections a listener has handed out, so a
// server's stop can close them all.
//
// grpc.Server.Stop closes the connections it serves but waits for those
// still in their handshake (TLS, then HTTP/2's preface) until gRPC's
// connection timeout, two minutes by default: one client that connected
// and went quiet holds a stopping daemon that long. Serving through a
// Listener and calling CloseConns before Stop ends those at once.
package connset

import (
	"net"
	"sync"
)

// Listener is a net.Listener whose accepted connections it remembers
// until they are closed.
type Listener struct {
	net.Listener

	mu    sync.Mutex
	conns map[*conn]struct{}
}

// Wrap returns ln keeping its connections.
func Wrap(ln net.Listener) *Listener {
	return &Listener{Listener: ln, conns: map[*conn]struct{}{}}
}

// Accept waits for and returns the next connection, remembered until
// closed.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &conn{Conn: c, l: l}
	l.mu.Lock()
	l.conns[tc] = struct{}{}
	l.mu.Unlock()
	return tc, nil
}

// CloseConns closes every connection accepted and not yet closed.
func (l *Listener) CloseConns() {
	l.mu.Lock()
	conns := make([]*conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// Len returns the number of connections accepted and not yet closed.
func (l *Listener) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

type conn struct {
	net.Conn
	l *Listener
}

func (c *conn) Close() error {
	c.l.mu.Lock()
	delete(c.l.conns, c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}
