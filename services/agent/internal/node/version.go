package node

import (
	"runtime/debug"
	"strings"
)

// kubeVersion is the Kubernetes release of the k8s.io/api module the
// agent is built with (v0.37.2 → "v1.37.2+gantry"): the version the API
// server, built from the same workspace, serves.
func kubeVersion() string {
	v := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == "k8s.io/api" {
				v = d.Version
			}
		}
	}
	return kubeVersionOf(v)
}

func kubeVersionOf(apiModule string) string {
	parts := strings.SplitN(strings.TrimPrefix(apiModule, "v"), ".", 3)
	if len(parts) < 3 {
		return "v1.0.0+gantry"
	}
	return "v1." + parts[1] + "." + parts[2] + "+gantry"
}
