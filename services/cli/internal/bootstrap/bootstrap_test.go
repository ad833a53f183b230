package bootstrap

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func newCA(t *testing.T, cn string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// spkiOf digs the SubjectPublicKeyInfo out of a certificate's DER with
// encoding/asn1 alone, independently of crypto/x509's parser.
func spkiOf(t *testing.T, der []byte) []byte {
	t.Helper()
	var cert struct {
		TBS asn1.RawValue
		Alg asn1.RawValue
		Sig asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &cert); err != nil {
		t.Fatal(err)
	}
	// TBSCertificate: [0] version, serial, signature, issuer, validity,
	// subject, subjectPublicKeyInfo, ...
	rest := cert.TBS.Bytes
	var fields []asn1.RawValue
	for len(rest) > 0 && len(fields) < 7 {
		var v asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &v); err != nil {
			t.Fatal(err)
		}
		fields = append(fields, v)
	}
	if len(fields) < 7 || fields[0].Class != asn1.ClassContextSpecific {
		t.Fatalf("unexpected TBSCertificate layout: %d fields", len(fields))
	}
	return fields[6].FullBytes
}

func TestCAHash(t *testing.T) {
	cert, _ := newCA(t, "ca")
	sum := sha256.Sum256(spkiOf(t, cert.Raw))
	want := "sha256:" + hex.EncodeToString(sum[:])
	if got := CAHash(cert); got != want {
		t.Errorf("CAHash = %s, want %s", got, want)
	}
	other, _ := newCA(t, "ca")
	if CAHash(other) == want {
		t.Error("two keys hash the same")
	}
}

func TestParsePin(t *testing.T) {
	h := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "sha256:" + h, want: "sha256:" + h},
		{in: " SHA256:" + strings.ToUpper(h), want: "sha256:" + h},
		{in: h, err: "want sha256:"},
		{in: "md5:" + h, err: "unsupported algorithm"},
		{in: "sha256:" + h[:62], err: "64 hex digits"},
		{in: "sha256:" + h[:62] + "zz", err: "64 hex digits"},
		{in: "", err: "want sha256:"},
	} {
		got, err := ParsePin(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParsePin(%q) = %q, %v; want error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParsePin(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := parsePins(nil); err == nil || !strings.Contains(err.Error(), "at least one") {
		t.Errorf("parsePins(nil) = %v; want an error asking for a pin", err)
	}
}

func TestTokenFormat(t *testing.T) {
	re := regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}$`)
	seen := map[string]bool{}
	for range 200 {
		tok, err := NewToken()
		if err != nil {
			t.Fatal(err)
		}
		if !re.MatchString(tok.String()) {
			t.Fatalf("token %q", tok)
		}
		if seen[tok.ID] {
			t.Fatalf("id %s drawn twice in 200", tok.ID)
		}
		seen[tok.ID] = true
		back, err := ParseToken(tok.String())
		if err != nil || back.ID != tok.ID || back.Secret != tok.Secret {
			t.Fatalf("ParseToken(%s) = %+v, %v", tok, back, err)
		}
	}
	for _, bad := range []string{"", "abcdef", "abcdef.0123456789abcde", "ABCDEF.0123456789abcdef", "abcdef:0123456789abcdef", "abcdef.0123456789abcdef0"} {
		if _, err := ParseToken(bad); err == nil {
			t.Errorf("ParseToken(%q) accepted", bad)
		}
	}
}

func caPEMOf(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func TestCreateToken(t *testing.T) {
	var (
		mu    sync.Mutex
		posts []secret
	)
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v1/namespaces/kube-system/secrets" ||
			r.Header.Get("Authorization") != "Bearer admin-token" {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
			return
		}
		var s secret
		if err := json.NewDecoder(r.Body).Decode(&s); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		posts = append(posts, s)
		n := len(posts)
		mu.Unlock()
		if n == 1 { // the first id is taken
			w.WriteHeader(http.StatusConflict)
			fmt.Fprint(w, `{"kind":"Status","status":"Failure","reason":"AlreadyExists","code":409}`)
			return
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{}`)
	}))
	defer ts.Close()
	c, err := NewClient(ts.URL, caPEMOf(ts.Certificate()), "admin-token")
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	tok, err := CreateToken(context.Background(), c, 2*time.Hour, "for node-1", []string{"system:bootstrappers:gantry:default-node-token"})
	if err != nil {
		t.Fatal(err)
	}
	if len(posts) != 2 || posts[0].Metadata.Name == posts[1].Metadata.Name {
		t.Fatalf("posts %d, want a retry with another id after the conflict", len(posts))
	}
	s := posts[1]
	if s.Metadata.Name != "bootstrap-token-"+tok.ID || s.Metadata.Namespace != "kube-system" || s.Type != "bootstrap.kubernetes.io/token" {
		t.Errorf("secret %+v", s.Metadata)
	}
	exp, err := time.Parse(time.RFC3339, string(s.Data["expiration"]))
	if err != nil || exp.Before(before.Add(2*time.Hour-time.Second)) || exp.After(time.Now().Add(2*time.Hour)) {
		t.Errorf("expiration %q (%v)", s.Data["expiration"], err)
	}
	want := map[string]string{
		"token-id": tok.ID, "token-secret": tok.Secret, "usage-bootstrap-authentication": "true",
		"usage-bootstrap-signing": "true", "description": "for node-1",
		"auth-extra-groups": "system:bootstrappers:gantry:default-node-token", "expiration": string(s.Data["expiration"]),
	}
	if len(s.Data) != len(want) {
		t.Errorf("data keys %d, want %d", len(s.Data), len(want))
	}
	for k, v := range want {
		if string(s.Data[k]) != v {
			t.Errorf("data[%s] = %q, want %q", k, s.Data[k], v)
		}
	}

	if _, err := CreateToken(context.Background(), c, time.Hour, "", []string{"system:masters"}); err == nil {
		t.Error("extra group system:masters accepted")
	}
	if _, err := CreateToken(context.Background(), c, -time.Hour, "", nil); err == nil {
		t.Error("negative TTL accepted")
	}
}

// clusterInfoServer serves cluster-info naming ca and the server's own
// URL; tamper, if set, changes the answer from the second read on.
type clusterInfoServer struct {
	*httptest.Server
	mu     sync.Mutex
	reads  int
	ca     []byte
	status int
	tamper func(kubeconfig string) string
}

func newClusterInfoServer(t *testing.T) *clusterInfoServer {
	s := &clusterInfoServer{}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if r.URL.Path != clusterInfoPath || r.Header.Get("Authorization") != "" {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		if s.status != 0 {
			w.WriteHeader(s.status)
			fmt.Fprintf(w, `{"kind":"Status","status":"Failure","message":"nope","reason":"Forbidden","code":%d}`, s.status)
			return
		}
		s.reads++
		kc := fmt.Sprintf("apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: %s\n    server: %s\n  name: \"\"\nkind: Config\n",
			base64.StdEncoding.EncodeToString(s.ca), s.URL)
		if s.tamper != nil && s.reads > 1 {
			kc = s.tamper(kc)
		}
		json.NewEncoder(w).Encode(configMap{Data: map[string]string{"kubeconfig": kc}})
	}))
	s.ca = caPEMOf(s.Certificate())
	t.Cleanup(s.Close)
	return s
}

func TestDiscover(t *testing.T) {
	ctx := context.Background()
	other, _ := newCA(t, "someone else")
	t.Run("good pin", func(t *testing.T) {
		s := newClusterInfoServer(t)
		ca, server, err := Discover(ctx, s.URL, []string{CAHash(other), CAHash(s.Certificate())})
		if err != nil {
			t.Fatal(err)
		}
		if string(ca) != string(s.ca) || server != s.URL || s.reads != 2 {
			t.Errorf("Discover = %q, %q after %d reads", ca, server, s.reads)
		}
		// host:port without a scheme works too.
		if _, _, err := Discover(ctx, strings.TrimPrefix(s.URL, "https://"), []string{CAHash(s.Certificate())}); err != nil {
			t.Errorf("host:port: %v", err)
		}
	})
	for _, tc := range []struct {
		name  string
		pins  func(s *clusterInfoServer) []string
		setup func(s *clusterInfoServer)
		err   string
	}{
		{name: "wrong pin", pins: func(*clusterInfoServer) []string { return []string{CAHash(other)} }, err: "matches no given CA hash"},
		{name: "no pin", pins: func(*clusterInfoServer) []string { return nil }, err: "at least one"},
		{name: "malformed pin", pins: func(*clusterInfoServer) []string { return []string{"sha256:xyz"} }, err: "64 hex digits"},
		{name: "tampered second read", setup: func(s *clusterInfoServer) {
			s.tamper = func(kc string) string { return strings.Replace(kc, s.URL, "https://10.0.0.1:6443", 1) }
		}, err: "changed between"},
		{name: "pinned CA is not the server's", setup: func(s *clusterInfoServer) {
			s.ca = caPEMOf(other) // the server's TLS certificate does not chain to it
		}, pins: func(*clusterInfoServer) []string { return []string{CAHash(other)} }, err: "verified with the pinned CA"},
		{name: "no cluster-info", setup: func(s *clusterInfoServer) { s.status = http.StatusNotFound }, err: "has no ConfigMap kube-public/cluster-info"},
		{name: "anonymous refused", setup: func(s *clusterInfoServer) { s.status = http.StatusUnauthorized }, err: "refuses anonymous reads"},
		{name: "forbidden", setup: func(s *clusterInfoServer) { s.status = http.StatusForbidden }, err: "refuses anonymous reads"},
		{name: "not PEM", setup: func(s *clusterInfoServer) { s.ca = []byte("garbage") }, err: "not PEM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newClusterInfoServer(t)
			if tc.setup != nil {
				tc.setup(s)
			}
			pins := []string{CAHash(s.Certificate())}
			if tc.pins != nil {
				pins = tc.pins(s)
			}
			ca, _, err := Discover(ctx, s.URL, pins)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("Discover = %q, %v; want error with %q", ca, err, tc.err)
			}
		})
	}
}

// csrServer answers CertificateSigningRequests: answer decides the
// status of a read.
func csrServer(t *testing.T, answer func(req *csr, reads int)) *httptest.Server {
	var (
		mu    sync.Mutex
		req   csr
		reads int
	)
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer abcdef.0123456789abcdef" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"kind":"Status","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`)
			return
		}
		switch {
		case r.Method == http.MethodPost && r.URL.Path == csrPath:
			body, _ := io.ReadAll(r.Body)
			if err := json.Unmarshal(body, &req); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			req.Metadata.Name = req.Metadata.GenerateName + "x1"
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(req)
		case r.Method == http.MethodGet && r.URL.Path == csrPath+"/node-csr-x1":
			reads++
			answer(&req, reads)
			json.NewEncoder(w).Encode(req)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(ts.Close)
	return ts
}

func TestRequestNodeCredentials(t *testing.T) {
	defer func(d time.Duration) { pollInterval = d }(pollInterval)
	pollInterval = 10 * time.Millisecond
	ctx := context.Background()
	const token = "abcdef.0123456789abcdef"
	caCert, caKey := newCA(t, "cluster")

	ts := csrServer(t, func(req *csr, reads int) {
		if reads < 3 {
			return
		}
		block, _ := pem.Decode(req.Spec.Request)
		cr, err := x509.ParseCertificateRequest(block.Bytes)
		if err != nil {
			t.Error(err)
			return
		}
		if cr.Subject.CommonName != "system:node:node-1" || strings.Join(cr.Subject.Organization, ",") != "system:nodes" ||
			req.Spec.SignerName != kubeletClientSigner || strings.Join(req.Spec.Usages, ",") != "digital signature,client auth" ||
			req.Spec.ExpirationSeconds == nil || *req.Spec.ExpirationSeconds != 3600 {
			t.Errorf("request %v, spec %+v", cr.Subject, req.Spec)
		}
		der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
			SerialNumber: big.NewInt(2), Subject: cr.Subject, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}, caCert, cr.PublicKey, caKey)
		if err != nil {
			t.Error(err)
			return
		}
		req.Status.Certificate = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	})
	certPEM, keyPEM, err := RequestNodeCredentials(ctx, ts.URL, caPEMOf(ts.Certificate()), token, "node-1", time.Minute, WithExpiration(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil || kb.Type != "EC PRIVATE KEY" {
		t.Fatalf("key %q", keyPEM)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkCert(certPEM, key); err != nil {
		t.Error(err)
	}

	denied := csrServer(t, func(req *csr, _ int) {
		req.Status.Conditions = append(req.Status.Conditions[:0], struct {
			Type    string `json:"type"`
			Reason  string `json:"reason"`
			Message string `json:"message"`
		}{"Denied", "NotANode", "denied by the test"})
	})
	_, _, err = RequestNodeCredentials(ctx, denied.URL, caPEMOf(denied.Certificate()), token, "node-1", time.Minute)
	if err == nil || !strings.Contains(err.Error(), "Denied: NotANode: denied by the test") {
		t.Errorf("denied: %v", err)
	}

	pending := csrServer(t, func(*csr, int) {})
	_, _, err = RequestNodeCredentials(ctx, pending.URL, caPEMOf(pending.Certificate()), token, "node-1", 100*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "--cluster-signing-cert-file") {
		t.Errorf("pending: %v", err)
	}

	_, _, err = RequestNodeCredentials(ctx, pending.URL, caPEMOf(pending.Certificate()), "zzzzzz.0123456789abcdef", "node-1", time.Minute)
	if err == nil || !strings.Contains(err.Error(), "refused the token") {
		t.Errorf("wrong token: %v", err)
	}

	for _, bad := range []struct{ token, node string }{{"nope", "node-1"}, {token, "Node_1"}, {token, ""}} {
		if _, _, err := RequestNodeCredentials(ctx, pending.URL, caPEMOf(pending.Certificate()), bad.token, bad.node, time.Minute); err == nil {
			t.Errorf("token %q node %q accepted", bad.token, bad.node)
		}
	}
}
