#!/bin/bash
# Hot paths on SQLite, PostgreSQL with one instance, PostgreSQL with two.
# Usage: eval "$(.ci/postgres)"; docs/measure-engines.sh   (PG_ONLY=1 skips SQLite; results in $OUT, default /tmp/optin-measure)
set -u
mkdir -p "${OUT:-/tmp/optin-measure}"
cd "$(dirname "$0")/.."
BIN=/tmp/m-optin; LOAD=/tmp/m-load
go build -o $BIN ./cmd/optin && go build -o $LOAD ./cmd/optin-load || exit 1
PG=${OPTIN_TEST_POSTGRES:?start PostgreSQL first: eval "$(.ci/postgres)"}; PG=${PG%%\?*}; PG=${PG%/*}
common="OPTIN_WEBHOOK_SECRET=s OPTIN_FORM_LIMIT=0"
start() { # port db
  env $common OPTIN_ADDR=127.0.0.1:$1 OPTIN_DB="$2" OPTIN_INSTANCE=m$1 $BIN >${OUT:-/tmp/optin-measure}/optin-$1.log 2>&1 &
  for i in $(seq 50); do curl -sf -o /dev/null http://127.0.0.1:$1/healthz && return; sleep 0.2; done
}
suite() { # label args...
  label=$1; shift
  echo "=== $label $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
  $LOAD suite --secret s "$@" --conns 32 --duration 5s --pause 1s
}
if [ -z "${PG_ONLY:-}" ]; then rm -f /tmp/m-sqlite.db*
KEY=$($BIN apikey create load --db /tmp/m-sqlite.db)
start 18101 /tmp/m-sqlite.db
suite sqlite --key "$KEY" --url http://127.0.0.1:18101 > ${OUT:-/tmp/optin-measure}/sqlite.txt 2>&1
kill %1; wait; fi
for d in m1 m2; do psql -q $PG/postgres -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" -c "CREATE DATABASE $d"; done
KEY=$($BIN apikey create load --db "$PG/m1?sslmode=disable")
start 18102 "$PG/m1?sslmode=disable"
suite pg1 --key "$KEY" --url http://127.0.0.1:18102 > ${OUT:-/tmp/optin-measure}/pg1.txt 2>&1
kill %1; wait
KEY=$($BIN apikey create load --db "$PG/m2?sslmode=disable")
start 18103 "$PG/m2?sslmode=disable"
start 18104 "$PG/m2?sslmode=disable"
suite pg2 --key "$KEY" --url http://127.0.0.1:18103 --spread 127.0.0.1:18104 > ${OUT:-/tmp/optin-measure}/pg2.txt 2>&1
kill %1 %2; wait
echo done
