#!/usr/bin/env bash
# The Debian package, built and tested on this machine (root; run by Scripts/test.sh after swift test):
# lintian, systemd-analyze verify, dpkg -i, the INSTALLED plugin through a real icinga2 (ITL includes
# and the shipped example services only), the installed exporter started from its unit's command
# line, man -l, ldd against Depends, cold start, and dpkg --purge leaving no file behind.
# Everything runs on temp dirs and loopback: no service is started, no real path is scanned. The
# package is purged at the end whatever happens (trap). Prints "package-test: N passed, M failed".
#   Scripts/package-test.sh [DEB]   (without DEB: builds it with Scripts/package.sh)
set -uo pipefail
cd "$(dirname "$0")/.."
package=virus-scan-monitoring
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "package-test: ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "package-test: FAILED - $*"; }
check() { # check DESCRIPTION COMMAND...: passes when the command succeeds
  local what=$1; shift
  if "$@"; then ok "$what"; else not_ok "$what"; fi
}
summary() { echo "package-test: $passed passed, $failed failed"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "package-test: skipped (needs root: dpkg -i, icinga2)"; summary; exit 0
fi
if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'installed'; then
  not_ok "$package is already installed here; the test would remove it"; summary; exit 1
fi

tmp=$(mktemp -d /tmp/package-test.XXXXXX)
chmod 0755 "$tmp"   # the exporter runs as its unit's user
installed=no
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  if [ "$installed" = yes ]; then dpkg --purge "$package" >/dev/null 2>&1 || echo "package-test: dpkg --purge failed" >&2; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# What a package may touch (logs and caches aside): listed before and after, compared at the end.
snapshot() { find /etc /usr /var/lib /opt /srv -xdev 2>/dev/null | grep -v -E '^/var/lib/(dpkg|apt)/' | LC_ALL=C sort; }
snapshot >"$tmp/files-before"

# --- build ------------------------------------------------------------------------------------------
deb=${1:-}
if [ -z "$deb" ]; then
  started=$(date +%s)
  deb=$(Scripts/package.sh "$tmp/dist" | tail -n 1)
  echo "package-test: Scripts/package.sh took $(( $(date +%s) - started )) s"
fi
if [ ! -f "$deb" ]; then not_ok "Scripts/package.sh builds the package"; summary; exit 1; fi
ok "built $(basename "$deb"): $(stat -c %s "$deb") bytes, installed size $(dpkg-deb -f "$deb" Installed-Size) KiB"
depends=$(dpkg-deb -f "$deb" Depends)
echo "package-test: Depends: $depends"
check "Depends names libclamav12 and libc6" grep -qE '(^|, )libclamav12( |,|$)' <<<"$depends"
grep -qE '(^|, )libc6( |,|$)' <<<"$depends" || not_ok "Depends names libc6"
check "Recommends clamav-daemon, clamav-freshclam" test "$(dpkg-deb -f "$deb" Recommends)" = "clamav-daemon, clamav-freshclam"

# --- lintian ----------------------------------------------------------------------------------------
lintian --info --display-level '>=pedantic' "$deb" >"$tmp/lintian" 2>&1
sed 's/^/  lintian: /' "$tmp/lintian"
check "lintian reports no error" test "$(grep -c '^E: ' "$tmp/lintian")" -eq 0

# --- install ----------------------------------------------------------------------------------------
if dpkg -i "$deb" >"$tmp/dpkg" 2>&1; then
  installed=yes; ok "dpkg -i"
else
  installed=yes; cat "$tmp/dpkg"; not_ok "dpkg -i"; summary; exit 1
fi
for path in /usr/lib/nagios/plugins/check_virus_scan /usr/bin/check_virus_scan /usr/bin/virus_scan_exporter \
  /usr/share/icinga2/include/plugins-contrib.d/virus_scan.conf /usr/share/doc/$package/examples/icinga-services.conf \
  /etc/virus-scan.yml /etc/default/virus-scan-exporter /usr/share/$package/grafana/virus-scan.json \
  /usr/share/$package/prometheus/alerts.yml /usr/share/man/man1/check_virus_scan.1.gz /usr/share/man/man1/virus_scan_exporter.1.gz \
  /usr/share/bash-completion/completions/check_virus_scan /usr/share/zsh/vendor-completions/_virus_scan_exporter; do
  [ -e "$path" ] || not_ok "installed: $path"
done
ok "installed layout"
conffiles=$(dpkg-query -W -f='${Conffiles}' "$package")
check "/etc/virus-scan.yml is a conffile" grep -q ' /etc/virus-scan.yml ' <<<"$conffiles"
for unit in contrib/systemd/*.service contrib/systemd/*.timer; do
  [ -f "/lib/systemd/system/$(basename "$unit")" ] || not_ok "unit $(basename "$unit") installed"
done
check "no unit enabled" test -z "$(find /etc/systemd/system -name 'virus-scan-*' 2>/dev/null)"

# --- systemd-analyze verify (templates as an instance) and the sandboxing score --------------------
mkdir -p "$tmp/units"
verify=()
for unit in /lib/systemd/system/virus-scan-*; do
  name=$(basename "$unit")
  if [[ $name == *@.* ]]; then
    cp "$unit" "$tmp/units/${name/@./@incoming.}"; verify+=("$tmp/units/${name/@./@incoming.}")
  else
    verify+=("$unit")
  fi
done
if systemd-analyze verify "${verify[@]}" >"$tmp/verify" 2>&1; then ok "systemd-analyze verify: ${#verify[@]} units"
else grep -E 'virus-scan' "$tmp/verify"; not_ok "systemd-analyze verify"; fi
for unit in "${verify[@]}"; do
  [[ $unit == *.service ]] || continue
  echo "package-test: systemd-analyze security: $(systemd-analyze security --offline=true "$unit" 2>&1 | tail -n 1 | sed 's/→ Overall exposure level for //')"
done

# --- man pages and completions ---------------------------------------------------------------------
for command in check_virus_scan virus_scan_exporter; do
  page=/usr/share/man/man1/$command.1.gz
  MANWIDTH=80 man -P cat -l "$page" >"$tmp/man" 2>"$tmp/man-err"
  if [ $? -eq 0 ] && [ ! -s "$tmp/man-err" ] && grep -q "$command" "$tmp/man" && [ "$(wc -l <"$tmp/man")" -gt 20 ]; then
    ok "man -l $page ($(wc -l <"$tmp/man") lines)"
  else
    cat "$tmp/man-err"; not_ok "man -l $page"
  fi
  check "bash completion of $command loads" bash -c "source /usr/share/bash-completion/completions/$command && complete -p $command >/dev/null"
done
grep -q 'rescan-clean' <(MANWIDTH=80 man -P cat -l /usr/share/man/man1/check_virus_scan.1.gz) \
  && ok "check_virus_scan(1) documents the subcommands" || not_ok "check_virus_scan(1) documents the subcommands"

# --- ldd: nothing outside Depends -------------------------------------------------------------------
# The binaries' own libraries (readelf NEEDED) come from a package in Depends; the libraries those
# pull in (all that ldd lists) from a package in the Depends closure (Depends of Depends, installed).
names() { sed -E 's/\([^)]*\)//g; s/:[a-z0-9]+//g; s/[|,]/ /g'; }
direct=" $(names <<<"$depends") "
declared=$direct
todo=$direct
while [ -n "${todo// /}" ]; do
  next=""
  for p in $todo; do
    for q in $(dpkg-query -W -f='${Depends} ${Pre-Depends}' "$p" 2>/dev/null | names); do
      [[ $declared == *" $q "* ]] || { declared+="$q "; next+=" $q"; }
    done
  done
  todo=$next
done
owner_of() { local o; o=$(dpkg -S "$(realpath "$1")" 2>/dev/null | head -n 1 | cut -d: -f1)
  [ -n "$o" ] || o=$(dpkg -S "$1" 2>/dev/null | head -n 1 | cut -d: -f1); echo "$o"; }
for binary in /usr/lib/nagios/plugins/check_virus_scan /usr/bin/virus_scan_exporter; do
  bad=""
  for needed in $(readelf -d "$binary" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p'); do
    lib=$(ldd "$binary" | awk -v n="$needed" '$1 == n && $2 == "=>" { print $3 }')
    owner=$(owner_of "${lib:-$needed}")
    [[ $direct == *" $owner "* ]] || bad+=" $needed(${owner:-no package})"
  done
  if [ -z "$bad" ]; then ok "$(basename "$binary") links only libraries of Depends: $(readelf -d "$binary" | grep -c NEEDED) NEEDED"
  else not_ok "$(basename "$binary") links libraries outside Depends:$bad"; fi
  bad=""
  while read -r lib; do
    owner=$(owner_of "$lib")
    [[ $declared == *" $owner "* ]] || bad+=" $lib(${owner:-no package})"
  done < <(ldd "$binary" | sed -nE 's/.*=> (\/[^ ]+) .*/\1/p; s/^[[:space:]]*(\/[^ ]+) \(.*/\1/p')
  if [ -z "$bad" ]; then ok "ldd $(basename "$binary"): $(ldd "$binary" | grep -c '=>') libraries, all from the Depends closure"
  else not_ok "ldd $(basename "$binary"): outside Depends:$bad"; fi
  ldd "$binary" | grep -q libswift && not_ok "$(basename "$binary") links the Swift runtime dynamically"
done

# --- a temp pipeline, read through the default layout file (VIRUS_SCAN_CONFIG) --------------------
pipeline=$tmp/pipeline
mkdir -p "$pipeline"/{incoming,draft-incoming,clean,infected,draft-clean,draft-infected,state}
for f in a.pdf b.docx c.txt; do echo "document $f" >"$pipeline/incoming/$f"; done
echo "draft" >"$pipeline/draft-incoming/d.pdf"
cat >"$pipeline/virus-scan.yml" <<EOF
root: $pipeline
state_dir: $pipeline/state
list_dir: $pipeline/lists
EOF
chmod -R a+rX "$pipeline"
export VIRUS_SCAN_CONFIG=$pipeline/virus-scan.yml

out=$(/usr/lib/nagios/plugins/check_virus_scan backlog -w 10 -c 20)
check "installed plugin reads the default layout file: $out" grep -q "^VIRUS_SCAN OK - 4 files queued" <<<"$out"
out=$(VIRUS_SCAN_CONFIG= /usr/lib/nagios/plugins/check_virus_scan --version)
check "check_virus_scan --version" test "$out" = "check_virus_scan $(dpkg-deb -f "$deb" Version)"

# Cold start on an empty pipeline: the first run after install (binary just written, page cache
# warm: dropping caches would disturb the machine), then 20 runs; whole process, fork to exit.
empty=$tmp/empty
mkdir -p "$empty"/{incoming,draft-incoming,clean,infected,draft-clean,draft-infected}
times=()
for i in $(seq 0 20); do
  t0=$(date +%s%N)
  VIRUS_SCAN_CONFIG= /usr/lib/nagios/plugins/check_virus_scan backlog --root "$empty" --state-dir "$empty" >/dev/null
  t1=$(date +%s%N)
  times+=($(( (t1 - t0) / 1000 )))
done
first=${times[0]}
median=$(printf '%s\n' "${times[@]:1}" | sort -n | sed -n 10p)
max=$(printf '%s\n' "${times[@]:1}" | sort -n | tail -n 1)
echo "package-test: cold start (backlog, empty pipeline): first run $((first / 1000)).$(( (first % 1000) / 100 )) ms, median of 20 $((median / 1000)).$(( (median % 1000) / 100 )) ms, max $((max / 1000)).$(( (max % 1000) / 100 )) ms"
check "plugin start under 50 ms (median of 20)" test "$median" -lt 50000

# --- the installed plugin through a real icinga2: ITL includes and the shipped example services -----
icinga=$tmp/icinga
mkdir -p "$icinga"/{data,cache,log,spool,run,perfdata}
cat >"$icinga/main.conf" <<EOF
const PluginDir = "/usr/lib/nagios/plugins"
const PluginContribDir = "/usr/lib/nagios/plugins"
const NodeName = "scanner1.example.org"
const ZoneName = NodeName
const TicketSalt = ""
include <itl>
include <plugins>
include <plugins-contrib>
include "/usr/share/doc/$package/examples/icinga-services.conf"
object CheckerComponent "checker" { }
object ExternalCommandListener "command" { command_path = "$icinga/run/cmd" }
object PerfdataWriter "perfdata" {
  service_perfdata_path = "$icinga/perfdata/service-perfdata"
  service_temp_path = "$icinga/perfdata/service-perfdata.tmp"
  host_perfdata_path = "$icinga/perfdata/host-perfdata"
  host_temp_path = "$icinga/perfdata/host-perfdata.tmp"
  service_format_template = "SERVICE::\$service.name\$\tSTATE::\$service.state\$\tPERFDATA::\$service.perfdata\$\tOUTPUT::\$service.output\$"
  rotation_interval = 1s
}
EOF
defines=(-D "DataDir=$icinga/data" -D "CacheDir=$icinga/cache" -D "LogDir=$icinga/log" -D "SpoolDir=$icinga/spool"
  -D "InitRunDir=$icinga/run" -D RunAsUser=root -D RunAsGroup=root)
if icinga2 daemon -C -c "$icinga/main.conf" "${defines[@]}" >"$icinga/validate" 2>&1; then
  ok "icinga2 daemon -C: $(grep -oE 'Instantiated [0-9]+ Services' "$icinga/validate")"
else
  tail -n 20 "$icinga/validate"; not_ok "icinga2 daemon -C"
fi
icinga2 daemon -c "$icinga/main.conf" "${defines[@]}" -x warning >"$icinga/daemon.log" 2>&1 &
pids+=($!)
services=$(sed -nE 's/.*apply Service "([^"]+)" for.*/\1/p' /usr/share/doc/$package/examples/icinga-services.conf)
deadline=$(( $(date +%s) + 90 ))
until [ -p "$icinga/run/cmd" ] || [ "$(date +%s)" -gt "$deadline" ]; do sleep 0.5; done
now=$(date +%s)
for prefix in $services; do
  for queue in incoming draft-incoming; do
    echo "[$now] SCHEDULE_FORCED_SVC_CHECK;scanner1.example.org;$prefix$queue;$now" >"$icinga/run/cmd"
  done
done
want=$(( $(wc -w <<<"$services") * 2 ))
results() { cat "$icinga"/perfdata/service-perfdata.[0-9]* 2>/dev/null | grep -a '^SERVICE::' | awk -F'\t' '{ r[$1] = $0 } END { for (k in r) print r[k] }'; }
until [ "$(results | wc -l)" -ge "$want" ] || [ "$(date +%s)" -gt "$deadline" ]; do sleep 1; done
results | sort | sed 's/^/  icinga2: /'
check "icinga2 ran all $want example services with the installed plugin" test "$(results | wc -l)" -eq "$want"
check "every example service OK on the temp pipeline" test "$(results | grep -vc $'\tSTATE::OK\t')" -eq 0
check "backlog incoming: 3 files, the example's thresholds 100/500" \
  grep -qE $'^SERVICE::virus-scan-backlog-incoming\tSTATE::OK\tPERFDATA::backlog=3;100;500;0' <(results)
check "backlog draft-incoming: 1 file, the per-queue override 50/200" \
  grep -qE $'^SERVICE::virus-scan-backlog-draft-incoming\tSTATE::OK\tPERFDATA::backlog=1;50;200;0' <(results)
kill "${pids[-1]}" 2>/dev/null; wait "${pids[-1]}" 2>/dev/null

# --- the installed exporter, started from its unit's command line -----------------------------------
execstart=$(sed -nE 's/^ExecStart=//p' /lib/systemd/system/virus-scan-exporter.service)
exporter_args=$(set -a; . /etc/default/virus-scan-exporter; echo "${EXPORTER_ARGS:-}")
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
read -ra command <<<"${execstart//\$EXPORTER_ARGS/$exporter_args}"
# Loopback port and temp dirs by hand (later options win); the layout from VIRUS_SCAN_CONFIG.
command+=(--web.listen-address "127.0.0.1:$port" --socket "$tmp/no-clamd.sock" --database-dir "$tmp" --lock "$tmp/rescan.lock")
user=$(sed -nE 's/^User=//p' /lib/systemd/system/virus-scan-exporter.service)
runas=()
id "$user" >/dev/null 2>&1 && runas=(setpriv --reuid="$user" --regid="$user" --init-groups --)
echo "package-test: exporter: ${runas[*]} ${command[*]}"
"${runas[@]}" "${command[@]}" >"$tmp/exporter.log" 2>&1 &
pids+=($!)
metrics=""
for i in $(seq 1 150); do
  metrics=$(curl -sf --max-time 10 "http://127.0.0.1:$port/metrics") && break
  kill -0 "${pids[-1]}" 2>/dev/null || break
  sleep 0.2
done
check "installed exporter serves /metrics" grep -q '^virus_scan_queue_files{queue="incoming"} 3' <<<"$metrics"
check "exporter reads the default layout: draft-incoming 1 file" grep -q '^virus_scan_queue_files{queue="draft-incoming"} 1' <<<"$metrics"
[ -n "$metrics" ] || { echo "package-test: no /metrics; the exporter said:"; cat "$tmp/exporter.log"; }
kill "${pids[-1]}" 2>/dev/null; wait "${pids[-1]}" 2>/dev/null

# --- purge: nothing left behind ---------------------------------------------------------------------
unset VIRUS_SCAN_CONFIG
if dpkg --purge "$package" >"$tmp/purge" 2>&1; then installed=no; ok "dpkg --purge"; else cat "$tmp/purge"; not_ok "dpkg --purge"; fi
snapshot >"$tmp/files-after"
if diff "$tmp/files-before" "$tmp/files-after" >"$tmp/files-diff"; then ok "dpkg --purge leaves no file behind"
else sed 's/^/  /' "$tmp/files-diff" | head -n 40; not_ok "dpkg --purge leaves no file behind"; fi

summary
[ "$failed" -eq 0 ]
