package cluster

import "fmt"

// hint is what `gantry up` prints once the cluster is up.
func (c *Cluster) hint(containerdSock string) string {
	s := c.l.StateDir
	return fmt.Sprintf(`
Gantry is up:
  API server  %[1]s        (log: %[2]s/gantry-apiserver.log)
  store       %[3]s  (etcd v3 API; data: %[4]s; log: %[2]s/gantry-store.log)

  scheduler   (log: %[2]s/gantry-scheduler.log; metrics: http://127.0.0.1:10259/metrics)
  controllers (log: %[2]s/gantry-controllers.log; metrics: http://127.0.0.1:10257/metrics)
  node agent  %[5]s  (log: %[2]s/gantry-agent.log; containerd: %[6]s)
  proxy       Services and cluster DNS at 10.96.0.10 (log: %[2]s/gantry-proxy.log; metrics: http://127.0.0.1:10249/metrics)
  ingress     http://127.0.0.1:80, https://127.0.0.1:443 (log: %[2]s/gantry-ingress.log; metrics: http://127.0.0.1:10254/metrics)

Use kubectl:
  export KUBECONFIG=%[7]s
  kubectl get nodes
  kubectl run hello --image=gantry.local/busybox -- sleep 3600
  kubectl create deployment web --image=gantry.local/busybox --replicas=3 -- \
    sh -c 'echo "hello from \$(hostname)" > /tmp/index.html && exec httpd -f -p 8080 -h /tmp'
  kubectl get pods -o wide
  kubectl logs deployment/web; kubectl exec hello -- ps
  kubectl expose deployment web --port 80 --target-port 8080
  curl http://$(kubectl get svc web -o jsonpath='{.spec.clusterIP}')/
  kubectl exec hello -- wget -q -O - http://web/
  kubectl create ingress web --rule='/*=web:80'; curl http://127.0.0.1/
(or without the export: gantry kubectl get nodes)

Use etcdctl on the store:
  ETCDCTL_API=3 etcdctl --endpoints=%[3]s endpoint status -w table
  ETCDCTL_API=3 etcdctl --endpoints=%[3]s get /registry/namespaces --prefix --keys-only

Check it with: gantry status
Stop it with: make down (or: gantry down)
`, apiURL, s, clientURL, c.l.StoreDir(), c.nodeName, containerdSock, c.l.Kubeconfig)
}
