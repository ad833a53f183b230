// Package containerd implements runtime.Runtime on containerd through its
// Go client (containerd/v2 client against a containerd 1.6 or newer
// daemon: images, containers, tasks, events and metrics; neither the
// Transfer nor the Sandbox API).
//
// What lives where:
//
//   - Images are containerd images of the runtime's namespace, unpacked
//     for the snapshotter (overlayfs). Pulls use containerd's docker
//     resolver with the pod's pull secrets; loopback registries are
//     spoken to over plain HTTP. Images of LocalRegistries
//     ("gantry.local") are only ever imported, never pulled.
//   - A sandbox is a directory, StateDir/pods/<uid>, holding sandbox.json
//     (the SandboxConfig), ns/net and ns/ipc (network and IPC namespaces
//     kept alive by bind mounts of nsfs files), and shm (the pod's tmpfs
//     /dev/shm). ListSandboxes reads the directory tree back, so nothing
//     is lost when the agent restarts.
//   - A container is a containerd container (the OCI spec, a snapshot,
//     labels) plus, while it runs, a task. Everything the runtime must
//     remember is a label on the container: runtime.Label* keys for the
//     agent, io.gantry.runtime.* keys for the runtime itself (log file,
//     stop signal, start and exit facts). When a task ends its exit is
//     written into those labels and the task deleted, so exited
//     containers cost no shim and their status outlives restarts of the
//     agent and of containerd.
//   - A container's output goes to a "binary://" logger: gantry-logger
//     (package logger; a small program of its own, since the shim starts
//     one per container), which writes CRI log lines and rotates the file.
//   - Cgroups are cgroupfs paths <CgroupParent>/<container id>; exits by
//     the OOM killer are told from the TaskOOM event and the cgroup's
//     memory.oom_control.
//   - Every exit is recorded once, by whoever sees the stopped task first
//     (the event loop, a sweep after (re)subscribing, StopContainer,
//     ListContainers, ContainerStatus), and that one sends the Exit event.
//
// Not done: attaching to a container's stdin (ContainerConfig.Stdin and
// StdinOnce are ignored; the runtime interface has no attach), seccomp and
// AppArmor profiles (containers run unconfined, as Kubernetes' default
// without SeccompDefault), user namespaces, and removing pod cgroups (the
// parent directories runc creates stay; the pod manager removes them
// through package cgroups).
package containerd
