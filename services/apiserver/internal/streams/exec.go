package streams

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	agentv1 "github.com/gantry-dev/gantry/proto/gantry/agent/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/remotecommand"
)

// closeGrace is how long the server waits, after the final status, for
// the client to close the connection before it closes it itself.
const closeGrace = 5 * time.Second

// execClient is the client's end of an exec session, over a WebSocket or
// SPDY. Only one goroutine writes (stdout, stderr, finish).
type execClient interface {
	// readInput hands the client's stdin, its end and terminal sizes to
	// send, and returns when the client's connection is gone.
	readInput(send func(*agentv1.ExecInput) error)
	stdout(p []byte) error
	stderr(p []byte) error
	// finish sends the final status and ends the output streams.
	finish(st metav1.Status)
	// close closes the connection.
	close()
}

// serveExec answers pods/{name}/exec and pods/{name}/attach.
func (h *Handler) serveExec(w http.ResponseWriter, r *http.Request, req request) error {
	attach := req.subresource == "attach"
	opts, err := execOptions(r.URL.Query(), attach)
	if err != nil {
		return err
	}
	upgrade, err := h.execUpgrader(r, opts)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	pod, err := h.scheduledPod(ctx, req)
	if err != nil {
		return err
	}
	container, err := podContainer(pod, opts.Container)
	if err != nil {
		return err
	}
	agent, err := h.dialAgent(ctx, pod)
	if err != nil {
		return err
	}
	defer agent.close()
	call, err := startExec(ctx, agent, execStart(pod, container, opts, attach))
	if err != nil {
		return err
	}
	client, err := upgrade(w, r)
	if err != nil {
		// The upgrader has answered the request or the connection is gone.
		h.log.Debug("exec upgrade failed", "pod", req.namespace+"/"+req.name, "err", err)
		return nil
	}
	relayExec(call, client, agent.node, cancel)
	return nil
}

func execStart(pod *corev1.Pod, container string, opts *corev1.PodExecOptions, attach bool) *agentv1.ExecStart {
	return &agentv1.ExecStart{
		Pod:       podRef(pod),
		Container: container,
		Command:   opts.Command,
		Attach:    attach,
		Stdin:     opts.Stdin,
		Stdout:    opts.Stdout,
		Stderr:    opts.Stderr,
		Tty:       opts.TTY,
	}
}

// startExec opens the Exec call and waits until the agent runs the
// process, so that its refusal is still an HTTP error.
func startExec(ctx context.Context, agent *agent, start *agentv1.ExecStart) (agentv1.Agent_ExecClient, error) {
	call, err := agent.Exec(ctx)
	if err != nil {
		return nil, agentError(agent.node, err)
	}
	// A failed Send reports io.EOF; the call's status comes from accepted.
	_ = call.Send(&agentv1.ExecInput{Input: &agentv1.ExecInput_Start{Start: start}})
	err = accepted(call, new(agentv1.ExecOutput))
	if errors.Is(err, io.EOF) {
		err = errors.New("the agent ended the exec call without starting the process")
	}
	if err != nil {
		return nil, agentError(agent.node, err)
	}
	return call, nil
}

// relayExec bridges the client and the agent until the process ends or
// the client goes away (cancel then ends the call).
func relayExec(call agentv1.Agent_ExecClient, client execClient, node string, cancel context.CancelFunc) {
	inputDone := make(chan struct{})
	go func() {
		defer close(inputDone)
		client.readInput(serialSend(call))
		cancel()
	}()
	client.finish(relayOutput(call, client, node))
	select {
	case <-inputDone:
	case <-time.After(closeGrace):
	}
	client.close()
	cancel()
	<-inputDone
}

// serialSend lets several input goroutines share one gRPC send side.
func serialSend(call agentv1.Agent_ExecClient) func(*agentv1.ExecInput) error {
	var mu sync.Mutex
	return func(in *agentv1.ExecInput) error {
		mu.Lock()
		defer mu.Unlock()
		return call.Send(in)
	}
}

// relayOutput copies the process's output to the client and returns the
// status that ends the session.
func relayOutput(call agentv1.Agent_ExecClient, client execClient, node string) metav1.Status {
	for {
		out, err := call.Recv()
		if errors.Is(err, io.EOF) {
			err = apierrors.NewInternalError(errors.New("the agent ended the exec session without an exit status"))
		}
		if err != nil {
			return statusOf(agentError(node, err))
		}
		switch o := out.GetOutput().(type) {
		case *agentv1.ExecOutput_Stdout:
			err = client.stdout(o.Stdout)
		case *agentv1.ExecOutput_Stderr:
			err = client.stderr(o.Stderr)
		case *agentv1.ExecOutput_Exit:
			return exitStatus(o.Exit)
		}
		if err != nil {
			// The client is gone: nobody reads what follows.
			return statusOf(err)
		}
	}
}

// exitStatus is the status kubectl turns into its exit code: Success, or
// Failure with reason NonZeroExitCode and the code as an ExitCode cause.
func exitStatus(exit *agentv1.ExecExit) metav1.Status {
	switch {
	case exit.GetError() != "":
		return statusOf(apierrors.NewInternalError(fmt.Errorf("error executing command in container: %s", exit.GetError())))
	case exit.GetCode() == 0:
		return metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess}
	}
	return metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure,
		Reason:   remotecommand.NonZeroExitCodeReason,
		Message:  fmt.Sprintf("command terminated with non-zero exit code: exit status %d", exit.GetCode()),
		Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{
			{Type: remotecommand.ExitCodeCauseType, Message: strconv.Itoa(int(exit.GetCode()))},
		}},
	}
}

// terminalSize is a resize message, JSON {"Width":w,"Height":h}.
type terminalSize struct{ Width, Height uint16 }

func stdinInput(p []byte) *agentv1.ExecInput {
	return &agentv1.ExecInput{Input: &agentv1.ExecInput_Stdin{Stdin: p}}
}

func closeStdinInput() *agentv1.ExecInput {
	return &agentv1.ExecInput{Input: &agentv1.ExecInput_CloseStdin{CloseStdin: true}}
}

func resizeInput(size terminalSize) *agentv1.ExecInput {
	return &agentv1.ExecInput{Input: &agentv1.ExecInput_Resize{
		Resize: &agentv1.TerminalSize{Width: uint32(size.Width), Height: uint32(size.Height)},
	}}
}
