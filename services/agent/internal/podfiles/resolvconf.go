package podfiles

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// DNSConfig is the node's DNS setup, as kubelet's --cluster-dns,
// --cluster-domain and --resolv-conf flags give it.
type DNSConfig struct {
	// ClusterDNS are the cluster DNS servers ("10.96.0.10"). Without
	// them, ClusterFirst pods fall back to Default.
	ClusterDNS []string
	// ClusterDomain is the cluster's DNS domain ("cluster.local").
	ClusterDomain string
	// HostResolvConf is the node's resolver file ("/etc/resolv.conf")
	// that Default pods inherit and ClusterFirst pods take search domains
	// from. Empty means none, as kubelet's --resolv-conf="": Default pods
	// then resolve through 127.0.0.1 with no search path.
	HostResolvConf string
	// HostHostsFile is the node's hosts file, copied for hostNetwork
	// pods; empty means /etc/hosts.
	HostHostsFile string
}

// Resolver limits, as the API server validates them and glibc accepts.
const (
	maxNameservers     = 3
	maxSearchPaths     = 32
	maxSearchListChars = 2048
	maxSearchPathLen   = 253
)

// ResolvConf is a resolver configuration.
type ResolvConf struct {
	Nameservers []string
	Searches    []string
	Options     []string
}

// Bytes renders r as a resolv.conf file, in the layout containerd writes.
func (r ResolvConf) Bytes() []byte {
	var b bytes.Buffer
	if len(r.Searches) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(r.Searches, " "))
	}
	for _, ns := range r.Nameservers {
		fmt.Fprintf(&b, "nameserver %s\n", ns)
	}
	if len(r.Options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(r.Options, " "))
	}
	return b.Bytes()
}

// PodDNS computes a pod's resolver configuration as kubelet does:
//
//   - ClusterFirst: the cluster DNS servers only; search
//     "<ns>.svc.<domain> svc.<domain> <domain>" then the node's search
//     domains; options ndots:5. hostNetwork pods fall back to Default.
//   - ClusterFirstWithHostNet: ClusterFirst, for hostNetwork pods too.
//   - Default: the node's resolver configuration.
//   - None: nothing but spec.dnsConfig.
//
// spec.dnsConfig is then merged in (nameservers and searches appended
// without duplicates, options overriding by name), and the result is cut
// to the resolver's limits. Warnings say what was changed, in the words
// of kubelet's DNSConfigForming and MissingClusterDNS events.
func PodDNS(pod *corev1.Pod, cfg DNSConfig) (ResolvConf, []string, error) {
	var warnings []string
	policy := pod.Spec.DNSPolicy
	switch policy {
	case "", corev1.DNSClusterFirst:
		policy = corev1.DNSClusterFirst
		if pod.Spec.HostNetwork {
			policy = corev1.DNSDefault
		}
	case corev1.DNSClusterFirstWithHostNet, corev1.DNSDefault, corev1.DNSNone:
	default:
		warnings = append(warnings, fmt.Sprintf("invalid DNSPolicy=%v, using %q", policy, corev1.DNSClusterFirst))
		policy = corev1.DNSClusterFirst
	}
	if (policy == corev1.DNSClusterFirst || policy == corev1.DNSClusterFirstWithHostNet) && len(cfg.ClusterDNS) == 0 {
		warnings = append(warnings, fmt.Sprintf("kubelet does not have ClusterDNS IP configured and cannot create Pod using %q policy. Falling back to %q policy.", policy, corev1.DNSDefault))
		policy = corev1.DNSDefault
	}

	var conf ResolvConf
	if policy != corev1.DNSNone {
		host, err := hostResolvConf(cfg.HostResolvConf)
		if err != nil {
			return ResolvConf{}, nil, err
		}
		conf = host
	}
	switch policy {
	case corev1.DNSClusterFirst, corev1.DNSClusterFirstWithHostNet:
		conf.Nameservers = append([]string(nil), cfg.ClusterDNS...)
		if d := cfg.ClusterDomain; d != "" {
			cluster := []string{pod.Namespace + ".svc." + d, "svc." + d, d}
			conf.Searches = omitDuplicates(append(cluster, conf.Searches...))
		}
		conf.Options = []string{"ndots:5"}
	case corev1.DNSDefault:
		if cfg.HostResolvConf == "" {
			conf.Nameservers = []string{"127.0.0.1"}
			conf.Searches = []string{"."}
		}
	}

	if dc := pod.Spec.DNSConfig; dc != nil {
		conf.Nameservers = omitDuplicates(append(conf.Nameservers, dc.Nameservers...))
		conf.Searches = omitDuplicates(append(conf.Searches, dc.Searches...))
		var opts []string
		for _, o := range dc.Options {
			if o.Value != nil && *o.Value != "" {
				opts = append(opts, o.Name+":"+*o.Value)
			} else {
				opts = append(opts, o.Name)
			}
		}
		conf.Options = mergeOptions(conf.Options, opts)
	}

	var w []string
	conf.Nameservers, w = fitNameservers(conf.Nameservers)
	warnings = append(warnings, w...)
	conf.Searches, w = fitSearches(conf.Searches)
	warnings = append(warnings, w...)
	return conf, warnings, nil
}

// WriteResolvConf writes the pod's resolv.conf to <podDir>/resolv.conf
// and returns its path, to bind-mount on /etc/resolv.conf, with PodDNS's
// warnings.
func WriteResolvConf(podDir string, pod *corev1.Pod, cfg DNSConfig) (path string, warnings []string, err error) {
	conf, warnings, err := PodDNS(pod, cfg)
	if err != nil {
		return "", nil, err
	}
	path, err = writeInPlace(filepath.Join(podDir, ResolvConfFile), conf.Bytes())
	return path, warnings, err
}

// hostResolvConf reads the node's resolver file; "" reads as empty.
func hostResolvConf(path string) (ResolvConf, error) {
	if path == "" {
		return ResolvConf{}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return ResolvConf{}, fmt.Errorf("reading the node's resolver configuration: %w", err)
	}
	return parseResolvConf(data), nil
}

// parseResolvConf reads nameserver lines (accumulating), the last search
// line (without "." and trailing dots) and options lines (merged by
// name), as kubelet does.
func parseResolvConf(data []byte) ResolvConf {
	var conf ResolvConf
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "nameserver":
			if len(fields) >= 2 {
				conf.Nameservers = append(conf.Nameservers, fields[1])
			}
		case "search":
			conf.Searches = nil
			for _, s := range fields[1:] {
				if s != "." {
					conf.Searches = append(conf.Searches, strings.TrimSuffix(s, "."))
				}
			}
		case "options":
			conf.Options = mergeOptions(conf.Options, fields[1:])
		}
	}
	return conf
}

// mergeOptions adds options ("ndots:2", "rotate") to existing ones; an
// option of the same name replaces the earlier one in place.
func mergeOptions(existing, added []string) []string {
	out := append([]string(nil), existing...)
	index := make(map[string]int, len(out))
	for i, o := range out {
		name, _, _ := strings.Cut(o, ":")
		index[name] = i
	}
	for _, o := range added {
		name, _, _ := strings.Cut(o, ":")
		if i, ok := index[name]; ok {
			out[i] = o
			continue
		}
		index[name] = len(out)
		out = append(out, o)
	}
	return out
}

func omitDuplicates(items []string) []string {
	seen := make(map[string]bool, len(items))
	out := items[:0:0]
	for _, s := range items {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func fitNameservers(ns []string) ([]string, []string) {
	if len(ns) <= maxNameservers {
		return ns, nil
	}
	ns = ns[:maxNameservers]
	return ns, []string{"Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: " + strings.Join(ns, " ")}
}

func fitSearches(searches []string) ([]string, []string) {
	exceeded := false
	if len(searches) > maxSearchPaths {
		searches = searches[:maxSearchPaths]
		exceeded = true
	}
	// Some resolvers (glibc 2.28) abort on a search path over 255
	// characters.
	kept := searches[:0:0]
	for _, s := range searches {
		if len(s) > maxSearchPathLen {
			exceeded = true
			continue
		}
		kept = append(kept, s)
	}
	searches = kept
	for len(searches) > 0 && len(strings.Join(searches, " ")) > maxSearchListChars {
		searches = searches[:len(searches)-1]
		exceeded = true
	}
	if !exceeded {
		return searches, nil
	}
	return searches, []string{"Search Line limits were exceeded, some search paths have been omitted, the applied search line is: " + strings.Join(searches, " ")}
}
