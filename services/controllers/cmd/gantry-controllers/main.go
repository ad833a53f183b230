// Command gantry-controllers runs the cluster's control loops.
package main

import (
	"os"

	"github.com/gantry-dev/gantry/services/controllers/internal/app"
)

func main() { os.Exit(app.Main(os.Args[1:])) }
