#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Starts the local stack on 127.0.0.1: PostgreSQL, versitygw (S3), fauxqs (SQS) and an sshd
# that serves SFTP to the partner user. Creates the queue, the DLQ, the bucket and the demo
# database, then writes the env file. Servers that already run are left as they are, so the
# script can run any number of times.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$script_dir/lib.sh"

require_root
umask 022

PG_LOG="/var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log"
VERSITYGW_LOG="$LOG_DIR/versitygw.log"
FAUXQS_LOG="$LOG_DIR/fauxqs.log"
SSHD_LOG="$LOG_DIR/sshd.log"
VERSITYGW_PID_FILE="$RUN_DIR/versitygw.pid"
FAUXQS_PID_FILE="$RUN_DIR/fauxqs.pid"
SQS_ENDPOINT="http://$LOCAL_ADDRESS:$SQS_PORT"
S3_ENDPOINT="http://$LOCAL_ADDRESS:$S3_PORT"

# Fails when another process already listens on PORT.
require_free_port() {
	local name=$1 port=$2
	if port_open "$port"; then
		die "cannot start $name: $LOCAL_ADDRESS:$port is already in use by another process (not one in $RUN_DIR)"
	fi
}

# A fresh Debian cluster requires a password on TCP connections. The env file's DATABASE_URL
# has none, so this adds a trust line for the postgres user on 127.0.0.1 when login fails.
ensure_postgres_login() {
	psql_local "$ADMIN_DATABASE_URL" -Atc 'SELECT 1' >/dev/null 2>&1 && return 0

	local hba_file
	hba_file=$(cd / && runuser -u postgres -- psql -X -w -p "$PG_PORT" -Atqc 'SHOW hba_file') ||
		die "cannot log in to PostgreSQL as $PG_USER at $LOCAL_ADDRESS:$PG_PORT, nor through its local socket as the postgres OS user; see $PG_LOG"
	log "PostgreSQL rejected $PG_USER at $LOCAL_ADDRESS without a password; adding a trust line for it at the top of $hba_file"
	sed -i "1i host all $PG_USER $LOCAL_ADDRESS/32 trust\n# The line above was added by batchport deploy/local/up.sh for the local stack." "$hba_file"
	(cd / && runuser -u postgres -- psql -X -w -p "$PG_PORT" -Atqc 'SELECT pg_reload_conf()' >/dev/null)
	sleep 0.5
	psql_local "$ADMIN_DATABASE_URL" -Atc 'SELECT 1' >/dev/null ||
		die "still cannot log in to PostgreSQL as $PG_USER at $LOCAL_ADDRESS:$PG_PORT after editing $hba_file"
}

start_postgres() {
	if ! pg_isready -q -h "$LOCAL_ADDRESS" -p "$PG_PORT"; then
		log "starting PostgreSQL cluster $PG_VERSION/$PG_CLUSTER"
		pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PG_CLUSTER" start {LOCK_FD}>&- ||
			die "pg_ctlcluster could not start PostgreSQL $PG_VERSION/$PG_CLUSTER; see $PG_LOG"
	fi
	wait_for_server PostgreSQL "$LOCAL_ADDRESS:$PG_PORT" "$PG_LOG" 30 "" "" \
		pg_isready -q -h "$LOCAL_ADDRESS" -p "$PG_PORT"
	ensure_postgres_login
}

# Starts COMMAND in a new session, detached from this script, with its output appended to
# LOG_FILE. The child writes its own pid before it execs COMMAND, because setsid forks when it
# is a process group leader and $! would then name the exited setsid. The child does not
# inherit the lock, which would otherwise stay held for as long as the server runs.
start_detached() {
	local name=$1 pid_file=$2 log_file=$3
	shift 3
	rm -f "$pid_file"
	# shellcheck disable=SC2016 # $$ and $@ belong to the child shell.
	setsid bash -c 'echo "$$" >"$1"; shift; exec "$@"' start_detached "$pid_file" "$@" \
		>>"$log_file" 2>&1 </dev/null {LOCK_FD}>&- &
	local deadline=$((SECONDS + 5))
	until [[ -s $pid_file ]]; do
		((SECONDS < deadline)) || die "$name did not start within 5s; see $log_file"
		sleep 0.1
	done
}

# Records the pid of a server of ours that listens on PORT but has no pid file, for example
# after its pid file was deleted. Fails when nothing listens there or it is another program.
adopt_server() {
	local name=$1 port=$2 pid_file=$3 pattern=$4 pid
	pid=$(listener_pid "$port")
	[[ -n $pid ]] || return 1
	echo "$pid" >"$pid_file"
	if running_pid "$pid_file" "$pattern" >/dev/null; then
		log "found $name already running as pid $pid; recorded it in $pid_file"
		return 0
	fi
	rm -f "$pid_file"
	return 1
}

# versitygw closes every connection after one response unless it runs with --keep-alive, so
# each part of a multipart upload paid for a new connection; S3 keeps connections open. A
# versitygw of ours started without the flag by an earlier up.sh is stopped here and started
# again below. It keeps nothing in memory: the buckets and objects are files in the state folder.
restart_without_keep_alive() {
	local pattern=$1 pid
	pid=$(running_pid "$VERSITYGW_PID_FILE" "$pattern") || pid=$(listener_pid "$S3_PORT") || return 0
	[[ -n $pid ]] || return 0
	local cmdline
	cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 0
	[[ $cmdline == *"$pattern"* && $cmdline != *" --keep-alive "* ]] || return 0
	log "restarting versitygw (pid $pid) with --keep-alive"
	echo "$pid" >"$VERSITYGW_PID_FILE"
	stop_server versitygw "$VERSITYGW_PID_FILE" "$pattern"
}

start_versitygw() {
	# The pattern is the end of the command line, which names this state folder's data.
	local pattern="posix --sidecar $S3_META_DIR $S3_DATA_DIR"
	restart_without_keep_alive "$pattern"
	if ! running_pid "$VERSITYGW_PID_FILE" "$pattern" >/dev/null &&
		! adopt_server versitygw "$S3_PORT" "$VERSITYGW_PID_FILE" "$pattern"; then
		require_free_port versitygw "$S3_PORT"
		mkdir -p "$S3_DATA_DIR" "$S3_META_DIR"
		# The sidecar folder stores object metadata as files, so the data folder's filesystem
		# does not need user extended attributes (tmpfs and overlay filesystems may lack them).
		ROOT_ACCESS_KEY="$S3_ACCESS_KEY" ROOT_SECRET_KEY="$S3_SECRET_KEY" \
			start_detached versitygw "$VERSITYGW_PID_FILE" "$VERSITYGW_LOG" \
			"$VERSITYGW_BIN" --port "$LOCAL_ADDRESS:$S3_PORT" --region "$LOCAL_REGION" --keep-alive \
			posix --sidecar "$S3_META_DIR" "$S3_DATA_DIR"
	fi
	wait_for_server versitygw "$LOCAL_ADDRESS:$S3_PORT" "$VERSITYGW_LOG" 30 \
		"$VERSITYGW_PID_FILE" "$pattern" http_responds "$S3_PORT"
}

start_fauxqs() {
	if ! running_pid "$FAUXQS_PID_FILE" "$FAUXQS_CLI" >/dev/null &&
		! adopt_server fauxqs "$SQS_PORT" "$FAUXQS_PID_FILE" "$FAUXQS_CLI"; then
		require_free_port fauxqs "$SQS_PORT"
		# NOTE: fauxqs 2.4.1 always listens on 0.0.0.0 (fixed in its code). Clients use 127.0.0.1.
		# Its queue URLs have the form http://sqs.us-east-1.localhost:4566/000000000000/NAME.
		# That host name does not resolve here. aws-sdk-go-v2 and the AWS CLI send requests to
		# the endpoint URL instead, and fauxqs finds the queue by the region and name in the URL.
		FAUXQS_PORT="$SQS_PORT" FAUXQS_DEFAULT_REGION="$LOCAL_REGION" \
			start_detached fauxqs "$FAUXQS_PID_FILE" "$FAUXQS_LOG" \
			env -u FAUXQS_HOST -u FAUXQS_INIT "$NODE22_BIN" "$FAUXQS_CLI"
	fi
	wait_for_server fauxqs "$LOCAL_ADDRESS:$SQS_PORT" "$FAUXQS_LOG" 30 \
		"$FAUXQS_PID_FILE" "$FAUXQS_CLI" http_responds "$SQS_PORT" /health
}

ensure_partner_user() {
	if ! id -u "$SFTP_USER" >/dev/null 2>&1; then
		log "adding user $SFTP_USER for the local SFTP server"
		# The home folder is relative to the chroot, so SFTP sessions start in /inbox.
		useradd --system --user-group --home-dir /inbox --no-create-home \
			--shell /usr/sbin/nologin --comment "batchport local SFTP partner" "$SFTP_USER"
	fi
	# useradd leaves the password field as "!", and sshd rejects such a locked account even
	# for key authentication. "*" allows no password but unlocks the account.
	if [[ $(getent shadow "$SFTP_USER" | cut -d: -f2) == '!'* ]]; then
		usermod -p '*' "$SFTP_USER"
	fi
}

# Fails unless every component of the chroot path is root-owned and not writable by group
# or others, because sshd rejects the login otherwise.
check_chroot_path() {
	local path=$SFTP_ROOT owner mode
	while :; do
		read -r owner mode < <(stat -c '%u %a' "$path")
		if [[ $owner != 0 ]] || (((8#$mode & 8#022) != 0)); then
			die "sshd would reject ChrootDirectory $SFTP_ROOT because $path is not root-owned or is writable by group or others; set BATCHPORT_SFTP_BASE to a folder outside /tmp"
		fi
		[[ $path == / ]] && break
		path=$(dirname "$path")
	done
}

ensure_sftp_folders() {
	local component components path=""
	# install -d would create missing parents with the umask, so create each level explicitly.
	IFS=/ read -ra components <<<"${BATCHPORT_SFTP_BASE#/}"
	for component in "${components[@]}"; do
		path="$path/$component"
		[[ -d $path ]] || install -d -o root -g root -m 0755 "$path"
	done
	install -d -o root -g root -m 0755 "$SFTP_ROOT" "$SFTP_AUTHORIZED_KEYS_DIR"
	install -d -o "$SFTP_USER" -g "$SFTP_USER" -m 0755 "$SFTP_ROOT/inbox"
	check_chroot_path
}

# Generates the key pair at PATH unless both halves exist.
ensure_key_pair() {
	local path=$1 comment=$2
	shift 2
	[[ -f $path && -f $path.pub ]] && return 0
	rm -f "$path" "$path.pub"
	ssh-keygen -q -N '' -C "$comment" -f "$path" "$@"
}

ensure_ssh_keys() {
	mkdir -p "$SSH_DIR"
	chmod 0700 "$SSH_DIR"
	ensure_key_pair "$SSH_DIR/ssh_host_ed25519_key" "batchport-local sftp host" -t ed25519
	ensure_key_pair "$SSH_DIR/ssh_host_rsa_key" "batchport-local sftp host" -t rsa -b 3072
	ensure_key_pair "$CLIENT_KEY" "batchport-local partner client" -t ed25519

	install -o root -g root -m 0644 "$CLIENT_KEY.pub" "$SFTP_AUTHORIZED_KEYS_DIR/$SFTP_USER"

	local key_file key_type key_data _ tmp="$KNOWN_HOSTS.tmp"
	: >"$tmp"
	for key_file in "$SSH_DIR/ssh_host_ed25519_key.pub" "$SSH_DIR/ssh_host_rsa_key.pub"; do
		read -r key_type key_data _ <"$key_file"
		printf '[%s]:%s %s %s\n' "$LOCAL_ADDRESS" "$SFTP_PORT" "$key_type" "$key_data" >>"$tmp"
	done
	mv -f "$tmp" "$KNOWN_HOSTS"
}

# Writes the sshd configuration and prints "changed" when it differs from the previous one.
write_sshd_config() {
	local tmp="$SSHD_CONFIG.tmp"
	sed -e "s|@PORT@|$SFTP_PORT|g" \
		-e "s|@ADDRESS@|$LOCAL_ADDRESS|g" \
		-e "s|@SSH_DIR@|$SSH_DIR|g" \
		-e "s|@PID_FILE@|$SSHD_PID_FILE|g" \
		-e "s|@USER@|$SFTP_USER|g" \
		-e "s|@AUTHORIZED_KEYS_DIR@|$SFTP_AUTHORIZED_KEYS_DIR|g" \
		-e "s|@CHROOT@|$SFTP_ROOT|g" \
		"$script_dir/sshd_config.tmpl" >"$tmp"
	/usr/sbin/sshd -t -f "$tmp" || die "sshd rejected the configuration $tmp"
	if cmp -s "$tmp" "$SSHD_CONFIG"; then
		rm -f "$tmp"
	else
		mv -f "$tmp" "$SSHD_CONFIG"
		echo changed
	fi
}

start_sshd() {
	ensure_partner_user
	ensure_sftp_folders
	ensure_ssh_keys
	# sshd, even sshd -t, needs its privilege separation folder. Debian creates it only at boot.
	install -d -o root -g root -m 0755 /run/sshd
	local config_state pid
	config_state=$(write_sshd_config)

	if pid=$(running_pid "$SSHD_PID_FILE" "$SSHD_CONFIG") ||
		{ adopt_server sshd "$SFTP_PORT" "$SSHD_PID_FILE" "$SSHD_CONFIG" &&
			pid=$(running_pid "$SSHD_PID_FILE" "$SSHD_CONFIG"); }; then
		if [[ $config_state == changed ]]; then
			log "reloading sshd (pid $pid) because its configuration changed"
			kill -HUP "$pid"
			sleep 0.5
		fi
	else
		require_free_port sshd "$SFTP_PORT"
		# sshd forks into the background by itself and writes its pid file.
		/usr/sbin/sshd -f "$SSHD_CONFIG" -E "$SSHD_LOG" {LOCK_FD}>&- || die "sshd did not start; see $SSHD_LOG"
	fi
	wait_for_server sshd "$LOCAL_ADDRESS:$SFTP_PORT" "$SSHD_LOG" 10 "" "" ssh_responds "$SFTP_PORT"
	running_pid "$SSHD_PID_FILE" "$SSHD_CONFIG" >/dev/null ||
		die "a server responds on $LOCAL_ADDRESS:$SFTP_PORT but $SSHD_PID_FILE does not name our sshd; see $SSHD_LOG"
}

# Prints the URL of the queue NAME, creating it with ATTRIBUTES_JSON when it is missing. When
# it exists with other attributes, sets them.
ensure_queue() {
	local name=$1 attributes=$2 url error_file="$LOG_DIR/aws-cli.err"
	if url=$(aws_local sqs create-queue --endpoint-url "$SQS_ENDPOINT" --queue-name "$name" \
		--attributes "$attributes" --query QueueUrl --output text 2>"$error_file"); then
		printf '%s\n' "$url"
		return 0
	fi
	url=$(aws_local sqs get-queue-url --endpoint-url "$SQS_ENDPOINT" --queue-name "$name" \
		--query QueueUrl --output text 2>>"$error_file") ||
		die "could not create the SQS queue $name: $(cat "$error_file")"
	aws_local sqs set-queue-attributes --endpoint-url "$SQS_ENDPOINT" --queue-url "$url" \
		--attributes "$attributes" 2>>"$error_file" ||
		die "could not set the attributes of the SQS queue $name: $(cat "$error_file")"
	printf '%s\n' "$url"
}

create_queues() {
	DLQ_URL=$(ensure_queue "$DLQ_NAME" "{\"MessageRetentionPeriod\":\"$DLQ_RETENTION_SECONDS\"}")
	local dlq_arn redrive_policy
	dlq_arn=$(aws_local sqs get-queue-attributes --endpoint-url "$SQS_ENDPOINT" --queue-url "$DLQ_URL" \
		--attribute-names QueueArn --query Attributes.QueueArn --output text)
	# RedrivePolicy is a JSON document stored as a string attribute, hence the escaped quotes.
	redrive_policy="{\\\"deadLetterTargetArn\\\":\\\"$dlq_arn\\\",\\\"maxReceiveCount\\\":\\\"$QUEUE_MAX_RECEIVE_COUNT\\\"}"
	QUEUE_URL=$(ensure_queue "$QUEUE_NAME" \
		"{\"VisibilityTimeout\":\"$QUEUE_VISIBILITY_TIMEOUT\",\"RedrivePolicy\":\"$redrive_policy\"}")
}

create_bucket() {
	aws_local s3api head-bucket --endpoint-url "$S3_ENDPOINT" --bucket "$BACKUP_BUCKET" >/dev/null 2>&1 && return 0
	aws_local s3api create-bucket --endpoint-url "$S3_ENDPOINT" --bucket "$BACKUP_BUCKET" >/dev/null ||
		die "could not create the S3 bucket $BACKUP_BUCKET; see $VERSITYGW_LOG"
}

load_demo_database() {
	local exists marker
	exists=$(psql_local "$ADMIN_DATABASE_URL" -Atc "SELECT 1 FROM pg_database WHERE datname = '$DEMO_DB'")
	if [[ -z $exists ]]; then
		# The C collation sorts by code point, so ORDER BY on text is the same on every machine.
		psql_local "$ADMIN_DATABASE_URL" -c \
			"CREATE DATABASE $DEMO_DB TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
	fi

	marker=$(psql_local "$ADMIN_DATABASE_URL" -Atc \
		"SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = '$DEMO_DB'")
	[[ $marker == "$DEMO_DB_MARKER" ]] && return 0
	if [[ -n $marker ]]; then
		log "database $DEMO_DB contains other data (\"$marker\"), so the demo data was not loaded; drop it with 'dropdb -h $LOCAL_ADDRESS -U $PG_USER $DEMO_DB' to reload"
		return 0
	fi

	log "loading the demo data into database $DEMO_DB"
	# One transaction: a failed load leaves no tables and no marker behind.
	psql_local "$DEMO_DATABASE_URL" -1 \
		-f "$script_dir/demo-schema.sql" \
		-f "$script_dir/demo-data.sql" \
		-c "COMMENT ON DATABASE $DEMO_DB IS '$DEMO_DB_MARKER'" >/dev/null ||
		die "loading the demo data into $DEMO_DB failed; if the database has other tables, drop it with 'dropdb -h $LOCAL_ADDRESS -U $PG_USER $DEMO_DB' and run up.sh again"
	psql_local "$DEMO_DATABASE_URL" -c 'ANALYZE'
}

# Prints an export line whose value is single-quoted, so any text (newlines too) survives.
env_line() {
	local name=$1 value=$2
	printf "export %s='%s'\n" "$name" "${value//\'/\'\\\'\'}"
}

write_env_file() {
	local tmp="$ENV_FILE.tmp" private_key known_hosts
	private_key="$(<"$CLIENT_KEY")"$'\n'
	known_hosts="$(<"$KNOWN_HOSTS")"$'\n'
	(
		umask 077
		{
			echo "# Environment of the batchport local stack, written by deploy/local/up.sh. Source it."
			env_line AWS_REGION "$LOCAL_REGION"
			env_line AWS_DEFAULT_REGION "$LOCAL_REGION"
			env_line AWS_ACCESS_KEY_ID "$S3_ACCESS_KEY"
			env_line AWS_SECRET_ACCESS_KEY "$S3_SECRET_KEY"
			env_line AWS_EC2_METADATA_DISABLED true
			env_line AWS_ENDPOINT_URL_SQS "$SQS_ENDPOINT"
			env_line AWS_ENDPOINT_URL_S3 "$S3_ENDPOINT"
			env_line BATCHPORT_QUEUE_URL "$QUEUE_URL"
			env_line BATCHPORT_DLQ_URL "$DLQ_URL"
			env_line BATCHPORT_BACKUP_BUCKET "$BACKUP_BUCKET"
			env_line BATCHPORT_S3_PATH_STYLE true
			env_line DATABASE_URL "$DEMO_DATABASE_URL"
			env_line BATCHPORT_LEDGER_URL "$DEMO_DATABASE_URL"
			env_line PARTNER_SFTP_KEY "$private_key"
			env_line PARTNER_SFTP_KNOWN_HOSTS "$known_hosts"
			env_line BATCHPORT_LOCAL_STATE "$BATCHPORT_LOCAL_STATE"
			env_line BATCHPORT_SFTP_ROOT "$SFTP_ROOT"
			env_line BATCHPORT_SFTP_PORT "$SFTP_PORT"
		} >"$tmp"
	)
	chmod 0600 "$tmp"
	mv -f "$tmp" "$ENV_FILE"
}

print_summary() {
	printf '%-11s %-16s log %s\n' \
		postgresql "$LOCAL_ADDRESS:$PG_PORT" "$PG_LOG" \
		versitygw "$LOCAL_ADDRESS:$S3_PORT" "$VERSITYGW_LOG" \
		fauxqs "0.0.0.0:$SQS_PORT" "$FAUXQS_LOG" \
		sshd "$LOCAL_ADDRESS:$SFTP_PORT" "$SSHD_LOG"
	printf 'env file: %s (load it with: . %s)\n' "$ENV_FILE" "$ENV_FILE"
}

acquire_lock
# apt-get install may start daemons, which must not inherit the lock.
bash "$script_dir/install.sh" {LOCK_FD}>&-

mkdir -p "$BATCHPORT_LOCAL_STATE" "$LOG_DIR" "$RUN_DIR"
chmod 0700 "$BATCHPORT_LOCAL_STATE"

start_postgres
start_versitygw
start_fauxqs
start_sshd
create_queues
create_bucket
load_demo_database
write_env_file
print_summary
