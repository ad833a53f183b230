package cli

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gantry-dev/gantry/services/cli/internal/bootstrap"
	"github.com/gantry-dev/gantry/services/cli/internal/cluster"
	"github.com/gantry-dev/gantry/services/cli/internal/layout"
)

// tokenOptions are the flags of token create.
type tokenOptions struct {
	env          layout.Env
	ttl          time.Duration
	description  string
	joinCommand  bool
	controlPlane bool
}

// parseTokenFlags reads the flags of token create.
func parseTokenFlags(args []string, env layout.Env, stderr io.Writer) (tokenOptions, error) {
	o := tokenOptions{env: env}
	fs := flag.NewFlagSet("gantry token create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	fs.StringVar(&o.env.DataDir, "data-dir", env.DataDir, "the state directory")
	fs.DurationVar(&o.ttl, "ttl", 24*time.Hour, "how long the token is valid; 0: forever")
	fs.StringVar(&o.description, "description", "", "what the token is for")
	fs.BoolVar(&o.joinCommand, "print-join-command", false, "print the gantry join command instead of the token")
	fs.BoolVar(&o.controlPlane, "control-plane", false, "with --print-join-command: also the control-plane join command")
	if err := parseArgs(fs, args, &o.env); err != nil {
		return o, err
	}
	if o.controlPlane && !o.joinCommand {
		return o, errors.New("--control-plane goes with --print-join-command")
	}
	if o.ttl < 0 {
		return o, fmt.Errorf("--ttl %v: want 0 (no expiry) or a positive duration", o.ttl)
	}
	return o, nil
}

// token runs gantry token SUBCOMMAND.
func token(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "create" {
		if len(args) == 0 {
			fmt.Fprintf(stderr, "gantry token: missing subcommand (create)\n\n%s", usage)
		} else {
			fmt.Fprintf(stderr, "gantry token: unknown subcommand %q (want create)\n\n%s", args[0], usage)
		}
		return 2
	}
	o, err := parseTokenFlags(args[1:], layout.FromOS(), stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "gantry token create: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := tokenCreate(ctx, layout.Resolve(o.env), o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "gantry token create: %v\n", err)
		return 1
	}
	return 0
}

// tokenCreate creates a bootstrap token with the admin kubeconfig's
// credentials and prints it, or the join command.
func tokenCreate(ctx context.Context, l layout.Layout, o tokenOptions, stdout, stderr io.Writer) error {
	if o.joinCommand {
		// A host of a multi-host cluster knows its advertise address.
		c, err := cluster.New(cluster.Options{Layout: l, NodeName: "-"})
		if err != nil {
			return err
		}
		if c.MultiHost() {
			join, joinCP, err := c.PrintableJoin(o.ttl, o.controlPlane)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, join)
			if joinCP != "" {
				fmt.Fprintln(stdout, joinCP)
			}
			return nil
		}
		if o.controlPlane {
			return errors.New("--control-plane: this host is not a control-plane host of a multi-host cluster (gantry init)")
		}
	}
	admin, err := readAdminKubeconfig(l.Kubeconfig)
	if err != nil {
		return err
	}
	c, err := bootstrap.NewClient(admin.server, admin.caPEM, admin.token)
	if err != nil {
		return err
	}
	tok, err := bootstrap.CreateToken(ctx, c, o.ttl, o.description, nil)
	if err != nil {
		return err
	}
	if !o.joinCommand {
		_, err := fmt.Fprintln(stdout, tok)
		return err
	}
	line, err := bootstrap.JoinCommand(admin.server, admin.caPEM, tok, "")
	if err != nil {
		return err
	}
	if u, err := url.Parse(admin.server); err == nil {
		if ip := net.ParseIP(u.Hostname()); (ip != nil && ip.IsLoopback()) || u.Hostname() == "localhost" {
			fmt.Fprintf(stderr, "note: %s is this host's loopback address; from another host use an address of this one\n", admin.server)
		}
	}
	_, err = fmt.Fprintln(stdout, line)
	return err
}

// adminCredentials are what the admin kubeconfig holds.
type adminCredentials struct {
	server string
	caPEM  []byte
	token  string
}

// readAdminKubeconfig reads the server, CA and token of the admin
// kubeconfig's current context.
func readAdminKubeconfig(path string) (adminCredentials, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return adminCredentials{}, fmt.Errorf("no admin kubeconfig (is the cluster up? start it with: gantry up): %w", err)
	}
	return parseAdminKubeconfig(data, filepath.Dir(path))
}

// parseAdminKubeconfig reads kubeconfig data; relative file names are
// relative to dir.
func parseAdminKubeconfig(data []byte, dir string) (adminCredentials, error) {
	var kc struct {
		CurrentContext string `yaml:"current-context"`
		Clusters       []struct {
			Name    string `yaml:"name"`
			Cluster struct {
				Server string `yaml:"server"`
				CAFile string `yaml:"certificate-authority"`
				CAData string `yaml:"certificate-authority-data"`
			} `yaml:"cluster"`
		} `yaml:"clusters"`
		Users []struct {
			Name string `yaml:"name"`
			User struct {
				Token string `yaml:"token"`
			} `yaml:"user"`
		} `yaml:"users"`
		Contexts []struct {
			Name    string `yaml:"name"`
			Context struct {
				Cluster string `yaml:"cluster"`
				User    string `yaml:"user"`
			} `yaml:"context"`
		} `yaml:"contexts"`
	}
	if err := yaml.Unmarshal(data, &kc); err != nil {
		return adminCredentials{}, fmt.Errorf("admin kubeconfig: %w", err)
	}
	var clusterName, userName string
	found := false
	for _, c := range kc.Contexts {
		if c.Name == kc.CurrentContext {
			clusterName, userName, found = c.Context.Cluster, c.Context.User, true
		}
	}
	if !found {
		return adminCredentials{}, fmt.Errorf("admin kubeconfig: no context %q", kc.CurrentContext)
	}
	var (
		out            adminCredentials
		caFile, caData string
		err            error
	)
	found = false
	for _, c := range kc.Clusters {
		if c.Name == clusterName {
			out.server, caFile, caData, found = c.Cluster.Server, c.Cluster.CAFile, c.Cluster.CAData, true
		}
	}
	if !found || out.server == "" {
		return adminCredentials{}, fmt.Errorf("admin kubeconfig: no server for cluster %q", clusterName)
	}
	for _, u := range kc.Users {
		if u.Name == userName {
			out.token = u.User.Token
		}
	}
	if out.token == "" {
		return adminCredentials{}, fmt.Errorf("admin kubeconfig: no token for user %q", userName)
	}
	switch {
	case caData != "":
		if out.caPEM, err = base64.StdEncoding.DecodeString(caData); err != nil {
			return adminCredentials{}, fmt.Errorf("admin kubeconfig: certificate-authority-data: %w", err)
		}
	case caFile != "":
		if !filepath.IsAbs(caFile) {
			caFile = filepath.Join(dir, caFile)
		}
		if out.caPEM, err = os.ReadFile(caFile); err != nil {
			return adminCredentials{}, fmt.Errorf("admin kubeconfig: %w", err)
		}
	default:
		return adminCredentials{}, fmt.Errorf("admin kubeconfig: no certificate authority for cluster %q", clusterName)
	}
	return out, nil
}
