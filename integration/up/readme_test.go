package up

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readmeExample returns the commands of the README's first example (the
// sh block after "Once it is up:"), continuation lines joined, comments
// and blank lines left out.
func readmeExample() ([]string, error) {
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		return nil, err
	}
	_, rest, ok := strings.Cut(string(data), "\nOnce it is up:\n")
	if !ok {
		return nil, errors.New(`README.md: no "Once it is up:" paragraph`)
	}
	_, rest, ok = strings.Cut(rest, "```sh\n")
	if !ok {
		return nil, errors.New("README.md: no sh block after \"Once it is up:\"")
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		return nil, errors.New("README.md: the example's sh block does not end")
	}
	var cmds []string
	var cur string
	sc := bufio.NewScanner(strings.NewReader(block))
	for sc.Scan() {
		line := sc.Text()
		if cont, found := strings.CutSuffix(line, "\\"); found {
			cur += cont
			continue
		}
		line = strings.TrimSpace(cur + line)
		cur = ""
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cmds = append(cmds, line)
	}
	return cmds, nil
}

// runReadmeExample runs the README's example as a newcomer would, one
// command after the other, each retried for a while as a person would
// run it again (a pod that is not running yet, a Service or Ingress not
// programmed yet); a create that finds its object already made by an
// earlier try counts as done. The curls and the wget must get a page of
// the web Deployment. Then it deletes what the example made.
func (e *env) runReadmeExample() {
	e.t.Helper()
	cmds, err := readmeExample()
	if err != nil {
		e.t.Fatal(err)
	}
	home := e.t.TempDir() // kubectl's cache
	for _, cmd := range cmds {
		if v, ok := strings.CutPrefix(cmd, "export KUBECONFIG="); ok {
			if v != defaultAdminKC {
				e.t.Errorf("README: KUBECONFIG=%s, want %s (what gantry up writes)", v, defaultAdminKC)
			}
			continue // the test's cluster has its own
		}
		var out string
		e.eventually(90*time.Second, "README: "+cmd, func() error {
			// A person would give up on a command that hangs, too.
			ctx, cancel := context.WithTimeout(e.ctx, 20*time.Second)
			defer cancel()
			c := exec.CommandContext(ctx, "sh", "-c", cmd)
			// At the deadline the whole command goes, not only sh: a curl
			// left behind kept the output pipe, and so this attempt, open
			// for its own two-minute connect timeout. (Its SYN, sent before
			// the proxy had the Service's rule, was never NATed: the
			// retransmissions follow the first packet's conntrack entry. A
			// new attempt is a new connection.)
			c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
			c.WaitDelay = 5 * time.Second
			c.Env = append(os.Environ(), "KUBECONFIG="+e.kubeconfig(), "HOME="+home)
			var b bytes.Buffer
			c.Stdout, c.Stderr = &b, &b
			err := c.Run()
			out = b.String()
			if err != nil && strings.Contains(out, "AlreadyExists") {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%v: %s", err, out)
			}
			fetches := strings.HasPrefix(cmd, "curl ") || strings.Contains(cmd, "wget ")
			if fetches && !strings.Contains(out, "hello from web-") {
				return fmt.Errorf("answer %q is not a page of the web Deployment", out)
			}
			return nil
		})
		e.t.Logf("README: %s\n%s", cmd, out)
	}
	for _, obj := range []string{"ingress/web", "service/web", "deployment/web", "pod/hello"} {
		e.kubectl(nil, "delete", obj, "--grace-period=1", "--wait=true")
	}
	e.eventually(90*time.Second, "the README example's pods gone", func() error {
		out, err := e.tryKubectl(nil, "get", "pods", "-o", "name")
		if err != nil {
			return err
		}
		if strings.TrimSpace(out) != "" {
			return fmt.Errorf("pods left: %s", out)
		}
		return nil
	})
}

// TestReadmeExampleParses keeps the README's example in the shape
// runReadmeExample expects.
func TestReadmeExampleParses(t *testing.T) {
	cmds, err := readmeExample()
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(cmds, "\n")
	for _, want := range []string{"export KUBECONFIG=" + defaultAdminKC, "kubectl create deployment web --image=gantry.local/busybox --replicas=3 -- " +
		"  sh -c", "curl http://127.0.0.1/"} {
		if !strings.Contains(joined, want) {
			t.Errorf("the README example lacks %q:\n%s", want, joined)
		}
	}
}
