#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Stops the local stack's versitygw, fauxqs and sshd by their pid files. PostgreSQL keeps
# running, because the machine may use it for other things. With --purge, also deletes the
# state folder and the SFTP folders (the demo database stays).
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$script_dir/lib.sh"

purge=false
case "${1:-}" in
"") ;;
--purge) purge=true ;;
*)
	echo "usage: $0 [--purge]" >&2
	exit 2
	;;
esac

require_root
if $purge; then
	for folder in "$BATCHPORT_LOCAL_STATE" "$BATCHPORT_SFTP_BASE"; do
		# Reject paths such as / or /tmp that a mistyped variable could produce.
		[[ $folder == /*/* ]] || die "refusing to delete $folder: expected a folder at least two levels below /"
	done
fi
acquire_lock

stop_server sshd "$SSHD_PID_FILE" "$SSHD_CONFIG"
stop_server fauxqs "$RUN_DIR/fauxqs.pid" "$FAUXQS_CLI"
stop_server versitygw "$RUN_DIR/versitygw.pid" "posix --sidecar $S3_META_DIR $S3_DATA_DIR"

if $purge; then
	for folder in "$BATCHPORT_LOCAL_STATE" "$BATCHPORT_SFTP_BASE"; do
		rm -rf -- "$folder"
		log "deleted $folder"
	done
fi
