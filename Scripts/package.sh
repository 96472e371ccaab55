#!/usr/bin/env bash
# Builds the Debian 12 package: OUTPUT_DIR/virus-scan-monitoring_<version>_amd64.deb (default dist/).
#   Scripts/package.sh [OUTPUT_DIR]
# Release binaries with the Swift runtime linked in (--static-swift-stdlib: the server needs no
# Swift); Depends computed from what they link (dh_shlibdeps); man pages from swift-argument-parser's
# generate-manual plugin; bash/zsh/fish completions from the binaries themselves; every unit in
# contrib/systemd/ (installed, never enabled or started). Needs debhelper (Scripts/install-deps.sh).
# SWIFT=... runs another swift (the build wrapper).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
out=$(realpath -m "${1:-dist}")
swift=(${SWIFT:-swift})
package=virus-scan-monitoring
version=$(sed -nE 's/.*string = "([^"]+)".*/\1/p' Sources/ScanCore/Support/Version.swift)
[ -n "$version" ] || { echo "package: no version in Sources/ScanCore/Support/Version.swift" >&2; exit 1; }
# Maintainer: DEBFULLNAME/DEBEMAIL (set them for a real upload; the default is a placeholder).
maintainer=${DEBFULLNAME:-virus-scan monitoring maintainers}" <${DEBEMAIL:-virus-scan-monitoring@example.org}>"
# Reproducible dates: the last commit's.
date_rfc=$(git log -1 --format=%cD 2>/dev/null || date -R)
date_day=$(date -d "$date_rfc" +%F)
say() { echo "package: $*" >&2; }

say "release build, Swift runtime linked statically"
started=$(date +%s)
# Full RELRO (lintian's hardening-no-bindnow); linker flags only, the compiled modules are unchanged.
linker_flags=(-Xlinker -z -Xlinker relro -Xlinker -z -Xlinker now)
for product in check_virus_scan virus_scan_exporter; do
  "${swift[@]}" build -c release --static-swift-stdlib "${linker_flags[@]}" --product "$product"
done
bin=$("${swift[@]}" build -c release --static-swift-stdlib "${linker_flags[@]}" --show-bin-path)
say "release build: $(( $(date +%s) - started )) s"

say "man pages (swift package plugin generate-manual)"
# The debug configuration: the plugin builds every product in the configuration it is given, and the
# man pages depend only on the commands' options; debug is already built by swift test (a release
# build here would relink the release binaries without the static runtime).
manuals=.build/plugins/GenerateManual/outputs
rm -rf "$manuals"
"${swift[@]}" package plugin generate-manual --configuration debug --date "$date_day" --authors "$maintainer" >&2

work=$(mktemp -d /tmp/package.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/debian/$package
mkdir -p "$work/debian"

# --- the installed tree ---------------------------------------------------------------------------
install -D -m 0755 "$bin/check_virus_scan" "$root/usr/lib/nagios/plugins/check_virus_scan"
install -d "$root/usr/bin"
ln -s ../lib/nagios/plugins/check_virus_scan "$root/usr/bin/check_virus_scan"
install -D -m 0755 "$bin/virus_scan_exporter" "$root/usr/bin/virus_scan_exporter"

for command in check_virus_scan virus_scan_exporter; do
  page=$(find "$manuals" -name "$command.1" | head -n 1)
  [ -n "$page" ] || { echo "package: generate-manual wrote no $command.1 under $manuals" >&2; exit 1; }
  # A blank line in a --help discussion is an mdoc warning (lintian groff-message): a paragraph break.
  install -d "$root/usr/share/man/man1"
  sed 's/^$/.Pp/' "$page" >"$root/usr/share/man/man1/$command.1"
  exe="$bin/$command"
  install -d "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
    "$root/usr/share/fish/vendor_completions.d"
  # bash-completion sources the file: no #! line (lintian's bash-completion-with-hashbang).
  "$exe" --generate-completion-script bash | sed '1{/^#!/d}' >"$root/usr/share/bash-completion/completions/$command"
  "$exe" --generate-completion-script zsh >"$root/usr/share/zsh/vendor-completions/_$command"
  "$exe" --generate-completion-script fish >"$root/usr/share/fish/vendor_completions.d/$command.fish"
done

# Icinga: the CheckCommand where `include <plugins-contrib>` finds it, with the ITL's plugin directory.
contrib=$root/usr/share/icinga2/include/plugins-contrib.d
install -d "$contrib"
{
  echo "/* Installed by $package: check_virus_scan in PluginContribDir (Debian: /usr/lib/nagios/plugins). */"
  sed 's|CustomPluginDir + "/check_virus_scan"|PluginContribDir + "/check_virus_scan"|' icinga/virus_scan.conf
} >"$contrib/virus_scan.conf"
grep -q 'PluginContribDir + "/check_virus_scan"' "$contrib/virus_scan.conf" \
  || { echo "package: icinga/virus_scan.conf no longer says CustomPluginDir + \"/check_virus_scan\"" >&2; exit 1; }

doc=$root/usr/share/doc/$package
install -D -m 0644 README.md "$doc/README.md"
install -D -m 0644 icinga/README.md "$doc/icinga.md"
install -D -m 0644 grafana/README.md "$doc/grafana.md"
install -D -m 0644 icinga/services.conf.example "$doc/examples/icinga-services.conf"
install -D -m 0644 config/virus-scan.yml.example "$doc/examples/virus-scan.yml"

share=$root/usr/share/$package
install -D -m 0644 grafana/virus-scan.json "$share/grafana/virus-scan.json"
install -D -m 0644 prometheus/alerts.yml "$share/prometheus/alerts.yml"
install -D -m 0644 prometheus/alerts_test.yml "$share/prometheus/alerts_test.yml"

# The layout every command reads by default (a conffile, as everything under /etc).
install -D -m 0644 config/virus-scan.yml.example "$root/etc/virus-scan.yml"
# systemd: every unit of contrib/systemd (a unit written for a hand install may say /usr/local).
units=$root/lib/systemd/system
install -d "$units"
shopt -s nullglob
for unit in contrib/systemd/*.service contrib/systemd/*.timer contrib/systemd/*.socket contrib/systemd/*.path; do
  sed -e 's|/usr/local/bin/|/usr/bin/|g' -e 's|/usr/local/lib/nagios/plugins/|/usr/lib/nagios/plugins/|g' \
    "$unit" >"$units/$(basename "$unit")"
done
for defaults in contrib/systemd/*.default; do
  install -D -m 0644 "$defaults" "$root/etc/default/$(basename "$defaults" .default)"
done
shopt -u nullglob

# --- debian/ for debhelper --------------------------------------------------------------------------
cat >"$work/debian/control" <<EOF
Source: $package
Section: admin
Priority: optional
Maintainer: $maintainer
Build-Depends: debhelper-compat (= 13)
Standards-Version: 4.6.2
Rules-Requires-Root: no

Package: $package
Architecture: any
Depends: \${shlibs:Depends}, \${misc:Depends}
Recommends: clamav-daemon, clamav-freshclam
Suggests: icinga2-common, prometheus
Description: monitoring and repair for a ClamAV upload-scanning pipeline
 check_virus_scan is a Nagios/Icinga plugin watching an upload pipeline
 (incoming -> clean/infected): backlog, ages, scan wait, stuck queues,
 infections, clamd and the signature databases. Its subcommands are the
 runbook's fixes: drain a queue, restart clamd, ignore a signature, rescan.
 .
 virus_scan_exporter serves the same measurements to Prometheus and pushes
 them to Graphite. The package ships the Icinga CheckCommand, example
 services, systemd units and timers replacing the legacy cron jobs, alert
 rules and a Grafana dashboard.
EOF
cat >"$work/debian/changelog" <<EOF
$package ($version) bookworm; urgency=medium

  * Built from $(git describe --always --dirty 2>/dev/null || echo "a source tree").

 -- $maintainer  $date_rfc
EOF
cat >"$work/debian/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: $package
Comment: The binaries link statically the Swift runtime and the Swift packages named below.

Files: *
Copyright: the $package authors
License: UNSPECIFIED
 The project repository states no license yet.

Files: swift-runtime/* swift-argument-parser/* swift-log/* swift-nio/* hummingbird/*
 swift-service-lifecycle/* swift-collections/* swift-atomics/* swift-system/*
 swift-async-algorithms/* swift-distributed-tracing/* swift-service-context/* swift-metrics/*
 swift-http-types/* swift-numerics/* swift-algorithms/*
Copyright: Apple Inc. and the Swift project authors; the Hummingbird and Swift Server authors
License: Apache-2.0 with Runtime Library Exception
 On Debian systems the Apache License 2.0 is in /usr/share/common-licenses/Apache-2.0.
 Runtime Library Exception: as an exception, if you use this Software to compile your source code
 and portions of this Software are embedded into the binary product as a result, you may
 redistribute such product without providing attribution as would otherwise be required by
 Sections 4(a), 4(b) and 4(d) of the License.

Files: Yams/*
Copyright: 2016 JP Simard
License: MIT
 Permission is hereby granted, free of charge, to any person obtaining a copy of this software
 and associated documentation files (the "Software"), to deal in the Software without
 restriction, including without limitation the rights to use, copy, modify, merge, publish,
 distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
 Software is furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in all copies or
 substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
 BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
 NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
 DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
EOF
# lintian: the overrides, each with its reason.
install -D -m 0644 contrib/debian/lintian-overrides "$root/usr/share/lintian/overrides/$package"

# --- debhelper: the steps of a dh binary build, on the tree above -----------------------------------
(
  cd "$work"
  export DH_QUIET=1
  dh_installdocs
  dh_installchangelogs
  # Units are installed disabled and not started: the operator enables what this host runs.
  dh_installsystemd --no-enable --no-start
  dh_strip --no-automatic-dbgsym
  # The examples stay plain: icinga2 includes the services file as it is.
  dh_compress -X.conf -X.yml
  dh_fixperms
  dh_installdeb
  dh_shlibdeps
  dh_gencontrol
  dh_md5sums
  mkdir -p "$out"
  dh_builddeb --destdir="$out"
) >&2
deb=$out/${package}_${version}_$(dpkg --print-architecture).deb
[ -f "$deb" ] || { echo "package: $deb was not built" >&2; exit 1; }
say "built $deb ($(stat -c %s "$deb") bytes); Depends: $(dpkg-deb -f "$deb" Depends)"
echo "$deb"
