package agent

import (
	"context"
	"os"
	"path/filepath"

	"github.com/gantry-dev/gantry/services/agent/internal/podfiles"
	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	"github.com/gantry-dev/gantry/services/agent/internal/volumes"
	corev1 "k8s.io/api/core/v1"
)

// podVolumes joins the volume manager and the pod files for the workers.
type podVolumes struct {
	vm  *volumes.Manager
	dns podfiles.DNSConfig
}

func (v podVolumes) Setup(ctx context.Context, pod *corev1.Pod, podDir string) (map[string]string, error) {
	return v.vm.Setup(ctx, pod, podDir)
}

func (v podVolumes) Mounts(pod *corev1.Pod, c *corev1.Container, paths map[string]string, env []string) ([]runtime.Mount, error) {
	return v.vm.Mounts(pod, c, paths, env)
}

func (v podVolumes) Refresh(ctx context.Context, pod *corev1.Pod, podDir string) error {
	return v.vm.Refresh(ctx, pod, podDir)
}

func (v podVolumes) Teardown(ctx context.Context, pod *corev1.Pod, podDir string) error {
	return v.vm.Teardown(podDir)
}

// PodFiles writes /etc/hosts, /etc/resolv.conf and /etc/hostname for the
// pod's containers (host-network pods keep the node's hosts file).
func (v podVolumes) PodFiles(pod *corev1.Pod, podDir string, ips []string) ([]runtime.Mount, error) {
	var mounts []runtime.Mount
	if !pod.Spec.HostNetwork {
		hosts, err := podfiles.WriteEtcHosts(podDir, pod, ips, v.dns)
		if err != nil {
			return nil, err
		}
		mounts = append(mounts, runtime.Mount{HostPath: hosts, ContainerPath: "/etc/hosts"})
	}
	resolv, _, err := podfiles.WriteResolvConf(podDir, pod, v.dns)
	if err != nil {
		return nil, err
	}
	mounts = append(mounts, runtime.Mount{HostPath: resolv, ContainerPath: "/etc/resolv.conf"})
	hostname, _, err := podfiles.HostnameAndDomain(pod, v.dns.ClusterDomain)
	if err != nil {
		return nil, err
	}
	hp := filepath.Join(podDir, "hostname")
	if err := os.WriteFile(hp, []byte(hostname+"\n"), 0o644); err != nil {
		return nil, err
	}
	mounts = append(mounts, runtime.Mount{HostPath: hp, ContainerPath: "/etc/hostname"})
	return mounts, nil
}
