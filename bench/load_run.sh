#!/usr/bin/env bash
# Load test (issue 12) in one command: PostgreSQL with the full demo county, `serve --production` (gunicorn and the
# background worker), locust headless; prints p50/p95/p99/failures for the sign-ins and for the steady state.
#
#   bench/load_run.sh [--users 200] [--minutes 5] [--rate 10] [--think 5-15] [--db fupin_load] [--port 8012]
#                     [--keys /path/keys.json] [--scale 1] [--workers N]
#
# --db: a PostgreSQL database on 127.0.0.1:5432 (user postgres). If it does not exist it is created, migrated and
#       seeded with `seed_demo --scale` (10–20 min at scale 1 on a busy 2-core machine), with the keys of --keys
#       (generated there if the file does not exist). A database seeded before must be given the keys it was seeded
#       with (the residents' ID numbers are sealed with them).
# --think: seconds between two actions of a user (uniform), default 5–15 (bench/load_mix.py says why); 1-3 is the
#       stress pace of the first run.
# --minutes: of steady state, which starts 30 s after every user was spawned and signed in (at --rate 10, 200
#       sign-ins of 0.6 s CPU each keep two cores busy for about a minute): the run lasts that much longer.
# Needs locust (`pip install -e .[bench]`, or LOCUST=/path/to/locust). Results: bench/out/load/ (summary.json, samples.csv,
# the locust CSVs, the server's log, cpu.json: CPU per kind of process over the run).
set -euo pipefail
cd "$(dirname "$0")/.."

USERS=200 MINUTES=5 RATE=10 THINK=5-15 DB=fupin_load PORT=8012 KEYS="" SCALE=1 WORKERS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --users) USERS=$2; shift 2 ;; --minutes) MINUTES=$2; shift 2 ;; --rate) RATE=$2; shift 2 ;;
    --think) THINK=$2; shift 2 ;; --db) DB=$2; shift 2 ;; --port) PORT=$2; shift 2 ;;
    --keys) KEYS=$2; shift 2 ;; --scale) SCALE=$2; shift 2 ;; --workers) WORKERS=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
PY=.venv/bin/python
LOCUST=${LOCUST:-$( [ -x .venv/bin/locust ] && echo .venv/bin/locust || command -v locust || true )}
[ -n "$LOCUST" ] || { echo "locust not found: pip install -e .[bench] (or set LOCUST=/path/to/locust)" >&2; exit 2; }
OUT=bench/out/load
mkdir -p "$OUT"
KEYS=${KEYS:-$PWD/var/load-keys-$DB.json}

if [ ! -f "$KEYS" ]; then
  mkdir -p "$(dirname "$KEYS")"
  env -u FUPIN_KEYS_FILE -u FUPIN_KEYS $PY manage.py crypto generate --out "$KEYS"
fi
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB
export FUPIN_KEYS_FILE=$KEYS
if ! psql -h 127.0.0.1 -U postgres -lqt | cut -d'|' -f1 | grep -qw "$DB"; then
  echo "creating and seeding $DB (scale $SCALE) …"
  createdb -h 127.0.0.1 -U postgres "$DB"
  $PY manage.py migrate -v0
  $PY manage.py seed_demo --scale "$SCALE"
fi

# production settings for a run on this machine (plain http on 127.0.0.1; no per-person export limit: every
# simulated town clerk signs in as the one demo account)
export FUPIN_ENV=production FUPIN_HTTPS=0 FUPIN_ALLOWED_HOSTS=127.0.0.1 FUPIN_EXPORT_RATE_PER_HOUR=0
export FUPIN_SECRET_KEY=${FUPIN_SECRET_KEY:-$($PY -c "import secrets; print(secrets.token_urlsafe(50))")}
$PY manage.py migrate -v0 --check >/dev/null 2>&1 || $PY manage.py migrate -v0
# the planner's statistics, as autovacuum keeps them on a production server (this machine's PostgreSQL runs with
# autovacuum off: a database never analyzed plans the map layer and the lists as if their tables were empty)
psql -h 127.0.0.1 -U postgres -d "$DB" -qc "ANALYZE"

$PY manage.py serve --production --addr "127.0.0.1:$PORT" ${WORKERS:+--workers "$WORKERS"} >"$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -fs -o /dev/null "http://127.0.0.1:$PORT/login/" && break
  kill -0 $SERVER 2>/dev/null || { echo "the server did not start: $OUT/server.log" >&2; tail -20 "$OUT/server.log" >&2; exit 1; }
  sleep 1
done
echo "server up on 127.0.0.1:$PORT; load average $(cut -d' ' -f1-3 /proc/loadavg); $USERS users for $MINUTES min, think $THINK s"

T0=$(date +%s)
CPU0=$(awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat)
$PY bench/cpu_by_process.py watch "$OUT/cpu.json" --db "$DB" &
WATCH=$!
# --minutes of steady state (locust stops itself then); -t only bounds a run whose sign-ins never all come back
FUPIN_LOAD_THINK=$THINK FUPIN_LOAD_OUT=$OUT FUPIN_LOAD_STEADY=$((MINUTES * 60)) "$LOCUST" -f bench/locustfile.py \
  --host "http://127.0.0.1:$PORT" --headless -u "$USERS" -r "$RATE" -t "$((MINUTES + USERS / RATE / 60 + 10))m" \
  --csv "$OUT/load" --only-summary --stop-timeout 10 \
  2>"$OUT/locust.log" || true
CPU1=$(awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat)
kill -TERM $WATCH; wait $WATCH || true
N=$(awk -F, '$2=="Aggregated"{print $3}' "$OUT/load_stats.csv")
echo "CPU seconds by kind of process, whole run (ms per request: all $N requests, sign-ins included):"
echo "  $($PY bench/cpu_by_process.py report "$OUT/cpu.json" --per "${N:-0}")"
read -r S0 S1 SN < <($PY -c "import json; s = json.load(open('$OUT/summary.json'))
print(s['steady_from_epoch'], s['end_epoch'], s['steady']['requests'])")
echo "steady state only (ms per steady-state request, $SN requests):"
echo "  $($PY bench/cpu_by_process.py report "$OUT/cpu.json" --from "$S0" --to "$S1" --per "$SN")"
echo "wall $(( $(date +%s) - T0 )) s; machine CPU busy $(( (CPU1 - CPU0) / $(getconf CLK_TCK) )) core-seconds; load average $(cut -d' ' -f1-3 /proc/loadavg)"
