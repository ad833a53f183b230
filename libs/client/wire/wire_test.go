package wire

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

var podKind = corev1.SchemeGroupVersion.WithKind("Pod")

func testPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Labels: map[string]string{"app": "web"}, ResourceVersion: "42"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}, NodeName: "n1"},
	}
}

// TestEncodeMatchesSerializer checks that Encode writes what
// apimachinery's protobuf serializer writes, and that each side reads the
// other's output.
func TestEncodeMatchesSerializer(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	ser := protobuf.NewSerializer(scheme, scheme)

	pod := testPod()
	ours, err := Encode(pod, podKind)
	if err != nil {
		t.Fatal(err)
	}
	if pod.Kind != "" || pod.APIVersion != "" {
		t.Errorf("Encode changed the object's type meta: %v", pod.TypeMeta)
	}
	withKind := testPod()
	withKind.SetGroupVersionKind(podKind)
	var theirs bytes.Buffer
	if err := ser.Encode(withKind, &theirs); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ours, theirs.Bytes()) {
		t.Fatalf("Encode differs from the protobuf serializer:\nours   %q\ntheirs %q", ours, theirs.Bytes())
	}

	obj, _, err := ser.Decode(ours, nil, nil)
	if err != nil {
		t.Fatalf("serializer cannot decode Encode's output: %v", err)
	}
	if !equality.Semantic.DeepEqual(obj, withKind) {
		t.Errorf("serializer decoded %+v, want %+v", obj, withKind)
	}
	var got corev1.Pod
	if err := DecodeAs(theirs.Bytes(), podKind, &got); err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(&got, withKind) {
		t.Errorf("DecodeAs got %+v, want %+v", &got, withKind)
	}
}

func TestDecodeRejects(t *testing.T) {
	pod, err := Encode(testPod(), podKind)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		want schema.GroupVersionKind
	}{
		{"no prefix", []byte(`{"kind":"Pod"}`), podKind},
		{"truncated", pod[:len(pod)-3], podKind},
		{"other kind", pod, corev1.SchemeGroupVersion.WithKind("Node")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := DecodeAs(tt.data, tt.want, &corev1.Pod{}); err == nil {
				t.Error("DecodeAs succeeded")
			}
		})
	}
}

// TestErrorRoundTrip sends Kubernetes errors through a gRPC status and
// checks that the same error, code and predicates come out.
func TestErrorRoundTrip(t *testing.T) {
	gr := schema.GroupResource{Resource: "pods"}
	tests := []struct {
		name  string
		err   error
		code  codes.Code
		check func(error) bool
	}{
		{"not found", apierrors.NewNotFound(gr, "web"), codes.NotFound, apierrors.IsNotFound},
		{"already exists", apierrors.NewAlreadyExists(gr, "web"), codes.AlreadyExists, apierrors.IsAlreadyExists},
		{"conflict", apierrors.NewConflict(gr, "web", errors.New("the object has been modified")), codes.Aborted, apierrors.IsConflict},
		{"invalid", apierrors.NewInvalid(podKind.GroupKind(), "web", field.ErrorList{
			field.Required(field.NewPath("spec", "containers"), ""),
			field.Invalid(field.NewPath("metadata", "name"), "Web", "must be lower case"),
		}), codes.InvalidArgument, apierrors.IsInvalid},
		{"expired", apierrors.NewResourceExpired("too old resource version: 1 (5)"), codes.OutOfRange, apierrors.IsResourceExpired},
		{"gone", apierrors.NewGone("gone"), codes.OutOfRange, apierrors.IsGone},
		{"bad request", apierrors.NewBadRequest("bad"), codes.InvalidArgument, apierrors.IsBadRequest},
		{"unauthorized", apierrors.NewUnauthorized("Unauthorized"), codes.Unauthenticated, apierrors.IsUnauthorized},
		{"forbidden", apierrors.NewForbidden(gr, "web", errors.New("no")), codes.PermissionDenied, apierrors.IsForbidden},
		{"method", apierrors.NewMethodNotSupported(gr, "bind"), codes.Unimplemented, apierrors.IsMethodNotSupported},
		{"timeout", apierrors.NewTimeoutError("slow", 1), codes.DeadlineExceeded, apierrors.IsTimeout},
		{"unavailable", apierrors.NewServiceUnavailable("later"), codes.Unavailable, apierrors.IsServiceUnavailable},
		{"too many", apierrors.NewTooManyRequests("slow down", 1), codes.ResourceExhausted, apierrors.IsTooManyRequests},
		{"plain error", fmt.Errorf("disk on fire"), codes.Internal, apierrors.IsInternalError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := ToGRPC(tt.err)
			if c := status.Code(g); c != tt.code {
				t.Errorf("code %v, want %v", c, tt.code)
			}
			back := FromGRPC(g)
			if !tt.check(back) {
				t.Fatalf("FromGRPC gave %#v", back)
			}
			want := Status(tt.err)
			want.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
			if got := Status(back); !equality.Semantic.DeepEqual(got, want) {
				t.Errorf("status after the round trip\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestFromGRPCWithoutDetails covers statuses that never reached the
// service: transport failures and cancelled calls.
func TestFromGRPCWithoutDetails(t *testing.T) {
	if err := FromGRPC(status.Error(codes.Unavailable, "connection refused")); !apierrors.IsServiceUnavailable(err) {
		t.Errorf("Unavailable gave %v", err)
	}
	if err := FromGRPC(status.Error(codes.Canceled, "context canceled")); !errors.Is(err, context.Canceled) {
		t.Errorf("Canceled gave %v", err)
	}
	if err := FromGRPC(status.Error(codes.DeadlineExceeded, "deadline")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("DeadlineExceeded gave %v", err)
	}
	if err := FromGRPC(status.Error(codes.Unauthenticated, "no")); !apierrors.IsUnauthorized(err) {
		t.Errorf("Unauthenticated gave %v", err)
	}
	if FromGRPC(nil) != nil || ToGRPC(nil) != nil {
		t.Error("nil errors must stay nil")
	}
}

func TestOptionsRoundTrip(t *testing.T) {
	list := metav1.ListOptions{
		LabelSelector: "app=web", FieldSelector: "spec.nodeName=n1", ResourceVersion: "10",
		ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan, Limit: 5, Continue: "abc",
		AllowWatchBookmarks: true, SendInitialEvents: ptr.To(true), TimeoutSeconds: ptr.To[int64](30),
	}
	if got := ListOptionsFromProto(ListOptionsToProto(list)); !equality.Semantic.DeepEqual(got, list) {
		t.Errorf("list options: got %+v, want %+v", got, list)
	}
	get := metav1.GetOptions{ResourceVersion: "0"}
	if got := GetOptionsFromProto(GetOptionsToProto(get)); got != get {
		t.Errorf("get options: got %+v, want %+v", got, get)
	}
	create := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: "m", FieldValidation: "Strict"}
	if got := CreateOptionsFromProto(CreateOptionsToProto(create)); !equality.Semantic.DeepEqual(got, create) {
		t.Errorf("create options: got %+v, want %+v", got, create)
	}
	update := metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: "m", FieldValidation: "Warn"}
	if got := UpdateOptionsFromProto(UpdateOptionsToProto(update)); !equality.Semantic.DeepEqual(got, update) {
		t.Errorf("update options: got %+v, want %+v", got, update)
	}
	patch := metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: "m", Force: ptr.To(true), FieldValidation: "Ignore"}
	if got := PatchOptionsFromProto(PatchOptionsToProto(patch)); !equality.Semantic.DeepEqual(got, patch) {
		t.Errorf("patch options: got %+v, want %+v", got, patch)
	}
	policy := metav1.DeletePropagationForeground
	del := metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0), PropagationPolicy: &policy, DryRun: []string{metav1.DryRunAll},
		Preconditions: &metav1.Preconditions{UID: ptr.To(types.UID("u1")), ResourceVersion: ptr.To("7")},
	}
	if got := DeleteOptionsFromProto(DeleteOptionsToProto(del)); !equality.Semantic.DeepEqual(got, del) {
		t.Errorf("delete options: got %+v, want %+v", got, del)
	}
	orphan := DeleteOptionsFromProto(DeleteOptionsToProto(metav1.DeleteOptions{OrphanDependents: ptr.To(true)}))
	if orphan.PropagationPolicy == nil || *orphan.PropagationPolicy != metav1.DeletePropagationOrphan {
		t.Errorf("orphanDependents became %v, want policy Orphan", orphan.PropagationPolicy)
	}
}
