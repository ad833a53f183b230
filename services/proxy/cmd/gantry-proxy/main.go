// Command gantry-proxy makes Services work on a node: it programs the
// node's packet filter so ClusterIPs and NodePorts reach ready endpoints,
// and serves cluster DNS.
package main

import (
	"os"

	"github.com/gantry-dev/gantry/services/proxy/internal/app"
)

func main() { os.Exit(app.Main(os.Args[1:])) }
