// Command gantry-logger is the log writer containerd's shim starts for
// each container the agent runs ("gantry-logger logger <options>"): it
// copies the container's stdout and stderr into a CRI-format log file with
// rotation. It is a separate, small program because the shim starts one
// per container, and starting the whole agent for that costs several times
// as much.
package main

import (
	"fmt"
	"os"

	"github.com/gantry-dev/gantry/services/agent/internal/logger"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != logger.Subcommand {
		fmt.Fprintf(os.Stderr, "usage: %s %s <options>\n(started by containerd's shim for gantry-agent)\n", os.Args[0], logger.Subcommand)
		os.Exit(2)
	}
	os.Exit(logger.Main(os.Args[2:]))
}
