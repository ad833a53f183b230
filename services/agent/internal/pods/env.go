package pods

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	"github.com/gantry-dev/gantry/services/agent/internal/volumes"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// env resolves a container's environment as Kubernetes does: envFrom
// first, then env in order, each value expanding $(VAR) references to
// variables defined before it.
func (w *worker) env(ctx context.Context, pod *corev1.Pod, c *corev1.Container) ([]string, error) {
	vars := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vars[k]; !ok {
			order = append(order, k)
		}
		vars[k] = v
	}
	// Service links come first: the container's own variables override
	// them, as in Kubernetes.
	for _, kv := range w.serviceLinks(ctx, pod) {
		k, v, _ := strings.Cut(kv, "=")
		set(k, v)
	}
	for _, from := range c.EnvFrom {
		data, err := w.envSource(ctx, pod, from)
		if err != nil {
			return nil, err
		}
		for k, v := range data {
			set(from.Prefix+k, v)
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			set(e.Name, expand(e.Value, vars))
			continue
		}
		v, ok, err := w.envValue(ctx, pod, c, e.ValueFrom)
		if err != nil {
			return nil, err
		}
		if ok {
			set(e.Name, v)
		}
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+vars[k])
	}
	return out, nil
}

func (w *worker) envSource(ctx context.Context, pod *corev1.Pod, from corev1.EnvFromSource) (map[string]string, error) {
	switch {
	case from.ConfigMapRef != nil:
		cm, err := w.m.cfg.API.ConfigMap(ctx, pod.Namespace, from.ConfigMapRef.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional {
				return nil, nil
			}
			return nil, fmt.Errorf("configmap %q not found", from.ConfigMapRef.Name)
		}
		return cm.Data, nil
	case from.SecretRef != nil:
		s, err := w.m.cfg.API.Secret(ctx, pod.Namespace, from.SecretRef.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && from.SecretRef.Optional != nil && *from.SecretRef.Optional {
				return nil, nil
			}
			return nil, fmt.Errorf("secret %q not found", from.SecretRef.Name)
		}
		out := map[string]string{}
		for k, v := range s.Data {
			out[k] = string(v)
		}
		return out, nil
	}
	return nil, nil
}

// envValue resolves one valueFrom; ok is false for a missing optional key.
func (w *worker) envValue(ctx context.Context, pod *corev1.Pod, c *corev1.Container, from *corev1.EnvVarSource) (string, bool, error) {
	switch {
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		optional := ref.Optional != nil && *ref.Optional
		cm, err := w.m.cfg.API.ConfigMap(ctx, pod.Namespace, ref.Name)
		if err != nil {
			if optional && apierrors.IsNotFound(err) {
				return "", false, nil
			}
			return "", false, fmt.Errorf("configmap %q not found", ref.Name)
		}
		v, ok := cm.Data[ref.Key]
		if !ok {
			if optional {
				return "", false, nil
			}
			return "", false, fmt.Errorf("couldn't find key %s in ConfigMap %s/%s", ref.Key, pod.Namespace, ref.Name)
		}
		return v, true, nil
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		optional := ref.Optional != nil && *ref.Optional
		s, err := w.m.cfg.API.Secret(ctx, pod.Namespace, ref.Name)
		if err != nil {
			if optional && apierrors.IsNotFound(err) {
				return "", false, nil
			}
			return "", false, fmt.Errorf("secret %q not found", ref.Name)
		}
		v, ok := s.Data[ref.Key]
		if !ok {
			if optional {
				return "", false, nil
			}
			return "", false, fmt.Errorf("couldn't find key %s in Secret %s/%s", ref.Key, pod.Namespace, ref.Name)
		}
		return string(v), true, nil
	case from.FieldRef != nil:
		v, err := w.fieldValue(pod, from.FieldRef.FieldPath)
		return v, err == nil, err
	case from.ResourceFieldRef != nil:
		v, err := w.resourceValue(pod, c, from.ResourceFieldRef)
		return v, err == nil, err
	}
	return "", false, nil
}

// fieldValue is what a downward API fieldRef names. The pod's and node's
// addresses are the sandbox's own (the status may not be written yet).
func (w *worker) fieldValue(pod *corev1.Pod, path string) (string, error) {
	switch path {
	case "status.hostIP":
		return first(w.m.cfg.NodeIPs), nil
	case "status.hostIPs":
		return strings.Join(w.m.cfg.NodeIPs, ","), nil
	case "status.podIP":
		return first(w.ips), nil
	case "status.podIPs":
		return strings.Join(w.ips, ","), nil
	}
	return volumes.FieldRefValue(pod, path)
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// resourceValue is a container's request or limit in units of the
// divisor, rounded up; limits default to the node's allocatable.
func (w *worker) resourceValue(pod *corev1.Pod, c *corev1.Container, ref *corev1.ResourceFieldSelector) (string, error) {
	sel := *ref
	if sel.ContainerName == "" {
		sel.ContainerName = c.Name
	}
	return volumes.ResourceFieldRefValue(&sel, pod, w.m.cfg.Allocatable)
}

// expand replaces $(VAR) with defined variables; $$ escapes, and
// undefined references stay as written.
func expand(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

func expandAll(in []string, vars map[string]string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = expand(s, vars)
	}
	return out
}

// pullAuth reads the pod's imagePullSecrets (kubernetes.io/dockerconfigjson
// and kubernetes.io/dockercfg).
func (w *worker) pullAuth(ctx context.Context, pod *corev1.Pod) []runtime.RegistryAuth {
	var out []runtime.RegistryAuth
	for _, ref := range pod.Spec.ImagePullSecrets {
		s, err := w.m.cfg.API.Secret(ctx, pod.Namespace, ref.Name)
		if err != nil {
			w.log.Warn("reading an imagePullSecret", "secret", ref.Name, "err", err)
			continue
		}
		out = append(out, dockerAuths(s)...)
	}
	return out
}

type dockerAuth struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Auth          string `json:"auth"`
	IdentityToken string `json:"identitytoken"`
}

func dockerAuths(s *corev1.Secret) []runtime.RegistryAuth {
	var entries map[string]dockerAuth
	switch s.Type {
	case corev1.SecretTypeDockerConfigJson:
		var cfg struct {
			Auths map[string]dockerAuth `json:"auths"`
		}
		if json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg) != nil {
			return nil
		}
		entries = cfg.Auths
	case corev1.SecretTypeDockercfg:
		if json.Unmarshal(s.Data[corev1.DockerConfigKey], &entries) != nil {
			return nil
		}
	}
	var out []runtime.RegistryAuth
	for server, a := range entries {
		if a.Auth != "" && a.Username == "" {
			if raw, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
				a.Username, a.Password, _ = strings.Cut(string(raw), ":")
			}
		}
		server = strings.TrimPrefix(strings.TrimPrefix(server, "https://"), "http://")
		server = strings.TrimSuffix(strings.TrimSuffix(server, "/v1/"), "/")
		if server == "index.docker.io" {
			server = "docker.io"
		}
		out = append(out, runtime.RegistryAuth{Server: server, Username: a.Username, Password: a.Password, IdentityToken: a.IdentityToken})
	}
	return out
}
