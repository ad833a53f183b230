package volumes

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// fileProjection is one file of an atomic volume.
type fileProjection struct {
	Data []byte
	Mode int32
}

// payload maps a path relative to the volume to its file.
type payload map[string]fileProjection

// Default file modes, as the API server defaults them.
const defaultFileMode int32 = 0o644

func modeOr(mode *int32, def int32) int32 {
	if mode != nil {
		return *mode
	}
	return def
}

func isTrue(b *bool) bool { return b != nil && *b }

// payload computes the files of a configMap, secret, downwardAPI or
// projected volume from their current sources.
func (m *Manager) payload(ctx context.Context, pod *corev1.Pod, vol *corev1.Volume) (payload, error) {
	switch {
	case vol.ConfigMap != nil:
		src := vol.ConfigMap
		return m.configMapPayload(ctx, pod.Namespace, src.Name, src.Items, isTrue(src.Optional), modeOr(src.DefaultMode, defaultFileMode))
	case vol.Secret != nil:
		src := vol.Secret
		return m.secretPayload(ctx, pod.Namespace, src.SecretName, src.Items, isTrue(src.Optional), modeOr(src.DefaultMode, defaultFileMode))
	case vol.DownwardAPI != nil:
		src := vol.DownwardAPI
		return downwardAPIPayload(src.Items, pod, m.allocatable, modeOr(src.DefaultMode, defaultFileMode))
	case vol.Projected != nil:
		return m.projectedPayload(ctx, pod, vol.Projected)
	}
	return nil, fmt.Errorf("volume type %s has no payload", volumeType(vol))
}

func (m *Manager) configMapPayload(ctx context.Context, namespace, name string, items []corev1.KeyToPath, optional bool, defaultMode int32) (payload, error) {
	cm, err := m.getConfigMap(ctx, namespace, name)
	if err != nil {
		if apierrors.IsNotFound(err) && optional {
			return payload{}, nil
		}
		return nil, err
	}
	if len(items) == 0 {
		p := make(payload, len(cm.Data)+len(cm.BinaryData))
		for k, v := range cm.Data {
			p[k] = fileProjection{Data: []byte(v), Mode: defaultMode}
		}
		for k, v := range cm.BinaryData {
			p[k] = fileProjection{Data: v, Mode: defaultMode}
		}
		return p, nil
	}
	p := make(payload, len(items))
	for _, item := range items {
		var data []byte
		if s, ok := cm.Data[item.Key]; ok {
			data = []byte(s)
		} else if b, ok := cm.BinaryData[item.Key]; ok {
			data = b
		} else if optional {
			continue
		} else {
			return nil, fmt.Errorf("configmap references non-existent config key: %s", item.Key)
		}
		p[item.Path] = fileProjection{Data: data, Mode: modeOr(item.Mode, defaultMode)}
	}
	return p, nil
}

func (m *Manager) secretPayload(ctx context.Context, namespace, name string, items []corev1.KeyToPath, optional bool, defaultMode int32) (payload, error) {
	secret, err := m.getSecret(ctx, namespace, name)
	if err != nil {
		if apierrors.IsNotFound(err) && optional {
			return payload{}, nil
		}
		return nil, err
	}
	if len(items) == 0 {
		p := make(payload, len(secret.Data))
		for k, v := range secret.Data {
			p[k] = fileProjection{Data: v, Mode: defaultMode}
		}
		return p, nil
	}
	p := make(payload, len(items))
	for _, item := range items {
		data, ok := secret.Data[item.Key]
		if !ok {
			if optional {
				continue
			}
			return nil, fmt.Errorf("references non-existent secret key: %s", item.Key)
		}
		p[item.Path] = fileProjection{Data: data, Mode: modeOr(item.Mode, defaultMode)}
	}
	return p, nil
}

// downwardAPIPayload resolves downwardAPI items against pod. Items that
// cannot be resolved are all reported.
func downwardAPIPayload(items []corev1.DownwardAPIVolumeFile, pod *corev1.Pod, allocatable corev1.ResourceList, defaultMode int32) (payload, error) {
	p := make(payload, len(items))
	var errs []error
	for _, item := range items {
		var (
			value string
			err   error
		)
		switch {
		case item.FieldRef != nil:
			value, err = FieldRefValue(pod, item.FieldRef.FieldPath)
		case item.ResourceFieldRef != nil:
			value, err = ResourceFieldRefValue(item.ResourceFieldRef, pod, allocatable)
		default:
			err = fmt.Errorf("downwardAPI item %q sets neither fieldRef nor resourceFieldRef", item.Path)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p[item.Path] = fileProjection{Data: []byte(value), Mode: modeOr(item.Mode, defaultMode)}
	}
	return p, aggregate(errs)
}

// projectedPayload merges the files of a projected volume's sources, later
// sources winning on the same path as in kubelet.
func (m *Manager) projectedPayload(ctx context.Context, pod *corev1.Pod, src *corev1.ProjectedVolumeSource) (payload, error) {
	defaultMode := modeOr(src.DefaultMode, defaultFileMode)
	p := payload{}
	var errs []error
	for _, s := range src.Sources {
		var (
			part payload
			err  error
		)
		switch {
		case s.ConfigMap != nil:
			part, err = m.configMapPayload(ctx, pod.Namespace, s.ConfigMap.Name, s.ConfigMap.Items, isTrue(s.ConfigMap.Optional), defaultMode)
		case s.Secret != nil:
			part, err = m.secretPayload(ctx, pod.Namespace, s.Secret.Name, s.Secret.Items, isTrue(s.Secret.Optional), defaultMode)
		case s.DownwardAPI != nil:
			part, err = downwardAPIPayload(s.DownwardAPI.Items, pod, m.allocatable, defaultMode)
		case s.ServiceAccountToken != nil:
			err = errors.New("serviceAccountToken projections are not supported yet")
		case s.ClusterTrustBundle != nil:
			if !isTrue(s.ClusterTrustBundle.Optional) {
				err = errors.New("clusterTrustBundle projections are not supported yet")
			}
		case s.PodCertificate != nil:
			err = errors.New("podCertificate projections are not supported yet")
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for k, v := range part {
			p[k] = v
		}
	}
	if err := aggregate(errs); err != nil {
		return nil, err
	}
	return p, nil
}

// aggregate combines errors the way kubelet's events print them: one
// error as itself, several as "[a, b]".
func aggregate(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return aggregateError(errs)
}

type aggregateError []error

func (a aggregateError) Error() string {
	msgs := make([]string, len(a))
	for i, err := range a {
		msgs[i] = err.Error()
	}
	return "[" + strings.Join(msgs, ", ") + "]"
}

func (a aggregateError) Unwrap() []error { return a }
