package podfiles

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// File names below the pod directory.
const (
	EtcHostsFile   = "etc-hosts"
	ResolvConfFile = "resolv.conf"
)

const (
	managedHostsHeader            = "# Kubernetes-managed hosts file.\n"
	managedHostsHeaderHostNetwork = "# Kubernetes-managed hosts file (host network).\n"
	defaultHostHostsFile          = "/etc/hosts"
	hostnameMaxLen                = 63
)

// HostnameAndDomain returns the pod's hostname and, when spec.subdomain
// is set, its domain "<subdomain>.<namespace>.svc.<clusterDomain>", as
// kubelet computes them: the hostname is spec.hostnameOverride, else
// spec.hostname, else the pod's name cut to 63 characters.
func HostnameAndDomain(pod *corev1.Pod, clusterDomain string) (hostname, domain string, err error) {
	if o := pod.Spec.HostnameOverride; o != nil && *o != "" {
		return *o, "", nil
	}
	hostname = pod.Name
	if pod.Spec.Hostname != "" {
		if msgs := validation.IsDNS1123Label(pod.Spec.Hostname); len(msgs) != 0 {
			return "", "", fmt.Errorf("pod Hostname %q is not a valid DNS label: %s", pod.Spec.Hostname, strings.Join(msgs, ";"))
		}
		hostname = pod.Spec.Hostname
	}
	if len(hostname) > hostnameMaxLen {
		// A hostname must not end with '-' or '.'.
		hostname = strings.TrimRight(hostname[:hostnameMaxLen], "-.")
		if hostname == "" {
			return "", "", fmt.Errorf("hostname for pod %q was invalid: %q", pod.Name, pod.Name)
		}
	}
	if pod.Spec.Subdomain != "" {
		if msgs := validation.IsDNS1123Label(pod.Spec.Subdomain); len(msgs) != 0 {
			return "", "", fmt.Errorf("pod Subdomain %q is not a valid DNS label: %s", pod.Spec.Subdomain, strings.Join(msgs, ";"))
		}
		domain = fmt.Sprintf("%s.%s.svc.%s", pod.Spec.Subdomain, pod.Namespace, clusterDomain)
	}
	return hostname, domain, nil
}

// EtcHosts returns the content of a pod's /etc/hosts. podIPs are the
// pod's addresses (all families); hostNetwork pods ignore them and get
// the node's hosts file (cfg.HostHostsFile).
func EtcHosts(pod *corev1.Pod, podIPs []string, cfg DNSConfig) ([]byte, error) {
	var b bytes.Buffer
	if pod.Spec.HostNetwork {
		path := cfg.HostHostsFile
		if path == "" {
			path = defaultHostHostsFile
		}
		node, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		b.WriteString(managedHostsHeaderHostNetwork)
		b.Write(node)
		writeHostAliases(&b, pod.Spec.HostAliases)
		return b.Bytes(), nil
	}

	hostname, domain, err := HostnameAndDomain(pod, cfg.ClusterDomain)
	if err != nil {
		return nil, err
	}
	b.WriteString(managedHostsHeader)
	b.WriteString("127.0.0.1\tlocalhost\n")
	b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\n")
	b.WriteString("fe00::0\tip6-mcastprefix\n")
	b.WriteString("fe00::1\tip6-allnodes\n")
	b.WriteString("fe00::2\tip6-allrouters\n")
	for _, ip := range podIPs {
		if domain != "" {
			fmt.Fprintf(&b, "%s\t%s.%s\t%s\n", ip, hostname, domain, hostname)
		} else {
			fmt.Fprintf(&b, "%s\t%s\n", ip, hostname)
		}
	}
	writeHostAliases(&b, pod.Spec.HostAliases)
	return b.Bytes(), nil
}

func writeHostAliases(b *bytes.Buffer, aliases []corev1.HostAlias) {
	if len(aliases) == 0 {
		return
	}
	b.WriteString("\n# Entries added by HostAliases.\n")
	for _, a := range aliases {
		fmt.Fprintf(b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
	}
}

// WriteEtcHosts writes the pod's hosts file to <podDir>/etc-hosts and
// returns its path, to bind-mount on /etc/hosts.
func WriteEtcHosts(podDir string, pod *corev1.Pod, podIPs []string, cfg DNSConfig) (string, error) {
	content, err := EtcHosts(pod, podIPs, cfg)
	if err != nil {
		return "", err
	}
	return writeInPlace(filepath.Join(podDir, EtcHostsFile), content)
}

// writeInPlace writes content to path (mode 0644), truncating an existing
// file rather than replacing it, so bind mounts of it see the change.
func writeInPlace(path string, content []byte) (string, error) {
	if err := os.WriteFile(path, content, 0o644); err != nil {
		return "", err
	}
	if err := os.Chmod(path, 0o644); err != nil {
		return "", err
	}
	return path, nil
}
