#!/usr/bin/env bash
# Prints the directory where builds that outlive a checkout are cached: the
# Terraform and OpenTofu CLIs that scripts/build-cli.sh builds, and the Go
# vulnerability database of make vulncheck. It is POINT_CACHE_DIR when set,
# else terraform-provider-point in the user's cache directory
# (XDG_CACHE_HOME or ~/.cache; ~/Library/Caches on macOS), so that a fresh
# clone on a machine that has built them once builds them again never.
set -euo pipefail

if [[ -n "${POINT_CACHE_DIR:-}" ]]; then
	echo "${POINT_CACHE_DIR}"
elif [[ "$(uname -s)" == Darwin ]]; then
	echo "${HOME}/Library/Caches/terraform-provider-point"
else
	echo "${XDG_CACHE_HOME:-${HOME}/.cache}/terraform-provider-point"
fi
