// Command custom-scheduler is gantry-scheduler with the example
// LabelPreference plugin registered: enable it in a profile of the
// configuration file (see docs/scheduler.md).
package main

import (
	"os"

	"github.com/gantry-dev/gantry/services/scheduler/app"
	"github.com/gantry-dev/gantry/services/scheduler/examples/labelpreference"
)

func main() {
	os.Exit(app.Main(os.Args[1:], app.WithPlugin(labelpreference.Name, labelpreference.New)))
}
