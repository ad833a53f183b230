package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/gantry-dev/gantry/integration/cluster"
	"github.com/gantry-dev/gantry/integration/controlplane"
)

// backendIP is the backend's address inside the namespace.
const (
	backendIP   = "10.99.0.1"
	backendPort = 8080
	benchHost   = "bench.test"
)

func ptr[T any](v T) *T { return &v }

func run(ctx context.Context, cfg config) error {
	for _, args := range [][]string{{"link", "set", "lo", "up"}, {"addr", "add", backendIP + "/32", "dev", "lo"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	dir, err := os.MkdirTemp("", "ingressbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	// The backend.
	body := strings.Repeat("x", cfg.bodySize)
	ln, err := net.Listen("tcp", net.JoinHostPort(backendIP, strconv.Itoa(backendPort)))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, body)
	})}
	go srv.Serve(ln)
	defer srv.Close()

	logf("starting gantry-store and gantry-apiserver")
	flavor, err := cluster.FlavorFromEnv()
	if err != nil {
		return err
	}
	store, err := cluster.Launch(ctx, cluster.Options{Flavor: flavor, Members: 1})
	if err != nil {
		return err
	}
	defer store.Close()
	cp, err := controlplane.Launch(ctx, store, dir, controlplane.Options{})
	if err != nil {
		return err
	}
	defer cp.Close()
	kube, err := kubernetes.NewForConfig(&rest.Config{Host: cp.Servers[0].URL, BearerToken: cp.AdminToken,
		TLSClientConfig: rest.TLSClientConfig{CAFile: cp.CAFile}, UserAgent: "ingressbench"})
	if err != nil {
		return err
	}
	if err := writeObjects(ctx, kube); err != nil {
		return err
	}

	logf("starting gantry-ingress")
	ingressAddr, stopIngress, err := startIngress(ctx, cp, dir)
	if err != nil {
		return err
	}
	defer stopIngress()
	if err := waitRoute(ctx, ingressAddr); err != nil {
		return err
	}

	targets := []struct{ name, url, host string }{
		{"direct to backend", fmt.Sprintf("http://%s:%d/", backendIP, backendPort), ""},
		{"through gantry-ingress", "http://" + ingressAddr + "/", benchHost},
	}
	var results []result
	for _, tg := range targets {
		logf("loading %s: %d connections, %v", tg.name, cfg.connections, cfg.duration)
		var r result
		if cfg.wrk {
			r, err = loadWrk(ctx, tg.url, tg.host, cfg)
		} else {
			r, err = loadBuiltin(ctx, tg.url, tg.host, cfg)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", tg.name, err)
		}
		r.name = tg.name
		results = append(results, r)
	}
	printTable(os.Stdout, cfg, results)
	return nil
}

// writeObjects creates the Service, its EndpointSlice and the Ingress.
func writeObjects(ctx context.Context, kube kubernetes.Interface) error {
	const ns = "default"
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bench"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}}}
	if _, err := kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("service: %w", err)
	}
	sl := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bench-1", Labels: map[string]string{
			discoveryv1.LabelServiceName: "bench", discoveryv1.LabelManagedBy: "ingressbench"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(backendPort))}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{backendIP}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)}}},
	}
	if _, err := kube.DiscoveryV1().EndpointSlices(ns).Create(ctx, sl, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("endpointslice: %w", err)
	}
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bench"},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: benchHost, IngressRuleValue: networkingv1.IngressRuleValue{
			HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: ptr(networkingv1.PathTypePrefix),
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "bench",
					Port: networkingv1.ServiceBackendPort{Name: "http"}}}}}}}}}}}
	if _, err := kube.NetworkingV1().Ingresses(ns).Create(ctx, ing, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("ingress: %w", err)
	}
	return nil
}

// startIngress runs gantry-ingress on free ports and returns its HTTP
// address and a function stopping it.
func startIngress(ctx context.Context, cp *controlplane.ControlPlane, dir string) (string, func(), error) {
	bin, err := cluster.Binary("ingress", "gantry-ingress")
	if err != nil {
		return "", nil, err
	}
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte(cp.AdminToken+"\n"), 0o600); err != nil {
		return "", nil, err
	}
	ports, err := cluster.FreePorts(2)
	if err != nil {
		return "", nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	p := &cluster.Process{Name: "gantry-ingress", LogPath: filepath.Join(dir, "gantry-ingress.log")}
	if err := p.Start(bin, []string{"--api-servers", cp.Servers[0].URL, "--ca-file", cp.CAFile, "--token-file", token,
		"--http-address", addr, "--https-address", "", "--metrics-address", "127.0.0.1:" + strconv.Itoa(ports[1]),
		"--publish-address", "192.0.2.10", "--leader-elect=false", "--log-level", "warn"}); err != nil {
		return "", nil, err
	}
	return addr, func() { _ = p.Stop(10 * time.Second) }, nil
}

// waitRoute waits until the Ingress answers 200.
func waitRoute(ctx context.Context, addr string) error {
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(time.Minute)
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/", nil)
		req.Host = benchHost
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			err = fmt.Errorf("%s", resp.Status)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("ingress route not ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
