//go:build !linux

package node

import (
	"errors"

	corev1 "k8s.io/api/core/v1"
)

// HostMachine measures nothing but Linux hosts.
func HostMachine(stateDir string) Machine { return unsupportedMachine{} }

type unsupportedMachine struct{}

var errUnsupported = errors.New("measuring the host is only supported on Linux")

func (unsupportedMachine) Stats() (MachineStats, error) { return MachineStats{}, errUnsupported }

func (unsupportedMachine) SystemInfo() (corev1.NodeSystemInfo, error) {
	return corev1.NodeSystemInfo{}, errUnsupported
}
