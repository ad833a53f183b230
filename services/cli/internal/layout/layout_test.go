package layout

import "testing"

func TestResolve(t *testing.T) {
	tests := []struct {
		name string
		env  Env
		want Layout
	}{
		{
			name: "root defaults",
			env:  Env{Root: true, Home: "/root", Executable: "/opt/gantry/bin/gantry"},
			want: Layout{StateDir: "/var/lib/gantry", Kubeconfig: "/etc/gantry/admin.kubeconfig", BinDir: "/opt/gantry/bin"},
		},
		{
			name: "root with a data dir keeps the kubeconfig inside it",
			env:  Env{Root: true, DataDir: "/tmp/g", BinDir: "/b", Executable: "/x/gantry"},
			want: Layout{StateDir: "/tmp/g", Kubeconfig: "/tmp/g/admin.kubeconfig", BinDir: "/b"},
		},
		{
			name: "user with XDG_DATA_HOME",
			env:  Env{XDGDataHome: "/home/u/data", Home: "/home/u", Executable: "/home/u/bin/gantry"},
			want: Layout{StateDir: "/home/u/data/gantry", Kubeconfig: "/home/u/data/gantry/admin.kubeconfig", BinDir: "/home/u/bin"},
		},
		{
			name: "user without XDG_DATA_HOME",
			env:  Env{Home: "/home/u", Executable: "/r/bin/gantry"},
			want: Layout{StateDir: "/home/u/.local/share/gantry", Kubeconfig: "/home/u/.local/share/gantry/admin.kubeconfig", BinDir: "/r/bin"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Resolve(tt.env); got != tt.want {
				t.Errorf("Resolve(%+v) = %+v, want %+v", tt.env, got, tt.want)
			}
		})
	}
}

func TestPaths(t *testing.T) {
	l := Layout{StateDir: "/s", BinDir: "/b"}
	for got, want := range map[string]string{
		l.StoreDir():                 "/s/store",
		l.CAFile():                   "/s/pki/ca.crt",
		l.TokensFile():               "/s/pki/tokens.csv",
		l.TokenFile("agent"):         "/s/pki/agent.token",
		l.PIDFile("gantry-store"):    "/s/gantry-store.pid",
		l.LogFile("gantry-store"):    "/s/gantry-store.log",
		l.Binary("gantry-apiserver"): "/b/gantry-apiserver",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
