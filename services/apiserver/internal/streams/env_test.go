package streams

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/libs/pki"
	agentv1 "github.com/gantry-dev/gantry/proto/gantry/agent/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
)

const (
	testNamespace = "default"
	testPod       = "web-0"
	testNode      = "node-1"
)

// TestMain silences client-go's klog: cancelled sessions are reported there.
func TestMain(m *testing.M) {
	klog.LogToStderr(false)
	klog.SetOutput(io.Discard)
	os.Exit(m.Run())
}

// testEnv is the handler behind an HTTPS test server (with fakeAPI, for
// kubectl), reaching a fake agent for node-1 over mutual TLS with the
// default NodeDialer.
type testEnv struct {
	upgrades upgradeLog
	agent    *fakeAgent
	objects  *fakeObjects
	server   *httptest.Server
	config   *rest.Config
	client   kubernetes.Interface
}

// newTestEnv starts the environment; configure may change the handler's
// configuration.
func newTestEnv(t *testing.T, configure ...func(*Config)) *testEnv {
	t.Helper()
	ca := newCA(t)
	pod := runningPod(testPod, testNode)
	agent := newFakeAgent(&agentv1.PodRef{Namespace: pod.Namespace, Name: pod.Name, Uid: string(pod.UID)})
	addr := serveAgent(t, agent, ca, testNode, ca)
	objects := &fakeObjects{
		pods:  map[string]*corev1.Pod{pod.Name: pod},
		nodes: map[string]*corev1.Node{testNode: agentNode(t, testNode, addr)},
	}
	cfg := Config{Objects: objects, AgentTLS: clientTLS(t, ca), Log: slog.New(slog.DiscardHandler)}
	for _, c := range configure {
		c(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	env := &testEnv{agent: agent, objects: objects}
	srv := httptest.NewUnstartedServer(env.upgrades.record(unwrapOnly(fakeAPI(h, objects))))
	srv.EnableHTTP2 = true // as the API server: streaming clients still speak HTTP/1.1
	srv.StartTLS()
	t.Cleanup(srv.Close)
	restCfg := &rest.Config{
		Host:            srv.URL,
		TLSClientConfig: rest.TLSClientConfig{CAData: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})},
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		t.Fatal(err)
	}
	env.server, env.config, env.client = srv, restCfg, client
	return env
}

// upgradeLog remembers the Upgrade header of every request.
type upgradeLog struct {
	mu   sync.Mutex
	seen []string
}

func (l *upgradeLog) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if up := r.Header.Get("Upgrade"); up != "" {
			l.mu.Lock()
			l.seen = append(l.seen, up)
			l.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

// last is the most recent Upgrade header, lower case.
func (l *upgradeLog) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.seen) == 0 {
		return ""
	}
	return strings.ToLower(l.seen[len(l.seen)-1])
}

// unwrapOnly wraps the response writer as the server's metrics middleware
// does: Flush and Unwrap, no Hijack.
func unwrapOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&flushWriter{ResponseWriter: w}, r)
	})
}

type flushWriter struct{ http.ResponseWriter }

func (f *flushWriter) Flush()                      { _ = http.NewResponseController(f.ResponseWriter).Flush() }
func (f *flushWriter) Unwrap() http.ResponseWriter { return f.ResponseWriter }

// serveAgent serves agent over TLS on 127.0.0.1:0 with a certificate for
// node from ca, requiring client certificates of clientCA.
func serveAgent(t *testing.T, agent agentv1.AgentServer, ca *pki.CA, node string, clientCA *pki.CA) string {
	t.Helper()
	issued, err := ca.Issue(node, []string{node}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(issued.CertPEM, issued.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    certPool(clientCA),
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(tlsCfg)))
	agentv1.RegisterAgentServer(srv, agent)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-done
	})
	return ln.Addr().String()
}

// clientTLS is the API server's side: a client certificate of ca and ca
// as the root.
func clientTLS(t *testing.T, ca *pki.CA) *tls.Config {
	t.Helper()
	issued, err := ca.IssueClient("gantry-apiserver", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(issued.CertPEM, issued.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: certPool(ca), MinVersion: tls.VersionTLS12}
}

func certPool(ca *pki.CA) *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return pool
}

func runningPod(name, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: testNamespace, Name: name, UID: "uid-1234"},
		Spec: corev1.PodSpec{
			NodeName:   node,
			Containers: []corev1.Container{{Name: "web", Image: "nginx"}, {Name: "sidecar", Image: "busybox"}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
			{Name: "web", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
		}},
	}
}

func agentNode(t *testing.T, name, addr string) *corev1.Node {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := net.LookupPort("tcp", port)
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{
			Addresses:       []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: name}, {Type: corev1.NodeInternalIP, Address: host}},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(p)}},
		},
	}
}

// fakeObjects serves pods of testNamespace and nodes from maps.
type fakeObjects struct {
	pods  map[string]*corev1.Pod
	nodes map[string]*corev1.Node
}

func (o *fakeObjects) Pod(_ context.Context, namespace, name string) (*corev1.Pod, error) {
	if p, ok := o.pods[name]; ok && namespace == testNamespace {
		return p, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, name)
}

func (o *fakeObjects) Node(_ context.Context, name string) (*corev1.Node, error) {
	if n, ok := o.nodes[name]; ok {
		return n, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "nodes"}, name)
}

// subresourceURL is the URL client-go builds for a pod subresource.
func (e *testEnv) subresourceURL(pod, sub string, opts runtime.Object) *url.URL {
	req := e.client.CoreV1().RESTClient().Post().Namespace(testNamespace).Resource("pods").Name(pod).SubResource(sub)
	if opts != nil {
		req = req.VersionedParams(opts, scheme.ParameterCodec)
	}
	return req.URL()
}
