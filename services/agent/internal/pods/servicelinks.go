package pods

import (
	"context"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// serviceLinks are the Docker-link style variables Kubernetes gives every
// container: KUBERNETES_SERVICE_HOST and _PORT always (from
// default/kubernetes), and those of every Service of the pod's namespace
// when enableServiceLinks is on (the default). Headless Services and
// Services without a ClusterIP give none.
func (w *worker) serviceLinks(ctx context.Context, pod *corev1.Pod) []string {
	byName := map[string]corev1.Service{}
	if pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks {
		svcs, err := w.m.cfg.API.Services(ctx, pod.Namespace)
		if err != nil {
			w.log.Warn("listing services for service links", "err", err)
		}
		for _, s := range svcs {
			byName[s.Name] = s
		}
	}
	if svcs, err := w.m.cfg.API.Services(ctx, metav1Default); err == nil {
		for _, s := range svcs {
			if s.Name == "kubernetes" {
				byName["kubernetes"] = s
			}
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []string
	for _, n := range names {
		out = append(out, linkVars(byName[n])...)
	}
	return out
}

const metav1Default = "default"

func linkVars(s corev1.Service) []string {
	ip := s.Spec.ClusterIP
	if ip == "" || ip == corev1.ClusterIPNone || len(s.Spec.Ports) == 0 {
		return nil
	}
	prefix := strings.ToUpper(strings.ReplaceAll(s.Name, "-", "_"))
	first := s.Spec.Ports[0]
	out := []string{
		prefix + "_SERVICE_HOST=" + ip,
		prefix + "_SERVICE_PORT=" + strconv.Itoa(int(first.Port)),
		prefix + "_PORT=" + portURL(first, ip),
	}
	for _, p := range s.Spec.Ports {
		if p.Name != "" {
			out = append(out, prefix+"_SERVICE_PORT_"+strings.ToUpper(strings.ReplaceAll(p.Name, "-", "_"))+"="+strconv.Itoa(int(p.Port)))
		}
		proto := strings.ToUpper(string(p.Protocol))
		if proto == "" {
			proto = "TCP"
		}
		base := prefix + "_PORT_" + strconv.Itoa(int(p.Port)) + "_" + proto
		out = append(out,
			base+"="+portURL(p, ip),
			base+"_PROTO="+strings.ToLower(proto),
			base+"_PORT="+strconv.Itoa(int(p.Port)),
			base+"_ADDR="+ip,
		)
	}
	return out
}

func portURL(p corev1.ServicePort, ip string) string {
	proto := strings.ToLower(string(p.Protocol))
	if proto == "" {
		proto = "tcp"
	}
	return proto + "://" + ip + ":" + strconv.Itoa(int(p.Port))
}
