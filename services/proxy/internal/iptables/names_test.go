package iptables

import (
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gantry-dev/gantry/services/proxy/internal/proxy"
)

// The names kube-proxy gives the same service port and endpoint, so
// tools and habits built on them carry over.
func TestChainNamesMatchKubeProxy(t *testing.T) {
	n := NewNames("KUBE")
	spn := proxy.ServicePortName{NamespacedName: types.NamespacedName{Namespace: "ns1", Name: "svc1"}, Port: "p80", Protocol: corev1.ProtocolTCP}
	ep := proxy.Endpoint{IP: netip.MustParseAddr("10.180.0.1"), Port: 80}
	for _, tc := range []struct{ got, want string }{
		{n.servicePortChain(kindCluster, spn), "KUBE-SVC-XPGD46QRK7WJZT7O"},
		{n.endpointChain(spn, ep), "KUBE-SEP-SXIVWICOYRO3J4NJ"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %s, want %s", tc.got, tc.want)
		}
	}
	if !n.owned("KUBE-SEP-SXIVWICOYRO3J4NJ") || !n.owned("KUBE-SERVICES") || n.owned("KUBE-KUBELET-CANARY") || n.owned("GANTRY-FORWARD") {
		t.Error("owned() is wrong")
	}
	if n.perService("KUBE-SERVICES") || !n.perService("KUBE-EXT-XPGD46QRK7WJZT7O") {
		t.Error("perService() is wrong")
	}
}
