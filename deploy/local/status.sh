#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Prints whether each server of the local stack is running and responds. Exits 1 when one does not.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$script_dir/lib.sh"

failures=0

# Prints one status line for a server: its name, listening address, pid and whether it responds.
report() {
	local name=$1 address=$2 pid=$3
	shift 3
	local state=down
	if "$@" >/dev/null 2>&1; then
		state=up
	else
		failures=$((failures + 1))
	fi
	printf '%-11s %-16s %-5s pid %s\n' "$name" "$address" "$state" "${pid:--}"
}

report postgresql "$LOCAL_ADDRESS:$PG_PORT" "" pg_isready -q -h "$LOCAL_ADDRESS" -p "$PG_PORT"
report versitygw "$LOCAL_ADDRESS:$S3_PORT" "$(running_pid "$RUN_DIR/versitygw.pid" "posix --sidecar $S3_META_DIR $S3_DATA_DIR" || true)" \
	http_responds "$S3_PORT"
report fauxqs "0.0.0.0:$SQS_PORT" "$(running_pid "$RUN_DIR/fauxqs.pid" "$FAUXQS_CLI" || true)" \
	http_responds "$SQS_PORT" /health
report sshd "$LOCAL_ADDRESS:$SFTP_PORT" "$(running_pid "$SSHD_PID_FILE" "$SSHD_CONFIG" || true)" \
	ssh_responds "$SFTP_PORT"

if [[ -f $ENV_FILE ]]; then
	echo "env file: $ENV_FILE"
else
	echo "env file: $ENV_FILE (missing; run up.sh)"
fi
((failures == 0))
