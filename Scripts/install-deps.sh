#!/usr/bin/env bash
# Installs the Debian packages the build, the demo and the tests need. Idempotent; run as root
# (or through sudo). Only packages that are missing are installed.
set -euo pipefail
packages=(
  pkg-config libclamav-dev clamav clamav-daemon clamdscan   # libclamav, clamscan, clamd, clamdscan
  prometheus                                                # promtool and a real Prometheus server for tests
  icinga2-bin icinga2-common monitoring-plugins-basic       # icinga2 daemon -C and the end-to-end check test
  graphite-carbon python3-whisper                           # carbon-cache and whisper-fetch for the Graphite test
  zip unzip                                                 # building archive fixtures
  time                                                      # /usr/bin/time -v for peak RSS in Benchmarks/
  dnsmasq-base                                              # a real DNS server for the TXT (current.cvd.clamav.net) tests
  debhelper dpkg-dev lintian man-db systemd curl            # Scripts/package.sh and package-test.sh (the .deb)
  chromium fonts-dejavu-core                                # headless Chromium for the status page test (DOM and screenshot)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's packages start daemons where an init system runs; the tests start their own.
for svc in clamav-daemon clamav-freshclam prometheus icinga2 carbon-cache; do
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
