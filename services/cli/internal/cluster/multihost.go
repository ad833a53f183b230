package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/services/cli/internal/bootstrap"
	"github.com/gantry-dev/gantry/services/cli/internal/storeclient"
	"github.com/gantry-dev/gantry/services/cli/internal/tokens"
)

// Files of a multi-host cluster's hosts, in the PKI directory.
const (
	storeCertName      = "store"                 // the store member's serving, peer and client certificate
	etcdClientCertName = "apiserver-etcd-client" // the API server's client certificate for the store
	nodeCertName       = "node"                  // the node's client certificate (joined hosts)
	servingCertName    = "kubelet-serving"       // the agent's serving certificate (workers)
	certificateKeyName = "certificate-key"       // the key gantry-certs is encrypted with (control plane)
)

func (c *Cluster) pkiFile(name string) string { return filepath.Join(c.l.PKIDir(), name) }

func (c *Cluster) certFile(name string) string { return c.pkiFile(name + ".crt") }

func (c *Cluster) keyFile(name string) string { return c.pkiFile(name + ".key") }

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// hostURL is scheme://<advertise address>:port.
func (c *Cluster) hostURL(scheme string, port int) string {
	return scheme + "://" + net.JoinHostPort(c.cfg.AdvertiseAddress, strconv.Itoa(port))
}

// clientCreds are a client's credentials for the API server: the token
// of the one-host layout where gantry init wrote one, else the node's
// client certificate.
func (c *Cluster) clientCreds(client string) []string {
	if tok := c.l.TokenFile(client); exists(tok) {
		return []string{"--token-file", tok}
	}
	return []string{"--cert-file", c.certFile(nodeCertName), "--key-file", c.keyFile(nodeCertName)}
}

// sharedMachineAgentArgs keep the agent's containers, cgroups and logs
// apart from other nodes' on the same machine.
func (c *Cluster) sharedMachineAgentArgs() []string {
	if !c.cfg.SharedMachine {
		return nil
	}
	return []string{"--containerd-namespace", "gantry-" + c.nodeName,
		"--cgroup-root", "/gantry-" + c.nodeName,
		"--pod-log-dir", filepath.Join(c.l.StateDir, "pods")}
}

// multiHostArgs are args for a host of a multi-host cluster: the store
// and API server on the advertise address with TLS, node CIDRs from the
// node IPAM controller, the agent and proxy failing over between every
// API server known when the host joined.
func (c *Cluster) multiHostArgs(name, containerdSock string) []string {
	ca := c.l.CAFile()
	servers := strings.Join(c.cfg.APIServers, ",")
	switch name {
	case "gantry-apiserver":
		return []string{"--bind-address", "0.0.0.0", "--advertise-address", c.cfg.AdvertiseAddress,
			"--secure-port", strconv.Itoa(apiPort),
			"--cert-dir", c.l.PKIDir(), "--client-ca-file", ca,
			"--token-auth-file", c.l.TokensFile(),
			"--etcd-servers", "https://127.0.0.1:2379", "--etcd-cafile", ca,
			"--etcd-certfile", c.certFile(etcdClientCertName), "--etcd-keyfile", c.keyFile(etcdClientCertName)}
	case "gantry-scheduler":
		return []string{"--api-servers", apiURL, "--ca-file", ca, "--token-file", c.l.TokenFile("scheduler"),
			"--leader-elect-identity", c.nodeName}
	case "gantry-controllers":
		return []string{"--api-servers", apiURL, "--ca-file", ca, "--token-file", c.l.TokenFile("controllers"),
			"--leader-elect-identity", c.nodeName,
			"--cluster-cidr", clusterCIDR, "--local-path-dir", filepath.Join(c.l.StateDir, "storage"),
			"--cluster-signing-cert-file", ca, "--cluster-signing-key-file", c.l.CAKeyFile()}
	case "gantry-agent":
		args := append([]string{"--hostname-override", c.nodeName, "--node-ip", c.cfg.AdvertiseAddress,
			"--api-servers", servers, "--ca-file", ca}, c.clientCreds("agent")...)
		if c.cfg.Role == RoleControlPlane {
			// With the CA key at hand the agent signs its own serving
			// certificate, as on a one-host cluster.
			args = append(args, "--ca-key-file", c.l.CAKeyFile(), "--client-ca-file", ca)
		} else {
			args = append(args, "--tls-cert-file", c.certFile(servingCertName),
				"--tls-private-key-file", c.keyFile(servingCertName), "--client-ca-file", ca)
		}
		args = append(args, "--cluster-cidr", clusterCIDR, "--containerd", containerdSock, "--root-dir", c.agentRoot())
		return append(args, c.sharedMachineAgentArgs()...)
	case "gantry-proxy":
		return append([]string{"--hostname-override", c.nodeName, "--api-servers", servers, "--ca-file", ca,
			"--cluster-cidr", clusterCIDR}, c.clientCreds("proxy")...)
	case "gantry-ingress":
		return []string{"--node-name", c.nodeName, "--api-servers", apiURL, "--ca-file", ca,
			"--token-file", c.l.TokenFile("ingress")}
	}
	return nil
}

// multiHostStoreArgs: the member serves clients on the advertise address
// and loopback and its peers on the advertise address, all with mutual
// TLS under the cluster CA.
func (c *Cluster) multiHostStoreArgs(newMember bool) []string {
	ca := c.l.CAFile()
	cert, key := c.certFile(storeCertName), c.keyFile(storeCertName)
	client, peer := c.hostURL("https", 2379), c.hostURL("https", 2380)
	args := []string{"--data-dir", c.l.StoreDir(),
		"--listen-client-urls", client + ",https://127.0.0.1:2379",
		"--listen-peer-urls", peer,
		"--listen-metrics-urls", metricsURL,
		"--cert-file", cert, "--key-file", key, "--trusted-ca-file", ca, "--client-cert-auth",
		"--peer-cert-file", cert, "--peer-key-file", key, "--peer-trusted-ca-file", ca, "--peer-client-cert-auth"}
	if newMember {
		args = append(args, "--name", c.nodeName,
			"--advertise-client-urls", client,
			"--initial-advertise-peer-urls", peer,
			"--initial-cluster", c.cfg.InitialCluster,
			"--initial-cluster-state", c.cfg.InitialClusterState)
	}
	return args
}

// apiGetter returns a function that reads a path from an API server:
// the local one with the admin's token on a control-plane host, else the
// first of the worker's that answers, with the node's client
// certificate. The credentials are read once, here.
func (c *Cluster) apiGetter() (func(path string) ([]byte, error), error) {
	if c.controlPlane() {
		tok, err := tokens.AdminToken(c.l.TokensFile())
		if err != nil {
			return nil, err
		}
		return func(path string) ([]byte, error) { return httpGet(apiURL+path, c.l.CAFile(), tok) }, nil
	}
	var pems [3][]byte
	for i, f := range []string{c.l.CAFile(), c.certFile(nodeCertName), c.keyFile(nodeCertName)} {
		var err error
		if pems[i], err = os.ReadFile(f); err != nil {
			return nil, err
		}
	}
	clients := make([]*bootstrap.Client, 0, len(c.cfg.APIServers))
	for _, server := range c.cfg.APIServers {
		cl, err := bootstrap.NewCertClient(server, pems[0], pems[1], pems[2])
		if err != nil {
			return nil, err
		}
		clients = append(clients, cl)
	}
	return func(path string) ([]byte, error) {
		var errs []error
		for _, cl := range clients {
			ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
			var raw json.RawMessage
			err := cl.Get(ctx, path, &raw)
			cancel()
			if err == nil {
				return raw, nil
			}
			errs = append(errs, fmt.Errorf("%s: %w", cl.Server(), err))
		}
		return nil, errors.Join(errs...)
	}, nil
}

// removeCgroupParent removes the node's own cgroup parent (see
// sharedMachineAgentArgs) in every hierarchy, once the agent's cleanup
// has removed the pods' cgroups under it.
func (c *Cluster) removeCgroupParent() (string, error) {
	dirs, err := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", "gantry-"+c.nodeName))
	if err != nil {
		return "cgroups", err
	}
	if unified := filepath.Join("/sys/fs/cgroup", "gantry-"+c.nodeName); exists(unified) {
		dirs = append(dirs, unified)
	}
	var errs []error
	for _, d := range dirs {
		if err := os.Remove(d); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	return fmt.Sprintf("removed the cgroup parent /gantry-%s", c.nodeName), errors.Join(errs...)
}

// leaveCluster removes this control-plane host's store member (unless
// it is the last) and, if its stopped API server left it there, its
// address from the kubernetes Endpoints, before gantry down --purge
// deletes its data. What fails is reported, not fatal: the host is being
// removed either way, and the message says what to clean up by hand.
func (c *Cluster) leaveCluster() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var done, todo []string
	peer := c.hostURL("https", 2380)
	others := without(c.cfg.APIServers, c.hostURL("https", apiPort))
	// The address first, through another API server (this host's has
	// stopped): it needs this host's store member no more once the
	// others have seen the change. A last API server has no one to tell.
	if len(others) > 0 {
		if removed, err := c.removeAPIServerVia(ctx, others); err != nil {
			todo = append(todo, fmt.Sprintf("API server %s in default/kubernetes Endpoints (%v)", c.cfg.AdvertiseAddress, err))
		} else if removed {
			done = append(done, "API server "+c.cfg.AdvertiseAddress+" from default/kubernetes Endpoints")
		}
	}
	if sc, err := c.dialStore(append(storeEndpoints(others), "https://127.0.0.1:2379")); err != nil {
		todo = append(todo, fmt.Sprintf("store member %s (%v): etcdctl member remove on a remaining member", peer, err))
	} else {
		removed, err := sc.RemoveByPeerURL(ctx, peer)
		sc.Close()
		switch {
		case errors.Is(err, storeclient.ErrLastMember):
			done = append(done, "nothing from the store (this is its last member)")
		case err != nil:
			todo = append(todo, fmt.Sprintf("store member %s (%v)", peer, err))
		case removed:
			done = append(done, "store member "+peer)
		}
	}
	msg := "left the cluster"
	if len(done) > 0 {
		msg = "removed " + strings.Join(done, " and ")
	}
	if len(todo) > 0 {
		msg += "; not removed (remove by hand if the cluster lives on): " + strings.Join(todo, "; ")
	}
	return msg, nil
}

// removeAPIServerVia takes this host's address out of the kubernetes
// Endpoints through the first of apiServers that answers.
func (c *Cluster) removeAPIServerVia(ctx context.Context, apiServers []string) (bool, error) {
	var errs []error
	for _, u := range apiServers {
		admin, _, err := c.adminClientAt(u)
		if err == nil {
			var removed bool
			if removed, err = bootstrap.RemoveAPIServer(ctx, admin, c.cfg.AdvertiseAddress); err == nil {
				return removed, nil
			}
		}
		errs = append(errs, fmt.Errorf("%s: %w", u, err))
	}
	return false, errors.Join(errs...)
}
