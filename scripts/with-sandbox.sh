#!/usr/bin/env bash
# Runs a command against the sandbox started as a process of its own, as
# against any Point-compatible endpoint, then stops the sandbox:
#
#   scripts/with-sandbox.sh make testacc TESTACC_RACE=
#
# The command finds the sandbox in POINT_ENDPOINT and POINT_API_KEY (a
# random key). SANDBOX_FLAGS passes flags to the sandbox (point-sandbox -h
# lists them), e.g. SANDBOX_FLAGS='-dialect gateway'. Fails when the command
# fails, and when the sandbox served no API request: that would mean the
# command never left its own process. CI and make testacc-sandbox use it.
set -euo pipefail

if [[ $# -eq 0 ]]; then
	echo "usage: $0 COMMAND [ARG...]" >&2
	exit 2
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

work="$(mktemp -d "${TMPDIR:-/tmp}/point-sandbox.XXXXXX")"
sandbox_pid=""
stop_sandbox() {
	if [[ -n "${sandbox_pid}" ]]; then
		kill -TERM "${sandbox_pid}" 2>/dev/null || true
		wait "${sandbox_pid}" 2>/dev/null || true
		sandbox_pid=""
	fi
}
trap 'stop_sandbox; rm -rf "${work}"' EXIT

(cd "${root}" && go build -o "${work}/point-sandbox" ./internal/sandbox/cmd/point-sandbox)
key="sandbox-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
if [[ -n "${GITHUB_ACTIONS:-}" ]]; then
	echo "::add-mask::${key}"
fi
# shellcheck disable=SC2086 # SANDBOX_FLAGS holds several flags
POINT_SANDBOX_API_KEY="${key}" "${work}/point-sandbox" -url-file "${work}/url" ${SANDBOX_FLAGS:-} >"${work}/log" 2>&1 &
sandbox_pid=$!
for _ in $(seq 100); do
	if [[ -s "${work}/url" ]] || ! kill -0 "${sandbox_pid}" 2>/dev/null; then
		break
	fi
	sleep 0.1
done
if [[ ! -s "${work}/url" ]]; then
	cat "${work}/log" >&2
	echo "error: the sandbox did not start listening." >&2
	exit 1
fi
echo "sandbox at $(<"${work}/url")${SANDBOX_FLAGS:+ (${SANDBOX_FLAGS})}"

status=0
POINT_ENDPOINT="$(<"${work}/url")" POINT_API_KEY="${key}" "$@" || status=$?
stop_sandbox
served="$(sed -n 's/^point-sandbox: stopped after \([0-9]*\) API requests.*/\1/p' "${work}/log")"
if [[ -z "${served}" || "${served}" -eq 0 ]]; then
	cat "${work}/log" >&2
	echo "error: the sandbox served no API request to: $*" >&2
	exit 1
fi
echo "the sandbox${SANDBOX_FLAGS:+ (${SANDBOX_FLAGS})} served ${served} API requests to: $*"
exit "${status}"
