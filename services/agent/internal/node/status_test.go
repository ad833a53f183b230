package node

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// images is an ImageLister a test changes.
type images struct{ list []runtime.Image }

func (i *images) ListImages(context.Context) ([]runtime.Image, error) { return i.list, nil }

func TestStatusWrites(t *testing.T) {
	tests := []struct {
		name      string
		change    func(f *fixture, imgs *images)
		after     time.Duration
		wantWrite bool
		check     func(t *testing.T, node *corev1.Node)
	}{
		{name: "nothing changed", after: 10 * time.Second, wantWrite: false},
		{name: "nothing changed for almost 5m", after: 5*time.Minute - time.Second, wantWrite: false},
		{name: "report frequency passed", after: 5 * time.Minute, wantWrite: true},
		{name: "free memory moved but no pressure", after: 10 * time.Second, wantWrite: false,
			change: func(f *fixture, _ *images) { f.machine.set(func(s *MachineStats) { s.MemoryAvailableBytes = 1 << 30 }) }},
		{name: "not ready", after: 10 * time.Second, wantWrite: true,
			change: func(f *fixture, _ *images) { f.ready.set(errors.New("container runtime is down")) },
			check: func(t *testing.T, node *corev1.Node) {
				c := condition(t, node, corev1.NodeReady)
				if c.Status != corev1.ConditionFalse || c.Reason != "KubeletNotReady" || c.Message != "container runtime is down" {
					t.Errorf("Ready = %+v", c)
				}
			}},
		{name: "network not set up", after: 10 * time.Second, wantWrite: true,
			change: func(f *fixture, _ *images) { f.network.set(errors.New("no route to 10.244.1.0/24")) },
			check: func(t *testing.T, node *corev1.Node) {
				c := condition(t, node, corev1.NodeNetworkUnavailable)
				if c.Status != corev1.ConditionTrue || c.Reason != "NoRouteCreated" || c.Message != "no route to 10.244.1.0/24" {
					t.Errorf("NetworkUnavailable = %+v", c)
				}
				r := condition(t, node, corev1.NodeReady)
				if r.Status != corev1.ConditionFalse || r.Message != "network not ready: no route to 10.244.1.0/24" {
					t.Errorf("Ready = %+v", r)
				}
			}},
		{name: "memory pressure", after: 10 * time.Second, wantWrite: true,
			change: func(f *fixture, _ *images) {
				f.machine.set(func(s *MachineStats) { s.MemoryAvailableBytes = 50 << 20 })
			},
			check: func(t *testing.T, node *corev1.Node) {
				c := condition(t, node, corev1.NodeMemoryPressure)
				if c.Status != corev1.ConditionTrue || c.Reason != "KubeletHasInsufficientMemory" || c.Message != "kubelet has insufficient memory available" {
					t.Errorf("MemoryPressure = %+v", c)
				}
			}},
		{name: "disk pressure", after: 10 * time.Second, wantWrite: true,
			change: func(f *fixture, _ *images) { f.machine.set(func(s *MachineStats) { s.DiskAvailableBytes = 5 << 30 }) },
			check: func(t *testing.T, node *corev1.Node) {
				if c := condition(t, node, corev1.NodeDiskPressure); c.Status != corev1.ConditionTrue || c.Reason != "KubeletHasDiskPressure" {
					t.Errorf("DiskPressure = %+v", c)
				}
			}},
		{name: "PID pressure", after: 10 * time.Second, wantWrite: true,
			change: func(f *fixture, _ *images) { f.machine.set(func(s *MachineStats) { s.PIDs = s.PIDMax - 100 }) },
			check: func(t *testing.T, node *corev1.Node) {
				if c := condition(t, node, corev1.NodePIDPressure); c.Status != corev1.ConditionTrue || c.Reason != "KubeletHasInsufficientPID" {
					t.Errorf("PIDPressure = %+v", c)
				}
			}},
		{name: "memory added", after: 10 * time.Second, wantWrite: true,
			change: func(f *fixture, _ *images) { f.machine.set(func(s *MachineStats) { s.MemoryBytes = 16 << 30 }) },
			check: func(t *testing.T, node *corev1.Node) {
				if q := node.Status.Capacity[corev1.ResourceMemory]; q.Cmp(quantity("16Gi")) != 0 {
					t.Errorf("memory capacity = %v", q.String())
				}
			}},
		{name: "an image pulled", after: 10 * time.Second, wantWrite: true,
			change: func(_ *fixture, imgs *images) {
				imgs.list = append(imgs.list, runtime.Image{Name: "docker.io/library/redis:7", ID: "sha256:r", Size: 3 << 20})
			},
			check: func(t *testing.T, node *corev1.Node) {
				if len(node.Status.Images) != 2 || node.Status.Images[1].Names[0] != "docker.io/library/redis:7" {
					t.Errorf("images = %+v", node.Status.Images)
				}
			}},
		{name: "another writer changed Ready", after: 10 * time.Second, wantWrite: true,
			change: func(f *fixture, _ *images) {
				node := f.api.get("node-1")
				for i := range node.Status.Conditions {
					if node.Status.Conditions[i].Type == corev1.NodeReady {
						node.Status.Conditions[i].Status = corev1.ConditionUnknown
					}
				}
				f.api.put(node)
			},
			check: func(t *testing.T, node *corev1.Node) {
				if c := condition(t, node, corev1.NodeReady); c.Status != corev1.ConditionTrue {
					t.Errorf("Ready = %+v, want True again", c)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			imgs := &images{list: []runtime.Image{{Name: "docker.io/library/nginx:1.25", ID: "sha256:n", Size: 50 << 20}}}
			f := newFixture(t, func(c *Config) { c.Images = imgs })
			f.register(t)
			writes := f.api.count("UpdateNodeStatus")
			if tc.change != nil {
				tc.change(f, imgs)
			}
			before := f.api.get("node-1")
			f.clock.Step(tc.after)
			f.syncStatus(t)
			wrote := f.api.count("UpdateNodeStatus") > writes
			if wrote != tc.wantWrite {
				t.Fatalf("status written: %v, want %v", wrote, tc.wantWrite)
			}
			node := f.api.get("node-1")
			if tc.check != nil {
				tc.check(t, node)
			}
			if !wrote {
				return
			}
			// Every condition got a heartbeat; only changed ones a transition.
			now := metav1.NewTime(t0.Add(tc.after))
			for _, c := range node.Status.Conditions {
				if !c.LastHeartbeatTime.Equal(&now) {
					t.Errorf("%s heartbeat = %v, want %v", c.Type, c.LastHeartbeatTime, now)
				}
				old := condition(t, before, c.Type)
				if changed := old.Status != c.Status; changed != c.LastTransitionTime.Equal(&now) {
					t.Errorf("%s went %s → %s with transition time %v", c.Type, old.Status, c.Status, c.LastTransitionTime)
				}
			}
		})
	}
}

func TestStatusConflictIsRetried(t *testing.T) {
	f := newFixture(t)
	f.register(t)
	f.ready.set(errors.New("not yet"))
	f.api.statusConflicts = 2
	gets := f.api.count("GetNode")
	f.syncStatus(t)
	if got := f.api.count("UpdateNodeStatus"); got != 4 { // 1 at registration, 3 now
		t.Errorf("%d status writes, want 4", got)
	}
	if got := f.api.count("GetNode") - gets; got != 3 {
		t.Errorf("%d gets, want 3 (one, then one per conflict)", got)
	}
	if c := condition(t, f.api.get("node-1"), corev1.NodeReady); c.Status != corev1.ConditionFalse {
		t.Errorf("Ready = %+v", c)
	}

	f.api.statusConflicts = statusRetries
	f.ready.set(nil)
	if err := f.n.syncStatus(t.Context()); err == nil {
		t.Errorf("syncStatus succeeded through %d conflicts", statusRetries)
	}
}

func TestStatusWhileAPIServerAway(t *testing.T) {
	f := newFixture(t)
	f.register(t)
	f.api.setDown(true)
	f.ready.set(errors.New("runtime down"))
	if err := f.n.syncStatus(t.Context()); err == nil {
		t.Fatal("syncStatus with the API server away succeeded")
	}
	if f.n.Node() == nil || f.n.PodCIDR() != "10.244.9.0/24" {
		t.Errorf("the node forgot what it knew: %v, %q", f.n.Node(), f.n.PodCIDR())
	}
	f.api.setDown(false)
	f.clock.Step(time.Second)
	f.syncStatus(t)
	if c := condition(t, f.api.get("node-1"), corev1.NodeReady); c.Status != corev1.ConditionFalse {
		t.Errorf("Ready = %+v", c)
	}
}

func TestPodCIDR(t *testing.T) {
	f := newFixture(t)
	if got := f.n.PodCIDR(); got != "10.244.9.0/24" {
		t.Errorf("PodCIDR before registration = %q, want the flag's", got)
	}
	f.register(t)
	if got := f.n.PodCIDR(); got != "10.244.9.0/24" {
		t.Errorf("PodCIDR = %q, want the flag's", got)
	}
	// The node IPAM controller assigns one.
	node := f.api.get("node-1")
	node.Spec.PodCIDR, node.Spec.PodCIDRs = "10.244.1.0/24", []string{"10.244.1.0/24"}
	f.api.put(node)
	f.clock.Step(10 * time.Second)
	f.syncStatus(t)
	if got := f.n.PodCIDR(); got != "10.244.1.0/24" {
		t.Errorf("PodCIDR = %q, want spec.podCIDR", got)
	}
	if got := f.n.Node().Spec.PodCIDR; got != "10.244.1.0/24" {
		t.Errorf("Node().Spec.PodCIDR = %q", got)
	}
}

func TestPressureTransitionPeriod(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.PressureTransitionPeriod = time.Minute })
	f.register(t)
	f.machine.set(func(s *MachineStats) { s.MemoryAvailableBytes = 10 << 20 })
	f.clock.Step(10 * time.Second)
	f.syncStatus(t)
	f.machine.set(func(s *MachineStats) { s.MemoryAvailableBytes = 4 << 30 })
	for _, tc := range []struct {
		after time.Duration
		want  corev1.ConditionStatus
	}{
		{10 * time.Second, corev1.ConditionTrue},
		{49 * time.Second, corev1.ConditionTrue},
		{time.Second, corev1.ConditionFalse}, // a minute after it was last seen
	} {
		f.clock.Step(tc.after)
		f.syncStatus(t)
		if c := condition(t, f.api.get("node-1"), corev1.NodeMemoryPressure); c.Status != tc.want {
			t.Errorf("at %v MemoryPressure = %s, want %s", f.clock.Since(t0), c.Status, tc.want)
		}
	}
}

func TestResources(t *testing.T) {
	stats := MachineStats{CPUs: 8, MemoryBytes: 16 << 30, DiskBytes: 200 << 30}
	rl := func(kv ...string) corev1.ResourceList {
		out := corev1.ResourceList{}
		for i := 0; i < len(kv); i += 2 {
			out[corev1.ResourceName(kv[i])] = quantity(kv[i+1])
		}
		return out
	}
	tests := []struct {
		name                      string
		stats                     MachineStats
		cfg                       Config
		wantCapacity, wantAllocat corev1.ResourceList
	}{
		{name: "eviction thresholds only", stats: stats, cfg: Config{MaxPods: 110},
			wantCapacity: rl("cpu", "8", "memory", "16Gi", "ephemeral-storage", "200Gi", "pods", "110"),
			wantAllocat:  rl("cpu", "8", "memory", "16284Mi", "ephemeral-storage", "180Gi", "pods", "110")},
		{name: "reserved", stats: stats,
			cfg:          Config{MaxPods: 110, Reserved: rl("cpu", "500m", "memory", "1Gi", "ephemeral-storage", "10Gi")},
			wantCapacity: rl("cpu", "8", "memory", "16Gi", "ephemeral-storage", "200Gi", "pods", "110"),
			wantAllocat:  rl("cpu", "7500m", "memory", "15260Mi", "ephemeral-storage", "170Gi", "pods", "110")},
		{name: "no thresholds", stats: stats,
			cfg:          Config{MaxPods: 50, Reserved: rl("cpu", "1"), Thresholds: Thresholds{MemoryAvailable: quantity("-1"), DiskAvailable: -1}},
			wantCapacity: rl("cpu", "8", "memory", "16Gi", "ephemeral-storage", "200Gi", "pods", "50"),
			wantAllocat:  rl("cpu", "7", "memory", "16Gi", "ephemeral-storage", "200Gi", "pods", "50")},
		{name: "simulated node", stats: stats,
			cfg:          Config{MaxPods: 110, Capacity: rl("cpu", "32", "memory", "128Gi", "nvidia.com/gpu", "2")},
			wantCapacity: rl("cpu", "32", "memory", "128Gi", "ephemeral-storage", "200Gi", "pods", "110", "nvidia.com/gpu", "2"),
			wantAllocat:  rl("cpu", "32", "memory", "130972Mi", "ephemeral-storage", "180Gi", "pods", "110", "nvidia.com/gpu", "2")},
		{name: "reservation larger than the machine", stats: MachineStats{CPUs: 1},
			cfg:          Config{MaxPods: 110, Reserved: rl("cpu", "2")},
			wantCapacity: rl("cpu", "1", "pods", "110"),
			wantAllocat:  rl("cpu", "0", "pods", "110")},
		{name: "machine unknown", cfg: Config{MaxPods: 110},
			wantCapacity: rl("pods", "110"), wantAllocat: rl("pods", "110")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Thresholds.setDefaults()
			capacity, allocatable := resources(tc.stats, &tc.cfg)
			if !equality.Semantic.DeepEqual(capacity, tc.wantCapacity) {
				t.Errorf("capacity = %v, want %v", capacity, tc.wantCapacity)
			}
			if !equality.Semantic.DeepEqual(allocatable, tc.wantAllocat) {
				t.Errorf("allocatable = %v, want %v", allocatable, tc.wantAllocat)
			}
		})
	}
}

func TestUnderPressure(t *testing.T) {
	var th Thresholds
	th.setDefaults()
	tests := []struct {
		name               string
		edit               func(*MachineStats)
		memory, disk, pids bool
	}{
		{name: "healthy"},
		{name: "memory just enough", edit: func(s *MachineStats) { s.MemoryAvailableBytes = 100 << 20 }},
		{name: "memory short", edit: func(s *MachineStats) { s.MemoryAvailableBytes = 100<<20 - 1 }, memory: true},
		{name: "disk under 10%", edit: func(s *MachineStats) { s.DiskAvailableBytes = 9 << 30 }, disk: true},
		{name: "inodes under 5%", edit: func(s *MachineStats) { s.InodesFree = 40_000 }, disk: true},
		{name: "PIDs under 5%", edit: func(s *MachineStats) { s.PIDMax, s.PIDs = 32768, 31200 }, pids: true},
		{name: "nothing measured", edit: func(s *MachineStats) { *s = MachineStats{} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := healthyStats()
			if tc.edit != nil {
				tc.edit(&s)
			}
			m, d, p := underPressure(s, th)
			if m != tc.memory || d != tc.disk || p != tc.pids {
				t.Errorf("pressure = memory %v, disk %v, pid %v; want %v, %v, %v", m, d, p, tc.memory, tc.disk, tc.pids)
			}
		})
	}
}

func TestNodeImages(t *testing.T) {
	var many []runtime.Image
	for i := range 60 {
		many = append(many, runtime.Image{Name: string(rune('a'+i%26)) + string(rune('a'+i/26)), ID: "sha256:" + string(rune('A'+i)), Size: int64(i)})
	}
	tests := []struct {
		name string
		in   []runtime.Image
		want []corev1.ContainerImage
	}{
		{name: "none", in: nil, want: []corev1.ContainerImage{}},
		{name: "names of one ID together, largest first", in: []runtime.Image{
			{Name: "b:1", ID: "sha256:b", Size: 10},
			{Name: "a:latest", ID: "sha256:a", Size: 20},
			{Name: "a:1", ID: "sha256:a", Size: 20},
		}, want: []corev1.ContainerImage{
			{Names: []string{"a:1", "a:latest"}, SizeBytes: 20},
			{Names: []string{"b:1"}, SizeBytes: 10},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := nodeImages(tc.in); !equality.Semantic.DeepEqual(got, tc.want) || got == nil {
				t.Errorf("nodeImages = %+v, want %+v", got, tc.want)
			}
		})
	}
	got := nodeImages(many)
	if len(got) != maxImages || got[0].SizeBytes != 59 {
		t.Errorf("nodeImages of 60 = %d images starting at size %d, want %d starting at 59", len(got), got[0].SizeBytes, maxImages)
	}
}

func TestMachineMeasurementFails(t *testing.T) {
	f := newFixture(t)
	f.register(t)
	writes := f.api.count("UpdateNodeStatus")
	// statfs fails: the disk keeps its last measurement; memory is new.
	f.machine.set(func(s *MachineStats) {
		s.DiskBytes, s.DiskAvailableBytes, s.MemoryAvailableBytes = 0, 0, 10<<20
	})
	f.machine.err = errors.New("statfs /var/lib/gantry: permission denied")
	f.clock.Step(10 * time.Second)
	f.syncStatus(t)
	node := f.api.get("node-1")
	if q := node.Status.Capacity[corev1.ResourceEphemeralStorage]; q.Cmp(quantity("100Gi")) != 0 {
		t.Errorf("ephemeral-storage = %s, want the last measurement", q.String())
	}
	if c := condition(t, node, corev1.NodeDiskPressure); c.Status != corev1.ConditionFalse {
		t.Errorf("DiskPressure = %+v", c)
	}
	if c := condition(t, node, corev1.NodeMemoryPressure); c.Status != corev1.ConditionTrue {
		t.Errorf("MemoryPressure = %+v, want True from the new measurement", c)
	}
	if got := f.api.count("UpdateNodeStatus"); got != writes+1 {
		t.Errorf("%d status writes, want %d", got, writes+1)
	}
}
