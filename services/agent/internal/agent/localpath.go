package agent

import (
	"context"
	"time"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/agent/internal/localpath"
)

// cleanLocalPaths removes the directories of deleted local-path volumes
// of the nodes served (hostname → node name): on disk for a real node,
// only their finalizers for simulated ones.
func (a *Agent) cleanLocalPaths(ctx context.Context, nodes map[string]string, onDisk bool) error {
	inf := client.NewInformer(client.PersistentVolumes(a.client), "", 10*time.Minute, nil, nil)
	c, err := localpath.New(localpath.Config{
		Volumes: inf, API: localpath.ClientAPI(a.client), Nodes: nodes, OnDisk: onDisk, Log: a.cfg.Log,
	})
	if err != nil {
		return err
	}
	go inf.Run(ctx.Done())
	return c.Run(ctx)
}
