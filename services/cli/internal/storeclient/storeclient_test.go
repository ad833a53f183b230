package storeclient

import (
	"strings"
	"testing"
)

func TestInitialCluster(t *testing.T) {
	for _, tc := range []struct {
		name string
		all  []Member
		self string
		id   uint64
		want string
		err  []string
	}{
		{name: "new member named by self",
			all: []Member{
				{ID: 0x1, Name: "cp1", PeerURLs: []string{"https://10.0.0.1:2380"}},
				{ID: 0x2, PeerURLs: []string{"https://10.0.0.2:2380"}, Learner: true},
			},
			self: "cp2", id: 0x2,
			want: "cp1=https://10.0.0.1:2380,cp2=https://10.0.0.2:2380"},
		{name: "self overrides a name already there",
			all: []Member{
				{ID: 0x2, Name: "old", PeerURLs: []string{"https://10.0.0.2:2380"}},
				{ID: 0x1, Name: "cp1", PeerURLs: []string{"https://10.0.0.1:2380"}},
			},
			self: "cp2", id: 0x2,
			want: "cp2=https://10.0.0.2:2380,cp1=https://10.0.0.1:2380"},
		{name: "several peer URLs",
			all: []Member{
				{ID: 0x1, Name: "cp1", PeerURLs: []string{"https://10.0.0.1:2380", "https://[fd00::1]:2380"}},
				{ID: 0x3, Name: "cp3", PeerURLs: []string{"https://10.0.0.3:2380"}},
				{ID: 0x2, PeerURLs: []string{"https://10.0.0.2:2380", "https://[fd00::2]:2380"}},
			},
			self: "cp2", id: 0x2,
			want: "cp1=https://10.0.0.1:2380,cp1=https://[fd00::1]:2380,cp3=https://10.0.0.3:2380," +
				"cp2=https://10.0.0.2:2380,cp2=https://[fd00::2]:2380"},
		{name: "another member never started",
			all: []Member{
				{ID: 0x1, Name: "cp1", PeerURLs: []string{"https://10.0.0.1:2380"}},
				{ID: 0xabc, PeerURLs: []string{"https://10.0.0.9:2380", "https://10.0.1.9:2380"}, Learner: true},
				{ID: 0x2, PeerURLs: []string{"https://10.0.0.2:2380"}, Learner: true},
			},
			self: "cp2", id: 0x2,
			err: []string{"member abc", "https://10.0.0.9:2380,https://10.0.1.9:2380", "never started", "etcdctl member remove abc"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := InitialCluster(tc.all, tc.self, tc.id)
			if tc.err != nil {
				if err == nil {
					t.Fatalf("InitialCluster = %q; want an error", got)
				}
				for _, s := range tc.err {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("InitialCluster = %q, %v\nwant %q", got, err, tc.want)
			}
		})
	}
}
