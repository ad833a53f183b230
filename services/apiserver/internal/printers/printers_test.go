package printers

import (
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// ago is a timestamp d before now.
func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

func objectMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: ago(5 * time.Minute)}
}

// describeColumns writes columns as "Name,Ready,IP*": a star marks the
// columns only -o wide shows.
func describeColumns(cols []metav1.TableColumnDefinition) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
		if c.Priority == 1 {
			names[i] += "*"
		}
	}
	return strings.Join(names, ",")
}

func TestColumns(t *testing.T) {
	tests := []struct {
		gr   schema.GroupResource
		want string
	}{
		{gr("", "pods"), "Name,Ready,Status,Restarts,Age,IP*,Node*,Nominated Node*,Readiness Gates*"},
		{gr("", "nodes"), "Name,Status,Roles,Age,Version,Internal-IP*,External-IP*,OS-Image*,Kernel-Version*,Container-Runtime*"},
		{gr("", "namespaces"), "Name,Status,Age"},
		{gr("", "services"), "Name,Type,Cluster-IP,External-IP,Port(s),Age,Selector*"},
		{gr("", "endpoints"), "Name,Endpoints,Age"},
		{gr("", "configmaps"), "Name,Data,Age"},
		{gr("", "secrets"), "Name,Type,Data,Age"},
		{gr("", "events"), "Last Seen,Type,Reason,Object,Subobject*,Source*,Message,First Seen*,Count*,Name*"},
		{gr("", "serviceaccounts"), "Name,Secrets,Age"},
		{gr("apps", "deployments"), "Name,Ready,Up-to-date,Available,Age,Containers*,Images*,Selector*"},
		{gr("apps", "replicasets"), "Name,Desired,Current,Ready,Age,Containers*,Images*,Selector*"},
		{gr("apps", "statefulsets"), "Name,Ready,Age,Containers*,Images*"},
		{gr("apps", "controllerrevisions"), "Name,Controller,Revision,Age"},
		{gr("apps", "daemonsets"), "Name,Desired,Current,Ready,Up-to-date,Available,Node Selector,Age,Containers*,Images*,Selector*"},
		{gr("batch", "jobs"), "Name,Status,Completions,Duration,Age,Containers*,Images*,Selector*"},
		{gr("batch", "cronjobs"), "Name,Schedule,Timezone,Suspend,Active,Last Schedule,Age,Containers*,Images*,Selector*"},
		{gr("networking.k8s.io", "ingresses"), "Name,Class,Hosts,Address,Ports,Age"},
		{gr("networking.k8s.io", "ingressclasses"), "Name,Controller,Parameters,Age"},
		{gr("coordination.k8s.io", "leases"), "Name,Holder,Age"},
		{gr("discovery.k8s.io", "endpointslices"), "Name,AddressType,Ports,Endpoints,Age"},
		{gr("scheduling.k8s.io", "priorityclasses"), "Name,Value,Global-Default,Age,PreemptionPolicy"},
		{gr("", "persistentvolumes"), "Name,Capacity,Access Modes,Reclaim Policy,Status,Claim,StorageClass,VolumeAttributesClass,Reason,Age,VolumeMode*"},
		{gr("", "persistentvolumeclaims"), "Name,Status,Volume,Capacity,Access Modes,StorageClass,VolumeAttributesClass,Age,VolumeMode*"},
		{gr("storage.k8s.io", "storageclasses"), "Name,Provisioner,ReclaimPolicy,VolumeBindingMode,AllowVolumeExpansion,Age"},
		{gr("policy", "poddisruptionbudgets"), "Name,Created At"},
	}
	for _, tt := range tests {
		t.Run(tt.gr.String(), func(t *testing.T) {
			if got := describeColumns(Columns(tt.gr)); got != tt.want {
				t.Errorf("columns\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestColumnsAreCopies(t *testing.T) {
	Columns(gr("", "pods"))[0].Name = "changed"
	if got := Columns(gr("", "pods"))[0].Name; got != "Name" {
		t.Errorf("first pod column = %q after a caller changed its copy, want Name", got)
	}
}

// TestEveryResourceHasMatchingCells checks, for each served resource, that
// an object's cells line up with its resource's columns.
func TestEveryResourceHasMatchingCells(t *testing.T) {
	for _, r := range api.Resources {
		t.Run(r.Resource, func(t *testing.T) {
			cols := Columns(schema.GroupResource{Group: r.Group, Resource: r.Resource})
			cells := Cells(r.New(), now)
			if len(cells) != len(cols) {
				t.Errorf("%d cells for %d columns (%s)", len(cells), len(cols), describeColumns(cols))
			}
			for i, c := range cells {
				switch c.(type) {
				case string, int64:
				case bool:
					if i < len(cols) && cols[i].Type != typeBoolean {
						t.Errorf("cell %d (%s) is a bool in a column of type %s", i, cols[i].Name, cols[i].Type)
					}
				default:
					t.Errorf("cell %d (%s) is a %T", i, cols[i].Name, c)
				}
			}
		})
	}
}

// checkCells compares cells one by one.
func checkCells(t *testing.T, got, want []interface{}) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d cells %q, want %d %q", len(got), got, len(want), want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("cell %d = %#v, want %#v", i, got[i], want[i])
		}
	}
}

func TestCells(t *testing.T) {
	tests := []struct {
		name string
		obj  runtime.Object
		want []interface{}
	}{
		{
			name: "node",
			obj: &corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "n1", CreationTimestamp: ago(50 * time.Hour), Labels: map[string]string{
					"node-role.kubernetes.io/control-plane": "",
					"node-role.kubernetes.io/worker":        "",
					"kubernetes.io/hostname":                "n1",
				}},
				Spec: corev1.NodeSpec{Unschedulable: true},
				Status: corev1.NodeStatus{
					Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
					Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.5"}},
					NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.37.2", OSImage: "Debian GNU/Linux 13",
						KernelVersion: "6.12.0", ContainerRuntimeVersion: "containerd://2.1.0"},
				},
			},
			want: []interface{}{"n1", "Ready,SchedulingDisabled", "control-plane,worker", "2d2h", "v1.37.2",
				"10.0.0.5", "<none>", "Debian GNU/Linux 13", "6.12.0", "containerd://2.1.0"},
		},
		{
			name: "node without status",
			obj:  &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2"}},
			want: []interface{}{"n2", "Unknown", "<none>", "<unknown>", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"},
		},
		{
			name: "not ready node",
			obj: &corev1.Node{ObjectMeta: objectMeta("n3"), Status: corev1.NodeStatus{
				Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown}}}},
			want: []interface{}{"n3", "NotReady", "<none>", "5m", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"},
		},
		{
			name: "namespace",
			obj:  &corev1.Namespace{ObjectMeta: objectMeta("team"), Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
			want: []interface{}{"team", "Active", "5m"},
		},
		{
			name: "node port service",
			obj: &corev1.Service{ObjectMeta: objectMeta("web"), Spec: corev1.ServiceSpec{
				Type:       corev1.ServiceTypeNodePort,
				ClusterIPs: []string{"10.96.0.10"},
				Ports: []corev1.ServicePort{
					{Port: 80, NodePort: 30080, Protocol: corev1.ProtocolTCP},
					{Port: 53, Protocol: corev1.ProtocolUDP},
				},
				Selector: map[string]string{"app": "web", "tier": "front"},
			}},
			want: []interface{}{"web", "NodePort", "10.96.0.10", "<none>", "80:30080/TCP,53/UDP", "5m", "app=web,tier=front"},
		},
		{
			name: "pending load balancer",
			obj: &corev1.Service{ObjectMeta: objectMeta("lb"), Spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeLoadBalancer, ClusterIP: "10.96.0.11"}},
			want: []interface{}{"lb", "LoadBalancer", "10.96.0.11", "<pending>", "<none>", "5m", "<none>"},
		},
		{
			name: "load balancer with addresses",
			obj: &corev1.Service{ObjectMeta: objectMeta("lb"),
				Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"10.96.0.11"},
					ExternalIPs: []string{"198.51.100.7"}},
				Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{
					{IP: "203.0.113.2"}, {Hostname: "lb.example.com"}, {IP: "203.0.113.2"}}}}},
			want: []interface{}{"lb", "LoadBalancer", "10.96.0.11", "203.0.113.2,lb.example.com,198.51.100.7", "<none>", "5m", "<none>"},
		},
		{
			name: "external name service",
			obj: &corev1.Service{ObjectMeta: objectMeta("db"), Spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"}},
			want: []interface{}{"db", "ExternalName", "<none>", "db.example.com", "<none>", "5m", "<none>"},
		},
		{
			name: "endpoints",
			obj: &corev1.Endpoints{ObjectMeta: objectMeta("web"), Subsets: []corev1.EndpointSubset{
				{
					Addresses: []corev1.EndpointAddress{{IP: "10.1.0.1"}, {IP: "10.1.0.2"}, {IP: "fd00::3"}},
					Ports:     []corev1.EndpointPort{{Port: 8080}},
				},
				{Addresses: []corev1.EndpointAddress{{IP: "10.1.0.4"}, {IP: "10.1.0.5"}}},
			}},
			want: []interface{}{"web", "10.1.0.1:8080,10.1.0.2:8080,[fd00::3]:8080 + 2 more...", "5m"},
		},
		{
			name: "endpoints without subsets",
			obj:  &corev1.Endpoints{ObjectMeta: objectMeta("web")},
			want: []interface{}{"web", "<none>", "5m"},
		},
		{
			name: "configmap",
			obj: &corev1.ConfigMap{ObjectMeta: objectMeta("cfg"), Data: map[string]string{"a": "1", "b": "2"},
				BinaryData: map[string][]byte{"c": {1}}},
			want: []interface{}{"cfg", int64(3), "5m"},
		},
		{
			name: "secret",
			obj: &corev1.Secret{ObjectMeta: objectMeta("tls"), Type: corev1.SecretTypeTLS,
				Data: map[string][]byte{"tls.crt": nil, "tls.key": nil}},
			want: []interface{}{"tls", "kubernetes.io/tls", int64(2), "5m"},
		},
		{
			name: "service account",
			obj:  &corev1.ServiceAccount{ObjectMeta: objectMeta("default")},
			want: []interface{}{"default", int64(0), "5m"},
		},
		{
			name: "event",
			obj: &corev1.Event{
				ObjectMeta:     objectMeta("web-1.17f"),
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-1", FieldPath: "spec.containers{app}"},
				Reason:         "BackOff", Type: corev1.EventTypeWarning, Message: "Back-off restarting failed container\n",
				Source:         corev1.EventSource{Component: "kubelet", Host: "n1"},
				FirstTimestamp: ago(time.Hour), LastTimestamp: ago(2 * time.Minute), Count: 12,
			},
			want: []interface{}{"2m", "Warning", "BackOff", "pod/web-1", "spec.containers{app}", "kubelet, n1",
				"Back-off restarting failed container", "60m", int64(12), "web-1.17f"},
		},
		{
			name: "new style event",
			obj: &corev1.Event{
				ObjectMeta:          objectMeta("sched.1"),
				InvolvedObject:      corev1.ObjectReference{Kind: "Pod", Name: "web-2"},
				Reason:              "Scheduled",
				Type:                corev1.EventTypeNormal,
				EventTime:           metav1.NewMicroTime(now.Add(-30 * time.Second)),
				ReportingController: "default-scheduler",
			},
			want: []interface{}{"30s", "Normal", "Scheduled", "pod/web-2", "", "default-scheduler", "", "30s", int64(1), "sched.1"},
		},
		{
			name: "deployment",
			obj: &appsv1.Deployment{ObjectMeta: objectMeta("web"),
				Spec: appsv1.DeploymentSpec{Replicas: new(int32(3)),
					Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
					Template: twoContainers()},
				Status: appsv1.DeploymentStatus{ReadyReplicas: 2, UpdatedReplicas: 3, AvailableReplicas: 2}},
			want: []interface{}{"web", "2/3", int64(3), int64(2), "5m", "app,sidecar", "nginx:1.27,envoy:1.30", "app=web"},
		},
		{
			name: "replicaset",
			obj: &appsv1.ReplicaSet{ObjectMeta: objectMeta("web-5d4f"),
				Spec: appsv1.ReplicaSetSpec{Replicas: new(int32(3)),
					Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
					Template: twoContainers()},
				Status: appsv1.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 1}},
			want: []interface{}{"web-5d4f", int64(3), int64(3), int64(1), "5m", "app,sidecar", "nginx:1.27,envoy:1.30", "app=web"},
		},
		{
			name: "statefulset",
			obj: &appsv1.StatefulSet{ObjectMeta: objectMeta("db"),
				Spec:   appsv1.StatefulSetSpec{Replicas: new(int32(3)), Template: twoContainers()},
				Status: appsv1.StatefulSetStatus{ReadyReplicas: 3}},
			want: []interface{}{"db", "3/3", "5m", "app,sidecar", "nginx:1.27,envoy:1.30"},
		},
		{
			name: "daemonset",
			obj: &appsv1.DaemonSet{ObjectMeta: objectMeta("agent"),
				Spec: appsv1.DaemonSetSpec{
					Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
					Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
						NodeSelector: map[string]string{"kubernetes.io/os": "linux"},
						Containers:   []corev1.Container{{Name: "agent", Image: "agent:2"}}}}},
				Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 3, NumberReady: 2,
					UpdatedNumberScheduled: 3, NumberAvailable: 2}},
			want: []interface{}{"agent", int64(3), int64(3), int64(2), int64(3), int64(2), "kubernetes.io/os=linux", "5m",
				"agent", "agent:2", "app=agent"},
		},
		{
			name: "controller revision",
			obj: &appsv1.ControllerRevision{
				ObjectMeta: func() metav1.ObjectMeta {
					m := objectMeta("web-7c5d8f9b6")
					m.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "web", UID: "u1", Controller: new(true)}}
					return m
				}(),
				Revision: 3},
			want: []interface{}{"web-7c5d8f9b6", "statefulset.apps/web", int64(3), "5m"},
		},
		{
			name: "orphaned controller revision",
			obj:  &appsv1.ControllerRevision{ObjectMeta: objectMeta("agent-5f4d7b"), Revision: 1},
			want: []interface{}{"agent-5f4d7b", "<none>", int64(1), "5m"},
		},
		{
			name: "running job",
			obj: &batchv1.Job{ObjectMeta: objectMeta("pi"),
				Spec: batchv1.JobSpec{Completions: new(int32(5)), Template: twoContainers(),
					Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": "u1"}}},
				Status: batchv1.JobStatus{Succeeded: 2, StartTime: new(ago(90 * time.Second))}},
			want: []interface{}{"pi", "Running", "2/5", "90s", "5m", "app,sidecar", "nginx:1.27,envoy:1.30",
				"batch.kubernetes.io/controller-uid=u1"},
		},
		{
			name: "complete job",
			obj: &batchv1.Job{ObjectMeta: objectMeta("pi"),
				Spec: batchv1.JobSpec{Parallelism: new(int32(3))},
				Status: batchv1.JobStatus{Succeeded: 1, StartTime: new(ago(4 * time.Minute)), CompletionTime: new(ago(time.Minute)),
					Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}}},
			want: []interface{}{"pi", "Complete", "1/1 of 3", "3m", "5m", "", "", "<none>"},
		},
		{
			name: "job not started",
			obj: &batchv1.Job{ObjectMeta: objectMeta("pi"),
				Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobSuspended, Status: corev1.ConditionTrue}}}},
			want: []interface{}{"pi", "Suspended", "0/1", "", "5m", "", "", "<none>"},
		},
		{
			name: "cronjob",
			obj: &batchv1.CronJob{ObjectMeta: objectMeta("nightly"),
				Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", TimeZone: new("Europe/Paris"), Suspend: new(false),
					JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: twoContainers()}}},
				Status: batchv1.CronJobStatus{Active: []corev1.ObjectReference{{Name: "nightly-1"}},
					LastScheduleTime: new(ago(3 * time.Hour))}},
			want: []interface{}{"nightly", "0 3 * * *", "Europe/Paris", "False", int64(1), "3h", "5m",
				"app,sidecar", "nginx:1.27,envoy:1.30", "<none>"},
		},
		{
			name: "cronjob never run",
			obj:  &batchv1.CronJob{ObjectMeta: objectMeta("nightly"), Spec: batchv1.CronJobSpec{Schedule: "@daily"}},
			want: []interface{}{"nightly", "@daily", "<none>", "<unset>", int64(0), "<none>", "5m", "", "", "<none>"},
		},
		{
			name: "ingress",
			obj: &networkingv1.Ingress{ObjectMeta: objectMeta("web"),
				Spec: networkingv1.IngressSpec{IngressClassName: new("nginx"),
					Rules: []networkingv1.IngressRule{{Host: "a.example.com"}, {Host: "b.example.com"}},
					TLS:   []networkingv1.IngressTLS{{Hosts: []string{"a.example.com"}}}},
				Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{
					Ingress: []networkingv1.IngressLoadBalancerIngress{{IP: "203.0.113.9"}}}}},
			want: []interface{}{"web", "nginx", "a.example.com,b.example.com", "203.0.113.9", "80, 443", "5m"},
		},
		{
			name: "ingress with many rules",
			obj: &networkingv1.Ingress{ObjectMeta: objectMeta("web"), Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{
				{}, {Host: "a"}, {Host: "b"}, {Host: "c"}, {Host: "d"}}}},
			want: []interface{}{"web", "<none>", "a,b,c + 2 more...", "", "80", "5m"},
		},
		{
			name: "ingress without hosts",
			obj:  &networkingv1.Ingress{ObjectMeta: objectMeta("web"), Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{}}}},
			want: []interface{}{"web", "<none>", "*", "", "80", "5m"},
		},
		{
			name: "ingressclass",
			obj: &networkingv1.IngressClass{ObjectMeta: objectMeta("nginx"), Spec: networkingv1.IngressClassSpec{
				Controller: "k8s.io/ingress-nginx",
				Parameters: &networkingv1.IngressClassParametersReference{APIGroup: new("k8s.example.com"), Kind: "IngressParameters", Name: "p"}}},
			want: []interface{}{"nginx", "k8s.io/ingress-nginx", "IngressParameters.k8s.example.com/p", "5m"},
		},
		{
			name: "lease",
			obj:  &coordinationv1.Lease{ObjectMeta: objectMeta("n1"), Spec: coordinationv1.LeaseSpec{HolderIdentity: new("n1")}},
			want: []interface{}{"n1", "n1", "5m"},
		},
		{
			name: "lease without holder",
			obj:  &coordinationv1.Lease{ObjectMeta: objectMeta("lock")},
			want: []interface{}{"lock", "", "5m"},
		},
		{
			name: "endpointslice",
			obj: &discoveryv1.EndpointSlice{ObjectMeta: objectMeta("web-abc"), AddressType: discoveryv1.AddressTypeIPv4,
				Ports: []discoveryv1.EndpointPort{{Port: new(int32(80))}, {Name: new("metrics")}, {}},
				Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.1.0.1"}}, {Addresses: []string{"10.1.0.2"}},
					{Addresses: []string{"10.1.0.3"}}, {Addresses: []string{"10.1.0.4"}}}},
			want: []interface{}{"web-abc", "IPv4", "80,metrics,*", "10.1.0.1,10.1.0.2,10.1.0.3 + 1 more...", "5m"},
		},
		{
			name: "empty endpointslice",
			obj:  &discoveryv1.EndpointSlice{ObjectMeta: objectMeta("web-abc"), AddressType: discoveryv1.AddressTypeIPv4},
			want: []interface{}{"web-abc", "IPv4", "<unset>", "<unset>", "5m"},
		},
		{
			name: "priorityclass",
			obj: &schedulingv1.PriorityClass{ObjectMeta: objectMeta("system-node-critical"), Value: 2000001000,
				PreemptionPolicy: new(corev1.PreemptLowerPriority)},
			want: []interface{}{"system-node-critical", int64(2000001000), false, "5m", "PreemptLowerPriority"},
		},
		{
			name: "global default priorityclass",
			obj: &schedulingv1.PriorityClass{ObjectMeta: objectMeta("batch"), Value: -10, GlobalDefault: true,
				PreemptionPolicy: new(corev1.PreemptNever)},
			want: []interface{}{"batch", int64(-10), true, "5m", "Never"},
		},
		{
			name: "priorityclass without policy",
			obj:  &schedulingv1.PriorityClass{ObjectMeta: objectMeta("old")},
			want: []interface{}{"old", int64(0), false, "5m", "<none>"},
		},
		{
			name: "bound persistentvolume",
			obj: &corev1.PersistentVolume{ObjectMeta: objectMeta("pvc-1234"),
				Spec: corev1.PersistentVolumeSpec{
					Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
					AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany, corev1.ReadWriteOnce},
					PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
					ClaimRef:                      &corev1.ObjectReference{Namespace: "default", Name: "data"},
					StorageClassName:              "local-path",
					VolumeMode:                    new(corev1.PersistentVolumeFilesystem),
				},
				Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound}},
			want: []interface{}{"pvc-1234", "1Gi", "RWO,RWX", "Delete", "Bound", "default/data", "local-path", "<unset>", "", "5m", "Filesystem"},
		},
		{
			name: "terminating persistentvolume",
			obj: func() runtime.Object {
				pv := &corev1.PersistentVolume{ObjectMeta: objectMeta("old"), Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeReleased}}
				pv.DeletionTimestamp = &pv.CreationTimestamp
				return pv
			}(),
			want: []interface{}{"old", "0", "", "", "Terminating", "", "", "<unset>", "", "5m", "<unset>"},
		},
		{
			name: "pending persistentvolumeclaim",
			obj: &corev1.PersistentVolumeClaim{ObjectMeta: objectMeta("data"),
				Spec:   corev1.PersistentVolumeClaimSpec{StorageClassName: new("local-path"), VolumeMode: new(corev1.PersistentVolumeFilesystem)},
				Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}},
			want: []interface{}{"data", "Pending", "", "", "", "local-path", "<unset>", "5m", "Filesystem"},
		},
		{
			name: "bound persistentvolumeclaim",
			obj: &corev1.PersistentVolumeClaim{ObjectMeta: objectMeta("data"),
				Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pvc-1234"},
				Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound,
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Capacity:    corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")}}},
			want: []interface{}{"data", "Bound", "pvc-1234", "2Gi", "RWO", "", "<unset>", "5m", "<unset>"},
		},
		{
			name: "default storageclass",
			obj: &storagev1.StorageClass{ObjectMeta: func() metav1.ObjectMeta {
				m := objectMeta("local-path")
				m.Annotations = map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}
				return m
			}(), Provisioner: "gantry.dev/local-path", ReclaimPolicy: new(corev1.PersistentVolumeReclaimDelete),
				VolumeBindingMode: new(storagev1.VolumeBindingWaitForFirstConsumer)},
			want: []interface{}{"local-path (default)", "gantry.dev/local-path", "Delete", "WaitForFirstConsumer", false, "5m"},
		},
		{
			name: "storageclass without policy or mode",
			obj:  &storagev1.StorageClass{ObjectMeta: objectMeta("fast"), Provisioner: "example.com/fast", AllowVolumeExpansion: new(true)},
			want: []interface{}{"fast", "example.com/fast", "Delete", "Immediate", true, "5m"},
		},
		{
			name: "unknown kind",
			obj:  &corev1.ResourceQuota{ObjectMeta: objectMeta("quota")},
			want: []interface{}{"quota", "2026-03-01T11:55:00Z"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkCells(t, Cells(tt.obj, now), tt.want)
		})
	}
}

func twoContainers() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{
		{Name: "app", Image: "nginx:1.27"},
		{Name: "sidecar", Image: "envoy:1.30"},
	}}}
}

func TestAge(t *testing.T) {
	tests := []struct {
		created metav1.Time
		want    string
	}{
		{metav1.Time{}, "<unknown>"},
		{ago(0), "0s"},
		{ago(45 * time.Second), "45s"},
		{ago(5 * time.Minute), "5m"},
		{ago(90 * time.Minute), "90m"},
		{ago(26 * time.Hour), "26h"},
		{ago(50 * time.Hour), "2d2h"},
		{ago(400 * 24 * time.Hour), "400d"},
		{metav1.NewTime(now.Add(time.Hour)), "<invalid>"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.want), func(t *testing.T) {
			if got := age(tt.created, now); got != tt.want {
				t.Errorf("age = %q, want %q", got, tt.want)
			}
		})
	}
}
