package node

import (
	"errors"
	"fmt"
	"net"

	corev1 "k8s.io/api/core/v1"
)

// defaultNodeIP is the address this host reaches the world from: the
// source address of its default route (found by connecting a UDP socket,
// which sends nothing), else its first non-loopback, non-link-local
// address, IPv4 first.
func defaultNodeIP() (net.IP, error) {
	if conn, err := net.Dial("udp4", "203.0.113.1:9"); err == nil { // TEST-NET-3
		ip := conn.LocalAddr().(*net.UDPAddr).IP
		_ = conn.Close()
		if usable(ip) {
			return ip, nil
		}
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("node IP: %w", err)
	}
	return firstUsable(addrs)
}

// firstUsable picks the first usable IPv4 address, else IPv6 one.
func firstUsable(addrs []net.Addr) (net.IP, error) {
	var v6 net.IP
	for _, a := range addrs {
		ipnet, ok := a.(*net.IPNet)
		if !ok || !usable(ipnet.IP) {
			continue
		}
		if v4 := ipnet.IP.To4(); v4 != nil {
			return v4, nil
		}
		if v6 == nil {
			v6 = ipnet.IP
		}
	}
	if v6 != nil {
		return v6, nil
	}
	return nil, errors.New("node IP: the host has no address but loopback; set one")
}

func usable(ip net.IP) bool {
	return ip != nil && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() && !ip.IsUnspecified()
}

// addresses are the node's status.addresses, as kubelet orders them.
func addresses(ip net.IP, hostname string) []corev1.NodeAddress {
	return []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: ip.String()},
		{Type: corev1.NodeHostName, Address: hostname},
	}
}
