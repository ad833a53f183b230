// Command gantry-ingress is the cluster's Ingress controller: an HTTP and
// HTTPS reverse proxy serving the Ingresses of its IngressClass.
package main

import (
	"os"

	"github.com/gantry-dev/gantry/services/ingress/internal/app"
)

func main() { os.Exit(app.Main(os.Args[1:])) }
