#!/usr/bin/env bash
# Starts (or stops) a single-member gantry-store on this host, in the background.
#
# Usage: scripts/up.sh [up|down]      (normally through `make up` / `make down`)
#
# State lives under $GANTRY_DATA_DIR (default /var/lib/gantry as root,
# ${XDG_DATA_HOME:-~/.local/share}/gantry otherwise):
#   store/       the member's data directory
#   store.log    its log
#   store.pid    its process id
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${GANTRY_BIN_DIR:-${repo}/bin}/gantry-store

if [[ -n ${GANTRY_DATA_DIR:-} ]]; then
	state=${GANTRY_DATA_DIR}
elif [[ ${EUID} -eq 0 ]]; then
	state=/var/lib/gantry
else
	state=${XDG_DATA_HOME:-${HOME}/.local/share}/gantry
fi
data=${state}/store
log_file=${state}/store.log
pid_file=${state}/store.pid

readonly name=default
readonly client_url=http://127.0.0.1:2379
readonly peer_url=http://127.0.0.1:2380
readonly metrics_url=http://127.0.0.1:2381
readonly wait_seconds=30

say() { printf '%s\n' "$*"; }
die() { printf 'up: %s\n' "$*" >&2; exit 1; }

# running_pid prints the pid from the pid file if that process is alive and is
# a gantry-store; a stale pid file is removed.
running_pid() {
	local pid
	[[ -f ${pid_file} ]] || return 1
	pid=$(<"${pid_file}")
	if [[ ${pid} =~ ^[0-9]+$ ]] && kill -0 "${pid}" 2>/dev/null &&
		[[ $(cat "/proc/${pid}/comm" 2>/dev/null) == gantry-store ]]; then
		printf '%s\n' "${pid}"
		return 0
	fi
	rm -f "${pid_file}"
	return 1
}

healthy() { curl -fsS --max-time 2 "${metrics_url}/health" >/dev/null 2>&1; }

# wait_healthy PID: poll /health until it answers, the process dies, or time runs out.
wait_healthy() {
	local pid=$1 deadline=$((SECONDS + wait_seconds))
	until healthy; do
		if ! kill -0 "${pid}" 2>/dev/null; then
			rm -f "${pid_file}"
			say "gantry-store (pid ${pid}) exited; last lines of ${log_file}:" >&2
			tail -n 40 "${log_file}" >&2 || true
			exit 1
		fi
		if ((SECONDS >= deadline)); then
			say "gantry-store (pid ${pid}) is not healthy after ${wait_seconds}s (${metrics_url}/health); last lines of ${log_file}:" >&2
			tail -n 40 "${log_file}" >&2 || true
			say "it is still running; stop it with: make down" >&2
			exit 1
		fi
		sleep 0.5
	done
}

usage_hint() {
	cat <<EOF

gantry-store is serving the etcd v3 API on ${client_url}
  data: ${data}
  log:  ${log_file}

Try it with etcdctl (from the etcd-client package):
  ETCDCTL_API=3 etcdctl --endpoints=${client_url} put foo bar
  ETCDCTL_API=3 etcdctl --endpoints=${client_url} get foo
  ETCDCTL_API=3 etcdctl --endpoints=${client_url} endpoint status -w table
  ETCDCTL_API=3 etcdctl --endpoints=${client_url} member list -w table

Health and metrics: ${metrics_url}/health  ${metrics_url}/metrics
Stop it with: make down
EOF
}

port_in_use() { ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }

up() {
	local pid args
	if pid=$(running_pid); then
		say "gantry-store is already running (pid ${pid})"
		wait_healthy "${pid}"
		usage_hint
		return 0
	fi

	[[ -x ${bin} ]] || die "${bin} not found; build it with: make build"
	command -v curl >/dev/null 2>&1 || die "curl not found; run: make deps"
	local port
	for port in 2379 2380 2381; do
		if port_in_use "${port}"; then
			die "port ${port} is already in use (another etcd? check with: ss -tlnp 'sport = :${port}')"
		fi
	done

	mkdir -p "${data}"
	args=(
		--data-dir "${data}"
		--listen-client-urls "${client_url}"
		--listen-peer-urls "${peer_url}"
		--listen-metrics-urls "${metrics_url}"
	)
	if [[ ! -e ${data}/member ]]; then
		# A new member: name it and bootstrap a one-member cluster. Once the
		# data directory holds a member, the store remembers all of this.
		args+=(
			--name "${name}"
			--advertise-client-urls "${client_url}"
			--initial-advertise-peer-urls "${peer_url}"
			--initial-cluster "${name}=${peer_url}"
			--initial-cluster-state new
		)
	fi

	# setsid: its own session, so a Ctrl-C in this terminal does not reach it.
	printf '\n=== %s: starting %s %s\n' "$(date -Is)" "${bin}" "${args[*]}" >>"${log_file}"
	setsid "${bin}" "${args[@]}" </dev/null >>"${log_file}" 2>&1 &
	pid=$!
	printf '%s\n' "${pid}" >"${pid_file}"
	say "started gantry-store (pid ${pid}), waiting for ${metrics_url}/health ..."
	wait_healthy "${pid}"
	usage_hint
}

down() {
	local pid
	if ! pid=$(running_pid); then
		say "gantry-store is not running"
		return 0
	fi
	kill -TERM "${pid}"
	local deadline=$((SECONDS + wait_seconds))
	while kill -0 "${pid}" 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			say "gantry-store (pid ${pid}) did not exit within ${wait_seconds}s; sending SIGKILL" >&2
			kill -KILL "${pid}" 2>/dev/null || true
			sleep 0.5
			break
		fi
		sleep 0.2
	done
	rm -f "${pid_file}"
	say "stopped gantry-store (pid ${pid})"
}

case ${1:-up} in
up) up ;;
down) down ;;
*)
	say "usage: $0 [up|down]" >&2
	exit 2
	;;
esac
