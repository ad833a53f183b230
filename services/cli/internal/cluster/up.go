package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/services/cli/internal/kubeconfig"
	"github.com/gantry-dev/gantry/services/cli/internal/proc"
	"github.com/gantry-dev/gantry/services/cli/internal/steps"
	"github.com/gantry-dev/gantry/services/cli/internal/tokens"
)

// tailLines is how much of a failed daemon's log an error shows.
const tailLines = 40

// DaemonError says which daemon failed, how, and what its log says.
type DaemonError struct {
	Name   string
	PID    int
	Reason string // "exited: exit status 1", "not ready after 60s: ..."
	Log    string
	Tail   []string
	Hint   string // what to do next, if anything
}

func (e *DaemonError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", e.Name)
	if e.PID > 0 {
		fmt.Fprintf(&b, " (pid %d)", e.PID)
	}
	fmt.Fprintf(&b, " %s\nlog: %s", e.Reason, e.Log)
	if len(e.Tail) > 0 {
		fmt.Fprintf(&b, "; last %d lines:\n", len(e.Tail))
		for _, l := range e.Tail {
			b.WriteString("  " + l + "\n")
		}
	} else {
		b.WriteString("\n")
	}
	if e.Hint != "" {
		b.WriteString(e.Hint + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

func (c *Cluster) daemonError(name string, pid int, reason, hint string) *DaemonError {
	log := c.l.LogFile(name)
	tail, _ := proc.Tail(log, tailLines)
	return &DaemonError{Name: name, PID: pid, Reason: reason, Log: log, Tail: tail, Hint: hint}
}

// Up starts whatever of the cluster does not run yet, waits for each
// daemon to be ready, for the node to be Ready and for cluster DNS to
// answer, and then prints how to use the cluster.
func (c *Cluster) Up() error {
	if err := os.MkdirAll(c.l.StateDir, 0o755); err != nil {
		return err
	}
	if err := c.preflight(); err != nil {
		return err
	}
	p := steps.New(c.out)
	if c.controlPlane() {
		if err := c.upControlPlane(p); err != nil {
			return err
		}
	}
	var sock string
	if err := p.Do(func() (msg string, err error) {
		sock, msg, err = c.ensureContainerd()
		return msg, err
	}); err != nil {
		return err
	}
	for _, d := range c.daemons() {
		if d.name != "gantry-agent" && d.name != "gantry-proxy" && d.name != "gantry-ingress" {
			continue
		}
		if err := p.Do(func() (string, error) { return c.start(d.name, c.args(d.name, sock)) }); err != nil {
			return err
		}
	}
	if err := p.Do(c.waitNodeReady); err != nil {
		return err
	}
	if err := p.Do(c.waitDNS); err != nil {
		return err
	}
	if c.cfg == nil {
		fmt.Fprint(c.out, c.hint(sock))
	}
	return nil
}

// upControlPlane starts the store, the API server, the scheduler and
// the controllers, and writes the admin kubeconfig.
func (c *Cluster) upControlPlane(p *steps.Printer) error {
	if c.cfg != nil {
		if err := p.Do(c.ensureControlPlaneCerts); err != nil {
			return err
		}
	}
	if err := p.Do(c.startStore); err != nil {
		return err
	}
	if c.cfg != nil && c.cfg.LearnerID != 0 {
		if err := p.Do(c.promoteMember); err != nil {
			return err
		}
	}
	var restartAPI bool
	if err := p.Do(func() (string, error) {
		changed, err := tokens.Ensure(c.l.PKIDir(), c.tokenClients())
		if err != nil {
			return "tokens " + c.l.TokensFile(), err
		}
		if !changed {
			return "", nil
		}
		restartAPI = c.status("gantry-apiserver").Running
		return "wrote tokens to " + c.l.TokensFile(), nil
	}); err != nil {
		return err
	}
	if restartAPI {
		// The API server reads the token file at start only.
		if err := p.Do(func() (string, error) {
			msg, err := c.stop("gantry-apiserver")
			return msg + " (the token file changed)", err
		}); err != nil {
			return err
		}
	}
	for _, name := range []string{"gantry-apiserver", "gantry-scheduler", "gantry-controllers"} {
		if err := p.Do(func() (string, error) { return c.start(name, c.args(name, "")) }); err != nil {
			return err
		}
		if name == "gantry-apiserver" {
			if err := p.Do(c.writeKubeconfig); err != nil {
				return err
			}
		}
	}
	return nil
}

// tokenClients are the clients with a line in the token file: on a
// control-plane host that joined, whose token file is the first host's,
// all but its agent, which has a client certificate.
func (c *Cluster) tokenClients() []tokens.Client {
	all := tokens.Clients(c.nodeName)
	if c.cfg == nil || !exists(c.certFile(nodeCertName)) {
		return all
	}
	return slices.DeleteFunc(all, func(cl tokens.Client) bool { return cl.Name == "agent" })
}

// preflight fails early, before anything starts, if a daemon that must
// be started has no binary or finds its ports taken.
func (c *Cluster) preflight() error {
	listening, err := listeningPorts()
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range c.daemons() {
		if c.status(d.name).Running {
			continue
		}
		bin := c.l.Binary(d.name)
		if fi, err := os.Stat(bin); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			errs = append(errs, fmt.Errorf("%s not found; build it with: make build (or pass --bin-dir)", bin))
		}
		for _, port := range d.ports {
			if listening[port] {
				errs = append(errs, fmt.Errorf("port %d (%s's) is already in use (check with: ss -tlnp 'sport = :%d')",
					port, d.name, port))
			}
		}
	}
	return errors.Join(errs...)
}

// status reads a daemon's pid file.
func (c *Cluster) status(name string) proc.Status {
	bin := c.l.Binary(name)
	if name == containerdName {
		bin = containerdBinary
	}
	return proc.Check(c.l.PIDFile(name), bin)
}

// storeMemberDir is where the store member keeps its raft state; it
// exists once the member has started.
func (c *Cluster) storeMemberDir() string { return filepath.Join(c.l.StoreDir(), "member") }

func (c *Cluster) startStore() (string, error) {
	_, err := os.Stat(c.storeMemberDir())
	newMember := os.IsNotExist(err)
	if err := os.MkdirAll(c.l.StoreDir(), 0o700); err != nil {
		return "gantry-store", err
	}
	return c.start("gantry-store", c.storeArgs(newMember))
}

// start starts a daemon unless it runs already, then waits until it is
// ready.
func (c *Cluster) start(name string, args []string) (string, error) {
	d := c.daemon(name)
	return c.startBinary(name, d.binary, args, d.ready)
}

func (c *Cluster) startBinary(name, binary string, args []string, ready func() error) (string, error) {
	if st := proc.Check(c.l.PIDFile(name), binary); st.Running {
		alive := func() bool { return proc.Alive(st.PID) }
		if err := c.waitReady(name, st.PID, alive, ready); err != nil {
			return name, err
		}
		return fmt.Sprintf("%s ready (pid %d, already running)", name, st.PID), nil
	}
	p, err := proc.Start(binary, args, c.l.LogFile(name), c.l.PIDFile(name))
	if err != nil {
		return name, err
	}
	alive := func() bool {
		select {
		case <-p.Exited():
			return false
		default:
			return true
		}
	}
	if err := c.waitReady(name, p.PID, alive, ready); err != nil {
		var de *DaemonError
		if errors.As(err, &de) && de.Reason == "exited" {
			<-p.Exited()
			if ee := p.ExitError(); ee != nil {
				de.Reason = "exited (" + ee.Error() + ")"
			}
		}
		return name, err
	}
	return fmt.Sprintf("%s ready (pid %d)", name, p.PID), nil
}

// waitReady polls ready until it succeeds, the process dies or c.wait
// passes.
func (c *Cluster) waitReady(name string, pid int, alive func() bool, ready func() error) error {
	deadline := time.Now().Add(c.wait)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if !alive() {
			os.Remove(c.l.PIDFile(name))
			return c.daemonError(name, pid, "exited", "")
		}
		if time.Now().After(deadline) {
			return c.daemonError(name, pid, fmt.Sprintf("is not ready after %s (%v)", c.wait, err),
				"it is still running; stop everything with: gantry down")
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func (c *Cluster) writeKubeconfig() (string, error) {
	tok, err := tokens.AdminToken(c.l.TokensFile())
	if err != nil {
		return "admin kubeconfig", err
	}
	err = kubeconfig.Write(c.l.Kubeconfig, kubeconfig.Admin{Server: apiURL, CAFile: c.l.CAFile(), Token: tok})
	return "wrote admin kubeconfig " + c.l.Kubeconfig, err
}

// ensureContainerd uses the system's containerd if it answers, else
// starts one of our own with its own config, root and socket. It returns
// the socket the agent is to use.
func (c *Cluster) ensureContainerd() (sock, msg string, err error) {
	shared := c.cfg != nil && c.cfg.SharedMachine
	if st := c.status(containerdName); !st.Running && !shared && containerdAnswers(systemContainerd) == nil {
		return systemContainerd, "containerd: the system's, at " + systemContainerd, nil
	}
	dir := filepath.Join(c.l.StateDir, "containerd")
	if err := os.MkdirAll(filepath.Join(dir, "root"), 0o711); err != nil {
		return "", containerdName, err
	}
	if err := os.MkdirAll(c.ownContainerdRun(), 0o711); err != nil {
		return "", containerdName, err
	}
	config := filepath.Join(dir, "config.toml")
	sock = c.ownContainerdSocket()
	if err := os.WriteFile(config, containerdConfig(dir, c.ownContainerdRun()), 0o644); err != nil {
		return "", containerdName, err
	}
	msg, err = c.startBinary(containerdName, containerdBinary, []string{"--config", config},
		func() error { return containerdAnswers(sock) })
	return sock, msg, err
}

// containerdConfig is the configuration of our own containerd, whose
// root is dir/root and whose socket and state are in run.
func containerdConfig(dir, run string) []byte {
	return fmt.Appendf(nil, `version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = %q
`, filepath.Join(dir, "root"), filepath.Join(run, "state"), filepath.Join(run, "containerd.sock"))
}

// waitNodeReady waits until the API server says the node is Ready.
func (c *Cluster) waitNodeReady() (string, error) {
	msg := "node " + c.nodeName + " Ready"
	get, err := c.apiGetter()
	if err != nil {
		return msg, err
	}
	ready := func() error {
		body, err := get("/api/v1/nodes/" + c.nodeName)
		if err != nil {
			return err
		}
		return nodeReady(body)
	}
	alive := func() bool { return c.status("gantry-agent").Running }
	return msg, c.waitReady("gantry-agent", 0, alive, ready)
}

// waitDNS waits until cluster DNS resolves the API server's Service.
func (c *Cluster) waitDNS() (string, error) {
	var ips []string
	ready := func() (err error) {
		ips, err = lookupA(clusterDNS, dnsProbeName)
		return err
	}
	alive := func() bool { return c.status("gantry-proxy").Running }
	if err := c.waitReady("gantry-proxy", 0, alive, ready); err != nil {
		return "cluster DNS at " + clusterDNS, err
	}
	return fmt.Sprintf("cluster DNS answers (%s A %s)", dnsProbeName, strings.Join(ips, ",")), nil
}
