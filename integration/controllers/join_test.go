package controllers_test

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/gantry-dev/gantry/integration/cluster"
)

// TestJoinGroundwork is the client side of joining a host, as gantry
// join will do it: gantry token create makes a bootstrap token with the
// admin kubeconfig and prints the join command; the joining side
// (package bootstrap of the gantry command, driven by its joinprobe)
// discovers the cluster from cluster-info with the CA pin and gets a
// node client certificate with the token, which authenticates as the
// node. A wrong pin and a deleted token fail clearly.
func TestJoinGroundwork(t *testing.T) {
	e := newEnv(t)
	e.startControllers("--cluster-signing-cert-file", e.cp.CAFile, "--cluster-signing-key-file", e.cp.CAKeyFile)
	gantry, err := cluster.Binary("cli", "gantry")
	if err != nil {
		t.Fatal(err)
	}
	probe := buildJoinProbe(t)

	// 1. The administrator's side.
	dataDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dataDir, "admin.kubeconfig"), []byte(e.cp.KubeconfigFor(0)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(gantry, "token", "create", "--data-dir", dataDir, "--ttl", "1h",
		"--description", "join test", "--print-join-command").Output()
	if err != nil {
		t.Fatalf("gantry token create: %v\n%s", err, stderrOf(err))
	}
	m := regexp.MustCompile(`^gantry join --server (\S+) --token ([a-z0-9]{6})\.([a-z0-9]{16}) --discovery-token-ca-cert-hash (sha256:[0-9a-f]{64})\n$`).
		FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("gantry token create printed %q", out)
	}
	server, tokenID, token, pin := m[1], m[2], m[2]+"."+m[3], m[4]
	if server != e.cp.Servers[0].URL {
		t.Errorf("join command server %s, want %s", server, e.cp.Servers[0].URL)
	}
	// The pin, computed independently: SHA-256 of the CA's DER
	// SubjectPublicKeyInfo.
	sum := sha256.Sum256(e.caCert().RawSubjectPublicKeyInfo)
	if want := "sha256:" + hex.EncodeToString(sum[:]); pin != want {
		t.Errorf("join command pin %s, want %s", pin, want)
	}
	sec, err := e.kube.CoreV1().Secrets("kube-system").Get(e.ctx, "bootstrap-token-"+tokenID, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	exp, err := time.Parse(time.RFC3339, string(sec.Data["expiration"]))
	if sec.Type != "bootstrap.kubernetes.io/token" || string(sec.Data["token-secret"]) != m[3] ||
		string(sec.Data["usage-bootstrap-authentication"]) != "true" || string(sec.Data["usage-bootstrap-signing"]) != "true" ||
		string(sec.Data["description"]) != "join test" || err != nil || time.Until(exp) > time.Hour || time.Until(exp) < 50*time.Minute {
		t.Errorf("token Secret type %s, data %q", sec.Type, sec.Data)
	}

	// 2. The joining side: discovery with the pin, then the certificate.
	dir := t.TempDir()
	if msg, err := runProbe(probe, "--server", server, "--pin", pin, "--token", token, "--node", "join-2", "--out", dir); err != nil {
		t.Fatalf("joinprobe: %v: %s", err, msg)
	}
	ca, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	caFile, err := os.ReadFile(e.cp.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(ca) != string(caFile) {
		t.Error("discovered CA is not the cluster CA")
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "server")); string(got) != e.cp.Servers[0].URL {
		t.Errorf("discovered server %q, want %s", got, e.cp.Servers[0].URL)
	}
	certPEM, err := os.ReadFile(filepath.Join(dir, "node.crt"))
	if err != nil {
		t.Fatal(err)
	}
	cert := e.verifyCert(certPEM, x509.ExtKeyUsageClientAuth)
	if cert.Subject.CommonName != "system:node:join-2" || !slices.Equal(cert.Subject.Organization, []string{"system:nodes"}) {
		t.Errorf("subject %v", cert.Subject)
	}

	// The certificate authenticates as the node: the API server records
	// a request's author in the CSR it creates.
	node := e.client(t, rest.Config{TLSClientConfig: rest.TLSClientConfig{
		CertFile: filepath.Join(dir, "node.crt"), KeyFile: filepath.Join(dir, "node.key")}})
	renewal, err := node.CertificatesV1().CertificateSigningRequests().Create(e.ctx, &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "node-csr-"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    csrPEM(t, newKey(t), x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:join-2", Organization: []string{"system:nodes"}}}),
			SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName,
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if renewal.Spec.Username != "system:node:join-2" || !slices.Contains(renewal.Spec.Groups, "system:nodes") {
		t.Errorf("the node certificate authenticates as %q %v", renewal.Spec.Username, renewal.Spec.Groups)
	}
	// ... and may do what bootstrap tokens may not, e.g. list nodes.
	if _, err := node.CoreV1().Nodes().List(e.ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("list nodes as the node: %v", err)
	}

	// 3. A wrong pin stops discovery before the token is used.
	wrong := sha256.Sum256([]byte("not the cluster CA"))
	msg, err := runProbe(probe, "--server", server, "--pin", "sha256:"+hex.EncodeToString(wrong[:]),
		"--token", token, "--node", "join-3", "--out", t.TempDir())
	if err == nil || !strings.Contains(msg, "matches no given CA hash") {
		t.Errorf("wrong pin: %v: %s", err, msg)
	}
	t.Logf("wrong pin: %s", msg)

	// 4. A deleted token is refused.
	if err := e.kube.CoreV1().Secrets("kube-system").Delete(e.ctx, "bootstrap-token-"+tokenID, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	bootstrapper := e.client(t, rest.Config{BearerToken: token})
	e.eventually(time.Minute, "the deleted token refused", func() (bool, error) {
		_, err := bootstrapper.CertificatesV1().CertificateSigningRequests().List(e.ctx, metav1.ListOptions{})
		return apierrors.IsUnauthorized(err), nil
	})
	msg, err = runProbe(probe, "--server", server, "--pin", pin, "--token", token, "--node", "join-4", "--out", t.TempDir())
	if err == nil || !strings.Contains(msg, "refused the token") {
		t.Errorf("deleted token: %v: %s", err, msg)
	}
	t.Logf("deleted token: %s", msg)
}

// buildJoinProbe builds the gantry command's joinprobe.
func buildJoinProbe(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("building joinprobe needs the go command: %v", err)
	}
	src, err := filepath.Abs(filepath.Join("..", "..", "services", "cli"))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "joinprobe")
	cmd := exec.Command(goBin, "build", "-o", bin, "./internal/bootstrap/testdata/joinprobe")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build joinprobe in %s: %v\n%s", src, err, out)
	}
	return bin
}

// runProbe runs joinprobe and returns its stderr.
func runProbe(bin string, args ...string) (string, error) {
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}
