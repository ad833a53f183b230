package app

import (
	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
	"github.com/gantry-dev/gantry/services/controllers/internal/cronjob"
	"github.com/gantry-dev/gantry/services/controllers/internal/csrapproving"
	"github.com/gantry-dev/gantry/services/controllers/internal/csrsigning"
	"github.com/gantry-dev/gantry/services/controllers/internal/daemonset"
	"github.com/gantry-dev/gantry/services/controllers/internal/deployment"
	"github.com/gantry-dev/gantry/services/controllers/internal/endpoints"
	"github.com/gantry-dev/gantry/services/controllers/internal/endpointslice"
	"github.com/gantry-dev/gantry/services/controllers/internal/garbagecollector"
	"github.com/gantry-dev/gantry/services/controllers/internal/job"
	"github.com/gantry-dev/gantry/services/controllers/internal/namespace"
	"github.com/gantry-dev/gantry/services/controllers/internal/nodeipam"
	"github.com/gantry-dev/gantry/services/controllers/internal/nodelifecycle"
	"github.com/gantry-dev/gantry/services/controllers/internal/podgc"
	"github.com/gantry-dev/gantry/services/controllers/internal/replicaset"
	"github.com/gantry-dev/gantry/services/controllers/internal/serviceaccount"
	"github.com/gantry-dev/gantry/services/controllers/internal/statefulset"
	"github.com/gantry-dev/gantry/services/controllers/internal/volume"
)

// constructor builds a controller from the shared context: it adds its
// informer handlers, and its Run starts once the informers are running.
// A nil Runnable means there is nothing to run with these options.
type constructor func(*controller.Context) (controller.Runnable, error)

type entry struct {
	name      string
	new       constructor
	byDefault bool
}

// controllers are every control loop, by their kube-controller-manager
// names (--controllers).
var controllers = []entry{
	{"replicaset", replicaset.New, true},
	{"deployment", deployment.New, true},
	{"daemonset", daemonset.New, true},
	{"statefulset", statefulset.New, true},
	{"job", job.New, true},
	{"ttl-after-finished", job.NewTTLAfterFinished, true},
	{"cronjob", cronjob.New, true},
	{"endpointslice", endpointslice.New, true},
	{"endpoint", endpoints.New, true},
	{"nodelifecycle", nodelifecycle.New, true},
	{"nodeipam", nodeipam.New, true},
	{"podgc", podgc.New, true},
	{"namespace", namespace.New, true},
	{"garbagecollector", garbagecollector.New, true},
	{"serviceaccount", serviceaccount.New, true},
	{"csrapproving", csrapproving.New, true},
	{"csrsigning", csrsigning.New, true},
	{"persistentvolume-binder", volume.NewBinder, true},
	{"local-path-provisioner", volume.NewLocalPathProvisioner, true},
}

func knownNames() []string {
	names := make([]string, len(controllers))
	for i, e := range controllers {
		names[i] = e.name
	}
	return names
}
