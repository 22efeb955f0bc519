#!/usr/bin/env bash
# Checks the shipped systemd units with `systemd-analyze verify`, pointing ExecStart at
# the built binary (verify fails when the program is missing). Skipped, not failed,
# where systemd-analyze is not installed. Usage: deploy/verify-units.sh [BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "systemd-analyze 不可用：跳过 systemd 单元检查"
    exit 0
fi
bin="${1:-${CARGO_TARGET_DIR:-$(pwd)/target}/debug/baosong}"
[ -x "$bin" ] || cargo build --locked --quiet
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for u in deploy/*.service deploy/*.timer; do
    sed "s|/usr/local/bin/baosong|$bin|g" "$u" >"$dir/$(basename "$u")"
done
# Any message fails the check: systemd only warns about an unknown key (a typo such as
# ProtectSystm=) and then ignores it.
if ! out=$(systemd-analyze verify --man=no "$dir"/*.service "$dir"/*.timer 2>&1) || [ -n "$out" ]; then
    echo "$out"
    echo "systemd 单元检查未通过"
    exit 1
fi
echo "systemd 单元检查通过：$(cd deploy && ls *.service *.timer | tr '\n' ' ')"
