#!/usr/bin/env bash
# Installs the Resource-Share services: renders the unit templates beside
# this script for an install directory, user and group, creates what is
# missing (group, user, data directory, settings file), then enables and
# starts the webhook, the viewer, the daily timer and the alerts timer.
#
#   sudo systemd/install.sh [options]          install, enable, start
#   sudo systemd/install.sh --uninstall        stop, disable, remove the units (keeps data, user, settings)
#   systemd/install.sh --render-only DIR [options]   only write the rendered units to DIR (no root needed)
#
# Options:
#   --prefix DIR       the checkout to run from (default: the one holding this script); run `npm ci` there first
#   --user NAME        default clap-admin
#   --group NAME       default clap-users
#   --data-dir DIR     where the database lives (default: PREFIX/data); the only writable path
#   --env-file FILE    settings file (default: /etc/resource-share/resource-share.env)
#   --time-zone ZONE   zone of the timer's midnight (default: RESOURCE_SHARE_TZ from the settings file, else the machine's);
#                      checked as the service checks RESOURCE_SHARE_TZ. After changing RESOURCE_SHARE_TZ, run this again.
#   --node PATH        node binary (default: the one on PATH)
set -euo pipefail

# bash 5.2 expands & in ${var//pattern/replacement}; paths are taken literally.
shopt -u patsub_replacement 2>/dev/null || true

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
UNITS=(resource-share-server.service resource-share-web.service resource-share-daily-aggregate.service resource-share-daily-aggregate.timer resource-share-alerts.service resource-share-alerts.timer)
STARTED=(resource-share-server.service resource-share-web.service resource-share-daily-aggregate.timer resource-share-alerts.timer)
UNIT_DIR=/etc/systemd/system
# The reporter runs as each agent's own user: a user unit, for every user, enabled by each (docs/reporter.md).
USER_UNITS=(resource-share-reporter@.service)
USER_UNIT_DIR=/etc/systemd/user

prefix="$(dirname "$here")"
user=clap-admin
group=clap-users
data_dir=""
env_file=/etc/resource-share/resource-share.env
zone=""
node="$(command -v node || true)"
action=install
render_dir=""

die() { echo "install.sh: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
    --user) user="${2:?--user needs a name}"; shift 2 ;;
    --group) group="${2:?--group needs a name}"; shift 2 ;;
    --data-dir) data_dir="${2:?--data-dir needs a directory}"; shift 2 ;;
    --env-file) env_file="${2:?--env-file needs a path}"; shift 2 ;;
    --time-zone) zone="${2:?--time-zone needs a zone such as Europe/London}"; shift 2 ;;
    --node) node="${2:?--node needs a path}"; shift 2 ;;
    --render-only) action=render; render_dir="${2:?--render-only needs a directory}"; shift 2 ;;
    --uninstall) action=uninstall; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

if [[ $action == uninstall ]]; then
  [[ $EUID -eq 0 ]] || die "run as root (sudo) to remove system units"
  for unit in "${UNITS[@]}"; do
    systemctl disable --now "$unit" 2>/dev/null || true
    rm -f "$UNIT_DIR/$unit"
  done
  for unit in "${USER_UNITS[@]}"; do rm -f "$USER_UNIT_DIR/$unit"; done
  systemctl daemon-reload
  echo "Removed the Resource-Share units. Kept: the data directory, $env_file, user $user and group $group (remove them by hand if wanted)."
  exit 0
fi

prefix="$(cd "$prefix" && pwd)" || die "--prefix: no such directory"
data_dir="${data_dir:-$prefix/data}"
[[ $data_dir == /* ]] || die "--data-dir must be an absolute path (got $data_dir)"
[[ -n $node && -x $node ]] || die "node not found; install Node.js 20 or give --node /path/to/node"
node="$(readlink -f "$node")"
[[ -f $prefix/runner/index.ts ]] || die "$prefix is not a Resource-Share checkout (no runner/index.ts); give --prefix"
# Unit files split on whitespace; quoting every path is not worth the risk.
for path in "$prefix" "$data_dir" "$env_file" "$node"; do
  [[ $path != *[[:space:]]* ]] || die "paths with spaces are not supported: \"$path\""
done
node_major="$("$node" -p 'process.versions.node.split(".")[0]')"
(( node_major >= 20 )) || die "$node is Node.js $node_major; Resource-Share needs 20 or later (give --node)"

# The zone's name as the service takes it (shared/time.ts, the same code):
# canonical, or nothing when the service would refuse it.
canonical_zone() {
  (cd "$prefix" && "$node" --import tsx --input-type=module -e '
    import { canonicalTimeZone } from "./shared/time.ts";
    const zone = canonicalTimeZone(process.argv[1]);
    if (zone === undefined) process.exit(1);
    process.stdout.write(zone);' "$1")
}

env_zone=""
if [[ -r $env_file ]]; then
  env_zone="$(sed -n 's/^RESOURCE_SHARE_TZ=//p' "$env_file" | tail -n 1 | tr -d '"'"'" )"
fi
zone_from="--time-zone"
if [[ -z $zone && -n $env_zone ]]; then zone="$env_zone"; zone_from="RESOURCE_SHARE_TZ in $env_file"; fi
# Checked before anything is written: systemd refuses a timer whose zone it does not know.
if [[ -n $zone ]]; then
  [[ -d $prefix/node_modules/tsx ]] || die "$prefix/node_modules is missing: run 'npm ci' in $prefix first (the time zone is checked with the service's own code)"
  given="$zone"
  zone="$(canonical_zone "$given")" \
    || die "$zone_from: \"$given\" is not a time zone the service knows; give an IANA zone such as Europe/London or UTC (timedatectl list-timezones). Nothing was written."
  if command -v systemd-analyze >/dev/null && ! systemd-analyze calendar "*-*-* 00:00:00 $zone" >/dev/null 2>&1; then
    die "$zone_from: systemd does not know the time zone $zone (no /usr/share/zoneinfo/$zone?); install the tzdata package or choose another zone. Nothing was written."
  fi
  if [[ $zone_from == --time-zone && -n $env_zone && "$(canonical_zone "$env_zone" || true)" != "$zone" ]]; then
    die "--time-zone $zone differs from RESOURCE_SHARE_TZ=$env_zone in $env_file: the timer would close days at midnight in one zone while the services count them in the other. Set RESOURCE_SHARE_TZ=$zone there first (or leave out --time-zone). Nothing was written."
  fi
fi
# No zone: the timer uses the machine's local time, as the services do.
calendar_zone="${zone:+ $zone}"
# The timer's midnight is written into it: a new RESOURCE_SHARE_TZ needs the units rendered again.
zone_note="The daily timer runs at 00:00 ${zone:-machine local time}. After changing RESOURCE_SHARE_TZ in $env_file, run this script again (it renders the timer for the new zone), then restart the services."

# A home directory hidden by ProtectHome=yes could not be read or written.
protect_home=yes
case "$prefix/ $data_dir/" in *"/home/"*|*"/root/"*|*"/run/user/"*) protect_home=read-only ;; esac

render() { # template -> stdout
  local sandbox
  sandbox="$(cat "$here/sandbox.conf")"
  while IFS= read -r line || [[ -n $line ]]; do
    if [[ $line == "@SANDBOX@" ]]; then line="$sandbox"; fi
    if [[ $line == "# Template:"* ]]; then line="# Rendered by $here/install.sh; edit the template there and run it again."; fi
    line="${line//@INSTALL_DIR@/$prefix}"
    line="${line//@USER@/$user}"
    line="${line//@GROUP@/$group}"
    line="${line//@ENV_FILE@/$env_file}"
    line="${line//@NODE@/$node}"
    line="${line//@DATA_DIR@/$data_dir}"
    line="${line//@PROTECT_HOME@/$protect_home}"
    line="${line//@CALENDAR_ZONE@/$calendar_zone}"
    printf '%s\n' "$line"
  done < "$1"
}

render_to() { # system units -> $1, user units -> $2
  mkdir -p "$1" "$2"
  for unit in "${UNITS[@]}"; do render "$here/$unit" > "$1/$unit"; done
  for unit in "${USER_UNITS[@]}"; do render "$here/$unit" > "$2/$unit"; done
}

if [[ $action == render ]]; then
  render_to "$render_dir" "$render_dir"
  echo "Rendered ${UNITS[*]} ${USER_UNITS[*]} into $render_dir"
  echo "$zone_note"
  exit 0
fi

[[ $EUID -eq 0 ]] || die "run as root (sudo): it creates a user and installs system units. To see the units only, use --render-only DIR"
[[ -d $prefix/node_modules/tsx ]] || die "$prefix/node_modules is missing: run 'npm ci' in $prefix first"

getent group "$group" >/dev/null || { groupadd --system "$group"; echo "Created group $group"; }
if ! id -u "$user" >/dev/null 2>&1; then
  useradd --system --gid "$group" --home-dir "$prefix" --no-create-home --shell /usr/sbin/nologin "$user"
  echo "Created user $user"
fi
install -d -o "$user" -g "$group" -m 0750 "$data_dir"
# A database first made by hand (as root, say) must become the service's.
chown -R "$user:$group" "$data_dir"

if [[ ! -e $env_file ]]; then
  install -d -m 0755 "$(dirname "$env_file")"
  machine_zone="$("$node" -e 'process.stdout.write(Intl.DateTimeFormat().resolvedOptions().timeZone)')"
  umask 027
  cat > "$env_file" <<SETTINGS
# Settings for the Resource-Share services; see the README, section "Configuration".
# After a change: sudo systemctl restart resource-share-server resource-share-web
# After changing RESOURCE_SHARE_TZ: run systemd/install.sh again first (the timer's midnight is in its unit).
DATABASE_URL=file:$data_dir/resource_tracking.db
RESOURCE_SHARE_TZ=${zone:-$machine_zone}
HOST=127.0.0.1
PORT=8765
WEB_HOST=127.0.0.1
WEB_PORT=8082
LOG_LEVEL=info
# Where alerts go: comma-separated shape=url, shape alertmanager, ntfy, discord or slack (docs/alerts.md).
ALERT_RECEIVERS=
SETTINGS
  chgrp "$group" "$env_file"
  echo "Wrote settings to $env_file"
fi

render_to "$UNIT_DIR" "$USER_UNIT_DIR"
systemctl daemon-reload
systemctl enable "${STARTED[@]}"
# restart, not start: a re-install must bring running services onto the new units.
systemctl restart "${STARTED[@]}"
echo "Installed and started: ${STARTED[*]}"
echo "$zone_note"
echo "Check: systemctl status resource-share-server; systemctl list-timers resource-share-daily-aggregate.timer resource-share-alerts.timer"
echo "Each agent's user, to report its Claude Code tokens: systemctl --user enable --now resource-share-reporter@AGENT-NAME (see docs/reporter.md)"
