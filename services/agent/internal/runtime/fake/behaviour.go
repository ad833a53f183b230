package fake

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// behaviour is how a container acts, read from its FAKE_* variables.
type behaviour struct {
	runFor        time.Duration // with exits
	exits         bool          // on its own, after runFor
	exitCode      int
	oom           bool
	memoryBytes   int64
	cpuMilli      int64
	startError    string
	ignoreSIGTERM bool
	stopExitCode  int
	execExitCode  int
	execOutput    string
	hasExecOutput bool
	log           []string
}

// parseBehaviour reads the FAKE_* variables of env ("NAME=value"); later
// entries win, as in a process environment.
func parseBehaviour(env []string) (behaviour, error) {
	var b behaviour
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "FAKE_") {
			continue
		}
		var err error
		switch name {
		case "FAKE_RUN_FOR":
			b.runFor, err = time.ParseDuration(value)
			if err == nil && b.runFor < 0 {
				err = fmt.Errorf("negative duration")
			}
			b.exits = true
		case "FAKE_EXIT_CODE":
			b.exitCode, err = strconv.Atoi(value)
		case "FAKE_OOM":
			b.oom, err = strconv.ParseBool(value)
		case "FAKE_MEMORY":
			var q resource.Quantity
			q, err = resource.ParseQuantity(value)
			b.memoryBytes = q.Value()
		case "FAKE_CPU":
			var q resource.Quantity
			q, err = resource.ParseQuantity(value)
			b.cpuMilli = q.MilliValue()
		case "FAKE_START_ERROR":
			b.startError = value
		case "FAKE_IGNORE_SIGTERM":
			b.ignoreSIGTERM, err = strconv.ParseBool(value)
		case "FAKE_STOP_EXIT_CODE":
			b.stopExitCode, err = strconv.Atoi(value)
		case "FAKE_EXEC_EXIT_CODE":
			b.execExitCode, err = strconv.Atoi(value)
		case "FAKE_EXEC_OUTPUT":
			b.execOutput, b.hasExecOutput = value, true
		case "FAKE_LOG":
			b.log = strings.Split(strings.ReplaceAll(value, `\n`, "\n"), "\n")
		}
		if err != nil {
			return behaviour{}, fmt.Errorf("%s=%q: %w", name, value, err)
		}
	}
	return b, nil
}

// oomKilled reports whether the container is OOM-killed when it would
// exit (or at once, if it would not exit on its own).
func (b behaviour) oomKilled(memoryLimit int64) bool {
	return b.oom || (memoryLimit > 0 && b.memoryBytes > memoryLimit)
}
