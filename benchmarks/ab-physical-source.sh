#!/usr/bin/env bash
# Same cluster, same pipeline, two capture sources: Backstop's physical backup with
# DataDirectorySource (reads the data directory itself) against BaseBackupSource (pipes
# pg_basebackup -Ft -X fetch), interleaved round by round. Reports wall seconds and the JVM's
# user+sys CPU seconds from /usr/bin/time (pg_basebackup's and the walsender's CPU are not in the
# JVM's figure: the wall time is the comparable one; the CPU figure shows where the JVM spends).
#
# Usage: benchmarks/ab-physical-source.sh [--rounds=3] [--realistic-size=400MiB] [--work=DIR] [--keep] [--no-cds]
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -x /usr/bin/time ] || { echo "error: /usr/bin/time not found (apt-get install time)" >&2; exit 2; }
require_pg initdb pg_ctl psql
require java

WORK=${WORK:-$(mktemp -d /tmp/backstop-ab-physical-XXXXXX)}
mkdir -p "$WORK"; chmod 755 "$WORK"
PGDIR="$WORK/pg"
cleanup() {
  "${AS[@]}" "$BIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1 || true
  if [ "$KEEP" = 0 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

build_testkit
free_port
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres
mkdir -p "$PGDIR"; [ "$(id -u)" = 0 ] && chown postgres: "$PGDIR"
as_pg "$BIN/initdb" -D "$PGDIR/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
as_pg "$BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 start \
  -o "-p $PORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
      -c shared_buffers=256MB -c max_wal_size=8GB -c checkpoint_timeout=1h" >/dev/null
for src in datadir basebackup; do
  cds_train "ab-$src" dev.backstop.benchmarks.PhysicalBench backup --source="$src" --pgdata="$PGDIR/data" --port="$PORT" \
      --repo="$WORK/repo-cds" --kek="$WORK/kek.json" --zstd-workers=2
  rm -rf "$WORK/repo-cds"
done
echo "# loading the realistic fixture at $RSIZE" >&2
java -cp "$CP" dev.backstop.benchmarks.LogicalBench load --port="$PORT" --db=postgres --size="$RSIZE" >/dev/null
"$BIN/psql" -q -c 'VACUUM ANALYZE' postgres
"$BIN/psql" -q -c 'CHECKPOINT' postgres
echo "cluster_bytes=$("$BIN/psql" -Atc "SELECT sum(pg_database_size(oid)) FROM pg_database" postgres)"

declare -A wall cpu
for round in $(seq 1 "$ROUNDS"); do
  if [ $(( round % 2 )) = 1 ]; then order=(datadir basebackup); else order=(basebackup datadir); fi
  for src in "${order[@]}"; do
    rm -rf "$WORK/repo"
    /usr/bin/time -f "%e %U %S" -o "$WORK/time" java $(cds "ab-$src") -cp "$CP" dev.backstop.benchmarks.PhysicalBench backup \
        --source="$src" --pgdata="$PGDIR/data" --port="$PORT" --repo="$WORK/repo" --kek="$WORK/kek.json" --zstd-workers=2 >/dev/null
    read -r e u s < "$WORK/time"
    c=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
    echo "round$round $src: wall=${e}s jvm_user+sys=${c}s (user ${u}, sys ${s})" >&2
    wall[$src]+="$e "; cpu[$src]+="$c "
  done
done
for src in datadir basebackup; do
  echo "${src}_wall_median_s=$(median ${wall[$src]})"
  echo "${src}_jvm_cpu_median_s=$(median ${cpu[$src]})"
done
echo "ratio_wall_datadir_vs_basebackup=$(ratio "$(median ${wall[datadir]})" "$(median ${wall[basebackup]})")"
