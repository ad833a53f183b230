package integration

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/integration/cluster"
)

func TestMain(m *testing.M) {
	code := m.Run()
	cluster.RemoveBuilt()
	os.Exit(code)
}

// startCluster starts a cluster of the flavor named by $GANTRY_STORE_FLAVOR.
func startCluster(t *testing.T, members int) *cluster.Cluster {
	t.Helper()
	flavor, err := cluster.FlavorFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	return cluster.Start(t, cluster.Options{Flavor: flavor, Members: members})
}

// testContext returns a context that ends with the test or after d.
func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it returns nil or the deadline passes.
func eventually(t *testing.T, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not true after %v: %v", timeout, err)
		}
		<-tick.C
	}
}
