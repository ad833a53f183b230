package streams

import (
	"encoding/json"
	"time"

	agentv1 "github.com/gantry-dev/gantry/proto/gantry/agent/v1"
	"github.com/gorilla/websocket"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/remotecommand"
)

// maxInputMessage bounds one message from the client (client-go sends at
// most 32 KiB plus the channel byte).
const maxInputMessage = 1 << 20

// webSocketExec is an exec session over a WebSocket with the
// v5.channel.k8s.io or v4.channel.k8s.io subprotocol.
type webSocketExec struct {
	ws   *websocket.Conn
	opts *corev1.PodExecOptions
	// quietUntil is when the first message may go out (see
	// streamSetupGrace).
	quietUntil time.Time
}

// streamSetupGrace holds back the first message of a session after the
// handshake. kubectl and client-go releases without the upstream fix
// (kubernetes/kubernetes#131189) start reading the connection before
// they have registered their streams, and a message
// that arrives in between ("unknown stream id") makes them drop the
// session; a command that answers at once (an exit code, a short echo)
// hit that now and then. The same clients register their streams within
// microseconds of the handshake.
const streamSetupGrace = 100 * time.Millisecond

func newWebSocketExec(ws *websocket.Conn, opts *corev1.PodExecOptions) *webSocketExec {
	ws.SetReadLimit(maxInputMessage)
	return &webSocketExec{ws: ws, opts: opts, quietUntil: time.Now().Add(streamSetupGrace)}
}

// readInput reads until the connection fails or closes; it keeps reading
// after the agent stopped taking input, so that pings and the closing
// handshake are answered.
func (c *webSocketExec) readInput(send func(*agentv1.ExecInput) error) {
	for {
		typ, msg, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		if typ != websocket.BinaryMessage || len(msg) == 0 {
			continue
		}
		if in := c.input(msg[0], msg[1:]); in != nil {
			_ = send(in)
		}
	}
}

// input decodes one message of the client; nil when it means nothing to
// the agent.
func (c *webSocketExec) input(channel byte, data []byte) *agentv1.ExecInput {
	switch channel {
	case remotecommand.StreamStdIn:
		if c.opts.Stdin && len(data) > 0 {
			return stdinInput(data)
		}
	case remotecommand.StreamResize:
		var size terminalSize
		if c.opts.TTY && json.Unmarshal(data, &size) == nil {
			return resizeInput(size)
		}
	case remotecommand.StreamClose:
		if len(data) == 1 && data[0] == remotecommand.StreamStdIn && c.opts.Stdin {
			return closeStdinInput()
		}
	}
	return nil
}

func (c *webSocketExec) stdout(p []byte) error { return c.write(remotecommand.StreamStdOut, p) }
func (c *webSocketExec) stderr(p []byte) error { return c.write(remotecommand.StreamStdErr, p) }

// write sends p as one message on channel.
func (c *webSocketExec) write(channel byte, p []byte) error {
	if wait := time.Until(c.quietUntil); wait > 0 {
		time.Sleep(wait)
	}
	w, err := c.ws.NextWriter(websocket.BinaryMessage)
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte{channel}); err != nil {
		return err
	}
	if _, err := w.Write(p); err != nil {
		return err
	}
	return w.Close()
}

// finish sends the status on the error channel and starts the closing
// handshake; the client answers it and closes the connection.
func (c *webSocketExec) finish(st metav1.Status) {
	if body, err := json.Marshal(st); err == nil {
		_ = c.write(remotecommand.StreamErr, body)
	}
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
}

func (c *webSocketExec) close() { _ = c.ws.Close() }
