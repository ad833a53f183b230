// Command gantry-scheduler places pending pods on nodes.
package main

import (
	"os"

	"github.com/gantry-dev/gantry/services/scheduler/app"
)

func main() { os.Exit(app.Main(os.Args[1:])) }
