//go:build !linux

package cluster

import (
	"errors"
	"syscall"
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

// CPUSeconds is only implemented on Linux.
func CPUSeconds(pid int) (float64, error) {
	return 0, errors.New("CPU time: not supported on this system")
}
