package agent_test

import (
	"strings"
	"testing"
)

// ConfigMap and Secret reach containers as volumes and environment, and
// the downward API as environment and a volume.
func TestConfigSecretAndDownwardAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {greeting: hello-cm, "file.txt": cm-file-content}
---
apiVersion: v1
kind: Secret
metadata: {name: sec}
data: {password: czNjcmV0}
---
apiVersion: v1
kind: Pod
metadata:
  name: consumer
  labels: {app: consumer}
  annotations: {note: downward-note}
spec:
  nodeName: {{NODE}}
  volumes:
  - {name: cfg, configMap: {name: cfg}}
  - {name: sec, secret: {secretName: sec}}
  - name: info
    downwardAPI:
      items:
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
      - {path: annotations, fieldRef: {fieldPath: metadata.annotations}}
  containers:
  - name: main
    image: {{IMAGE}}
    command: [sleep, "3600"]
    resources: {limits: {memory: 64Mi}}
    env:
    - {name: GREETING, valueFrom: {configMapKeyRef: {name: cfg, key: greeting}}}
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: sec, key: password}}}
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: POD_NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
    - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: NODE_NAME, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
    - {name: MEM_LIMIT, valueFrom: {resourceFieldRef: {resource: limits.memory}}}
    envFrom:
    - {configMapRef: {name: cfg}, prefix: CM_}
    volumeMounts:
    - {name: cfg, mountPath: /etc/cfg}
    - {name: sec, mountPath: /etc/sec}
    - {name: info, mountPath: /etc/info}
`)
	p := e.waitRunning("consumer")
	check := func(cmd, want string) {
		t.Helper()
		out, errOut, err := e.kubectl("exec", "consumer", "--", "sh", "-c", cmd)
		if err != nil || strings.TrimSpace(out) != want {
			t.Errorf("%s: got %q (err %v, stderr %q), want %q", cmd, strings.TrimSpace(out), err, errOut, want)
		}
	}
	check("cat /etc/cfg/greeting", "hello-cm")
	check("cat /etc/cfg/file.txt", "cm-file-content")
	check("cat /etc/sec/password", "s3cret")
	check("echo $GREETING", "hello-cm")
	check("echo $CM_greeting", "hello-cm")
	check("echo $PASSWORD", "s3cret")
	check("echo $POD_NAME/$POD_NS", "consumer/"+e.ns)
	check("echo $POD_IP", p.Status.PodIP)
	check("echo $NODE_NAME", e.node.Name)
	check("echo $MEM_LIMIT", "67108864")
	check("cat /etc/info/labels", `app="consumer"`)
	check("grep note /etc/info/annotations", `note="downward-note"`)
}

// Init containers run one after the other, to completion, before the
// app containers.
func TestInitContainersRunInOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`
apiVersion: v1
kind: Pod
metadata: {name: inits}
spec:
  nodeName: {{NODE}}
  volumes: [{name: work, emptyDir: {}}]
  initContainers:
  - {name: first, image: {{IMAGE}}, command: [sh, -c, 'sleep 1; echo first >> /work/order'], volumeMounts: [{name: work, mountPath: /work}]}
  - {name: second, image: {{IMAGE}}, command: [sh, -c, 'echo second >> /work/order'], volumeMounts: [{name: work, mountPath: /work}]}
  containers:
  - {name: main, image: {{IMAGE}}, command: [sh, -c, 'echo main >> /work/order; sleep 3600'], volumeMounts: [{name: work, mountPath: /work}]}
`)
	p := e.waitRunning("inits")
	out, _, err := e.kubectl("exec", "inits", "--", "cat", "/work/order")
	if err != nil || strings.Fields(out) == nil || strings.Join(strings.Fields(out), ",") != "first,second,main" {
		t.Fatalf("order: %q (err %v)", out, err)
	}
	for _, name := range []string{"first", "second"} {
		cs := containerStatus(p, name)
		if cs == nil || cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 || cs.State.Terminated.Reason != "Completed" {
			t.Errorf("init container %s: %+v", name, cs)
		}
	}
}

// stringData is write-only: the API server merges it into data, which is
// what the agent reads for volumes and env.
func TestSecretStringDataMergedIntoData(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`
apiVersion: v1
kind: Secret
metadata: {name: sd}
data: {a: YQ==}
stringData: {password: s3cret}
`)
	out, errOut, err := e.kubectl("get", "secret", "sd", "-o", "jsonpath={.data.a} {.data.password} {.stringData}")
	if err != nil || strings.TrimSpace(out) != "YQ== czNjcmV0" {
		t.Errorf("stored secret: %q (err %v, %s), want data.a YQ==, data.password czNjcmV0 and no stringData", out, err, errOut)
	}
}
