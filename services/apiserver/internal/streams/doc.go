// Package streams serves the pod subresources that stream between a client
// and the node a pod runs on: log, exec, attach and portforward. For each
// request it reads the pod and its node, dials the node's agent over gRPC
// with mutual TLS (a Dialer; NodeDialer by default) and bridges the client's
// protocol to the Agent service of proto/gantry/agent/v1:
//
//   - log: a plain-text response, flushed per chunk while following; one
//     Agent.Logs call.
//   - exec and attach: a WebSocket with subprotocol v5.channel.k8s.io (or
//     v4) as kubectl >= 1.30 speaks it, or SPDY/3.1 with v4.channel.k8s.io as
//     older clients do; one Agent.Exec call per session.
//   - portforward: SPDY/3.1 with portforward.k8s.io, either on the upgraded
//     HTTP connection or tunnelled in a WebSocket (subprotocol
//     SPDY/3.1+portforward.k8s.io, kubectl >= 1.31); one Agent.PortForward
//     call per forwarded connection.
//
// Remote command channels (WebSocket): every binary message starts with a
// channel byte: 0 stdin, 1 stdout, 2 stderr, 3 error (one metav1.Status at
// the end: Success, or Failure with reason NonZeroExitCode and an ExitCode
// cause), 4 resize (JSON {"Width":w,"Height":h}); v5 adds 255 followed by a
// channel byte, the client's close of that channel (stdin EOF). Over SPDY the
// same channels are separate streams named by their streamType header.
//
// Port forwarding: the client opens two SPDY streams per local connection,
// an error stream and a data stream, with the same port and requestID
// headers. Bytes of the data stream go to the pod's port and back; a failure
// is written as text on the error stream, which the server then closes.
//
// Errors before a response is sent are metav1.Status bodies with the codes
// and messages of Kubernetes; errors of the agent (gRPC status codes) are
// mapped once, in errors.go.
package streams
