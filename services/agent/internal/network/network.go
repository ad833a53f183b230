package network

import (
	"context"
	"errors"
	"fmt"
	"github.com/gantry-dev/gantry/services/agent/internal/keyed"
	"log/slog"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
)

// Network connects pods to the node's bridge through CNI. Its methods
// are safe for concurrent use; calls for one pod are serialised.
type Network struct {
	cfg  Config
	log  *slog.Logger
	cni  *libcni.CNIConfig
	conf []byte                    // the conflist, as written to ConfDir
	list *libcni.NetworkConfigList // conf, parsed
	// noPorts is list without portmap, for pods without host ports.
	noPorts *libcni.NetworkConfigList
	locks   keyed.Mutex
	ports   *portRegistry
}

// New checks cfg, renders the conflist and rebuilds the host-port
// registry from the CNI cache. It changes nothing on the host; call
// SetupNode before the first Setup.
func New(cfg Config) (*Network, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("network config: %w", err)
	}
	conf, err := confListBytes(cfg, false)
	if err != nil {
		return nil, err
	}
	list, err := parseConfList(conf)
	if err != nil {
		return nil, err
	}
	plain, err := confListBytes(cfg, true)
	if err != nil {
		return nil, err
	}
	noPorts, err := parseConfList(plain)
	if err != nil {
		return nil, err
	}
	n := &Network{
		cfg:     cfg,
		log:     cfg.Log.With("component", "network"),
		conf:    conf,
		list:    list,
		noPorts: noPorts,
		ports:   newPortRegistry(),
	}
	// An explicit exec: libcni creates its default one lazily, which races
	// when the first calls run concurrently.
	n.cni = libcni.NewCNIConfigWithCacheDir(cfg.CNIBinDirs, cfg.CacheDir, &invoke.DefaultExec{
		RawExec:       &invoke.RawExec{Stderr: pluginStderr{n.log}},
		PluginDecoder: version.PluginDecoder{},
	})
	if err := n.restorePorts(); err != nil {
		return nil, err
	}
	return n, nil
}

// restorePorts reserves the host ports of every pod in the CNI cache, so
// a restarted agent still refuses conflicting pods.
func (n *Network) restorePorts() error {
	atts, err := n.cachedAttachments("")
	if err != nil {
		return err
	}
	for _, a := range atts {
		pod, ports, err := attachmentPod(a)
		if err != nil {
			n.log.Warn("ignoring cached port mappings", "pod", pod, "uid", pod.UID, "err", err)
			continue
		}
		if err := n.ports.reserve(pod.UID, pod.String(), ports); err != nil {
			n.log.Warn("cached pods share a host port", "pod", pod, "uid", pod.UID, "err", err)
		}
	}
	return nil
}

// Setup connects the pod's network namespace (CNI ADD) and returns its
// addresses. It is idempotent: a pod already connected in the same
// namespace gets its existing result back.
func (n *Network) Setup(ctx context.Context, pod PodNetwork) (Result, error) {
	if err := pod.validate(true); err != nil {
		return Result{}, pod.wrap("set up", err)
	}
	unlock := n.locks.Lock(pod.UID)
	defer unlock()

	start := time.Now()
	ports := toCNIPortMappings(pod.PortMappings)
	rt := runtimeConf(pod, ports)
	res, adopted, err := n.adopt(ctx, pod, rt)
	if err != nil {
		return Result{}, pod.wrap("set up", err)
	}
	if err := n.ports.reserve(pod.UID, pod.String(), ports); err != nil {
		return Result{}, pod.wrap("set up", err)
	}
	if adopted {
		n.log.Debug("pod network already set up", "pod", pod, "uid", pod.UID, "ips", res.IPs)
		return res, nil
	}

	list := n.list
	if len(ports) == 0 {
		list = n.noPorts
	}
	raw, err := n.cni.AddNetworkList(ctx, list, rt)
	if err == nil {
		res, err = toResult(raw)
	}
	if err != nil {
		// Undo what the plugins did before one failed (an address, a
		// veth), so a retry starts clean.
		// The host ports stay reserved if that fails too: DNAT rules may
		// be left; the pod's Teardown frees them.
		if delErr := n.cni.DelNetworkList(context.WithoutCancel(ctx), list, rt); delErr != nil {
			n.log.Warn("cleaning up after failed CNI ADD", "pod", pod, "uid", pod.UID, "err", delErr)
		} else {
			n.ports.release(pod.UID)
		}
		return Result{}, pod.wrap("set up", err)
	}
	n.log.Info("pod network set up", "pod", pod, "uid", pod.UID, "ips", res.IPs,
		"hostPorts", len(ports), "duration", time.Since(start))
	return res, nil
}

// adopt returns the cached result of an earlier ADD for the pod if it is
// for the same namespace and CNI CHECK still passes. Otherwise it deletes
// what the cache remembers (a stale namespace, a broken interface) and
// reports false.
func (n *Network) adopt(ctx context.Context, pod PodNetwork, rt *libcni.RuntimeConf) (Result, bool, error) {
	att, err := n.cachedAttachment(pod.UID)
	if err != nil || att == nil {
		return Result{}, false, err
	}
	list, err := parseConfList(att.Config)
	if err != nil {
		return Result{}, false, err
	}
	if att.NetNS == pod.NetNS {
		res, err := n.checkCached(ctx, list, rt)
		if err == nil {
			return res, true, nil
		}
		n.log.Warn("pod network failed CNI CHECK, setting it up again", "pod", pod, "uid", pod.UID, "err", err)
	} else {
		n.log.Info("pod network namespace changed, setting it up again", "pod", pod, "uid", pod.UID,
			"old", att.NetNS, "new", pod.NetNS)
	}
	if err := n.cni.DelNetworkList(ctx, list, attachmentRuntimeConf(att)); err != nil {
		return Result{}, false, fmt.Errorf("delete stale attachment: %w", err)
	}
	n.ports.release(pod.UID)
	return Result{}, false, nil
}

// Teardown disconnects the pod (CNI DEL) and frees its address and host
// ports. It uses the configuration cached at ADD, so it works when the
// namespace is gone; without a cache entry it runs DEL with the current
// configuration, which is harmless when nothing was set up.
func (n *Network) Teardown(ctx context.Context, pod PodNetwork) error {
	if err := pod.validate(false); err != nil {
		return pod.wrap("tear down", err)
	}
	unlock := n.locks.Lock(pod.UID)
	defer unlock()

	start := time.Now()
	att, err := n.cachedAttachment(pod.UID)
	if err != nil {
		return pod.wrap("tear down", err)
	}
	if att != nil {
		err = n.delAttachment(ctx, att)
	} else {
		rt := runtimeConf(pod, toCNIPortMappings(pod.PortMappings))
		if !isNetNS(rt.NetNS) {
			rt.NetNS = ""
		}
		err = n.cni.DelNetworkList(ctx, n.list, rt)
	}
	if err != nil {
		// Keep the host ports: the pod's DNAT rules may still be there.
		return pod.wrap("tear down", err)
	}
	n.ports.release(pod.UID)
	n.log.Info("pod network torn down", "pod", pod, "uid", pod.UID, "cached", att != nil, "duration", time.Since(start))
	return nil
}

// delAttachment runs CNI DEL exactly as the attachment was added.
func (n *Network) delAttachment(ctx context.Context, att *libcni.NetworkAttachment) error {
	list, err := parseConfList(att.Config)
	if err != nil {
		return err
	}
	return n.cni.DelNetworkList(ctx, list, attachmentRuntimeConf(att))
}

// Status returns the pod's network from the CNI cache after checking it
// with CNI CHECK (which runs the plugins: tens of milliseconds). Without a
// cache entry it returns ErrNotFound.
func (n *Network) Status(ctx context.Context, pod PodNetwork) (Result, error) {
	if err := pod.validate(false); err != nil {
		return Result{}, pod.wrap("status of", err)
	}
	unlock := n.locks.Lock(pod.UID)
	defer unlock()

	att, err := n.cachedAttachment(pod.UID)
	if err != nil {
		return Result{}, pod.wrap("status of", err)
	}
	if att == nil {
		return Result{}, pod.wrap("status of", ErrNotFound)
	}
	list, err := parseConfList(att.Config)
	if err != nil {
		return Result{}, pod.wrap("status of", err)
	}
	res, err := n.checkCached(ctx, list, attachmentRuntimeConf(att))
	if err != nil {
		return Result{}, pod.wrap("status of", err)
	}
	return res, nil
}

// checkCached runs CNI CHECK with the configuration the pod was set up
// with (a changed conflist must not renumber running pods) and returns
// the cached result.
func (n *Network) checkCached(ctx context.Context, list *libcni.NetworkConfigList, rt *libcni.RuntimeConf) (Result, error) {
	if err := n.cni.CheckNetworkList(ctx, checkList(list), rt); err != nil {
		return Result{}, fmt.Errorf("CNI CHECK: %w", err)
	}
	raw, err := n.cni.GetNetworkListCachedResult(list, rt)
	if err != nil {
		return Result{}, err
	}
	if raw == nil {
		return Result{}, ErrNotFound
	}
	return toResult(raw)
}

// checkList is the part of list that CNI CHECK runs. It leaves out
// portmap: version 1.1 checks its chain in ip6tables too, even for an
// IPv4 pod, and so fails for every pod with a host port. What CHECK
// still covers: the interface, address and routes in the pod's namespace
// (bridge), the address allocation (host-local) and the loopback.
func checkList(list *libcni.NetworkConfigList) *libcni.NetworkConfigList {
	c := *list
	c.Plugins = nil
	for _, p := range list.Plugins {
		if p.Network.Type != "portmap" {
			c.Plugins = append(c.Plugins, p)
		}
	}
	return &c
}

// toResult extracts the pod's interface, addresses and gateway from a
// CNI result.
func toResult(raw types.Result) (Result, error) {
	r, err := current.NewResultFromResult(raw)
	if err != nil {
		return Result{}, fmt.Errorf("convert CNI result: %w", err)
	}
	idx := -1
	for i, iface := range r.Interfaces {
		if iface.Sandbox != "" {
			idx = i
			break
		}
	}
	var res Result
	if idx >= 0 {
		res.Interface = r.Interfaces[idx].Name
	}
	for _, ip := range r.IPs {
		if idx >= 0 && ip.Interface != nil && *ip.Interface != idx {
			continue
		}
		res.IPs = append(res.IPs, ip.Address.IP)
		if res.Gateway == nil && ip.Gateway != nil {
			res.Gateway = ip.Gateway
		}
	}
	if len(res.IPs) == 0 {
		return Result{}, errors.New("CNI result has no address for the pod")
	}
	return res, nil
}

// pluginStderr logs what the CNI plugins write to stderr (their errors
// also come back in the result, so this is extra detail).
type pluginStderr struct{ log *slog.Logger }

func (w pluginStderr) Write(p []byte) (int, error) {
	if msg := strings.TrimSpace(string(p)); msg != "" {
		w.log.Warn("CNI plugin stderr", "output", msg)
	}
	return len(p), nil
}
