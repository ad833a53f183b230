// Command gantry manages a Gantry cluster on this host: `gantry up`
// starts a whole cluster, `gantry down` stops it, `gantry status` shows
// its health and `gantry kubectl` runs kubectl against it.
package main

import (
	"os"

	"github.com/gantry-dev/gantry/services/cli/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) }
