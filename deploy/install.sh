#!/bin/sh
# deploy/install.sh: puts Gantry on one host run by systemd: the binaries a
# role needs in /usr/local/bin, their units in /etc/systemd/system, the
# example env files in /etc/gantry (only where none exists yet), and the
# directories the units expect. With --init or --join it then runs gantry
# init / gantry join, which bootstrap the cluster and run the daemons;
# without, certificates, tokens and store membership for the units are
# made by hand (docs/install.md). Run it again at will: identical files are left alone
# and an operator's /etc/gantry/*.env is never overwritten.
#
# Usage: deploy/install.sh --role control-plane|worker [flags]   (--help)
set -eu

usage() {
	cat <<'EOF'
Usage: install.sh --role control-plane|worker [flags]

Installs Gantry's binaries, systemd units and example env files for one host.

  --role ROLE       control-plane: gantry-store, -apiserver, -scheduler,
                    -controllers, and the worker set (for hosts that also
                    run pods); worker: gantry-agent, -logger, -proxy.
                    Both get the gantry command.
  --with-ingress    also gantry-ingress (hosts that receive outside traffic)
  --bin-dir DIR     where the built binaries are (default: bin/ of the
                    repository this script is in; `make build` fills it)
  --prefix DIR      install under DIR instead of / (default: $DESTDIR, else /);
                    systemd is then left alone
  --install-deps    install missing prerequisites with apt-get (root /
                    only); without it they are only reported
  --start           also enable and start the role's units (root / with
                    systemd as PID 1, and env files that were already there)
  --init ADDR       then run `gantry init --advertise-address ADDR`: this
                    host becomes the first control-plane host, the gantry
                    command runs the daemons (not the units) and prints
                    the join commands (control-plane role, root / only)
  --join 'ARGS'     then run `gantry join ARGS`, ARGS as gantry init
                    printed them (root / only)
  --dry-run         print what would be done; change nothing
  -h, --help        this text

Binaries go to <prefix>/usr/local/bin (mode 0755), units to
<prefix>/etc/systemd/system, env files to <prefix>/etc/gantry/<daemon>.env.
EOF
}

prog=install.sh
usage_error() {
	printf '%s: %s\n' "$prog" "$*" >&2
	printf 'Run %s --help for usage.\n' "$prog" >&2
	exit 2
}
die() {
	printf '%s: %s\n' "$prog" "$*" >&2
	exit 1
}
say() { printf '%s\n' "$*"; }

# The directory this script is in holds the units (systemd/) and the env
# files (config/); the repository's bin/ is next to it.
script_dir=$(cd "$(dirname "$0")" && pwd -P)

role=
bin_dir=
root=${DESTDIR:-/}
with_ingress=false
install_deps=false
start=false
dry_run=false
init_addr=
join_args=

# needs_value FLAG ARGC: a flag that takes a value has one.
needs_value() {
	[ "$2" -ge 2 ] || usage_error "$1 needs a value"
}
while [ $# -gt 0 ]; do
	case $1 in
	--role) needs_value "$1" $#; role=$2; shift ;;
	--role=*) role=${1#*=} ;;
	--bin-dir) needs_value "$1" $#; bin_dir=$2; shift ;;
	--bin-dir=*) bin_dir=${1#*=} ;;
	--prefix) needs_value "$1" $#; root=$2; shift ;;
	--prefix=*) root=${1#*=} ;;
	--with-ingress) with_ingress=true ;;
	--install-deps) install_deps=true ;;
	--start) start=true ;;
	--dry-run) dry_run=true ;;
	--init) needs_value "$1" $#; init_addr=$2; shift ;;
	--init=*) init_addr=${1#*=} ;;
	--join) needs_value "$1" $#; join_args=$2; shift ;;
	--join=*) join_args=${1#*=} ;;
	-h | --help) usage; exit 0 ;;
	*) usage_error "unknown argument: $1" ;;
	esac
	shift
done

# Daemons by role, named as in gantry-<daemon>.service and
# /etc/gantry/<daemon>.env. The worker set runs pods; a control-plane host
# gets it too, to run pods if its operator wants.
case $role in
control-plane) main_daemons="store apiserver scheduler controllers" ;;
worker) main_daemons="agent proxy" ;;
'') usage_error "--role is required: control-plane or worker" ;;
*) usage_error "--role $role: want control-plane or worker" ;;
esac
worker_daemons="agent proxy"
if $with_ingress; then
	worker_daemons="$worker_daemons ingress"
	if [ "$role" = worker ]; then main_daemons="$main_daemons ingress"; fi
fi
daemons=$main_daemons
if [ "$role" = control-plane ]; then daemons="$daemons $worker_daemons"; fi
# units_of DAEMON...: their unit names, each after a space.
units_of() { for d in "$@"; do printf ' gantry-%s' "$d"; done; }
# shellcheck disable=SC2086 # one word per daemon
main_units=$(units_of $main_daemons)
# shellcheck disable=SC2086 # one word per daemon
worker_units=$(units_of $worker_daemons)

[ -n "$root" ] || usage_error "--prefix: empty directory name"
[ -d "$root" ] || usage_error "--prefix $root: no such directory"
root=$(cd "$root" && pwd -P)
# r PATH: PATH under the install root.
r() { printf '%s%s' "${root%/}" "$1"; }

# systemd is PID 1 when /run/systemd/system exists (sd_booted(3)).
systemd_booted=false
[ -d /run/systemd/system ] && systemd_booted=true
pid1=$(cat /proc/1/comm 2>/dev/null || echo unknown)

if [ -n "$init_addr" ] || [ -n "$join_args" ]; then
	[ -z "$init_addr" ] || [ -z "$join_args" ] || usage_error "--init and --join: one host does one of them"
	[ "$root" = / ] || usage_error "--init/--join run the gantry command on this host: not with --prefix $root"
	$start && usage_error "--init/--join: the gantry command runs the daemons, not the units: not with --start"
	[ -z "$init_addr" ] || [ "$role" = control-plane ] || usage_error "--init is for --role control-plane"
fi
if $start; then
	[ "$root" = / ] || usage_error "--start installs into / only (not --prefix $root)"
	$systemd_booted || usage_error "--start: systemd is not PID 1 on this host (PID 1 is $pid1)"
fi
if $install_deps; then
	[ "$root" = / ] || usage_error "--install-deps installs into / only (not --prefix $root)"
fi
if $start; then
	# Starting daemons on the example addresses helps no one.
	for d in $main_daemons; do
		[ -e "$(r "/etc/gantry/$d.env")" ] ||
			usage_error "--start: /etc/gantry/$d.env does not exist yet; run without --start, edit the example env files it installs, then run again with --start"
	done
fi

if [ -z "$bin_dir" ]; then
	bin_dir=$script_dir/../bin
	bin_what="the repository's bin/ ($bin_dir; run make build, or pass --bin-dir)"
else
	bin_what="--bin-dir $bin_dir"
fi
[ -d "$bin_dir" ] || die "$bin_what: no such directory"
bin_dir=$(cd "$bin_dir" && pwd -P)

binaries=gantry
for d in $daemons; do
	binaries="$binaries gantry-$d"
	# The agent finds its log writer beside itself.
	if [ "$d" = agent ]; then binaries="$binaries gantry-logger"; fi
done
missing=
for b in $binaries; do
	if ! [ -f "$bin_dir/$b" ] || ! [ -x "$bin_dir/$b" ]; then missing="$missing $b"; fi
done
[ -z "$missing" ] || die "$bin_what: missing or not executable:$missing (the $role role needs: $binaries)"

# env_source DAEMON: the example env file of a daemon.
env_source() {
	if [ -f "$script_dir/config/control-plane/$1.env" ]; then
		printf '%s' "$script_dir/config/control-plane/$1.env"
	else
		printf '%s' "$script_dir/config/worker/$1.env"
	fi
}
for d in $daemons; do
	[ -f "$script_dir/systemd/gantry-$d.service" ] || die "$script_dir/systemd/gantry-$d.service is missing"
	[ -f "$(env_source "$d")" ] || die "$(env_source "$d") is missing"
done


if ! $dry_run && [ "$root" = / ] && [ "$(id -u)" -ne 0 ]; then
	die "installing into / needs root (or use --prefix DIR, or --dry-run)"
fi

if $dry_run; then
	would='would '
	say "Dry run: nothing is changed."
else
	would=
fi
say "Installing the $role role into $root from $bin_dir"

# A temporary file being written, removed if the script stops half-way.
tmp=
trap 'if [ -n "$tmp" ]; then rm -f "$tmp"; fi' EXIT
trap 'exit 1' HUP INT TERM

# make_dir DIR MODE: creates DIR (under the root) with MODE if it does not
# exist; an existing directory keeps its owner and mode.
made_dirs=0
make_dir() {
	if [ -d "$(r "$1")" ]; then
		return 0
	fi
	made_dirs=$((made_dirs + 1))
	say "  ${would}create $(r "$1")/ (mode $2)"
	$dry_run && return 0
	mkdir -p "$(r "$1")"
	chmod "$2" "$(r "$1")"
}

# install_file SRC DEST MODE: copies SRC to DEST (under the root) by way of
# a temporary file in DEST's directory and a rename, so a reader never sees
# half a file; an identical DEST is left alone.
install_file() {
	dest=$(r "$2")
	if [ -f "$dest" ] && cmp -s "$1" "$dest"; then
		if [ -z "$(find "$dest" -prune -perm "$3")" ]; then
			say "  ${would}set mode $3 on $dest (content unchanged)"
			$dry_run || chmod "$3" "$dest"
		else
			say "  unchanged $dest"
		fi
		return 0
	fi
	if [ -d "$dest" ]; then die "$dest is a directory: remove it, then run again"; fi
	if [ -e "$dest" ]; then what=update; else what=install; fi
	say "  ${would}$what $dest"
	$dry_run && return 0
	tmp=$(dirname "$dest")/.$(basename "$dest").install-tmp.$$
	cp "$1" "$tmp"
	chmod "$3" "$tmp"
	mv -f "$tmp" "$dest"
	tmp=
}

# Directories. The units' StateDirectory= (gantry/store, mode 0700;
# gantry/agent) would be made by systemd at start; they are made here too
# so that a host prepared by this script is complete without a start. The
# agent's --root-dir and --pod-log-dir defaults, and the controllers'
# --local-path-dir (volumes on nodes), are the agent.env and
# controllers.env values.
say "Directories:"
make_dir /usr/local/bin 0755
make_dir /etc/systemd/system 0755
make_dir /etc/gantry 0755
make_dir /etc/gantry/pki 0700
make_dir /var/lib/gantry 0755
for d in $daemons; do
	case $d in
	store)
		make_dir /etc/gantry/pki/store 0700
		make_dir /var/lib/gantry/store 0700
		;;
	agent)
		make_dir /var/lib/gantry/agent 0755
		make_dir /var/lib/gantry/storage 0755
		make_dir /var/log/pods 0755
		;;
	esac
done
if [ "$made_dirs" -eq 0 ]; then say "  all present"; fi

say "Binaries:"
for b in $binaries; do
	install_file "$bin_dir/$b" "/usr/local/bin/$b" 0755
done

say "Units:"
for d in $daemons; do
	install_file "$script_dir/systemd/gantry-$d.service" "/etc/systemd/system/gantry-$d.service" 0644
done

# Env files are the operator's once installed: never overwritten.
say "Env files:"
new_env=
for d in $daemons; do
	dest=/etc/gantry/$d.env
	if [ -e "$(r "$dest")" ] || [ -L "$(r "$dest")" ]; then
		say "  kept $(r "$dest") (exists: an operator's config is never overwritten)"
	else
		install_file "$(env_source "$d")" "$dest" 0644
		new_env="$new_env $(r "$dest")"
	fi
done
if [ -n "$new_env" ]; then
	say "  The new env files are examples (cp-1 10.0.0.11, worker-1 10.0.0.21): set this"
	say "  host's name and addresses in them before starting anything."
fi

# Prerequisites: what the worker set runs (see the agent's and proxy's
# docs); the control plane needs nothing beyond systemd. They are checked on
# this host, also with --prefix. Each missing one is reported with its
# Debian package.
say "Prerequisites (on this host):"
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
missing_pkgs=
lack() { # lack WHAT PACKAGE
	say "  missing: $1 (Debian package $2)"
	case " $missing_pkgs " in
	*" $2 "*) ;;
	*) missing_pkgs="${missing_pkgs:+$missing_pkgs }$2" ;;
	esac
}
check_prerequisites() {
	missing_pkgs=
	command -v systemctl >/dev/null 2>&1 || lack "systemctl (the units need systemd)" systemd
	case " $daemons " in
	*" agent "*)
		command -v containerd >/dev/null 2>&1 || lack "containerd (the agent's container runtime)" containerd
		command -v runc >/dev/null 2>&1 || lack "runc (containerd's OCI runtime)" runc
		for p in bridge host-local portmap loopback; do
			[ -x /usr/lib/cni/$p ] || lack "CNI plugin /usr/lib/cni/$p" containernetworking-plugins
		done
		command -v ip >/dev/null 2>&1 || lack "ip (pod routes)" iproute2
		# The agent loads br_netfilter when it is not loaded yet.
		[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] || command -v modprobe >/dev/null 2>&1 ||
			lack "modprobe (br_netfilter is not loaded)" kmod
		;;
	esac
	case " $daemons " in
	*" proxy "*)
		for c in iptables iptables-save iptables-restore; do
			command -v $c >/dev/null 2>&1 || lack "$c (the proxy's packet filter rules)" iptables
		done
		command -v conntrack >/dev/null 2>&1 || lack "conntrack (the proxy flushes stale flows)" conntrack
		;;
	esac
	[ -n "$missing_pkgs" ] || say "  all present"
}
check_prerequisites
if [ -n "$missing_pkgs" ]; then
	if $install_deps; then
		if $dry_run; then
			say "  would run: apt-get update && apt-get install -y --no-install-recommends $missing_pkgs"
		else
			command -v apt-get >/dev/null 2>&1 || die "--install-deps needs apt-get; install by hand: $missing_pkgs"
			[ "$(id -u)" -eq 0 ] || die "--install-deps needs root"
			say "  apt-get install $missing_pkgs"
			DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null || die "apt-get update failed"
			# shellcheck disable=SC2086 # one word per package
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing_pkgs >/dev/null ||
				die "apt-get install $missing_pkgs failed"
			say "Prerequisites after apt-get:"
			check_prerequisites
			[ -z "$missing_pkgs" ] || die "still missing after apt-get: $missing_pkgs"
		fi
	else
		say "  Install them with: apt-get install --no-install-recommends $missing_pkgs"
		say "  (or run this script again with --install-deps)"
	fi
fi

# The start commands, in order. On a control-plane host the store members
# start together (a new store needs a quorum); the worker set there is for
# hosts that also run pods.
print_start_commands() {
	if [ "$role" = control-plane ]; then
		say "  systemctl enable --now gantry-store    # on the control-plane hosts together"
		say "  systemctl enable --now gantry-apiserver gantry-scheduler gantry-controllers"
		say "  # and, if this host also runs pods (edit$(for d in $worker_daemons; do printf ' %s.env' "$d"; done) first):"
		say "  systemctl enable --now$worker_units"
	else
		say "  systemctl enable --now$main_units"
	fi
}

# next_steps: what is left after the files are in place: either the
# gantry command bootstraps the cluster (gantry init, gantry join: it
# starts and tracks the daemons itself, with certificates from bootstrap
# tokens and CSRs), or the operator configures the units by hand.
next_steps() {
	say ""
	say "Next, either let the gantry command bootstrap the cluster and run its daemons"
	say "(docs/install.md, \"Several hosts: gantry init and gantry join\"):"
	if [ "$role" = control-plane ]; then
		say "  on the first control-plane host: gantry init --advertise-address <this host's IP>"
		say "  on the others: the gantry join ... --control-plane command it prints"
	else
		say "  gantry join --server https://<control plane>:6443 --token ... --discovery-token-ca-cert-hash sha256:..."
		say "    (gantry init printed it; gantry token create --print-join-command makes another)"
	fi
	say "or run the systemd units installed here, configured by hand:"
	say "  certificates and tokens in /etc/gantry/pki: docs/install.md,"
	say "    \"Several hosts, by hand\" > \"Certificates and tokens\""
	if [ "$role" = control-plane ]; then
		say "  store membership: --initial-cluster in store.env on the first three members;"
		say "    a later member: docs/install.md, \"Adding a store member by hand\""
	fi
	say "  then this host's name and addresses in /etc/gantry/*.env"
}

# bootstrap: --init or --join runs the gantry command, which starts and
# tracks the daemons itself (gantry status, gantry down; gantry up brings
# the host back after a reboot).
bootstrap() {
	gantry=$(r /usr/local/bin/gantry)
	say ""
	if [ -n "$init_addr" ]; then
		say "${would:-}run: $gantry init --advertise-address $init_addr"
		$dry_run || "$gantry" init --advertise-address "$init_addr"
	else
		say "${would:-}run: $gantry join $join_args"
		# shellcheck disable=SC2086 # the arguments as gantry init printed them
		$dry_run || "$gantry" join $join_args
	fi
	say ""
	say "The gantry command runs this host's daemons (not the gantry-<daemon> units): check them"
	say "with gantry status, stop them with gantry down; gantry up brings them back."
	say "At boot gantry.service runs gantry up:"
	install_file "$script_dir/systemd/gantry.service" /etc/systemd/system/gantry.service 0644
	if $systemd_booted; then
		say "${would:-}run: systemctl daemon-reload && systemctl enable gantry.service"
		$dry_run || { systemctl daemon-reload && systemctl enable gantry.service; }
	else
		say "  systemd is not PID 1 on this host (PID 1 is $pid1): not enabled; after a reboot run gantry up"
	fi
}

if [ -n "$init_addr" ] || [ -n "$join_args" ]; then
	bootstrap
	exit 0
fi

next_steps
say ""
if [ "$root" != / ]; then
	say "Installed under $root: systemd on this host is left alone. On the target host:"
	say "  systemctl daemon-reload"
	print_start_commands
elif ! $systemd_booted; then
	say "systemd is not PID 1 on this host (PID 1 is $pid1): nothing was reloaded or started."
	say "On a host booted with systemd:"
	say "  systemctl daemon-reload"
	print_start_commands
	say "Without systemd, run each daemon with its unit's command line, e.g.:"
	for d in $main_daemons; do
		say "  sh -c '. /etc/gantry/$d.env && exec /usr/local/bin/gantry-$d \$GANTRY_$(printf '%s' "$d" | tr '[:lower:]' '[:upper:]')_ARGS'"
	done
else
	say "${would:-}run: systemctl daemon-reload"
	$dry_run || systemctl daemon-reload
	if $start; then
		say "${would:-}run: systemctl enable --now --no-block$main_units"
		# shellcheck disable=SC2086 # one word per unit
		$dry_run || systemctl enable --now --no-block $main_units
		say "Started without waiting for readiness; follow with: systemctl status$main_units"
	else
		say "Start the units (in this order) when the cluster material is in place:"
		print_start_commands
	fi
fi
