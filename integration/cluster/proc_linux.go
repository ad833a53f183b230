package cluster

import "syscall"

// sysProcAttr puts a member in its own process group, so a Ctrl-C at the
// terminal reaches only our process (which then closes the cluster), and has
// the kernel kill it if we die without cleaning up.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
