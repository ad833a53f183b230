package network

import (
	"fmt"
	"net"
	"strings"
	"sync"
)

// cniPortMapping is one entry of the portMappings capability, as the
// portmap plugin reads it (and as the CNI cache stores it).
type cniPortMapping struct {
	HostPort      int32  `json:"hostPort"`
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol"`
	HostIP        string `json:"hostIP,omitempty"`
}

// toCNIPortMappings converts validated mappings to the capability
// argument, with lowercase protocols and wildcard host IPs dropped.
func toCNIPortMappings(ms []PortMapping) []cniPortMapping {
	out := make([]cniPortMapping, 0, len(ms))
	for _, m := range ms {
		proto, _ := cniProtocol(m.Protocol) // validated by PodNetwork.validate
		out = append(out, cniPortMapping{
			HostPort: m.HostPort, ContainerPort: m.ContainerPort, Protocol: proto, HostIP: normalHostIP(m.HostIP),
		})
	}
	return out
}

// normalHostIP returns "" for "every address" and the canonical form of
// a specific address.
func normalHostIP(s string) string {
	ip := net.ParseIP(s)
	if ip == nil || ip.IsUnspecified() {
		return ""
	}
	return ip.String()
}

// portRegistry records which pod holds which host port, so that Setup
// refuses a second pod instead of letting portmap's newest DNAT rule
// silently win. It is rebuilt from the CNI cache when the agent starts.
type portRegistry struct {
	mu   sync.Mutex
	uses map[protoPort][]portUse
}

type protoPort struct {
	proto string
	port  int32
}

type portUse struct {
	hostIP string // "" is every address
	uid    string
	pod    string // namespace/name, for error messages
}

func newPortRegistry() *portRegistry {
	return &portRegistry{uses: map[protoPort][]portUse{}}
}

// reserve gives the pod uid the host ports of ms, replacing what it held
// before, or returns an ErrHostPortConflict naming the holder; on error
// nothing changes.
func (r *portRegistry) reserve(uid, pod string, ms []cniPortMapping) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range ms {
		for _, u := range r.uses[protoPort{m.Protocol, m.HostPort}] {
			if u.uid != uid && (u.hostIP == "" || m.HostIP == "" || u.hostIP == m.HostIP) {
				return fmt.Errorf("%w: %s port %d on %s is held by pod %s",
					ErrHostPortConflict, strings.ToUpper(m.Protocol), m.HostPort, hostIPName(m.HostIP), u.pod)
			}
		}
	}
	r.releaseLocked(uid)
	for _, m := range ms {
		k := protoPort{m.Protocol, m.HostPort}
		r.uses[k] = append(r.uses[k], portUse{hostIP: m.HostIP, uid: uid, pod: pod})
	}
	return nil
}

// release frees every host port of the pod uid.
func (r *portRegistry) release(uid string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.releaseLocked(uid)
}

func (r *portRegistry) releaseLocked(uid string) {
	for k, uses := range r.uses {
		kept := uses[:0]
		for _, u := range uses {
			if u.uid != uid {
				kept = append(kept, u)
			}
		}
		if len(kept) == 0 {
			delete(r.uses, k)
		} else {
			r.uses[k] = kept
		}
	}
}

func hostIPName(ip string) string {
	if ip == "" {
		return "all addresses"
	}
	return ip
}
