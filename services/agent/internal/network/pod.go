package network

import (
	"errors"
	"fmt"
	"net"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

var (
	// ErrNotFound is returned (wrapped) when the CNI cache holds no
	// network for a pod.
	ErrNotFound = errors.New("pod network not found")
	// ErrHostPortConflict is returned (wrapped) when a pod asks for a host
	// port another pod holds.
	ErrHostPortConflict = errors.New("host port conflict")
)

// PodNetwork names a pod and its network namespace.
type PodNetwork struct {
	// UID is the pod's UID; it is the CNI container ID.
	UID       string
	Namespace string
	Name      string
	// NetNS is the path of the pod's network namespace file, e.g.
	// /run/netns/<name> or /proc/<pid>/ns/net.
	NetNS        string
	PortMappings []PortMapping
}

// PortMapping forwards HostIP:HostPort on the node to ContainerPort in
// the pod.
type PortMapping struct {
	HostPort      int32
	ContainerPort int32
	// Protocol is TCP (default), UDP or SCTP.
	Protocol string
	// HostIP restricts the mapping to one node address; empty or 0.0.0.0
	// means every address.
	HostIP string
}

// Result is a pod's network as CNI set it up.
type Result struct {
	// IPs are the pod's addresses on Interface.
	IPs     []net.IP
	Gateway net.IP
	// Interface is the pod's interface name (eth0).
	Interface string
}

// FromPod describes pod's network: its UID, names, netns and the
// hostPorts of its containers (init containers included, as restartable
// ones serve ports).
func FromPod(pod *corev1.Pod, netns string) PodNetwork {
	p := PodNetwork{UID: string(pod.UID), Namespace: pod.Namespace, Name: pod.Name, NetNS: netns}
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			for _, port := range c.Ports {
				if port.HostPort == 0 {
					continue
				}
				p.PortMappings = append(p.PortMappings, PortMapping{
					HostPort: port.HostPort, ContainerPort: port.ContainerPort,
					Protocol: string(port.Protocol), HostIP: port.HostIP,
				})
			}
		}
	}
	return p
}

func (p PodNetwork) String() string { return p.Namespace + "/" + p.Name }

// validate checks what every operation needs.
func (p PodNetwork) validate(needNetNS bool) error {
	if p.UID == "" {
		return errors.New("pod has no UID")
	}
	if needNetNS && p.NetNS == "" {
		return errors.New("pod has no network namespace")
	}
	for _, m := range p.PortMappings {
		if m.HostPort <= 0 || m.HostPort > 65535 || m.ContainerPort <= 0 || m.ContainerPort > 65535 {
			return fmt.Errorf("port mapping %d->%d is out of range", m.HostPort, m.ContainerPort)
		}
		if _, err := cniProtocol(m.Protocol); err != nil {
			return err
		}
		if m.HostIP != "" && net.ParseIP(m.HostIP).To4() == nil {
			return fmt.Errorf("port mapping host IP %q is not an IPv4 address", m.HostIP)
		}
	}
	return nil
}

// wrap prefixes err with what failed for which pod.
func (p PodNetwork) wrap(op string, err error) error {
	return fmt.Errorf("%s network of pod %s: %w", op, p, err)
}

// cniProtocol turns a Kubernetes protocol into portmap's spelling.
func cniProtocol(p string) (string, error) {
	switch strings.ToUpper(p) {
	case "", "TCP":
		return "tcp", nil
	case "UDP":
		return "udp", nil
	case "SCTP":
		return "sctp", nil
	}
	return "", fmt.Errorf("unsupported protocol %q", p)
}
