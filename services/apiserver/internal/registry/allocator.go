package registry

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/services/apiserver/internal/storage"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Service allocations are claimed with one key per ClusterIP and per
// NodePort, created in the same store transaction as the Service: two API
// servers racing for one address cannot both win, and a Service is never
// stored without its claims. Deleting the Service deletes its claims in
// the same transaction.
const (
	ipClaimPrefix   = "/registry/gantry.dev/serviceips/"
	portClaimPrefix = "/registry/gantry.dev/servicenodeports/"
)

// DNSServiceIP is reserved for cluster DNS: dynamic allocation skips it.
const dnsHostOffset = 10

type allocator struct {
	cli         *clientv3.Client
	prefix      netip.Prefix
	size        uint64 // addresses in the range
	first, last int    // NodePort range
}

func newAllocator(cli *clientv3.Client, cidr, ports string) (*allocator, error) {
	if cidr == "" {
		cidr = "10.96.0.0/12"
	}
	if ports == "" {
		ports = "30000-32767"
	}
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() {
		return nil, fmt.Errorf("service CIDR %q: want an IPv4 CIDR", cidr)
	}
	p = p.Masked()
	if p.Bits() > 28 {
		return nil, fmt.Errorf("service CIDR %q is too small", cidr)
	}
	lo, hi, ok := strings.Cut(ports, "-")
	first, err1 := strconv.Atoi(lo)
	last, err2 := strconv.Atoi(hi)
	if !ok || err1 != nil || err2 != nil || first < 1 || last > 65535 || first > last {
		return nil, fmt.Errorf("node port range %q: want first-last", ports)
	}
	return &allocator{cli: cli, prefix: p, size: 1 << (32 - p.Bits()), first: first, last: last}, nil
}

var servicesGR = schema.GroupResource{Resource: "services"}

// errRetryAllocation marks a lost race for a randomly chosen value: the
// create is tried again with a new choice.
var errRetryAllocation = errors.New("allocation raced; retry")

func (a *allocator) addr(offset uint64) netip.Addr {
	b := a.prefix.Addr().As4()
	v := binary.BigEndian.Uint32(b[:]) + uint32(offset)
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

func randomBelow(n uint64) uint64 {
	v, err := rand.Int(rand.Reader, new(big.Int).SetUint64(n))
	if err != nil {
		panic(err)
	}
	return v.Uint64()
}

func owner(svc *corev1.Service) string { return svc.Namespace + "/" + svc.Name }

// prepareService assigns a ClusterIP and NodePorts and returns the claims
// to write with the Service.
func (a *allocator) prepareService(ctx context.Context, obj runtime.Object) ([]storage.Op, error) {
	svc := obj.(*corev1.Service)
	var ops []storage.Op
	if svc.Spec.Type != corev1.ServiceTypeExternalName && svc.Spec.ClusterIP != corev1.ClusterIPNone {
		op, err := a.claimIP(ctx, svc)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	if svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		portOps, err := a.claimPorts(ctx, svc)
		if err != nil {
			return nil, err
		}
		ops = append(ops, portOps...)
	}
	return ops, nil
}

func (a *allocator) claimIP(ctx context.Context, svc *corev1.Service) (storage.Op, error) {
	if svc.Spec.ClusterIP == "" && len(svc.Spec.ClusterIPs) > 0 {
		svc.Spec.ClusterIP = svc.Spec.ClusterIPs[0]
	}
	path := field.NewPath("spec", "clusterIPs")
	if ip := svc.Spec.ClusterIP; ip != "" {
		addr, err := netip.ParseAddr(ip)
		if err != nil {
			return storage.Op{}, invalidService(svc, path, svc.Spec.ClusterIPs, "must be a valid IP address")
		}
		if !a.prefix.Contains(addr) {
			return storage.Op{}, invalidService(svc, path, []string{ip}, fmt.Sprintf(
				"failed to allocate IP %s: the provided IP (%s) is not in the valid range. The range of valid IPs is %s", ip, ip, a.prefix))
		}
		svc.Spec.ClusterIPs = []string{ip}
		return a.claim(ipClaimPrefix+ip, svc, invalidService(svc, path, []string{ip}, fmt.Sprintf(
			"failed to allocate IP %s: provided IP is already allocated", ip))), nil
	}
	for try := 0; try < 32; try++ {
		off := randomBelow(a.size)
		if off == 0 || off == 1 || off == dnsHostOffset || off == a.size-1 {
			continue
		}
		ip := a.addr(off).String()
		resp, err := a.cli.Get(ctx, ipClaimPrefix+ip, clientv3.WithCountOnly())
		if err != nil {
			return storage.Op{}, apierrors.NewInternalError(err)
		}
		if resp.Count > 0 {
			continue
		}
		svc.Spec.ClusterIP = ip
		svc.Spec.ClusterIPs = []string{ip}
		return a.claim(ipClaimPrefix+ip, svc, errRetryAllocation), nil
	}
	return storage.Op{}, apierrors.NewInternalError(errors.New("failed to allocate a serviceIP: range is full"))
}

func (a *allocator) claimPorts(ctx context.Context, svc *corev1.Service) ([]storage.Op, error) {
	var ops []storage.Op
	seen := map[int32]bool{}
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		path := field.NewPath("spec", "ports").Index(i).Child("nodePort")
		if p.NodePort != 0 {
			if seen[p.NodePort] {
				continue // one port number may serve TCP and UDP
			}
			if int(p.NodePort) < a.first || int(p.NodePort) > a.last {
				return nil, invalidService(svc, path, p.NodePort, fmt.Sprintf(
					"provided port is not in the valid range. The range of valid ports is %d-%d", a.first, a.last))
			}
			seen[p.NodePort] = true
			ops = append(ops, a.claim(portClaimPrefix+strconv.Itoa(int(p.NodePort)), svc,
				invalidService(svc, path, p.NodePort, "provided port is already allocated")))
			continue
		}
		port, err := a.freePort(ctx, seen)
		if err != nil {
			return nil, err
		}
		p.NodePort = port
		seen[port] = true
		ops = append(ops, a.claim(portClaimPrefix+strconv.Itoa(int(port)), svc, errRetryAllocation))
	}
	return ops, nil
}

func (a *allocator) freePort(ctx context.Context, taken map[int32]bool) (int32, error) {
	n := uint64(a.last - a.first + 1)
	for try := 0; try < 64; try++ {
		port := int32(a.first + int(randomBelow(n)))
		if taken[port] {
			continue
		}
		resp, err := a.cli.Get(ctx, portClaimPrefix+strconv.Itoa(int(port)), clientv3.WithCountOnly())
		if err != nil {
			return 0, apierrors.NewInternalError(err)
		}
		if resp.Count == 0 {
			return port, nil
		}
	}
	return 0, apierrors.NewInternalError(errors.New("failed to allocate a nodePort: range is full"))
}

func (a *allocator) claim(key string, svc *corev1.Service, onTaken error) storage.Op {
	return storage.Op{
		Cmp: clientv3.Compare(clientv3.CreateRevision(key), "=", 0),
		Op:  clientv3.OpPut(key, owner(svc)),
		Err: onTaken,
	}
}

// releaseOps delete a Service's claims.
func (a *allocator) releaseOps(svc *corev1.Service) []clientv3.Op {
	var ops []clientv3.Op
	for _, ip := range svc.Spec.ClusterIPs {
		if ip != "" && ip != corev1.ClusterIPNone {
			ops = append(ops, clientv3.OpDelete(ipClaimPrefix+ip))
		}
	}
	seen := map[int32]bool{}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 && !seen[p.NodePort] {
			seen[p.NodePort] = true
			ops = append(ops, clientv3.OpDelete(portClaimPrefix+strconv.Itoa(int(p.NodePort))))
		}
	}
	return ops
}

func invalidService(svc *corev1.Service, path *field.Path, value any, msg string) error {
	return apierrors.NewInvalid(schema.GroupKind{Kind: "Service"}, svc.Name, field.ErrorList{field.Invalid(path, value, msg)})
}

func needsClusterIP(svc *corev1.Service) bool {
	return svc.Spec.Type != corev1.ServiceTypeExternalName && svc.Spec.ClusterIP != corev1.ClusterIPNone
}

func needsNodePorts(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer
}

// prepareServiceUpdate gives an updated Service what its new type needs: a
// ClusterIP when it stops being an ExternalName, NodePorts for new ports or
// a change to NodePort. Claims are written at once (owned by the Service,
// so a retried update finds them its own); releaseUnused frees what the
// stored update no longer uses.
func (a *allocator) prepareServiceUpdate(ctx context.Context, obj, old runtime.Object) error {
	svc, prev := obj.(*corev1.Service), old.(*corev1.Service)
	keepAllocations(svc, prev)
	if needsClusterIP(svc) && svc.Spec.ClusterIP == "" {
		op, err := a.claimIP(ctx, svc)
		if err != nil {
			return err
		}
		if err := a.claimNow(ctx, svc, op); err != nil {
			return err
		}
	}
	if !needsNodePorts(svc) {
		dropExternalFields(svc, prev)
		return nil
	}
	had := map[int32]bool{}
	for _, p := range prev.Spec.Ports {
		had[p.NodePort] = p.NodePort != 0
	}
	taken := map[int32]bool{}
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		path := field.NewPath("spec", "ports").Index(i).Child("nodePort")
		switch {
		case p.NodePort != 0 && had[p.NodePort]:
		case p.NodePort != 0:
			if int(p.NodePort) < a.first || int(p.NodePort) > a.last {
				return invalidService(svc, path, p.NodePort, fmt.Sprintf(
					"provided port is not in the valid range. The range of valid ports is %d-%d", a.first, a.last))
			}
			op := a.claim(portClaimPrefix+strconv.Itoa(int(p.NodePort)), svc,
				invalidService(svc, path, p.NodePort, "provided port is already allocated"))
			if err := a.claimNow(ctx, svc, op); err != nil {
				return err
			}
		default:
			port, err := a.freePort(ctx, taken)
			if err != nil {
				return err
			}
			p.NodePort = port
			if err := a.claimNow(ctx, svc, a.claim(portClaimPrefix+strconv.Itoa(int(port)), svc, errRetryAllocation)); err != nil {
				return apierrors.NewConflict(servicesGR, svc.Name, errors.New("a NodePort was taken concurrently; try again"))
			}
		}
		taken[p.NodePort] = true
	}
	return nil
}

// claimNow writes one claim outside the Service's transaction; a claim the
// Service already owns counts as made.
func (a *allocator) claimNow(ctx context.Context, svc *corev1.Service, op storage.Op) error {
	key := string(op.Op.KeyBytes())
	resp, err := a.cli.Txn(ctx).If(op.Cmp).Then(op.Op).Else(clientv3.OpGet(key)).Commit()
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	if resp.Succeeded {
		return nil
	}
	if kvs := resp.Responses[0].GetResponseRange().GetKvs(); len(kvs) == 1 && string(kvs[0].Value) == owner(svc) {
		return nil
	}
	return op.Err
}

// releaseUnused deletes the claims of the old Service that the new one
// does not use. A failure leaves a claim behind, which only costs an
// address.
func (a *allocator) releaseUnused(ctx context.Context, obj, old runtime.Object) {
	used := map[string]bool{}
	for _, op := range a.releaseOps(obj.(*corev1.Service)) {
		used[string(op.KeyBytes())] = true
	}
	for _, op := range a.releaseOps(old.(*corev1.Service)) {
		if !used[string(op.KeyBytes())] {
			_, _ = a.cli.Do(ctx, op)
		}
	}
}

// dropExternalFields clears what only externally reachable Services have
// when an update makes a Service internal and leaves those fields as they
// were, as Kubernetes does.
func dropExternalFields(svc, prev *corev1.Service) {
	for i := range svc.Spec.Ports {
		svc.Spec.Ports[i].NodePort = 0
	}
	if !needsNodePorts(prev) {
		return
	}
	if svc.Spec.ExternalTrafficPolicy == prev.Spec.ExternalTrafficPolicy {
		svc.Spec.ExternalTrafficPolicy = ""
	}
	if svc.Spec.HealthCheckNodePort == prev.Spec.HealthCheckNodePort {
		svc.Spec.HealthCheckNodePort = 0
	}
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		svc.Spec.AllocateLoadBalancerNodePorts = nil
		svc.Spec.LoadBalancerClass = nil
	}
}
