package cluster

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// checkTimeout bounds each single health check.
const checkTimeout = 2 * time.Second

// httpGet fetches url; with caFile, over TLS verified by that CA; with
// token, as that bearer.
func httpGet(url, caFile, token string) ([]byte, error) {
	tr := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no certificate", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	client := &http.Client{Transport: tr, Timeout: checkTimeout}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	return body, nil
}

// httpOK succeeds if url answers 2xx.
func httpOK(url, caFile string) error {
	_, err := httpGet(url, caFile, "")
	return err
}

// nodeReady reports whether the Node's Ready condition is True, as the
// API server says.
func nodeReady(body []byte) error {
	var n struct {
		Status struct {
			Conditions []struct {
				Type, Status, Reason, Message string
			}
		}
	}
	if err := json.Unmarshal(body, &n); err != nil {
		return fmt.Errorf("decode Node: %w", err)
	}
	for _, c := range n.Status.Conditions {
		if c.Type == "Ready" {
			if c.Status == "True" {
				return nil
			}
			return fmt.Errorf("Ready is %s: %s %s", c.Status, c.Reason, c.Message)
		}
	}
	return fmt.Errorf("no Ready condition yet")
}

// lookupA asks server for name's A records. server must be an address
// of this host (gantry-proxy puts the cluster DNS address on a local
// device): a query is never sent anywhere else, so with the proxy down
// it cannot follow the default route off the machine.
func lookupA(server, name string) ([]string, error) {
	if err := localAddress(server); err != nil {
		return nil, err
	}
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	client := &dns.Client{Timeout: checkTimeout}
	r, _, err := client.Exchange(m, server)
	if err != nil {
		return nil, err
	}
	if r.Rcode != dns.RcodeSuccess {
		return nil, fmt.Errorf("%s A: %s", name, dns.RcodeToString[r.Rcode])
	}
	var ips []string
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			ips = append(ips, a.A.String())
		}
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("%s: no A record in the answer", name)
	}
	return ips, nil
}

// containerdAnswers runs `ctr version` against sock.
func containerdAnswers(sock string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ctr", "--address", sock, "version").CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		return fmt.Errorf("ctr --address %s version: %v %s", sock, err, msg)
	}
	return nil
}

// listeningPorts returns the TCP ports something listens on, from
// /proc/net/tcp and /proc/net/tcp6.
func listeningPorts() (map[int]bool, error) {
	ports := map[int]bool{}
	for _, path := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(path)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		err = parseListening(f, ports)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return ports, nil
}

// tcpListen is the LISTEN state in /proc/net/tcp.
const tcpListen = "0A"

// parseListening adds the local port of each listening socket of a
// /proc/net/tcp{,6} table to ports.
func parseListening(r io.Reader, ports map[int]bool) error {
	sc := bufio.NewScanner(r)
	first := true
	for sc.Scan() {
		if first { // the header
			first = false
			continue
		}
		f := strings.Fields(sc.Text())
		if len(f) < 4 {
			continue
		}
		if f[3] != tcpListen {
			continue
		}
		_, port, ok := strings.Cut(f[1], ":")
		if !ok {
			return fmt.Errorf("bad local address %q", f[1])
		}
		p, err := strconv.ParseUint(port, 16, 16)
		if err != nil {
			return fmt.Errorf("bad local port %q", port)
		}
		ports[int(p)] = true
	}
	return sc.Err()
}

// localAddress returns nil if hostport's address is assigned to one of
// this host's interfaces.
func localAddress(hostport string) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return err
	}
	want, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr() == want {
			return nil
		}
	}
	return fmt.Errorf("%s is not an address of this host (is gantry-proxy running?)", host)
}
