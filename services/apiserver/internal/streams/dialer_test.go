package streams

import (
	"testing"
	"time"

	"github.com/gantry-dev/gantry/libs/pki"
	agentv1 "github.com/gantry-dev/gantry/proto/gantry/agent/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestAgentAddress(t *testing.T) {
	for _, tc := range []struct {
		name      string
		addresses []corev1.NodeAddress
		port      int32
		want      string
	}{
		{"internal IP first", []corev1.NodeAddress{
			{Type: corev1.NodeHostName, Address: "n1"}, {Type: corev1.NodeExternalIP, Address: "203.0.113.1"}, {Type: corev1.NodeInternalIP, Address: "10.0.0.1"},
		}, 10250, "10.0.0.1:10250"},
		{"then external IP", []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "n1"}, {Type: corev1.NodeExternalIP, Address: "203.0.113.1"}}, 10250, "203.0.113.1:10250"},
		{"then host name", []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "n1"}}, 10250, "n1:10250"},
		{"IPv6", []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "fd00::1"}}, 10250, "[fd00::1]:10250"},
		{"no address", nil, 10250, ""},
		{"no port", []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.1"}}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{
				Addresses:       tc.addresses,
				DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: tc.port}},
			}}
			got, err := AgentAddress(node)
			if got != tc.want || (err != nil) != (tc.want == "") {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestNodeDialerVerifiesBothSides: the agent must present a certificate
// for the node from the cluster CA, and takes only clients of that CA.
func TestNodeDialerVerifiesBothSides(t *testing.T) {
	ca := newCA(t)
	otherCA := newCA(t)
	pod := &agentv1.PodRef{Namespace: testNamespace, Name: testPod, Uid: "uid-1234"}
	for _, tc := range []struct {
		name     string
		agentCA  *pki.CA
		certFor  string
		clientCA *pki.CA
		wantCode codes.Code
	}{
		{"trusted both ways", ca, testNode, ca, codes.OK},
		{"agent certificate for another node", ca, "node-2", ca, codes.Unavailable},
		{"agent certificate from another CA", otherCA, testNode, ca, codes.Unavailable},
		{"client certificate from another CA", ca, testNode, otherCA, codes.Unavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := serveAgent(t, newFakeAgent(pod), tc.agentCA, tc.certFor, ca)
			client := clientTLS(t, tc.clientCA)
			client.RootCAs = certPool(ca)
			conn, err := NodeDialer{TLS: client}.Dial(testContext(t), agentNode(t, testNode, addr))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			stream, err := agentv1.NewAgentClient(conn).Logs(testContext(t), &agentv1.LogsRequest{Pod: pod, Container: "web"})
			if err == nil {
				_, err = stream.Recv()
			}
			if got := status.Code(err); got != tc.wantCode {
				t.Errorf("got %v, want %v", err, tc.wantCode)
			}
		})
	}
}

func newCA(t *testing.T) *pki.CA {
	t.Helper()
	ca, err := pki.NewCA("gantry-test-ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}
