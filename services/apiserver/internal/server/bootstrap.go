package server

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"time"

	"github.com/gantry-dev/gantry/libs/storageutil"
	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// bootstrap creates what every cluster has: the default, kube-system,
// kube-public and kube-node-lease namespaces, the system-node-critical and
// system-cluster-critical PriorityClasses, the default StorageClass
// "local-path" (Gantry's local-path provisioner), and the "kubernetes" Service in
// default (the first address of the service range) with the live API
// servers as its endpoints, and the kube-system/kube-dns Service on the tenth address
// (what pods' resolv.conf names; gantry-proxy answers it on every node),
// and kube-public/cluster-info (createClusterInfo). Objects that exist are left as they are. It retries until
// the store answers.
func (s *Server) bootstrap(ctx context.Context) error {
	for {
		err := s.bootstrapOnce(ctx)
		if err == nil {
			return nil
		}
		s.log.Warn("bootstrap objects; retrying", "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func (s *Server) bootstrapOnce(ctx context.Context) error {
	if err := s.reg.Ready(ctx); err != nil {
		return err
	}
	nsr, _ := s.reg.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"})
	for _, name := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		_, err := nsr.Create(ctx, "", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{FieldManager: "gantry-apiserver"})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	if err := s.createClusterInfo(ctx); err != nil {
		return err
	}
	pcs, _ := s.reg.Resource(schedulingv1.SchemeGroupVersion.WithResource("priorityclasses"))
	for _, pc := range api.SystemPriorityClasses() {
		_, err := pcs.Create(ctx, "", pc, metav1.CreateOptions{FieldManager: "gantry-apiserver"})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	scs, _ := s.reg.Resource(storagev1.SchemeGroupVersion.WithResource("storageclasses"))
	if _, err := scs.Create(ctx, "", storageutil.LocalPathStorageClass(), metav1.CreateOptions{FieldManager: "gantry-apiserver"}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	svcs, _ := s.reg.Resource(schema.GroupVersionResource{Version: "v1", Resource: "services"})
	ip, err := firstServiceIP(s.cfg.ServiceClusterIPRange)
	if err != nil {
		return err
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default",
			Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"}},
		Spec: corev1.ServiceSpec{
			ClusterIP: ip,
			Ports: []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP,
				TargetPort: intstr.FromInt32(int32(s.port()))}},
		},
	}
	if _, err := svcs.Create(ctx, "default", svc, metav1.CreateOptions{FieldManager: "gantry-apiserver"}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	if err := s.createDNSService(ctx, svcs.Create); err != nil {
		return err
	}
	return s.publishEndpoints(ctx)
}

// endpoints returns the reconciler of the kubernetes Service's endpoints
// for this server, nil when its address is loopback: Endpoints may not
// hold loopback addresses, and a server reachable only on this host is
// not published.
func (s *Server) endpoints() *endpointsReconciler {
	if ip := net.ParseIP(s.advertiseAddress()); ip == nil || ip.IsLoopback() {
		return nil
	}
	eps, _ := s.reg.Resource(schema.GroupVersionResource{Version: "v1", Resource: "endpoints"})
	return &endpointsReconciler{cli: s.etcd, eps: eps, ip: s.advertiseAddress(), port: int32(s.port()),
		ttl: masterLeaseTTL, log: s.log.With("component", "endpoints")}
}

// publishEndpoints puts this server among the kubernetes Service's
// endpoints (and takes out those whose lease has expired); Run keeps them
// so (see endpointsReconciler).
func (s *Server) publishEndpoints(ctx context.Context) error {
	if s.epr == nil {
		s.log.Info("not publishing the kubernetes Service endpoints: set --advertise-address to a non-loopback address", "address", s.advertiseAddress())
		return nil
	}
	return s.epr.reconcile(ctx)
}

func (s *Server) port() int {
	if tcp, ok := s.listener.Addr().(*net.TCPAddr); ok {
		return tcp.Port
	}
	return s.cfg.SecurePort
}

func (s *Server) advertiseAddress() string {
	if s.cfg.AdvertiseAddress != "" {
		return s.cfg.AdvertiseAddress
	}
	if ip := net.ParseIP(s.cfg.BindAddress); ip != nil && !ip.IsUnspecified() {
		return ip.String()
	}
	return "127.0.0.1"
}

func firstServiceIP(cidr string) (string, error) { return serviceIP(cidr, 1) }

// serviceIP is the address at offset n of the (IPv4) service range.
func serviceIP(cidr string, n uint32) (string, error) {
	_, ipnet, err := net.ParseCIDR(cidr)
	if err != nil {
		return "", err
	}
	ip := ipnet.IP.To4()
	if ip == nil {
		return "", fmt.Errorf("service range %s is not IPv4", cidr)
	}
	out := make(net.IP, 4)
	binary.BigEndian.PutUint32(out, binary.BigEndian.Uint32(ip)+n)
	if !ipnet.Contains(out) {
		return "", fmt.Errorf("service range %s has no address at offset %d", cidr, n)
	}
	return out.String(), nil
}

// createDNSService creates kube-system/kube-dns as clusters have it, on
// the address the allocator keeps for it (offset 10).
func (s *Server) createDNSService(ctx context.Context, create func(context.Context, string, runtime.Object, metav1.CreateOptions) (runtime.Object, error)) error {
	ip, err := serviceIP(s.cfg.ServiceClusterIPRange, 10)
	if err != nil {
		return err
	}
	labels := map[string]string{"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS", "kubernetes.io/cluster-service": "true"}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-dns", Namespace: "kube-system", Labels: labels},
		Spec: corev1.ServiceSpec{
			ClusterIP: ip,
			Selector:  map[string]string{"k8s-app": "kube-dns"},
			Ports: []corev1.ServicePort{
				{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(53)},
				{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(53)},
				{Name: "metrics", Port: 9153, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(9153)},
			},
		},
	}
	if _, err := create(ctx, "kube-system", svc, metav1.CreateOptions{FieldManager: "gantry-apiserver"}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}
