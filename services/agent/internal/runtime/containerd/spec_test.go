package containerd

import (
	"slices"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
)

func TestProcessArgs(t *testing.T) {
	img := ocispec.ImageConfig{Entrypoint: []string{"/entry"}, Cmd: []string{"cmd-arg"}}
	tests := []struct {
		name          string
		img           ocispec.ImageConfig
		command, args []string
		want          []string
	}{
		{"image defaults", img, nil, nil, []string{"/entry", "cmd-arg"}},
		{"args replace cmd", img, nil, []string{"a"}, []string{"/entry", "a"}},
		{"command replaces both", img, []string{"/bin/x"}, nil, []string{"/bin/x"}},
		{"command and args", img, []string{"/bin/x"}, []string{"a"}, []string{"/bin/x", "a"}},
		{"cmd only image", ocispec.ImageConfig{Cmd: []string{"sh"}}, nil, nil, []string{"sh"}},
		{"args without entrypoint", ocispec.ImageConfig{Cmd: []string{"sh"}}, nil, []string{"echo"}, []string{"echo"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := processArgs(tc.img, tc.command, tc.args)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, %v, want %q", got, err, tc.want)
			}
		})
	}
	if _, err := processArgs(ocispec.ImageConfig{}, nil, nil); err == nil {
		t.Fatal("no command accepted")
	}
}

func TestCapabilities(t *testing.T) {
	tests := []struct {
		name      string
		add, drop []string
		has, lack []string
		count     int
	}{
		{name: "default", has: []string{"CAP_CHOWN", "CAP_NET_RAW", "CAP_KILL"}, lack: []string{"CAP_SYS_ADMIN", "CAP_NET_ADMIN"}, count: 14},
		{name: "add", add: []string{"NET_ADMIN", "CAP_SYS_TIME"}, has: []string{"CAP_NET_ADMIN", "CAP_SYS_TIME", "CAP_CHOWN"}, count: 16},
		{name: "drop", drop: []string{"net_raw", "CAP_KILL"}, lack: []string{"CAP_NET_RAW", "CAP_KILL"}, count: 12},
		{name: "drop all add one", drop: []string{"ALL"}, add: []string{"NET_BIND_SERVICE"}, has: []string{"CAP_NET_BIND_SERVICE"}, count: 1},
		{name: "add all", add: []string{"ALL"}, has: []string{"CAP_SYS_ADMIN", "CAP_CHOWN"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := capabilities(tc.add, tc.drop)
			for _, c := range tc.has {
				if !slices.Contains(got, c) {
					t.Errorf("%v lacks %s", got, c)
				}
			}
			for _, c := range tc.lack {
				if slices.Contains(got, c) {
					t.Errorf("%v has %s", got, c)
				}
			}
			if tc.count > 0 && len(got) != tc.count {
				t.Errorf("%d capabilities %v, want %d", len(got), got, tc.count)
			}
		})
	}
}

func TestContainerMounts(t *testing.T) {
	sb := &runtime.Sandbox{Dir: "/state/pods/u"}
	got, err := containerMounts(sb, []runtime.Mount{
		{HostPath: "/h/b", ContainerPath: "/data/sub", ReadOnly: true},
		{HostPath: "/h/a", ContainerPath: "/data/", Propagation: "rslave"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var dests []string
	for _, m := range got {
		dests = append(dests, m.Destination)
	}
	if !slices.Equal(dests, []string{"/data", "/dev/shm", "/data/sub"}) {
		t.Fatalf("order %v: parents must come before children", dests)
	}
	if got[1].Source != "/state/pods/u/shm" || !slices.Contains(got[2].Options, "ro") || !slices.Contains(got[0].Options, "rslave") {
		t.Fatalf("mounts %+v", got)
	}
	for _, bad := range []runtime.Mount{
		{HostPath: "/h", ContainerPath: "relative"},
		{HostPath: "relative", ContainerPath: "/x"},
		{HostPath: "/h", ContainerPath: "/x", Propagation: "shared-ish"},
	} {
		if _, err := containerMounts(sb, []runtime.Mount{bad}); err == nil {
			t.Errorf("mount %+v accepted", bad)
		}
	}
}
