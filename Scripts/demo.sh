#!/usr/bin/env bash
# The main job on an embedded demo (README, first command).
#
# Installs what is missing (apt), builds, creates a demo pipeline in a temp dir — a backlog of
# aged files in incoming and draft-incoming, processed files in clean, one in infected, a small
# signature database and a real clamd serving it — then runs the Nagios check against it (every
# mode, as Icinga would) and prints the metrics the exporter serves for it. Cleans up on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/install-deps.sh
echo "==> building (debug)" >&2
swift build --product check_virus_scan >&2
swift build --product virus_scan_exporter >&2
swift build --product virus_scan_fixtures >&2
bin=$(swift build --show-bin-path)

demo=$(mktemp -d /tmp/virus-scan-demo.XXXXXX)
clamd_pid=""; exporter_pid=""
cleanup() {
  [ -n "$exporter_pid" ] && kill "$exporter_pid" 2>/dev/null || true
  [ -n "$clamd_pid" ] && kill "$clamd_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$demo"
}
trap cleanup EXIT

root="$demo/uploads"
mkdir -p "$root"/{incoming,draft-incoming,clean,infected,draft-clean,draft-infected,temp} "$demo/state" "$demo/db" "$demo/run"
# A backlog: uploads waiting 30 s to 50 min, in per-upload directories like Whitehall's.
for i in $(seq 1 12); do
  d="$root/incoming/attachment_data/file/$((4000 + i))"; mkdir -p "$d"
  head -c $((i * 2048)) /dev/urandom > "$d/report $i.pdf"
  touch -d "-$((i * 4)) minutes" "$d/report $i.pdf"
done
mkdir -p "$root/draft-incoming/attachment_data/file/9001"
echo "draft" > "$root/draft-incoming/attachment_data/file/9001/draft notes.odt"
touch -d "-90 seconds" "$root/draft-incoming/attachment_data/file/9001/draft notes.odt"
# Processed files: placed 2-9 minutes ago, moved (renamed) into clean just now, as a scanner does.
for i in $(seq 1 5); do
  d="$root/incoming/attachment_data/file/$((3000 + i))"; mkdir -p "$d"
  head -c 4096 /dev/urandom > "$d/published $i.csv"
  touch -d "-$((i * 2 - 1)) minutes" "$d/published $i.csv"
  mkdir -p "$root/clean/attachment_data/file/$((3000 + i))"
  mv "$d/published $i.csv" "$root/clean/attachment_data/file/$((3000 + i))/"
  rmdir "$d"
done
# One infected upload (the EICAR test file, built at run time), quarantined.
mkdir -p "$root/infected/attachment_data/file/3999"
"$bin/virus_scan_fixtures" eicar "$root/infected/attachment_data/file/3999/invoice.exe"
cat > "$demo/virus-scan.yml" <<YAML
root: $root
state_dir: $demo/state
list_dir: $demo/lists
queues:
  - name: incoming
    lock: $demo/run/incoming.lock
  - name: draft-incoming
    lock: $demo/run/incoming-draft.lock
YAML

# A real clamd with a small generated signature database (packed as a daily container built three
# hours ago, so the signatures check has a daily version and age), on a unix socket in the demo dir.
"$bin/virus_scan_fixtures" database small "$demo/db-source" >/dev/null
"$bin/virus_scan_fixtures" cvd --from "$demo/db-source" --out "$demo/db/daily.cud" --version 27850 \
  --build-time "$(( $(date +%s) - 3 * 3600 ))" >/dev/null
cat > "$demo/clamd.conf" <<CONF
LocalSocket $demo/run/clamd.sock
DatabaseDirectory $demo/db
Foreground yes
LogFile $demo/clamd.log
PidFile $demo/run/clamd.pid
TemporaryDirectory $demo
User root
MaxThreads 2
AlertExceedsMax yes
CONF
/usr/sbin/clamd --config-file="$demo/clamd.conf" >/dev/null 2>&1 & clamd_pid=$!
for _ in $(seq 1 100); do [ -S "$demo/run/clamd.sock" ] && break; sleep 0.1; done

opts=(--config "$demo/virus-scan.yml" --socket "$demo/run/clamd.sock" --database-dir "$demo/db")
clamd_opts=(--clamd-config "$demo/clamd.conf")  # the clamd and all modes read its limits
echo
echo "==> demo pipeline in $root (12 files waiting in incoming, 1 in draft-incoming, 5 processed, 1 infected)"
echo
echo "\$ check_virus_scan all ${opts[*]} -v"
set +e
"$bin/check_virus_scan" all "${opts[@]}" "${clamd_opts[@]}" -v --backlog-warning 10 --backlog-critical 50 --age-warning 30m --age-critical 2h
echo "(exit code $?)"
echo
for mode in backlog age wait stuck infected clamd signatures probe; do
  echo "\$ check_virus_scan $mode ..."
  extra=(); [ "$mode" = clamd ] && extra=("${clamd_opts[@]}")
  "$bin/check_virus_scan" "$mode" "${opts[@]}" "${extra[@]}" | head -n 1
done
set -e

port=$(( 20000 + RANDOM % 20000 ))
"$bin/virus_scan_exporter" "${opts[@]}" --web.listen-address "127.0.0.1:$port" 2>"$demo/exporter.log" & exporter_pid=$!
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.1
done
echo
echo "==> the metrics virus_scan_exporter serves for it (GET http://127.0.0.1:$port/metrics):"
echo
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET /metrics HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
sed '1,/^\r$/d' <&3 | grep -v '^# HELP'
exec 3>&-
echo
echo "==> the on-call status page: http://127.0.0.1:$port/ (and /status.json). Its states and the fix to run:"
echo
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET /status.json HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
sed '1,/^\r$/d' <&3 | python3 -c '
import json, sys
status = json.load(sys.stdin)
print("pipeline:", status["state"])
for part in [p for q in status["queues"] for p in q["parts"]] + status["services"]:
    if part["state"] != "OK":
        print("  %s %s%s: %s" % (part["state"], part["mode"], " of " + part["queue"] if part.get("queue") else "", part["summary"]))
        if part.get("runbook"): print("    $ " + part["runbook"]["command"])
'
exec 3>&-
if [ -n "${DEMO_KEEP:-}" ]; then
  echo
  echo "DEMO_KEEP is set: the exporter keeps serving http://127.0.0.1:$port/ until you press Enter."
  read -r _
fi
