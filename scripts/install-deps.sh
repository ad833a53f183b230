#!/usr/bin/env bash
# Installs the Debian packages Gantry's build, tests and `make up` need, and
# checks the Go toolchain. Idempotent: packages already present are left alone
# and apt-get runs only when something is missing. Prints one line per package.
#
# Usage: scripts/install-deps.sh   (as root, or as a user with sudo)
set -euo pipefail

readonly GO_MIN_MAJOR=1 GO_MIN_MINOR=26

readonly PACKAGES=(
	containerd
	runc
	containernetworking-plugins
	iptables
	nftables
	conntrack
	iproute2
	etcd-server
	etcd-client
	busybox-static
	docker-registry
	wrk
	protobuf-compiler
	ca-certificates
	curl
	git
	make
	gcc
	shellcheck
)

# How long to keep retrying while another apt-get/dpkg holds the lock.
readonly LOCK_WAIT_SECONDS=300

log() { printf '%s\n' "$*"; }
die() { printf 'install-deps: %s\n' "$*" >&2; exit 1; }

# as_root CMD...: run CMD as root (directly, or through sudo).
SUDO=()
can_be_root=true
if [[ ${EUID} -ne 0 ]]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=(sudo)
	else
		can_be_root=false
	fi
fi
as_root() { "${SUDO[@]}" "$@"; }

installed() {
	local status
	status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
	[[ ${status} == *" ok installed" ]]
}

# apt_get ARGS...: apt-get quietly, retrying while the dpkg/apt lock is held by
# someone else; on failure the captured output is printed.
apt_get() {
	local out deadline=$((SECONDS + LOCK_WAIT_SECONDS))
	out=$(mktemp)
	while true; do
		if as_root env DEBIAN_FRONTEND=noninteractive \
			apt-get -o DPkg::Lock::Timeout=60 "$@" >"${out}" 2>&1; then
			rm -f "${out}"
			return 0
		fi
		if grep -qiE 'could not get lock|unable to acquire|is another process using it' "${out}" &&
			((SECONDS < deadline)); then
			sleep 5
			continue
		fi
		cat "${out}" >&2
		rm -f "${out}"
		die "apt-get $* failed"
	done
}

check_go() {
	local go version major minor
	if [[ -x /usr/local/go/bin/go ]]; then
		go=/usr/local/go/bin/go
	elif go=$(command -v go); then
		:
	else
		die "Go ${GO_MIN_MAJOR}.${GO_MIN_MINOR} or newer is required: install it to /usr/local/go (https://go.dev/dl/)"
	fi
	version=$("${go}" version) || die "'${go} version' failed"
	if [[ ${version} =~ go([0-9]+)\.([0-9]+) ]]; then
		major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]}
	else
		die "cannot parse Go version from: ${version}"
	fi
	if ((major < GO_MIN_MAJOR || (major == GO_MIN_MAJOR && minor < GO_MIN_MINOR))); then
		die "Go ${GO_MIN_MAJOR}.${GO_MIN_MINOR} or newer is required, found: ${version} (${go}); install a newer Go to /usr/local/go (https://go.dev/dl/)"
	fi
	log "go: ${version#go version }"
}

# Debian's etcd-server package enables and (where it can) starts an etcd on
# 127.0.0.1:2379. Gantry's tests start their own stores and `make up` needs
# port 2379, so that service is stopped and kept from starting at boot.
# containerd's and docker-registry's services are stopped only right after
# this script installed them; one someone runs on purpose is left alone.
quiet_services() {
	local just_installed=" $* "
	if ! ${can_be_root}; then
		if [[ -x /etc/init.d/etcd ]] && /etc/init.d/etcd status >/dev/null 2>&1; then
			log "warning: Debian's etcd service is running on port 2379; stop it as root: service etcd stop" >&2
		fi
		return 0
	fi

	if [[ -x /etc/init.d/etcd ]]; then
		if /etc/init.d/etcd status >/dev/null 2>&1; then
			if command -v service >/dev/null 2>&1; then
				as_root service etcd stop >/dev/null 2>&1 || true
			else
				as_root /etc/init.d/etcd stop >/dev/null 2>&1 || true
			fi
			log "etcd service: stopped (port 2379 is for gantry-store)"
		fi
		if compgen -G '/etc/rc[2-5].d/S*etcd' >/dev/null && command -v update-rc.d >/dev/null 2>&1; then
			as_root update-rc.d etcd disable >/dev/null 2>&1 || true
			log "etcd service: disabled at boot"
		fi
	fi
	if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
		if systemctl is-active --quiet etcd 2>/dev/null || systemctl is-enabled --quiet etcd 2>/dev/null; then
			as_root systemctl disable --now etcd >/dev/null 2>&1 || true
			log "etcd service: stopped and disabled"
		fi
	fi

	local svc
	for svc in containerd docker-registry; do
		if [[ ${just_installed} == *" ${svc} "* ]]; then
			quiet_service "${svc}"
		fi
	done
}

# quiet_service NAME stops and disables a service Debian started when its
# package was installed (Gantry's tests start their own).
quiet_service() {
	local svc=$1
	if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
		as_root systemctl disable --now "${svc}" >/dev/null 2>&1 || true
	else
		if command -v service >/dev/null 2>&1; then
			as_root service "${svc}" stop >/dev/null 2>&1 || true
		fi
		if command -v update-rc.d >/dev/null 2>&1 && [[ -e /etc/init.d/${svc} ]]; then
			as_root update-rc.d "${svc}" disable >/dev/null 2>&1 || true
		fi
	fi
	log "${svc} service: stopped and disabled (Gantry's tests start their own)"
}

main() {
	local pkg missing=()
	check_go
	for pkg in "${PACKAGES[@]}"; do
		if installed "${pkg}"; then
			log "${pkg}: present"
		else
			missing+=("${pkg}")
		fi
	done

	if ((${#missing[@]} > 0)); then
		if ! ${can_be_root}; then
			die "missing packages: ${missing[*]}
run as root:  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
		fi
		apt_get update
		apt_get install -y --no-install-recommends "${missing[@]}"
		for pkg in "${missing[@]}"; do
			installed "${pkg}" || die "${pkg}: still not installed after apt-get install"
			log "${pkg}: installed"
		done
	fi

	quiet_services "${missing[@]}"
}

main "$@"
