package containerd

import (
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
)

// Labels the runtime keeps on its containers for itself. ContainerStatus
// reports the others.
const (
	internalPrefix = "io.gantry.runtime."

	labelLogPath     = internalPrefix + "log-path"
	labelLogMaxBytes = internalPrefix + "log-max-bytes"
	labelLogMaxFiles = internalPrefix + "log-max-files"
	labelTTY         = internalPrefix + "tty"
	labelHostPID     = internalPrefix + "host-pid"
	labelStopSignal  = internalPrefix + "stop-signal"
	labelImageID     = internalPrefix + "image-id"
	labelCgroup      = internalPrefix + "cgroup"
	labelStartedAt   = internalPrefix + "started-at"
	labelFinishedAt  = internalPrefix + "finished-at"
	labelExitCode    = internalPrefix + "exit-code"
	labelReason      = internalPrefix + "reason"
	labelMessage     = internalPrefix + "message"
)

// Reasons of an exited container.
const (
	ReasonCompleted  = "Completed"
	ReasonError      = "Error"
	ReasonOOMKilled  = "OOMKilled"
	ReasonStartError = "StartError"
)

// maxMessage bounds a label holding an error message (containerd limits
// a label to 4 KiB).
const maxMessage = 1024

// containerLabels returns the labels a new container is created with.
func containerLabels(sb *runtime.Sandbox, cfg runtime.ContainerConfig, imageID, stopSignal, cgroup string) map[string]string {
	l := maps.Clone(cfg.Labels)
	if l == nil {
		l = map[string]string{}
	}
	l[runtime.LabelPodUID] = sb.PodUID
	l[runtime.LabelPodNamespace] = sb.Namespace
	l[runtime.LabelPodName] = sb.Name
	l[runtime.LabelContainerName] = cfg.Name
	l[runtime.LabelAttempt] = strconv.Itoa(cfg.Attempt)
	if cfg.Init {
		l[runtime.LabelInit] = "true"
	}
	l[labelImageID] = imageID
	l[labelCgroup] = cgroup
	if cfg.LogPath != "" {
		l[labelLogPath] = cfg.LogPath
		if cfg.LogMaxBytes > 0 {
			l[labelLogMaxBytes] = strconv.FormatInt(cfg.LogMaxBytes, 10)
		}
		if cfg.LogMaxFiles > 0 {
			l[labelLogMaxFiles] = strconv.Itoa(cfg.LogMaxFiles)
		}
	}
	if cfg.TTY {
		l[labelTTY] = "true"
	}
	if sb.HostPID {
		l[labelHostPID] = "true"
	}
	if stopSignal != "" {
		l[labelStopSignal] = stopSignal
	}
	return l
}

// exitLabels records how a container ended.
func exitLabels(code int, at time.Time, reason, message string) map[string]string {
	if len(message) > maxMessage {
		message = message[:maxMessage]
	}
	l := map[string]string{
		labelFinishedAt: formatTime(at),
		labelExitCode:   strconv.Itoa(code),
		labelReason:     reason,
	}
	if message != "" {
		l[labelMessage] = message
	}
	return l
}

// publicLabels drops the runtime's own labels.
func publicLabels(l map[string]string) map[string]string {
	out := make(map[string]string, len(l))
	for k, v := range l {
		if !strings.HasPrefix(k, internalPrefix) {
			out[k] = v
		}
	}
	return out
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}
