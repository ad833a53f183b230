package server

import (
	"encoding/json"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"

	"k8s.io/apimachinery/pkg/version"
)

// kubeVersion is the Kubernetes release whose API this server serves: the
// one of the k8s.io/api module it is built with (v0.37.2 → v1.37.2).
func kubeVersion() (major, minor, git string) {
	v := "v0.0.0"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == "k8s.io/api" {
				v = d.Version
			}
		}
	}
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) < 3 {
		return "1", "0", "v1.0.0"
	}
	return "1", parts[1], "v1." + parts[1] + "." + parts[2]
}

func serveVersion(w http.ResponseWriter, r *http.Request) {
	major, minor, git := kubeVersion()
	info := version.Info{
		Major: major, Minor: minor, GitVersion: git + "+gantry",
		GoVersion: runtime.Version(), Compiler: runtime.Compiler,
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(info)
}
