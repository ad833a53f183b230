package proxy_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// externalName and externalAddr are the one name the fake upstream
// resolver knows. 192.0.2.0/24 is TEST-NET-1: only ever an answer here,
// never a destination.
const (
	externalName = "external.test."
	externalAddr = "192.0.2.7"
)

// upstreamErr is set when the fake upstream could not start.
var upstreamErr error

// init starts a fake upstream resolver on loopback for the shared proxy:
// names outside the cluster domain are forwarded to it.
func init() {
	addr, err := fakeUpstream()
	if err != nil {
		upstreamErr = err
		return
	}
	extraProxyArgs = append(extraProxyArgs, "--dns-upstreams", addr)
}

// fakeUpstream answers UDP queries on 127.0.0.1: A of externalName,
// NXDOMAIN for anything else. It lives as long as the test process.
func fakeUpstream() (string, error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				continue
			}
			if resp, err := upstreamAnswer(buf[:n]); err == nil {
				_, _ = pc.WriteTo(resp, from)
			}
		}
	}()
	return pc.LocalAddr().String(), nil
}

func upstreamAnswer(query []byte) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	rh := dnsmessage.Header{ID: h.ID, Response: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true}
	known := strings.EqualFold(q.Name.String(), externalName)
	if !known {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if known && q.Type == dnsmessage.TypeA {
		if err := b.StartAnswers(); err != nil {
			return nil, err
		}
		ip := net.ParseIP(externalAddr).To4()
		if err := b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60},
			dnsmessage.AResource{A: [4]byte(ip)}); err != nil {
			return nil, err
		}
	}
	return b.Finish()
}

// dnsObjects: a ClusterIP Service with a web pod, a headless Service
// with two pods named as a StatefulSet names them (hostname +
// subdomain), an ExternalName Service and a client pod.
const dnsObjects = `
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: mysql, port: 3306}]
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec:
  type: ExternalName
  externalName: external.test
---
apiVersion: v1
kind: Pod
metadata: {name: web-0, labels: {app: web}}
spec:
  nodeName: {{NODE}}
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: {{IMAGE}}
    command: [sh, -c, 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www']
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, labels: {app: db}}
spec:
  nodeName: {{NODE}}
  hostname: db-0
  subdomain: db
  terminationGracePeriodSeconds: 1
  containers:
  - {name: db, image: '{{IMAGE}}', command: [sleep, "3600"]}
---
apiVersion: v1
kind: Pod
metadata: {name: db-1, labels: {app: db}}
spec:
  nodeName: {{NODE}}
  hostname: db-1
  subdomain: db
  terminationGracePeriodSeconds: 1
  containers:
  - {name: db, image: '{{IMAGE}}', command: [sleep, "3600"]}
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  nodeName: {{NODE}}
  terminationGracePeriodSeconds: 1
  containers:
  - {name: client, image: '{{IMAGE}}', command: [sleep, "3600"]}
`

// TestClusterDNS resolves names from inside a pod through the kube-dns
// VIP, which the proxy serves on the node.
func TestClusterDNS(t *testing.T) {
	if upstreamErr != nil {
		t.Fatalf("fake upstream resolver: %v", upstreamErr)
	}
	e := newEnv(t)
	e.apply(dnsObjects)
	pods := e.waitReady("web-0", "db-0", "db-1", "client")
	web := e.service("web")
	zone := e.ns + ".svc.cluster.local"
	// nslookup asks the server itself; wget and ping resolve through the
	// image's libc (getaddrinfo: /etc/hosts, then the pod's resolv.conf
	// with its search path and ndots:5), as ordinary programs do. Debian
	// builds busybox without wget -T (passing it crashes wget): timeout
	// bounds a fetch.
	fetch := func(url string) []string { return []string{"timeout", "10", "wget", "-q", "-O", "-", url} }

	cases := []struct {
		what string
		cmd  []string
		want []string
	}{
		{"Service by FQDN", []string{"nslookup", "web." + zone}, []string{web.Spec.ClusterIP}},
		{"Service through the search path", []string{"nslookup", "web"}, []string{web.Spec.ClusterIP}},
		{"headless Service: every ready pod", []string{"nslookup", "db." + zone},
			[]string{pods["db-0"].Status.PodIP, pods["db-1"].Status.PodIP}},
		{"StatefulSet-style pod name", []string{"nslookup", "db-1.db." + zone}, []string{pods["db-1"].Status.PodIP}},
		{"SRV of a named port", []string{"nslookup", "-type=srv", "_mysql._tcp.db." + zone},
			[]string{"3306 db-0.db." + zone, "3306 db-1.db." + zone}},
		{"SRV of a ClusterIP Service", []string{"nslookup", "-type=srv", "_http._tcp.web." + zone},
			[]string{"80 web." + zone}},
		{"ExternalName followed through the upstream", []string{"nslookup", "ext." + zone}, []string{"external.test", externalAddr}},
		{"external name forwarded", []string{"nslookup", externalName}, []string{externalAddr}},
		{"missing name", []string{"nslookup", "nope." + zone}, []string{"NXDOMAIN"}},
		{"pod A record", []string{"nslookup", strings.ReplaceAll(pods["web-0"].Status.PodIP, ".", "-") + "." + e.ns + ".pod.cluster.local"},
			[]string{pods["web-0"].Status.PodIP}},
		{"wget a Service by FQDN", fetch("http://web." + zone + ":80/"), []string{"web-0"}},
		{"wget a Service through the search path", fetch("http://web:80/"), []string{"web-0"}},
		{"wget a Service as name.namespace", fetch("http://web." + e.ns + ":80/"), []string{"web-0"}},
		{"ping a headless Service's pod by name", []string{"ping", "-c1", "-W2", "db-1.db"}, []string{pods["db-1"].Status.PodIP, "1 packets received"}},
		{"wget of a missing name fails", []string{"sh", "-c", "timeout 10 wget -q -O - http://nope:80/; echo rc=$?"}, []string{"bad address 'nope:80'", "rc=1"}},
	}
	// check runs cmd in pod until its output holds every string of want.
	check := func(t *testing.T, pod string, cmd, want []string) {
		t.Helper()
		var last string
		err := poll(e.ctx, time.Minute, func() (bool, error) {
			out, errOut, err := e.exec(pod, cmd...)
			last = out + errOut
			if err != nil {
				last += "\n" + err.Error()
			}
			for _, w := range want {
				if !strings.Contains(last, w) {
					return false, nil
				}
			}
			return true, nil
		})
		if err != nil {
			t.Fatalf("%s in %s: want %q in the output: %v\nlast output:\n%s", strings.Join(cmd, " "), pod, want, err, last)
		}
	}
	for _, tc := range cases {
		t.Run(tc.what, func(t *testing.T) { check(t, "client", tc.cmd, tc.want) })
	}
	// A pod's own name is in its /etc/hosts only: DNS has no answer for
	// it, so wget finds it only if /etc/hosts is read first.
	t.Run("wget of the pod's own name, from /etc/hosts", func(t *testing.T) {
		check(t, "web-0", fetch("http://web-0:8080/"), []string{"web-0"})
	})

	// The queries show in the proxy's metrics, under CoreDNS's names.
	resp, err := http.Get(e.proxy.metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{
		`coredns_dns_requests_total{family="1",proto="udp",server="dns://` + ClusterDNS + `:53",type="A",zone="cluster.local."}`,
		`coredns_dns_responses_total{plugin="kubernetes",rcode="NXDOMAIN",server="dns://` + ClusterDNS + `:53",zone="cluster.local."}`,
		`coredns_dns_request_duration_seconds_bucket`,
	} {
		if !strings.Contains(string(body), m) {
			t.Errorf("metrics lack %s", m)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", grepLines(string(body), "coredns_"))
	}
}

func grepLines(s, sub string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}
