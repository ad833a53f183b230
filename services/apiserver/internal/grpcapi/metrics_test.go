package grpcapi_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/libs/client"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestMetricsCountGRPCCalls: gRPC calls appear in apiserver_request_total
// like REST requests, with the HTTP code REST would have answered.
func TestMetricsCountGRPCCalls(t *testing.T) {
	cl := newCluster(t)
	addr, _ := cl.startServer(t)
	c := cl.adminClient(t, addr)
	ctx := context.Background()
	if _, err := client.ConfigMaps(c).Get(ctx, "default", "missing", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("Get of a missing ConfigMap: %v, want NotFound", err)
	}
	if _, err := client.ConfigMaps(c).List(ctx, "default", metav1.ListOptions{}); err != nil {
		t.Fatalf("List: %v", err)
	}

	pool := x509.NewCertPool()
	pool.AddCert(cl.ca.Cert)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest("GET", "https://"+addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+cl.adminToken)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`apiserver_request_total{code="404",group="",resource="configmaps",subresource="",verb="GET",version="v1"} 1`,
		`apiserver_request_total{code="200",group="",resource="configmaps",subresource="",verb="LIST",version="v1"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics has no line %s", want)
		}
	}
}
