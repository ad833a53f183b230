package streams

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	agentv1 "github.com/gantry-dev/gantry/proto/gantry/agent/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// DefaultStreamCreationTimeout bounds how long the server waits for the
// streams a SPDY client announces (the other stream of a port-forward pair,
// the streams of an exec session), as the kubelet does.
const DefaultStreamCreationTimeout = 30 * time.Second

// Config is what the handler needs.
type Config struct {
	// Objects reads pods and nodes (RegistryObjects in the API server).
	Objects Objects
	// Dialer connects to node agents. Nil means NodeDialer with AgentTLS.
	Dialer Dialer
	// AgentTLS is the client side of mutual TLS with the agents: the API
	// server's certificate and key, and the cluster CA as RootCAs. Required
	// when Dialer is nil.
	AgentTLS *tls.Config
	// StreamCreationTimeout: DefaultStreamCreationTimeout when zero.
	StreamCreationTimeout time.Duration
	Log                   *slog.Logger
}

// Handler serves /api/v1/namespaces/{namespace}/pods/{name}/{log,exec,
// attach,portforward}.
type Handler struct {
	objects       Objects
	dialer        Dialer
	streamTimeout time.Duration
	log           *slog.Logger
}

// New returns the handler described by cfg.
func New(cfg Config) (*Handler, error) {
	if cfg.Objects == nil {
		return nil, errors.New("streams: Config.Objects is required")
	}
	if cfg.Dialer == nil {
		if cfg.AgentTLS == nil {
			return nil, errors.New("streams: Config.AgentTLS is required without a Dialer")
		}
		cfg.Dialer = NodeDialer{TLS: cfg.AgentTLS}
	}
	if cfg.StreamCreationTimeout <= 0 {
		cfg.StreamCreationTimeout = DefaultStreamCreationTimeout
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Handler{
		objects:       cfg.Objects,
		dialer:        cfg.Dialer,
		streamTimeout: cfg.StreamCreationTimeout,
		log:           cfg.Log.With("component", "streams"),
	}, nil
}

// request is what the URL of a streaming request names.
type request struct {
	namespace, name, subresource string
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := parsePath(r.URL.Path)
	if err == nil {
		err = h.serve(w, r, req)
	}
	if err != nil {
		h.writeError(w, r, err)
	}
}

// serve returns an error only while no response has been written; after
// an upgrade, failures go to the client through the upgraded protocol.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, req request) error {
	switch req.subresource {
	case "log":
		if r.Method != http.MethodGet {
			return methodNotAllowed(r)
		}
		return h.serveLog(w, r, req)
	case "exec", "attach":
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			return methodNotAllowed(r)
		}
		return h.serveExec(w, r, req)
	case "portforward":
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			return methodNotAllowed(r)
		}
		return h.servePortForward(w, r, req)
	}
	return apierrors.NewNotFound(schema.GroupResource{Resource: "pods/" + req.subresource}, req.name)
}

// parsePath reads /api/v1/namespaces/{ns}/pods/{name}/{subresource}.
func parsePath(path string) (request, error) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) != 7 || parts[0] != "api" || parts[1] != "v1" || parts[2] != "namespaces" || parts[4] != "pods" {
		return request{}, apierrors.NewNotFound(schema.GroupResource{}, "")
	}
	return request{namespace: parts[3], name: parts[5], subresource: parts[6]}, nil
}

func methodNotAllowed(r *http.Request) error {
	return apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "pods"}, r.Method)
}

// scheduledPod reads the pod and fails as Kubernetes does when it has no
// node yet.
func (h *Handler) scheduledPod(ctx context.Context, req request) (*corev1.Pod, error) {
	pod, err := h.objects.Pod(ctx, req.namespace, req.name)
	if err != nil {
		return nil, err
	}
	if pod.Spec.NodeName == "" {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.Name))
	}
	return pod, nil
}

// agent is a connection to the agent of the node a pod runs on.
type agent struct {
	agentv1.AgentClient
	node  string
	close func() error
}

// dialAgent connects to the agent of pod's node.
func (h *Handler) dialAgent(ctx context.Context, pod *corev1.Pod) (*agent, error) {
	node, err := h.objects.Node(ctx, pod.Spec.NodeName)
	if err != nil {
		return nil, err
	}
	conn, err := h.dialer.Dial(ctx, node)
	if err != nil {
		return nil, agentError(node.Name, err)
	}
	return &agent{AgentClient: agentv1.NewAgentClient(conn), node: node.Name, close: conn.Close}, nil
}

func podRef(pod *corev1.Pod) *agentv1.PodRef {
	return &agentv1.PodRef{Namespace: pod.Namespace, Name: pod.Name, Uid: string(pod.UID)}
}
