package csrutil

import (
	"context"
	"fmt"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

// Client is what the certificate controllers call on
// CertificateSigningRequests: client-go's
// CertificatesV1().CertificateSigningRequests() is one.
type Client interface {
	List(ctx context.Context, opts metav1.ListOptions) (*certificatesv1.CertificateSigningRequestList, error)
	Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
	// UpdateApproval writes the approval conditions (subresource
	// "approval").
	UpdateApproval(ctx context.Context, name string, csr *certificatesv1.CertificateSigningRequest, opts metav1.UpdateOptions) (*certificatesv1.CertificateSigningRequest, error)
	// UpdateStatus writes the certificate and the other conditions
	// (subresource "status").
	UpdateStatus(ctx context.Context, csr *certificatesv1.CertificateSigningRequest, opts metav1.UpdateOptions) (*certificatesv1.CertificateSigningRequest, error)
}

// FromContext returns the client of the API server c talks to and the
// shared CertificateSigningRequest informer of c (started with the
// others by the manager).
func FromContext(c *controller.Context) (Client, cache.SharedIndexInformer) {
	return gantryClient{client.CertificateSigningRequests(c.Client)},
		client.InformerFor(c.Informers, client.CertificateSigningRequests)
}

// gantryClient adapts the Gantry API client to Client.
type gantryClient struct {
	r *client.Resource[*certificatesv1.CertificateSigningRequest, *certificatesv1.CertificateSigningRequestList]
}

func (g gantryClient) List(ctx context.Context, opts metav1.ListOptions) (*certificatesv1.CertificateSigningRequestList, error) {
	return g.r.List(ctx, "", opts)
}

func (g gantryClient) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	return g.r.Watch(ctx, "", opts)
}

func (g gantryClient) UpdateApproval(ctx context.Context, name string, csr *certificatesv1.CertificateSigningRequest, opts metav1.UpdateOptions) (*certificatesv1.CertificateSigningRequest, error) {
	if csr.Name != name {
		csr = csr.DeepCopy()
		csr.Name = name
	}
	return g.r.UpdateSubresource(ctx, csr, "approval", opts)
}

func (g gantryClient) UpdateStatus(ctx context.Context, csr *certificatesv1.CertificateSigningRequest, opts metav1.UpdateOptions) (*certificatesv1.CertificateSigningRequest, error) {
	return g.r.UpdateStatus(ctx, csr, opts)
}

// Get returns the request named key from the informer's cache, or nil
// when it is not there (deleted).
func Get(inf cache.SharedIndexInformer, key string) (*certificatesv1.CertificateSigningRequest, error) {
	obj, ok, err := inf.GetIndexer().GetByKey(key)
	if err != nil {
		return nil, fmt.Errorf("certificate signing request %s from the cache: %w", key, err)
	}
	if !ok {
		return nil, nil
	}
	csr, ok := obj.(*certificatesv1.CertificateSigningRequest)
	if !ok {
		return nil, fmt.Errorf("certificate signing request %s: cache holds a %T", key, obj)
	}
	return csr, nil
}

// Watch has loop sync every request the informer adds or updates.
func Watch(inf cache.SharedIndexInformer, loop *controller.Loop) error {
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    loop.Enqueue,
		UpdateFunc: func(_, cur any) { loop.Enqueue(cur) },
	})
	return err
}
