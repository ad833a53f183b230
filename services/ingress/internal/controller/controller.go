package controller

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/ingress/internal/routes"
	"github.com/gantry-dev/gantry/services/ingress/internal/tlscerts"
)

// Recorder records Events; *client.EventRecorder is one.
type Recorder interface {
	Event(ref corev1.ObjectReference, eventType, reason, message string)
}

// Config of a Controller.
type Config struct {
	Factory *client.InformerFactory
	// Class is the IngressClass served.
	Class string
	// SetTable receives every new route table; SetCerts every new
	// certificate map.
	SetTable func(*routes.Table)
	SetCerts func(*tlscerts.Store)
	// SelfSigned is the default certificate unless DefaultCertSecret
	// ("namespace/name") names a usable one.
	SelfSigned        *tls.Certificate
	DefaultCertSecret string
	Recorder          Recorder
	Registerer        prometheus.Registerer
	Log               *slog.Logger
}

// Controller rebuilds the proxy's configuration as the cluster changes.
type Controller struct {
	cfg       Config
	log       *slog.Logger
	ingresses cache.SharedIndexInformer
	classes   cache.SharedIndexInformer
	services  cache.SharedIndexInformer
	slices    cache.SharedIndexInformer
	secrets   cache.SharedIndexInformer
	certCache *tlscerts.Cache

	kick       chan struct{}
	statusKick chan struct{}

	// reported are the problems already reported, by Ingress UID.
	reported map[string]map[string]bool
	// synced are the generations of the Ingresses served, by UID.
	synced map[string]int64

	syncs    prometheus.Counter
	lastSync prometheus.Gauge
	served   prometheus.Gauge
	upstream *prometheus.GaugeVec
}

const sliceServiceIndex = "service"

// New registers the informers the controller needs on cfg.Factory; start
// the factory after New.
func New(cfg Config) (*Controller, error) {
	c := &Controller{
		cfg: cfg, log: cfg.Log,
		ingresses:  client.InformerFor(cfg.Factory, client.Ingresses),
		classes:    client.InformerFor(cfg.Factory, client.IngressClasses),
		services:   client.InformerFor(cfg.Factory, client.Services),
		slices:     client.InformerFor(cfg.Factory, client.EndpointSlices),
		secrets:    client.InformerFor(cfg.Factory, client.Secrets),
		certCache:  tlscerts.NewCache(),
		kick:       make(chan struct{}, 1),
		statusKick: make(chan struct{}, 1),
		reported:   map[string]map[string]bool{},
		synced:     map[string]int64{},
		syncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gantry_ingress_config_syncs_total", Help: "Route table and certificate rebuilds.",
		}),
		lastSync: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gantry_ingress_config_last_sync_timestamp_seconds", Help: "When the configuration was last rebuilt.",
		}),
		served: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gantry_ingress_ingresses", Help: "Ingresses of the controller's class being served.",
		}),
		upstream: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gantry_ingress_upstream_endpoints", Help: "Ready endpoints of each backend Service port.",
		}, []string{"namespace", "service", "port"}),
	}
	for _, col := range []prometheus.Collector{c.syncs, c.lastSync, c.served, c.upstream} {
		if err := cfg.Registerer.Register(col); err != nil {
			return nil, fmt.Errorf("controller metrics: %w", err)
		}
	}
	if err := c.slices.AddIndexers(cache.Indexers{sliceServiceIndex: sliceService}); err != nil {
		return nil, fmt.Errorf("endpointslice index: %w", err)
	}
	h := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.trigger() },
		UpdateFunc: func(any, any) { c.trigger() },
		DeleteFunc: func(any) { c.trigger() },
	}
	for _, inf := range []cache.SharedIndexInformer{c.ingresses, c.classes, c.services, c.slices, c.secrets} {
		if _, err := inf.AddEventHandler(h); err != nil {
			return nil, fmt.Errorf("event handler: %w", err)
		}
	}
	return c, nil
}

func sliceService(obj any) ([]string, error) {
	sl, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return nil, nil
	}
	svc := sl.Labels[discoveryv1.LabelServiceName]
	if svc == "" {
		return nil, nil
	}
	return []string{sl.Namespace + "/" + svc}, nil
}

func (c *Controller) trigger() {
	for _, ch := range []chan struct{}{c.kick, c.statusKick} {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// HasSynced reports whether the informers have synced.
func (c *Controller) HasSynced() bool {
	for _, inf := range []cache.SharedIndexInformer{c.ingresses, c.classes, c.services, c.slices, c.secrets} {
		if !inf.HasSynced() {
			return false
		}
	}
	return true
}

// Run rebuilds the configuration after every change until ctx ends; the
// first build happens once the informers have synced, before ready is
// called.
func (c *Controller) Run(ctx context.Context, ready func()) error {
	if !cache.WaitForCacheSync(ctx.Done(), c.HasSynced) {
		return nil
	}
	c.Sync()
	if ready != nil {
		ready()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.kick:
			c.Sync()
		}
	}
}

// served returns the Ingresses of the class.
func (c *Controller) servedIngresses() []*networkingv1.Ingress {
	isDefault := false
	if obj, ok, _ := c.classes.GetIndexer().GetByKey(c.cfg.Class); ok {
		isDefault = IsDefault(obj.(*networkingv1.IngressClass))
	}
	var out []*networkingv1.Ingress
	for _, obj := range c.ingresses.GetIndexer().List() {
		if ing, ok := obj.(*networkingv1.Ingress); ok && Ours(ing, c.cfg.Class, isDefault) {
			out = append(out, ing)
		}
	}
	routes.SortIngresses(out)
	return out
}

// Sync rebuilds the route table and certificates once. Should the
// rebuild fail on input nobody foresaw, the previous configuration stays
// in use and the failure is logged.
func (c *Controller) Sync() {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("configuration rebuild failed; keeping the previous one", "panic", r)
		}
	}()
	start := time.Now()
	ings := c.servedIngresses()
	table, routeProblems := routes.Build(ings, snapshot{c})
	certs, certProblems := tlscerts.Build(ings, c.secret, c.certCache, c.defaultCert())
	c.certCache.Prune()
	c.cfg.SetTable(table)
	c.cfg.SetCerts(certs)

	problems := make([]routes.Problem, 0, len(routeProblems)+len(certProblems))
	problems = append(problems, routeProblems...)
	for _, p := range certProblems {
		problems = append(problems, routes.Problem(p))
	}
	c.report(ings, problems)

	c.syncs.Inc()
	c.lastSync.SetToCurrentTime()
	c.served.Set(float64(len(ings)))
	c.upstream.Reset()
	for _, up := range table.Upstreams {
		c.upstream.WithLabelValues(up.Namespace, up.Service, up.Port).Set(float64(len(up.Endpoints)))
	}
	c.log.Debug("configuration rebuilt", "ingresses", len(ings), "upstreams", len(table.Upstreams),
		"tlsHosts", certs.Hosts(), "problems", len(problems), "took", time.Since(start))
}

// report records each problem of an Ingress once (again if it goes away
// and comes back), and a Normal Sync event when an Ingress is first
// served or changes.
func (c *Controller) report(ings []*networkingv1.Ingress, problems []routes.Problem) {
	byKey := map[string]*networkingv1.Ingress{}
	for _, ing := range ings {
		byKey[ing.Namespace+"/"+ing.Name] = ing
	}
	reported := map[string]map[string]bool{}
	synced := map[string]int64{}
	for _, ing := range ings {
		uid := string(ing.UID)
		synced[uid] = ing.Generation
		if gen, ok := c.synced[uid]; !ok || gen != ing.Generation {
			c.cfg.Recorder.Event(ingressRef(ing), corev1.EventTypeNormal, "Sync", "Scheduled for sync")
		}
	}
	for _, p := range problems {
		ing := byKey[p.Namespace+"/"+p.Ingress]
		if ing == nil {
			continue
		}
		uid := string(ing.UID)
		key := p.Reason + "\x00" + p.Message
		if reported[uid] == nil {
			reported[uid] = map[string]bool{}
		}
		reported[uid][key] = true
		if c.reported[uid][key] {
			continue
		}
		c.log.Warn("ingress problem", "ingress", p.Namespace+"/"+p.Ingress, "reason", p.Reason, "message", p.Message)
		c.cfg.Recorder.Event(ingressRef(ing), corev1.EventTypeWarning, p.Reason, p.Message)
	}
	c.reported, c.synced = reported, synced
}

func ingressRef(ing *networkingv1.Ingress) corev1.ObjectReference {
	return corev1.ObjectReference{Kind: "Ingress", APIVersion: "networking.k8s.io/v1", Namespace: ing.Namespace,
		Name: ing.Name, UID: ing.UID, ResourceVersion: ing.ResourceVersion}
}

func (c *Controller) secret(ns, name string) *corev1.Secret {
	obj, ok, _ := c.secrets.GetIndexer().GetByKey(ns + "/" + name)
	if !ok {
		return nil
	}
	s, _ := obj.(*corev1.Secret)
	return s
}

// defaultCert is --default-ssl-certificate when usable, else the
// self-signed certificate.
func (c *Controller) defaultCert() *tls.Certificate {
	if c.cfg.DefaultCertSecret == "" {
		return c.cfg.SelfSigned
	}
	ns, name, _ := strings.Cut(c.cfg.DefaultCertSecret, "/")
	sec := c.secret(ns, name)
	if sec == nil {
		c.log.Warn("default certificate secret not found; using the self-signed one", "secret", c.cfg.DefaultCertSecret)
		return c.cfg.SelfSigned
	}
	cert, err := tlscerts.KeyPair(sec)
	if err != nil {
		c.log.Warn("default certificate secret unusable; using the self-signed one", "secret", c.cfg.DefaultCertSecret, "err", err)
		return c.cfg.SelfSigned
	}
	return cert
}

// snapshot reads Services and EndpointSlices from the informers.
type snapshot struct{ c *Controller }

func (s snapshot) Service(ns, name string) *corev1.Service {
	obj, ok, _ := s.c.services.GetIndexer().GetByKey(ns + "/" + name)
	if !ok {
		return nil
	}
	svc, _ := obj.(*corev1.Service)
	return svc
}

func (s snapshot) EndpointSlices(ns, svc string) []*discoveryv1.EndpointSlice {
	objs, _ := s.c.slices.GetIndexer().ByIndex(sliceServiceIndex, ns+"/"+svc)
	out := make([]*discoveryv1.EndpointSlice, 0, len(objs))
	for _, o := range objs {
		if sl, ok := o.(*discoveryv1.EndpointSlice); ok {
			out = append(out, sl)
		}
	}
	return out
}
