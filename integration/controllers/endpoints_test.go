package controllers_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
)

// The tests here play the node agent: pods are created bound to bare
// Node objects (e.addNode) and the test writes their IP and readiness.

const epManagedBy = "endpointslice-controller.k8s.io"

// epPod creates pod name in the default namespace on node, labelled
// app=app, whose container names port "http" httpPort.
func (e *env) epPod(name, app, node string, httpPort int32, mut ...func(*corev1.Pod)) *corev1.Pod {
	e.t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{
			NodeName: node,
			Containers: []corev1.Container{{Name: "web", Image: busybox, Ports: []corev1.ContainerPort{
				{Name: "http", ContainerPort: httpPort, Protocol: corev1.ProtocolTCP},
			}}},
		},
	}
	for _, m := range mut {
		m(pod)
	}
	pod, err := e.kube.CoreV1().Pods("default").Create(e.ctx, pod, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("create pod %s: %v", name, err)
	}
	return pod
}

// epSetStatus writes what a node agent would: the pod runs with ip, and
// its Ready condition is ready. It returns when the write is done.
func (e *env) epSetStatus(name, ip string, ready bool) {
	e.t.Helper()
	pod, err := e.kube.CoreV1().Pods("default").Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("get pod %s: %v", name, err)
	}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	now := metav1.Now()
	pod.Status.Phase = corev1.PodRunning
	pod.Status.PodIP, pod.Status.PodIPs = ip, []corev1.PodIP{{IP: ip}}
	if pod.Status.StartTime == nil {
		pod.Status.StartTime = &now
	}
	var conds []corev1.PodCondition
	for _, c := range pod.Status.Conditions {
		if c.Type != corev1.PodReady && c.Type != corev1.ContainersReady {
			conds = append(conds, c)
		}
	}
	for _, typ := range []corev1.PodConditionType{corev1.PodReady, corev1.ContainersReady} {
		conds = append(conds, corev1.PodCondition{Type: typ, Status: status, LastTransitionTime: now})
	}
	pod.Status.Conditions = conds
	if _, err := e.kube.CoreV1().Pods("default").UpdateStatus(e.ctx, pod, metav1.UpdateOptions{}); err != nil {
		e.t.Fatalf("pod %s status: %v", name, err)
	}
}

// epSlices lists the controller's slices of service svc.
func (e *env) epSlices(svc string) []discoveryv1.EndpointSlice {
	e.t.Helper()
	list, err := e.kube.DiscoveryV1().EndpointSlices("default").List(e.ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + svc + "," + discoveryv1.LabelManagedBy + "=" + epManagedBy,
	})
	if err != nil {
		e.t.Fatalf("list endpoint slices of %s: %v", svc, err)
	}
	return list.Items
}

// epEndpoint finds pod's endpoint in slices, with the slice holding it.
func epEndpoint(slices []discoveryv1.EndpointSlice, pod string) (*discoveryv1.Endpoint, *discoveryv1.EndpointSlice) {
	for i := range slices {
		for j := range slices[i].Endpoints {
			ep := &slices[i].Endpoints[j]
			if ep.TargetRef != nil && ep.TargetRef.Name == pod {
				return ep, &slices[i]
			}
		}
	}
	return nil, nil
}

// epConditions renders an endpoint's conditions as "ready=true
// serving=true terminating=false".
func epConditions(ep *discoveryv1.Endpoint) string {
	b := func(p *bool) string {
		if p == nil {
			return "nil"
		}
		return fmt.Sprint(*p)
	}
	c := ep.Conditions
	return fmt.Sprintf("ready=%s serving=%s terminating=%s", b(c.Ready), b(c.Serving), b(c.Terminating))
}

// epAwaitConditions waits until pod's endpoint in svc's slices has
// conditions want, and returns it.
func (e *env) epAwaitConditions(svc, pod, want string) (*discoveryv1.Endpoint, *discoveryv1.EndpointSlice) {
	e.t.Helper()
	var ep *discoveryv1.Endpoint
	var slice *discoveryv1.EndpointSlice
	e.eventually(20*time.Second, fmt.Sprintf("endpoint of %s in %s slices with %s", pod, svc, want), func() (bool, error) {
		ep, slice = epEndpoint(e.epSlices(svc), pod)
		if ep == nil {
			return false, fmt.Errorf("no endpoint")
		}
		got := epConditions(ep)
		return got == want, fmt.Errorf("conditions %s", got)
	})
	return ep, slice
}

// epEndpoints returns the Endpoints of svc, nil when there is none.
func (e *env) epEndpoints(svc string) *corev1.Endpoints {
	e.t.Helper()
	ep, err := e.kube.CoreV1().Endpoints("default").Get(e.ctx, svc, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		e.t.Fatalf("get endpoints %s: %v", svc, err)
	}
	return ep
}

// epSummary renders Endpoints subsets as "ready:[ip...] notReady:[ip...]
// ports:[name=port...]" joined by " | ", subsets sorted.
func epSummary(ep *corev1.Endpoints) string {
	if ep == nil {
		return "<none>"
	}
	var parts []string
	for _, s := range ep.Subsets {
		var ready, notReady, ports []string
		for _, a := range s.Addresses {
			ready = append(ready, a.IP)
		}
		for _, a := range s.NotReadyAddresses {
			notReady = append(notReady, a.IP)
		}
		for _, p := range s.Ports {
			ports = append(ports, fmt.Sprintf("%s=%d", p.Name, p.Port))
		}
		parts = append(parts, fmt.Sprintf("ready:%v notReady:%v ports:%v", ready, notReady, ports))
	}
	slices.Sort(parts)
	return strings.Join(parts, " | ")
}

// epAwaitEndpoints waits until the Endpoints of svc reads want
// (epSummary), and returns it.
func (e *env) epAwaitEndpoints(svc, want string) *corev1.Endpoints {
	e.t.Helper()
	var ep *corev1.Endpoints
	e.eventually(20*time.Second, fmt.Sprintf("endpoints %s = %s", svc, want), func() (bool, error) {
		ep = e.epEndpoints(svc)
		got := epSummary(ep)
		return got == want, fmt.Errorf("endpoints %s", got)
	})
	return ep
}

// epMeasure flips pod's readiness to ready and returns how long it took
// for svc's slice to show it, seen by a watch started before the write:
// from sending the status write, and from its answer.
func (e *env) epMeasure(svc, pod, ip string, ready bool) (fromWrite, fromAck time.Duration) {
	e.t.Helper()
	list, err := e.kube.DiscoveryV1().EndpointSlices("default").List(e.ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + svc,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	w, err := e.kube.DiscoveryV1().EndpointSlices("default").Watch(e.ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + svc, ResourceVersion: list.ResourceVersion,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	defer w.Stop()
	want := fmt.Sprintf("ready=%v", ready)
	start := time.Now()
	e.epSetStatus(pod, ip, ready)
	acked := time.Now()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				e.t.Fatalf("watch of %s slices ended", svc)
			}
			if ev.Type != watch.Modified && ev.Type != watch.Added {
				continue
			}
			s, ok := ev.Object.(*discoveryv1.EndpointSlice)
			if !ok {
				continue
			}
			if ep, _ := epEndpoint([]discoveryv1.EndpointSlice{*s}, pod); ep != nil && strings.HasPrefix(epConditions(ep), want+" ") {
				return time.Since(start), time.Since(acked)
			}
		case <-timeout:
			e.t.Fatalf("timed out waiting for %s's endpoint in %s slices to turn %s", pod, svc, want)
		}
	}
}

// TestEndpointsFollowPods: a service selecting pods on a bare node gets
// EndpointSlices and an Endpoints that follow the pods: new pods, named
// ports resolved per pod, readiness flips, graceful deletion, and the
// service's deletion.
func TestEndpointsFollowPods(t *testing.T) {
	e := newEnv(t)
	e.addNode("ep-node-a", map[string]string{corev1.LabelTopologyZone: "zone-a"})
	e.startControllers("--controllers=endpointslice,endpoint")

	svc, err := e.kube.CoreV1().Services("default").Create(e.ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"tier": "frontend"}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// No pods yet: an empty placeholder slice and an empty Endpoints.
	e.eventually(20*time.Second, "a placeholder slice for web", func() (bool, error) {
		s := e.epSlices("web")
		return len(s) == 1 && len(s[0].Endpoints) == 0, fmt.Errorf("%d slices", len(s))
	})
	ep := e.epAwaitEndpoints("web", "")
	if ep.Labels[discoveryv1.LabelSkipMirror] != "true" || ep.Labels["tier"] != "frontend" {
		t.Errorf("endpoints labels %v", ep.Labels)
	}

	// A ready pod.
	e.epPod("web-a", "web", "ep-node-a", 8080)
	e.epSetStatus("web-a", "10.244.1.10", true)
	got, slice := e.epAwaitConditions("web", "web-a", "ready=true serving=true terminating=false")
	if got.NodeName == nil || *got.NodeName != "ep-node-a" || got.Zone == nil || *got.Zone != "zone-a" {
		t.Errorf("endpoint node %v zone %v", got.NodeName, got.Zone)
	}
	if !slices.Equal(got.Addresses, []string{"10.244.1.10"}) || got.TargetRef.Kind != "Pod" {
		t.Errorf("endpoint addresses %v target %+v", got.Addresses, got.TargetRef)
	}
	if len(slice.Ports) != 1 || *slice.Ports[0].Name != "http" || *slice.Ports[0].Port != 8080 {
		t.Errorf("slice ports %+v", slice.Ports)
	}
	if !strings.HasPrefix(slice.Name, "web-") || slice.AddressType != discoveryv1.AddressTypeIPv4 ||
		slice.Labels["tier"] != "frontend" || slice.Annotations[corev1.EndpointsLastChangeTriggerTime] == "" {
		t.Errorf("slice %s: addressType %s labels %v annotations %v", slice.Name, slice.AddressType, slice.Labels, slice.Annotations)
	}
	if len(slice.OwnerReferences) != 1 || slice.OwnerReferences[0].UID != svc.UID || slice.OwnerReferences[0].Kind != "Service" {
		t.Errorf("slice owner references %+v", slice.OwnerReferences)
	}
	e.epAwaitEndpoints("web", "ready:[10.244.1.10] notReady:[] ports:[http=8080]")

	// Readiness flips, timed from the status write to the slice update.
	for _, ready := range []bool{false, true} {
		fromWrite, fromAck := e.epMeasure("web", "web-a", "10.244.1.10", ready)
		t.Logf("readiness -> %v reached the EndpointSlice %v after the status write (%v after its answer)",
			ready, fromWrite.Round(time.Millisecond), fromAck.Round(time.Millisecond))
		if ready {
			e.epAwaitEndpoints("web", "ready:[10.244.1.10] notReady:[] ports:[http=8080]")
		} else {
			e.epAwaitConditions("web", "web-a", "ready=false serving=false terminating=false")
			e.epAwaitEndpoints("web", "ready:[] notReady:[10.244.1.10] ports:[http=8080]")
		}
	}

	// A pod whose "http" is another number goes to a slice of its own.
	e.epPod("web-b", "web", "ep-node-a", 9090)
	e.epSetStatus("web-b", "10.244.1.11", true)
	e.epAwaitConditions("web", "web-b", "ready=true serving=true terminating=false")
	e.eventually(20*time.Second, "web-a and web-b in slices with their own ports", func() (bool, error) {
		ss := e.epSlices("web")
		a, sa := epEndpoint(ss, "web-a")
		b, sb := epEndpoint(ss, "web-b")
		if a == nil || b == nil {
			return false, fmt.Errorf("%d slices, web-a %v, web-b %v", len(ss), a != nil, b != nil)
		}
		return len(ss) == 2 && *sa.Ports[0].Port == 8080 && *sb.Ports[0].Port == 9090, fmt.Errorf("%d slices", len(ss))
	})
	e.epAwaitEndpoints("web", "ready:[10.244.1.10] notReady:[] ports:[http=8080] | ready:[10.244.1.11] notReady:[] ports:[http=9090]")

	// A pod that has no IP yet is not an endpoint.
	e.epPod("web-c", "web", "ep-node-a", 8080)
	// Deleting a bound pod makes it terminating (the node has no agent
	// to confirm): serving, not ready, out of the Endpoints.
	if err := e.kube.CoreV1().Pods("default").Delete(e.ctx, "web-a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.epAwaitConditions("web", "web-a", "ready=false serving=true terminating=true")
	e.epAwaitEndpoints("web", "ready:[10.244.1.11] notReady:[] ports:[http=9090]")
	if ep, _ := epEndpoint(e.epSlices("web"), "web-c"); ep != nil {
		t.Errorf("pod web-c without an IP has an endpoint: %+v", ep)
	}
	zero := int64(0)
	if err := e.kube.CoreV1().Pods("default").Delete(e.ctx, "web-a", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	e.eventually(20*time.Second, "web-a gone from the slices", func() (bool, error) {
		ss := e.epSlices("web")
		a, _ := epEndpoint(ss, "web-a")
		return a == nil && len(ss) == 1, fmt.Errorf("%d slices, web-a present: %v", len(ss), a != nil)
	})

	// The service goes: so does its Endpoints (its slices go by garbage
	// collection, not running here).
	if err := e.kube.CoreV1().Services("default").Delete(e.ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually(20*time.Second, "endpoints web deleted", func() (bool, error) { return e.epEndpoints("web") == nil, nil })
}

// TestEndpointsHeadlessService: a headless service gets slices and an
// Endpoints with the pods' hostnames; services without a selector and
// default/kubernetes are left alone.
func TestEndpointsHeadlessService(t *testing.T) {
	e := newEnv(t)
	e.addNode("ep-node-b", nil)
	apiEndpoints := e.epEndpoints("kubernetes")
	e.startControllers("--controllers=endpointslice,endpoint")

	// Created first: once the headless service is done, these would
	// have been too.
	if _, err := e.kube.CoreV1().Services("default").Create(e.ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "manual"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.kube.CoreV1().Services("default").Create(e.ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone,
			Selector:  map[string]string{"app": "db"},
			Ports:     []corev1.ServicePort{{Name: "pg", Port: 5432, TargetPort: intstr.FromInt32(5432)}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i, ready := range []bool{true, false} {
		name := fmt.Sprintf("db-%d", i)
		e.epPod(name, "db", "ep-node-b", 8080, func(p *corev1.Pod) { p.Spec.Hostname, p.Spec.Subdomain = name, "db" })
		e.epSetStatus(name, fmt.Sprintf("10.244.2.%d", 10+i), ready)
	}
	got, slice := e.epAwaitConditions("db", "db-0", "ready=true serving=true terminating=false")
	if got.Hostname == nil || *got.Hostname != "db-0" {
		t.Errorf("endpoint hostname %v, want db-0", got.Hostname)
	}
	if _, ok := slice.Labels[corev1.IsHeadlessService]; !ok {
		t.Errorf("slice labels %v lack %s", slice.Labels, corev1.IsHeadlessService)
	}
	e.epAwaitConditions("db", "db-1", "ready=false serving=false terminating=false")
	ep := e.epAwaitEndpoints("db", "ready:[10.244.2.10] notReady:[10.244.2.11] ports:[pg=5432]")
	if _, ok := ep.Labels[corev1.IsHeadlessService]; !ok {
		t.Errorf("endpoints labels %v lack %s", ep.Labels, corev1.IsHeadlessService)
	}
	if h := ep.Subsets[0].Addresses[0].Hostname; h != "db-0" {
		t.Errorf("endpoints address hostname %q, want db-0", h)
	}

	if s := e.epSlices("manual"); len(s) != 0 {
		t.Errorf("service without selector got %d managed slices", len(s))
	}
	if m := e.epEndpoints("manual"); m != nil {
		t.Errorf("service without selector got endpoints %s", epSummary(m))
	}
	if after := e.epEndpoints("kubernetes"); epSummary(after) != epSummary(apiEndpoints) {
		t.Errorf("default/kubernetes endpoints changed: %s -> %s", epSummary(apiEndpoints), epSummary(after))
	}
}
