package server

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/gantry-dev/gantry/services/apiserver/internal/authz"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// caFile is the CA clients verify this server with: --client-ca-file, or
// the CA --cert-dir holds; "" when neither is known.
func (s *Server) caFile() string {
	if s.cfg.ClientCAFile != "" {
		return s.cfg.ClientCAFile
	}
	if s.cfg.CertDir != "" {
		if p := filepath.Join(s.cfg.CertDir, "ca.crt"); exists(p) {
			return p
		}
	}
	return ""
}

// createClusterInfo publishes kube-public/cluster-info, as kubeadm does:
// key "kubeconfig" holds a kubeconfig with one cluster, this server's
// URL and CA, which joining nodes read anonymously. An existing
// ConfigMap is left alone; without a known CA there is none.
func (s *Server) createClusterInfo(ctx context.Context) error {
	ca := s.caFile()
	if ca == "" {
		s.log.Info("not publishing kube-public/cluster-info: no CA (--client-ca-file or --cert-dir)")
		return nil
	}
	pem, err := os.ReadFile(ca)
	if err != nil {
		return fmt.Errorf("cluster-info: %w", err)
	}
	server := "https://" + net.JoinHostPort(s.advertiseAddress(), strconv.Itoa(s.port()))
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: authz.ClusterInfoName, Namespace: authz.ClusterInfoNamespace},
		Data:       map[string]string{"kubeconfig": clusterInfoKubeconfig(server, pem)},
	}
	cms, _ := s.reg.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"})
	_, err = cms.Create(ctx, authz.ClusterInfoNamespace, cm, metav1.CreateOptions{FieldManager: "gantry-apiserver"})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// clusterInfoKubeconfig is a kubeconfig with one unnamed cluster and no
// users, as kubeadm writes into cluster-info.
func clusterInfoKubeconfig(server string, caPEM []byte) string {
	return fmt.Sprintf(`apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: %s
    server: %s
  name: ""
contexts: null
current-context: ""
kind: Config
preferences: {}
users: null
`, base64.StdEncoding.EncodeToString(caPEM), server)
}
