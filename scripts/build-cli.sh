#!/usr/bin/env bash
# Builds a Terraform or OpenTofu CLI from its Go module source into the
# cache directory CLI_DIR (below), where it outlives any checkout:
#
#   scripts/build-cli.sh terraform 1.16.4   # -> CLI_DIR/terraform-1.16.4
#   scripts/build-cli.sh tofu 1.12.6        # -> CLI_DIR/tofu-1.12.6
#   scripts/build-cli.sh terraform-1.14.9 tofu-1.12.6 ...
#   scripts/build-cli.sh                    # every CLI in internal/devenv/clis.txt
#   scripts/build-cli.sh --dir              # prints CLI_DIR
#
# CLI_DIR is cli/ in the directory scripts/cache-dir.sh prints (POINT_CACHE_DIR
# moves it). It does nothing for a binary that is already there. Only the Go module
# proxy is needed: the source is the module github.com/hashicorp/terraform
# (or github.com/opentofu/opentofu) at vVERSION, fetched with
# `go mod download`. `go install module@version` refuses both, because
# their go.mod has replace directives. OpenTofu's single replace points at
# its published fork of hcl, so its source builds as it is. Terraform's
# point at nested modules that the module zip leaves out (the remote-state
# backends and internal/legacy): in a writable copy, those replace and
# require lines are dropped, and so are the backends' registrations in
# internal/backend/init/init.go. The result is the CLI with the local,
# remote, cloud, http and inmem backends, which is all the tests use.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
outdir="$("${root}/scripts/cache-dir.sh")/cli"

usage() {
	echo "usage: $0 [terraform|tofu VERSION | NAME-VERSION...]" >&2
	exit 2
}

build() {
	local cli="$1" version="${2#v}"
	local out="${outdir}/${cli}-${version}"
	if [[ -x "${out}" ]]; then
		echo "${out}: already built"
		return 0
	fi

	local module main_pkg version_pkg
	case "${cli}" in
	terraform)
		module=github.com/hashicorp/terraform
		main_pkg=.
		;;
	tofu)
		module=github.com/opentofu/opentofu
		main_pkg=./cmd/tofu
		;;
	*) usage ;;
	esac
	version_pkg="${module}/version"
	if [[ ! "${version}" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
		echo "error: ${version} is not a release version (X.Y.Z)" >&2
		exit 2
	fi

	local started=${SECONDS}
	local work
	work="$(mktemp -d "${TMPDIR:-/tmp}/build-${cli}-${version}.XXXXXX")"
	# shellcheck disable=SC2064 # expand work now: it is local
	trap "chmod -R u+w '${work}' 2>/dev/null; rm -rf '${work}'" EXIT

	# Outside any module, so that neither this repository's go.mod nor a
	# go.work is involved.
	echo "${cli} ${version}: fetching ${module}@v${version}"
	local dir
	dir="$(cd "${work}" && GOWORK=off GOFLAGS=-mod=mod go mod download -json "${module}@v${version}" |
		sed -n 's/^[[:space:]]*"Dir": *"\(.*\)",*$/\1/p' || true)"
	if [[ -z "${dir}" || ! -f "${dir}/go.mod" ]]; then
		(cd "${work}" && GOWORK=off GOFLAGS=-mod=mod go mod download -json "${module}@v${version}") >&2 || true
		echo "error: could not fetch ${module}@v${version}" >&2
		exit 1
	fi

	# The module cache is read-only: build in a writable copy.
	local src="${work}/src"
	cp -R "${dir}" "${src}"
	chmod -R u+w "${src}"

	# Drop each replace directive whose local target is missing, with the
	# matching require line, and the imports and registrations of those
	# packages (only internal/backend/init/init.go imports them outside
	# their own directories and tests).
	local missing=() dropped=()
	local line mod target m alias pkg others
	local init="${src}/internal/backend/init/init.go"
	while IFS= read -r line; do
		mod="$(awk '{print $2}' <<<"${line}")"
		target="$(awk '{print $NF}' <<<"${line}")"
		if [[ "${target}" == ./* && ! -e "${src}/${target}" ]]; then
			missing+=("${mod}")
		fi
	done < <(grep -E '^replace [^ ]+ => \./' "${src}/go.mod" || true)
	if ((${#missing[@]} > 0)); then
		echo "${cli} ${version}: leaving out modules missing from the module zip: ${missing[*]#"${module}/"}"
		for m in "${missing[@]}"; do
			# go.mod: the replace line and the require line (in a block or not).
			grep -v -E "^(replace )?[[:space:]]*(require )?${m//./\\.} " "${src}/go.mod" >"${src}/go.mod.new"
			mv "${src}/go.mod.new" "${src}/go.mod"
			if [[ -f "${init}" ]] && grep -q "\"${m}\"" "${init}"; then
				alias="$(sed -n "s|^[[:space:]]*\([A-Za-z0-9_]*\)[[:space:]]*\"${m}\"\$|\1|p" "${init}")"
				if [[ -z "${alias}" ]]; then
					echo "error: cannot find how ${init#"${src}/"} imports ${m}" >&2
					exit 1
				fi
				grep -v -E "\"${m//./\\.}\"\$|[^A-Za-z0-9_]${alias}\.New\(" "${init}" >"${init}.new"
				mv "${init}.new" "${init}"
			fi
		done
	fi

	# OpenTofu keeps its remote-state backends in its own module. Those that
	# nothing but internal/backend/init imports (kubernetes, consul, pg, ...)
	# are left out as well, which spares a cold build about a fifth of its
	# packages; http and inmem stay, as in the Terraform builds.
	if [[ -f "${init}" ]]; then
		while IFS=' ' read -r alias pkg; do
			case "${pkg##*/}" in http | inmem) continue ;; esac
			others="$(grep -rlF --include='*.go' "\"${pkg}\"" "${src}" |
				grep -v -e '_test\.go$' -e "^${src}/internal/backend/remote-state/" -e "^${init}\$" || true)"
			if [[ -n "${others}" ]]; then
				continue
			fi
			grep -v -E "\"${pkg//./\\.}\"\$|[^A-Za-z0-9_]${alias}\.New\(" "${init}" >"${init}.new"
			mv "${init}.new" "${init}"
			dropped+=("${pkg##*/}")
		done < <(sed -n "s|^[[:space:]]*\([A-Za-z0-9_]*\)[[:space:]]*\"\(${module}/internal/backend/remote-state/[A-Za-z0-9_]*\)\"\$|\1 \2|p" "${init}")
	fi
	if ((${#dropped[@]} > 0)); then
		echo "${cli} ${version}: leaving out the remote-state backends ${dropped[*]}"
	fi

	echo "${cli} ${version}: building (go $(sed -n 's/^go //p' "${src}/go.mod"))"
	mkdir -p "${outdir}"
	# Built under a name of its own, then renamed: a concurrent build of the
	# same CLI, or a run that reads it meanwhile, never sees half a binary.
	local tmp_out="${out}.tmp.$$"
	# shellcheck disable=SC2064 # expand now: they are local
	trap "chmod -R u+w '${work}' 2>/dev/null; rm -rf '${work}' '${tmp_out}'" EXIT
	# GOTOOLCHAIN=auto fetches a newer Go through the module proxy when the
	# CLI's go.mod asks for one. dev=no makes the binary report its plain
	# release version, as a release build does.
	(
		cd "${src}"
		GOWORK=off GOFLAGS=-mod=mod GOTOOLCHAIN="${CLI_GOTOOLCHAIN:-auto}" CGO_ENABLED=0 \
			go build -trimpath -ldflags "-s -w -X ${version_pkg}.dev=no" -o "${tmp_out}" "${main_pkg}"
	)
	local reported
	reported="$(CHECKPOINT_DISABLE=1 TF_CLI_CONFIG_FILE=/dev/null "${tmp_out}" version -json |
		sed -n 's/.*"terraform_version": *"\([^"]*\)".*/\1/p')"
	if [[ "${reported}" != "${version}" ]]; then
		rm -f "${tmp_out}"
		echo "error: the ${cli} built from v${version} reports version ${reported:-unknown}" >&2
		exit 1
	fi
	mv "${tmp_out}" "${out}"
	echo "${out}: built in $((SECONDS - started))s"
	chmod -R u+w "${work}"
	rm -rf "${work}"
	trap - EXIT
}

if [[ $# -eq 1 && "$1" == --dir ]]; then
	echo "${outdir}"
	exit 0
fi
if [[ $# -eq 2 && ( "$1" == terraform || "$1" == tofu ) ]]; then
	build "$1" "$2"
	exit 0
fi
clis=("$@")
if [[ $# -eq 0 ]]; then
	read -r -a clis <<<"$(sed -n 's/^\([a-z]*\) \([0-9.]*\)$/\1-\2/p' "${root}/internal/devenv/clis.txt" | tr '\n' ' ')"
	if [[ ${#clis[@]} -eq 0 ]]; then
		echo "error: no CLI in internal/devenv/clis.txt" >&2
		exit 1
	fi
fi
for c in "${clis[@]}"; do
	[[ "${c}" == *-* ]] || usage
	build "${c%%-*}" "${c#*-}"
done
