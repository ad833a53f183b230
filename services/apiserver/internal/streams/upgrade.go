package streams

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/gorilla/websocket"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/portforward"
	"k8s.io/apimachinery/pkg/util/remotecommand"
	streamhttp "k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"
)

// The protocols served, in the server's order of preference.
var (
	// wsExecProtocols: v5 adds the close signal to v4; older versions lack
	// exit codes.
	wsExecProtocols = []string{remotecommand.StreamProtocolV5Name, remotecommand.StreamProtocolV4Name}
	// spdyExecProtocols: SPDY has half-close of its own, so v4 is complete.
	spdyExecProtocols = []string{remotecommand.StreamProtocolV4Name}
	// wsPortForwardProtocols: SPDY tunnelled in a WebSocket.
	wsPortForwardProtocols = []string{portforward.WebsocketsSPDYTunnelingPortForwardV1}
	// spdyPortForwardProtocols: SPDY on the upgraded connection.
	spdyPortForwardProtocols = []string{portforward.PortForwardV1Name}
)

// transport is how a client asks to upgrade its connection.
type transport int

const (
	noUpgrade transport = iota
	webSocketUpgrade
	spdyUpgrade
)

func transportOf(r *http.Request) transport {
	switch {
	case websocket.IsWebSocketUpgrade(r):
		return webSocketUpgrade
	case streamhttp.IsUpgradeRequest(r) && strings.Contains(strings.ToLower(r.Header.Get("Upgrade")), "spdy/3.1"):
		return spdyUpgrade
	}
	return noUpgrade
}

// negotiate picks the first protocol the client offers that the server
// supports, or fails as Kubernetes does (403).
func negotiate(offered, supported []string) (string, error) {
	for _, o := range offered {
		for _, s := range supported {
			if o == s {
				return o, nil
			}
		}
	}
	return "", newStatusError(http.StatusForbidden, metav1.StatusReasonForbidden, fmt.Sprintf(
		"unable to upgrade: unable to negotiate protocol: client supports %v, server accepts %v", offered, supported))
}

// spdyProtocols lists the X-Stream-Protocol-Version values of a SPDY
// upgrade request.
func spdyProtocols(r *http.Request) []string {
	var out []string
	for _, v := range r.Header.Values(streamhttp.HeaderProtocolVersion) {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func upgradeRequired() error {
	return apierrors.NewBadRequest("Upgrade request required")
}

// upgradeWebSocket completes a WebSocket handshake with the negotiated
// subprotocol. On failure the upgrader has answered the request.
func upgradeWebSocket(w http.ResponseWriter, r *http.Request, protocol string) (*websocket.Conn, error) {
	u := websocket.Upgrader{
		Subprotocols:    []string{protocol},
		ReadBufferSize:  32 << 10,
		WriteBufferSize: 32 << 10,
	}
	return u.Upgrade(w, r, nil)
}

// upgradeSPDY answers 101 with the negotiated protocol and serves SPDY on
// the connection; newStream is called for every stream the client opens.
// On failure the upgrader has answered the request.
func upgradeSPDY(w http.ResponseWriter, r *http.Request, protocol string, newStream streamhttp.NewStreamHandler) (streamhttp.Connection, error) {
	w.Header().Set(streamhttp.HeaderProtocolVersion, protocol)
	conn := spdy.NewResponseUpgrader().UpgradeResponse(hijackable{w}, r, newStream)
	if conn == nil {
		return nil, fmt.Errorf("SPDY upgrade of %s failed", r.URL.Path)
	}
	return conn, nil
}

// hijackable lets the SPDY upgrader, which asserts http.Hijacker, reach the
// connection through middleware that offers only Unwrap.
type hijackable struct{ http.ResponseWriter }

func (h hijackable) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(h.ResponseWriter).Hijack()
}

// execUpgrader checks, before anything else happens, that the client's
// protocol is served, and returns what upgrades the connection later.
func (h *Handler) execUpgrader(r *http.Request, opts *corev1.PodExecOptions) (func(http.ResponseWriter, *http.Request) (execClient, error), error) {
	switch transportOf(r) {
	case webSocketUpgrade:
		protocol, err := negotiate(websocket.Subprotocols(r), wsExecProtocols)
		if err != nil {
			return nil, err
		}
		return func(w http.ResponseWriter, r *http.Request) (execClient, error) {
			ws, err := upgradeWebSocket(w, r, protocol)
			if err != nil {
				return nil, err
			}
			return newWebSocketExec(ws, opts), nil
		}, nil
	case spdyUpgrade:
		protocol, err := negotiate(spdyProtocols(r), spdyExecProtocols)
		if err != nil {
			return nil, err
		}
		return func(w http.ResponseWriter, r *http.Request) (execClient, error) {
			return h.upgradeSPDYExec(w, r, protocol, opts)
		}, nil
	}
	return nil, upgradeRequired()
}
