#!/usr/bin/env bash
# Tests the playbook for real on this machine: localhost as two inventory
# hosts, a --quick matrix each (one after the other: they share one disk),
# then the merge and the report. Installs ansible-core from PyPI into a
# virtual environment under target/ (not part of the default test command:
# it needs the package index and takes several minutes).
#
#   deploy/ansible/test.sh            # fleet folder: target/fleet-test/fleet
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/target/ansible-venv"
out="$root/target/fleet-test"
if [ ! -x "$venv/bin/ansible-playbook" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'ansible-core>=2.15,<2.19'
fi
rm -rf "$out" /var/tmp/bench-fleet-test
start=$(date +%s)
"$venv/bin/ansible-playbook" -i "$here/inventory.localhost.ini" "$here/playbook.yml" \
    -e serial=1 -e "fleet_dir=$out" -e "bench_args=${BENCH_ARGS:---quick}"
report="$out/fleet/report.html"
test -s "$report" || { echo "test.sh: no fleet report at $report" >&2; exit 1; }
for label in vm-a vm-b; do
    grep -q "$label" "$out/fleet/runs.csv" || { echo "test.sh: $label missing from the fleet's runs.csv" >&2; exit 1; }
done
echo "test.sh: fleet folder $out/fleet with both labels, in $(( $(date +%s) - start )) s"
