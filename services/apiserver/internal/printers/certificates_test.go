package printers

import (
	"reflect"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
)

func TestCSRColumnsAndCells(t *testing.T) {
	if got, want := describeColumns(Columns(gr("certificates.k8s.io", "certificatesigningrequests"))),
		"Name,Age,SignerName,Requestor,RequestedDuration,Condition"; got != want {
		t.Errorf("columns %s, want %s", got, want)
	}
	cond := func(ts ...certificatesv1.RequestConditionType) []certificatesv1.CertificateSigningRequestCondition {
		var out []certificatesv1.CertificateSigningRequestCondition
		for _, t := range ts {
			out = append(out, certificatesv1.CertificateSigningRequestCondition{Type: t, Status: corev1.ConditionTrue})
		}
		return out
	}
	hour := int32(3600)
	for _, tt := range []struct {
		name string
		csr  certificatesv1.CertificateSigningRequest
		want []interface{}
	}{
		{"pending", certificatesv1.CertificateSigningRequest{ObjectMeta: objectMeta("a"),
			Spec: certificatesv1.CertificateSigningRequestSpec{SignerName: "kubernetes.io/kube-apiserver-client-kubelet",
				Username: "system:bootstrap:abcdef", ExpirationSeconds: &hour}},
			[]interface{}{"a", "5m", "kubernetes.io/kube-apiserver-client-kubelet", "system:bootstrap:abcdef", "60m", "Pending"}},
		{"issued", certificatesv1.CertificateSigningRequest{ObjectMeta: objectMeta("b"),
			Status: certificatesv1.CertificateSigningRequestStatus{Conditions: cond(certificatesv1.CertificateApproved), Certificate: []byte("x")}},
			[]interface{}{"b", "5m", "<none>", "", "<none>", "Approved,Issued"}},
		{"denied wins", certificatesv1.CertificateSigningRequest{ObjectMeta: objectMeta("c"),
			Status: certificatesv1.CertificateSigningRequestStatus{Conditions: cond(certificatesv1.CertificateApproved, certificatesv1.CertificateDenied, certificatesv1.CertificateFailed)}},
			[]interface{}{"c", "5m", "<none>", "", "<none>", "Denied,Failed"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.csr.CreationTimestamp.Time = now.Add(-5 * time.Minute)
			if got := Cells(&tt.csr, now); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("cells %v, want %v", got, tt.want)
			}
		})
	}
}
