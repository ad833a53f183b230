// Package streaming serves the agent's side of the Agent service
// (proto/gantry/agent/v1): the API server proxies kubectl logs, exec,
// attach and port-forward to it, one gRPC call per log, exec session or
// forwarded TCP connection.
//
//   - Logs reads the container's log files (see below) and sends the text
//     of the lines the request selects. With follow it polls the newest
//     file, moves on when the log has been rotated, and ends once the
//     container has exited and its log has been read to the end.
//   - Exec runs a command through the runtime, feeding it stdin frames and
//     terminal sizes and sending its output, then one exit message. Attach
//     is not supported (the runtime has no way to join the main process's
//     stdio): it answers Unimplemented.
//   - PortForward connects to 127.0.0.1 (or ::1) at the port inside the
//     pod's network namespace: a goroutine locked to its OS thread enters
//     the namespace, creates and connects the socket, and goes back (the
//     socket stays in the pod's namespace). A thread that cannot go back is
//     never handed back to the Go scheduler. Pods on the host network are
//     reached on the node's loopback.
//
// The runtime writes a container's output in the CRI log format, one
// record a line:
//
//	2016-10-06T00:17:09.669794202Z stdout F text
//
// F ends a line (whose newline is not written), P is a part of a longer
// line; parts are joined per stream. Logs are rotated as path, path.1,
// path.2, ... (path is the newest). A file stays readable after it has been
// renamed, so a reader keeps its open files and, at their end, opens what
// has been rotated in since.
//
// Handlers are adapters: they check the request, ask the PodLookup and the
// runtime, and map errors to gRPC codes once (errors.go): NotFound for an
// unknown pod, uid or container, FailedPrecondition for a container that is
// not running or has no previous instance, InvalidArgument for bad
// requests. Response headers are sent once a call is accepted, so that the
// API server can still turn a refusal into an HTTP error.
//
// Only the API server may call the agent: Authorize checks the common name
// of the caller's verified TLS client certificate.
package streaming
