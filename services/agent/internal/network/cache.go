package network

import (
	"encoding/json"
	"fmt"

	"github.com/containernetworking/cni/libcni"
	"golang.org/x/sys/unix"
)

// CNI_ARGS keys the agent passes (and reads back from the cache).
const (
	argPodNamespace = "K8S_POD_NAMESPACE"
	argPodName      = "K8S_POD_NAME"
)

// runtimeConf is the per-pod part of a CNI call.
func runtimeConf(pod PodNetwork, ports []cniPortMapping) *libcni.RuntimeConf {
	rt := &libcni.RuntimeConf{
		ContainerID: pod.UID,
		NetNS:       pod.NetNS,
		IfName:      PodInterface,
		Args: [][2]string{
			{"IgnoreUnknown", "1"},
			{argPodNamespace, pod.Namespace},
			{argPodName, pod.Name},
			{"K8S_POD_INFRA_CONTAINER_ID", pod.UID},
			{"K8S_POD_UID", pod.UID},
		},
	}
	if len(ports) > 0 {
		rt.CapabilityArgs = map[string]any{"portMappings": ports}
	}
	return rt
}

// cachedAttachment returns what the CNI cache remembers of the pod's ADD,
// or nil if it holds nothing.
func (n *Network) cachedAttachment(uid string) (*libcni.NetworkAttachment, error) {
	atts, err := n.cachedAttachments(uid)
	if err != nil || len(atts) == 0 {
		return nil, err
	}
	return atts[0], nil
}

// cachedAttachments lists the cache's attachments to this network, of
// one pod or (uid "") of all.
func (n *Network) cachedAttachments(uid string) ([]*libcni.NetworkAttachment, error) {
	all, err := n.cni.GetCachedAttachments(uid)
	if err != nil {
		return nil, fmt.Errorf("read CNI cache: %w", err)
	}
	var ours []*libcni.NetworkAttachment
	for _, a := range all {
		if a.Network == NetworkName && a.IfName == PodInterface {
			ours = append(ours, a)
		}
	}
	return ours, nil
}

// attachmentPod rebuilds the pod description an attachment was made for.
func attachmentPod(a *libcni.NetworkAttachment) (PodNetwork, []cniPortMapping, error) {
	pod := PodNetwork{UID: a.ContainerID, NetNS: a.NetNS}
	for _, kv := range a.CniArgs {
		switch kv[0] {
		case argPodNamespace:
			pod.Namespace = kv[1]
		case argPodName:
			pod.Name = kv[1]
		}
	}
	var ports []cniPortMapping
	if raw, ok := a.CapabilityArgs["portMappings"]; ok {
		b, err := json.Marshal(raw)
		if err == nil {
			err = json.Unmarshal(b, &ports)
		}
		if err != nil {
			return pod, nil, fmt.Errorf("cached port mappings of pod %s: %w", pod, err)
		}
	}
	return pod, ports, nil
}

// attachmentRuntimeConf is the runtime configuration the attachment was
// added with. A namespace that no longer exists (or is no longer a
// namespace) is left out, so that DEL releases the address and port
// rules without failing on it.
func attachmentRuntimeConf(a *libcni.NetworkAttachment) *libcni.RuntimeConf {
	rt := &libcni.RuntimeConf{
		ContainerID:    a.ContainerID,
		NetNS:          a.NetNS,
		IfName:         a.IfName,
		Args:           a.CniArgs,
		CapabilityArgs: a.CapabilityArgs,
	}
	if !isNetNS(rt.NetNS) {
		rt.NetNS = ""
	}
	return rt
}

// isNetNS reports whether path is a network namespace file (an nsfs bind
// mount or a /proc/<pid>/ns/net link).
func isNetNS(path string) bool {
	if path == "" {
		return false
	}
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false
	}
	return st.Type == unix.NSFS_MAGIC || st.Type == unix.PROC_SUPER_MAGIC
}
