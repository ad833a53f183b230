package agent

import (
	"strings"
	"testing"
)

func TestCgroupRootFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // CgroupRoot, or the error's text
		ok   bool
	}{
		{nil, "/gantry", true},
		{[]string{"--cgroup-root", "/gantry-node-2"}, "/gantry-node-2", true},
		{[]string{"--cgroup-root", "gantry"}, "--cgroup-root: cgroup parent \"gantry\": not an absolute path", false},
		{[]string{"--cgroup-root", "/"}, "--cgroup-root: cgroup parent \"/\": the root cgroup", false},
		{[]string{"--cgroup-root", "/a/../b"}, "not a clean path", false},
	} {
		c, err := ParseFlags(append([]string{"--hostname-override", "n1"}, tc.args...))
		switch {
		case tc.ok && err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case tc.ok && c.CgroupRoot != tc.want:
			t.Errorf("%v: CgroupRoot %q, want %q", tc.args, c.CgroupRoot, tc.want)
		case !tc.ok && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}
