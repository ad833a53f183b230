#!/usr/bin/env bash
# Starts (or stops) a one-host Gantry cluster in the background: a
# single-member gantry-store, a gantry-apiserver on it (with a cluster CA,
# an admin token and an admin kubeconfig), gantry-scheduler,
# gantry-controllers, a gantry-agent on containerd (the system's, or one of
# our own), gantry-proxy (Services and cluster DNS) and gantry-ingress
# (Ingresses on ports 80 and 443).
#
# Usage: scripts/up.sh [up|down]      (normally through `make up` / `make down`)
#
# State lives under $GANTRY_DATA_DIR (default /var/lib/gantry as root,
# ${XDG_DATA_HOME:-~/.local/share}/gantry otherwise):
#   store/            the store member's data directory
#   pki/              cluster CA (ca.crt), API server certificate, tokens.csv
#   <daemon>.log      each daemon's log
#   <daemon>.pid      each daemon's process id
# The admin kubeconfig is /etc/gantry/admin.kubeconfig as root, else
# <state>/admin.kubeconfig.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin_dir=${GANTRY_BIN_DIR:-${repo}/bin}

if [[ -n ${GANTRY_DATA_DIR:-} ]]; then
	state=${GANTRY_DATA_DIR}
elif [[ ${EUID} -eq 0 ]]; then
	state=/var/lib/gantry
else
	state=${XDG_DATA_HOME:-${HOME}/.local/share}/gantry
fi
if [[ ${EUID} -eq 0 && -z ${GANTRY_DATA_DIR:-} ]]; then
	kubeconfig=/etc/gantry/admin.kubeconfig
else
	kubeconfig=${state}/admin.kubeconfig
fi
data=${state}/store
pki=${state}/pki

readonly member_name=default
readonly client_url=http://127.0.0.1:2379
readonly peer_url=http://127.0.0.1:2380
readonly metrics_url=http://127.0.0.1:2381
readonly api_port=6443
readonly api_url=https://127.0.0.1:${api_port}
readonly agent_healthz=http://127.0.0.1:10248/healthz
readonly scheduler_healthz=http://127.0.0.1:10259/healthz
readonly controllers_healthz=http://127.0.0.1:10257/healthz
readonly proxy_healthz=http://127.0.0.1:10256/healthz
readonly ingress_healthz=http://127.0.0.1:10254/healthz
readonly cluster_cidr=10.244.0.0/16
readonly pod_cidr=10.244.0.0/24
readonly system_containerd=/run/containerd/containerd.sock
readonly own_containerd=/run/gantry/containerd/containerd.sock
node_name=$(hostname | tr '[:upper:]' '[:lower:]')
readonly wait_seconds=30

say() { printf '%s\n' "$*"; }
die() { printf 'up: %s\n' "$*" >&2; exit 1; }

# running_pid NAME prints the pid from NAME.pid if that process is alive and
# runs the binary NAME; a stale pid file is removed.
running_pid() {
	local name=$1 pid_file=${state}/$1.pid pid
	[[ -f ${pid_file} ]] || return 1
	pid=$(<"${pid_file}")
	if [[ ${pid} =~ ^[0-9]+$ ]] && kill -0 "${pid}" 2>/dev/null &&
		[[ $(cat "/proc/${pid}/comm" 2>/dev/null) == "${name:0:15}" ]]; then
		printf '%s\n' "${pid}"
		return 0
	fi
	rm -f "${pid_file}"
	return 1
}

store_healthy() { curl -fsS --max-time 2 "${metrics_url}/health" >/dev/null 2>&1; }
api_ready() { curl -fsS --max-time 2 --cacert "${pki}/ca.crt" "${api_url}/readyz" >/dev/null 2>&1; }

# wait_for NAME PID CHECK: poll CHECK until it succeeds, the process dies, or
# time runs out.
wait_for() {
	local name=$1 pid=$2 check=$3 deadline=$((SECONDS + wait_seconds))
	until ${check}; do
		if ! kill -0 "${pid}" 2>/dev/null; then
			rm -f "${state}/${name}.pid"
			say "${name} (pid ${pid}) exited; last lines of ${state}/${name}.log:" >&2
			tail -n 40 "${state}/${name}.log" >&2 || true
			exit 1
		fi
		if ((SECONDS >= deadline)); then
			say "${name} (pid ${pid}) is not ready after ${wait_seconds}s; last lines of ${state}/${name}.log:" >&2
			tail -n 40 "${state}/${name}.log" >&2 || true
			say "it is still running; stop everything with: make down" >&2
			exit 1
		fi
		sleep 0.3
	done
}

port_in_use() { ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }

# start NAME CHECK ARGS...: start bin_dir/NAME in its own session unless it
# runs already, then wait until CHECK succeeds.
start() {
	local name=$1 check=$2 pid
	shift 2
	if pid=$(running_pid "${name}"); then
		say "${name} is already running (pid ${pid})"
		wait_for "${name}" "${pid}" "${check}"
		return 0
	fi
	local bin=${bin_dir}/${name}
	[[ -x ${bin} ]] || die "${bin} not found; build it with: make build"
	printf '\n=== %s: starting %s %s\n' "$(date -Is)" "${bin}" "$*" >>"${state}/${name}.log"
	# setsid: its own session, so a Ctrl-C in this terminal does not reach it.
	setsid "${bin}" "$@" </dev/null >>"${state}/${name}.log" 2>&1 &
	pid=$!
	printf '%s\n' "${pid}" >"${state}/${name}.pid"
	say "started ${name} (pid ${pid}), waiting until it is ready ..."
	wait_for "${name}" "${pid}" "${check}"
}

start_store() {
	local args=(
		--data-dir "${data}"
		--listen-client-urls "${client_url}"
		--listen-peer-urls "${peer_url}"
		--listen-metrics-urls "${metrics_url}"
	)
	if [[ ! -e ${data}/member ]]; then
		# A new member: name it and bootstrap a one-member cluster. Once the
		# data directory holds a member, the store remembers all of this.
		args+=(
			--name "${member_name}"
			--advertise-client-urls "${client_url}"
			--initial-advertise-peer-urls "${peer_url}"
			--initial-cluster "${member_name}=${peer_url}"
			--initial-cluster-state new
		)
	fi
	mkdir -p "${data}"
	start gantry-store store_healthy "${args[@]}"
}

new_token() { od -An -tx1 -N16 /dev/urandom | tr -d ' \n'; }

# ensure_tokens makes the token file: the admin's token on the first line,
# then the node agent's (user system:node:<host>, group system:nodes) and
# the agent's copy in agent.token. A token added while the API server runs
# restarts it, since it reads the file at start.
ensure_tokens() {
	local tokens=${pki}/tokens.csv changed=0
	mkdir -p "${pki}"
	chmod 700 "${pki}"
	if [[ ! -s ${tokens} ]]; then
		(umask 077 && printf '%s,admin,admin,"system:masters"\n' "$(new_token)" >"${tokens}")
		changed=1
	fi
	if ! grep -q ",system:node:${node_name}," "${tokens}"; then
		local t
		t=$(new_token)
		(umask 077 && printf '%s,system:node:%s,node-%s,"system:nodes"\n' "${t}" "${node_name}" "${node_name}" >>"${tokens}")
		changed=1
	fi
	(umask 077 && grep ",system:node:${node_name}," "${tokens}" | cut -d, -f1 >"${pki}/agent.token")
	if ! grep -q ",system:kube-scheduler," "${tokens}"; then
		(umask 077 && printf '%s,system:kube-scheduler,kube-scheduler,""\n' "$(new_token)" >>"${tokens}")
		changed=1
	fi
	(umask 077 && grep ",system:kube-scheduler," "${tokens}" | cut -d, -f1 >"${pki}/scheduler.token")
	if ! grep -q ",system:kube-controller-manager," "${tokens}"; then
		(umask 077 && printf '%s,system:kube-controller-manager,kube-controller-manager,""\n' "$(new_token)" >>"${tokens}")
		changed=1
	fi
	(umask 077 && grep ",system:kube-controller-manager," "${tokens}" | cut -d, -f1 >"${pki}/controllers.token")
	if ! grep -q ",system:kube-proxy," "${tokens}"; then
		(umask 077 && printf '%s,system:kube-proxy,kube-proxy,""\n' "$(new_token)" >>"${tokens}")
		changed=1
	fi
	(umask 077 && grep ",system:kube-proxy," "${tokens}" | cut -d, -f1 >"${pki}/proxy.token")
	if ! grep -q ",system:gantry-ingress," "${tokens}"; then
		(umask 077 && printf '%s,system:gantry-ingress,gantry-ingress,""\n' "$(new_token)" >>"${tokens}")
		changed=1
	fi
	(umask 077 && grep ",system:gantry-ingress," "${tokens}" | cut -d, -f1 >"${pki}/ingress.token")
	if ((changed)) && running_pid gantry-apiserver >/dev/null; then
		say "the token file changed; restarting gantry-apiserver"
		stop gantry-apiserver
	fi
}

admin_token() { head -n1 "${pki}/tokens.csv" | cut -d, -f1; }

start_apiserver() {
	local token
	ensure_tokens
	token=$(admin_token)
	start gantry-apiserver api_ready \
		--bind-address 127.0.0.1 --secure-port "${api_port}" \
		--cert-dir "${pki}" --client-ca-file "${pki}/ca.crt" \
		--token-auth-file "${pki}/tokens.csv" \
		--etcd-servers "${client_url}"
	mkdir -p "$(dirname "${kubeconfig}")"
	local old_umask
	old_umask=$(umask)
	umask 077
	cat >"${kubeconfig}" <<EOF2
apiVersion: v1
kind: Config
clusters:
- name: gantry
  cluster:
    server: ${api_url}
    certificate-authority: ${pki}/ca.crt
users:
- name: admin
  user:
    token: ${token}
contexts:
- name: admin@gantry
  context:
    cluster: gantry
    user: admin
current-context: admin@gantry
EOF2
	umask "${old_umask}"
}

containerd_sock=
containerd_ready() { ctr --address "${own_containerd}" version >/dev/null 2>&1; }

# ensure_containerd uses the system's containerd if one answers, else
# starts one of our own, with its own config, root and socket.
ensure_containerd() {
	if ctr --address "${system_containerd}" version >/dev/null 2>&1; then
		containerd_sock=${system_containerd}
		return
	fi
	local dir=${state}/containerd
	mkdir -p "${dir}/root" /run/gantry/containerd
	cat >"${dir}/config.toml" <<EOF2
version = 2
root = "${dir}/root"
state = "/run/gantry/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "${own_containerd}"
EOF2
	bin_dir=/usr/bin start containerd containerd_ready --config "${dir}/config.toml"
	containerd_sock=${own_containerd}
}

agent_ready() {
	curl -fsS --max-time 2 "${agent_healthz}" >/dev/null 2>&1 &&
		curl -fsS --max-time 2 --cacert "${pki}/ca.crt" -H "Authorization: Bearer $(admin_token)" \
			"${api_url}/api/v1/nodes/${node_name}" 2>/dev/null |
		tr -d ' \n' | grep -q '"type":"Ready","status":"True"'
}

start_agent() {
	ensure_containerd
	start gantry-agent agent_ready \
		--hostname-override "${node_name}" \
		--api-servers "${api_url}" --ca-file "${pki}/ca.crt" --token-file "${pki}/agent.token" \
		--ca-key-file "${pki}/ca.key" --client-ca-file "${pki}/ca.crt" \
		--pod-cidr "${pod_cidr}" --containerd "${containerd_sock}" \
		--root-dir "${state}/agent"
}

scheduler_ready() { curl -fsS --max-time 2 "${scheduler_healthz}" >/dev/null 2>&1; }

start_scheduler() {
	start gantry-scheduler scheduler_ready \
		--api-servers "${api_url}" --ca-file "${pki}/ca.crt" --token-file "${pki}/scheduler.token"
}

controllers_ready() { curl -fsS --max-time 2 "${controllers_healthz}" >/dev/null 2>&1; }

start_controllers() {
	start gantry-controllers controllers_ready \
		--api-servers "${api_url}" --ca-file "${pki}/ca.crt" --token-file "${pki}/controllers.token" \
		--cluster-cidr "${cluster_cidr}" --local-path-dir "${state}/storage"
}

proxy_ready() { curl -fsS --max-time 2 "${proxy_healthz}" >/dev/null 2>&1; }

start_proxy() {
	start gantry-proxy proxy_ready \
		--hostname-override "${node_name}" \
		--api-servers "${api_url}" --ca-file "${pki}/ca.crt" --token-file "${pki}/proxy.token" \
		--cluster-cidr "${cluster_cidr}"
}

ingress_ready() { curl -fsS --max-time 2 "${ingress_healthz}" >/dev/null 2>&1; }

start_ingress() {
	start gantry-ingress ingress_ready \
		--node-name "${node_name}" \
		--api-servers "${api_url}" --ca-file "${pki}/ca.crt" --token-file "${pki}/ingress.token"
}

usage_hint() {
	cat <<EOF

Gantry is up:
  API server  ${api_url}        (log: ${state}/gantry-apiserver.log)
  store       ${client_url}  (etcd v3 API; data: ${data}; log: ${state}/gantry-store.log)

  scheduler   (log: ${state}/gantry-scheduler.log; metrics: http://127.0.0.1:10259/metrics)
  controllers (log: ${state}/gantry-controllers.log; metrics: http://127.0.0.1:10257/metrics)
  node agent  ${node_name}  (log: ${state}/gantry-agent.log; containerd: ${containerd_sock})
  proxy       Services and cluster DNS at 10.96.0.10 (log: ${state}/gantry-proxy.log; metrics: http://127.0.0.1:10249/metrics)
  ingress     http://127.0.0.1:80, https://127.0.0.1:443 (log: ${state}/gantry-ingress.log; metrics: http://127.0.0.1:10254/metrics)

Use kubectl:
  export KUBECONFIG=${kubeconfig}
  kubectl get nodes
  kubectl run hello --image=gantry.local/busybox -- sleep 3600
  kubectl create deployment web --image=gantry.local/busybox --replicas=3 -- \\
    sh -c 'echo "hello from \$(hostname)" > /tmp/index.html && exec httpd -f -p 8080 -h /tmp'
  kubectl get pods -o wide
  kubectl logs deployment/web; kubectl exec hello -- ps
  kubectl expose deployment web --port 80 --target-port 8080
  curl http://\$(kubectl get svc web -o jsonpath='{.spec.clusterIP}')/
  kubectl exec hello -- wget -q -O - http://web/
  kubectl create ingress web --rule='/*=web:80'; curl http://127.0.0.1/

Use etcdctl on the store:
  ETCDCTL_API=3 etcdctl --endpoints=${client_url} endpoint status -w table
  ETCDCTL_API=3 etcdctl --endpoints=${client_url} get /registry/namespaces --prefix --keys-only

Stop it with: make down
EOF
}

up() {
	command -v curl >/dev/null 2>&1 || die "curl not found; run: make deps"
	mkdir -p "${state}"
	if ! running_pid gantry-store >/dev/null; then
		local port
		for port in 2379 2380 2381; do
			port_in_use "${port}" && die "port ${port} is already in use (another etcd? check with: ss -tlnp 'sport = :${port}')"
		done
	fi
	if ! running_pid gantry-agent >/dev/null && port_in_use 10250; then
		die "port 10250 (the node agent's) is already in use (check with: ss -tlnp 'sport = :10250')"
	fi
	if ! running_pid gantry-scheduler >/dev/null && port_in_use 10259; then
		die "port 10259 (the scheduler's metrics) is already in use (check with: ss -tlnp 'sport = :10259')"
	fi
	if ! running_pid gantry-controllers >/dev/null && port_in_use 10257; then
		die "port 10257 (the controllers' metrics) is already in use (check with: ss -tlnp 'sport = :10257')"
	fi
	local p
	for p in 10249 10256; do
		if ! running_pid gantry-proxy >/dev/null && port_in_use "${p}"; then
			die "port ${p} (gantry-proxy's) is already in use (another kube-proxy? check with: ss -tlnp 'sport = :${p}')"
		fi
	done
	for p in 80 443 10254; do
		if ! running_pid gantry-ingress >/dev/null && port_in_use "${p}"; then
			die "port ${p} (gantry-ingress's) is already in use (another web server? check with: ss -tlnp 'sport = :${p}')"
		fi
	done
	if ! running_pid gantry-apiserver >/dev/null && port_in_use "${api_port}"; then
		die "port ${api_port} is already in use (check with: ss -tlnp 'sport = :${api_port}')"
	fi
	start_store
	start_apiserver
	start_scheduler
	start_controllers
	start_agent
	start_proxy
	start_ingress
	usage_hint
}

# stop NAME: SIGTERM, then SIGKILL after a grace period.
stop() {
	local name=$1 pid
	if ! pid=$(running_pid "${name}"); then
		say "${name} is not running"
		return 0
	fi
	kill -TERM "${pid}"
	local deadline=$((SECONDS + wait_seconds))
	while kill -0 "${pid}" 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			say "${name} (pid ${pid}) did not exit within ${wait_seconds}s; sending SIGKILL" >&2
			kill -KILL "${pid}" 2>/dev/null || true
			sleep 0.5
			break
		fi
		sleep 0.2
	done
	rm -f "${state}/${name}.pid"
	say "stopped ${name} (pid ${pid})"
}

down() {
	stop gantry-ingress
	stop gantry-proxy
	if [[ -x ${bin_dir}/gantry-proxy ]]; then
		# The Service rules and the cluster DNS device go with the proxy.
		"${bin_dir}/gantry-proxy" --cleanup >>"${state}/gantry-proxy.log" 2>&1 ||
			say "gantry-proxy --cleanup failed; see ${state}/gantry-proxy.log" >&2
	fi
	stop gantry-agent
	stop gantry-controllers
	stop gantry-scheduler
	stop gantry-apiserver
	stop gantry-store
	# Only a containerd we started (its pid file is ours); pods' containers
	# keep running under their shims until the node is cleaned up.
	stop containerd
}

case ${1:-up} in
up) up ;;
down) down ;;
*)
	say "usage: $0 [up|down]" >&2
	exit 2
	;;
esac
