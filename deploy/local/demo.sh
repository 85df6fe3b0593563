#!/usr/bin/env bash
# Runs the sample job end to end on the local stack: `batchport enqueue` puts a
# message on the SQS queue, `batchport worker` runs the export from PostgreSQL
# into S3 and delivers the S3 object to the SFTP server. Then it checks that the
# S3 object and the delivered file are the same bytes. `make demo` builds the
# binary and starts the stack first.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
state=${BATCHPORT_LOCAL_STATE:-/tmp/batchport-local}
bin=$root/bin/batchport
job=partner-daily-orders
# The 03:30 Tokyo slot of 2 December: the job's default date param is the day before.
scheduled_for=2026-12-02T03:30:00+09:00

if [[ ! -f $state/env ]]; then
  echo "demo: $state/env is missing: start the stack with make stack-up" >&2
  exit 1
fi
set -a
# shellcheck source=/dev/null
source "$state/env"
set +a
cd "$root"
work=$(mktemp -d)
worker_log=$state/logs/demo-worker.log

BATCHPORT_LOG_FORMAT=text "$bin" worker >"$worker_log" 2>&1 &
worker=$!
stop_worker_only() {
  if kill -0 "$worker" 2>/dev/null; then
    kill -TERM "$worker"
    wait "$worker" || echo "demo: the worker exited with status $?; its log: $worker_log" >&2
  fi
}
trap 'stop_worker_only; rm -rf "$work"' EXIT

# The demo's ledger lives in PostgreSQL, its backups in the stack's state folder. If the
# state folder was wiped while the database stayed, the ledger would call the run done
# while its files are gone. The demo then forgets that run and runs it again.
demo_run_key="$job/2026-12-01"
demo_key="$job/2026-12-01/orders_2026-12-01.csv"
if psql "$BATCHPORT_LEDGER_URL" -XAtqc "SELECT 1 FROM batchport.runs WHERE run_key = '$demo_run_key' AND status = 'succeeded'" 2>/dev/null | grep -q 1 &&
  ! aws s3api head-object --bucket "$BATCHPORT_BACKUP_BUCKET" --key "$demo_key" >/dev/null 2>&1; then
  echo "demo: the ledger has run $demo_run_key but its backup is gone (the stack's folder was reset); running it again"
  psql "$BATCHPORT_LEDGER_URL" -XAtqc "DELETE FROM batchport.runs WHERE run_key = '$demo_run_key'" >/dev/null
fi

echo "== enqueue: $job, scheduled for $scheduled_for"
"$bin" enqueue "$job" --scheduled-for "$scheduled_for" --wait --timeout 5m | tee "$work/enqueue.txt"
run_key=$(sed -n 's/^enqueued [^ ]* run key \(.*\) (message .*)$/\1/p' "$work/enqueue.txt")

# Wait until the worker has deleted the message, so none is left on the queue.
for _ in $(seq 1 100); do
  counts=$(aws sqs get-queue-attributes --endpoint-url "$AWS_ENDPOINT_URL_SQS" --queue-url "$BATCHPORT_QUEUE_URL" \
    --attribute-names ApproximateNumberOfMessages ApproximateNumberOfMessagesNotVisible \
    --query 'Attributes.[ApproximateNumberOfMessages,ApproximateNumberOfMessagesNotVisible]' --output text)
  [[ $(tr -d '[:space:]' <<<"$counts") == 00 ]] && break
  sleep 0.2
done
stop_worker_only

if grep -q 'msg="duplicate' "$worker_log"; then
  echo
  echo "This run key had already succeeded, so the worker deleted the message as a duplicate"
  echo "and the partner did not get a second file. The run shown above is the earlier one."
fi

echo
echo "== check: the S3 backup and the file on the SFTP server"
"$bin" runs show "$run_key" --json >"$work/run.json"
read -r s3_uri remote_path rows sha <<<"$(python3 - "$work/run.json" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))
steps = {s["name"]: s["result"] for s in run["steps"]}
export, deliver = steps["export"], steps["deliver/0"]
print(f's3://{export["bucket"]}/{export["key"]}', deliver["remote_path"], export["rows"], export["sha256"])
PY
)"
aws s3 cp --only-show-errors "$s3_uri" "$work/backup.csv"
key_file=$work/partner_key
known_hosts=$work/known_hosts
(umask 077 && printf '%s\n' "$PARTNER_SFTP_KEY" >"$key_file" && printf '%s\n' "$PARTNER_SFTP_KNOWN_HOSTS" >"$known_hosts")
sftp -q -b - -P "${BATCHPORT_SFTP_PORT:-2222}" -i "$key_file" -o UserKnownHostsFile="$known_hosts" \
  -o StrictHostKeyChecking=yes -o BatchMode=yes partner@127.0.0.1 >/dev/null <<<"get $remote_path $work/delivered.csv"

records=$(python3 -c 'import csv,sys; print(sum(1 for _ in csv.reader(open(sys.argv[1], newline="", encoding="utf-8"))))' "$work/delivered.csv")
lines=$(wc -l <"$work/delivered.csv")
backup_sha=$(sha256sum "$work/backup.csv" | cut -d' ' -f1)
delivered_sha=$(sha256sum "$work/delivered.csv" | cut -d' ' -f1)

printf '%-22s %s\n' "run key:" "$run_key" "S3 object:" "$s3_uri" "SFTP path:" "sftp://127.0.0.1:${BATCHPORT_SFTP_PORT:-2222}$remote_path" \
  "rows (COPY):" "$rows" "CSV records:" "$records (header + rows; $lines physical lines, as some values contain newlines)" \
  "SHA-256 (ledger):" "$sha" "SHA-256 (S3):" "$backup_sha" "SHA-256 (SFTP):" "$delivered_sha"

status=0
cmp -s "$work/backup.csv" "$work/delivered.csv" || { echo "demo: FAILED: the S3 object and the delivered file differ" >&2; status=1; }
[[ $backup_sha == "$sha" ]] || { echo "demo: FAILED: the S3 object's SHA-256 differs from the ledger's" >&2; status=1; }
[[ $records -eq $((rows + 1)) ]] || { echo "demo: FAILED: $records CSV records, expected $((rows + 1))" >&2; status=1; }
if [[ $status -eq 0 ]]; then
  echo
  echo "demo: OK: the S3 backup and the delivered file are byte-identical, with $rows rows and a header."
  echo "The worker's log: $worker_log"
fi
exit $status
