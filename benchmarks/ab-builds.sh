#!/usr/bin/env bash
# Two builds of Backstop on one fixture, interleaved round by round: the working tree ("new")
# against an earlier commit ("base", --base=REV, default main's first parent HEAD~1 is NOT assumed:
# give it). Same server, same data, same arguments; each build runs its own LogicalBench or
# PhysicalBench in a fresh JVM. Prints the medians of each and the same-round ratios new/base:
#
#   logical:  backup (pg_dump -Fc -Z0 -> zstd-3 on 2 threads -> SHA-256 -> AES-GCM -> local repository,
#             fingerprints in the snapshot) and streamed restore into a new database
#   physical: backup (the data directory read by DataDirectorySource, same chain) and restore
#             (fetch, verify, extract) into a new data directory
#   mysql:    MariaDB logical backup (MariaDbDumpSource: mariadb-dump, fingerprints from the dump
#             stream -> zstd-3 -> SHA-256 -> AES-GCM -> local repository) of compare-mysql.sh's
#             realistic fixture, on a mariadbd of its own; backups only, with the machine's busy CPU
#   mysql-physical: MariaDB physical backup (MariaDbBackupSource: mariadb-backup --stream=xbstream
#             --parallel=2 -> zstd-3 on as many workers as cores -> SHA-256 -> AES-GCM) of the same
#             server; backups only, with the machine's busy CPU
#   incremental: each build takes a full backup (untimed) into a repository of its own; then, --rounds
#             times, one day of compare-physical's realistic change (day_change in lib.sh) followed by
#             each build's DataDirectorySource incr on its own chain (the backup columns, with stored
#             bytes); then each build restores its own chain (full + rounds increments; --rounds <= 6)
#             --rounds times (the restore columns). The server runs with wal_log_hints=on.
#
# Usage: benchmarks/ab-builds.sh --base=REV [--kind=logical|physical|incremental|mysql|mysql-physical] [--rounds=3]
#                                [--realistic-size=400MiB] [--work=DIR] [--keep] [--out=FILE]
set -euo pipefail

BASE=""
KIND=logical
rest=()
for a in "$@"; do
  case "$a" in
    --base=*) BASE=${a#*=} ;;
    --kind=*) KIND=${a#*=} ;;
    *) rest+=("$a") ;;
  esac
done
[ -n "$BASE" ] || { echo "--base=REV is required: the commit to compare the working tree against" >&2; exit 2; }
case "$KIND" in logical|physical|incremental|mysql|mysql-physical) ;;
  *) echo "--kind: got '$KIND', allowed logical, physical, incremental, mysql or mysql-physical" >&2; exit 2 ;;
esac
if [ "$KIND" = mysql ] || [ "$KIND" = mysql-physical ]; then
  exec "$(dirname "${BASH_SOURCE[0]}")/ab-builds-mysql.sh" --base="$BASE" --kind="$KIND" "${rest[@]}"
fi
set -- --no-cds "${rest[@]}"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_pg initdb pg_ctl psql createdb dropdb
require java git

WORK=${WORK:-$(mktemp -d /tmp/backstop-ab-XXXXXX)}
mkdir -p "$WORK"; chmod 755 "$WORK"
PGDIR="$WORK/pg"; mkdir -p "$PGDIR"
[ "$(id -u)" = 0 ] && chown postgres: "$PGDIR"
cleanup() {
  "${AS[@]}" "$BIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1 || true
  git -C "$ROOT" worktree remove --force "$WORK/base" >/dev/null 2>&1 || true
  if [ "$KEEP" = 0 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

# build_tree DIR: packages DIR's bench programs and prints "<main class> <class path>"
build_tree() {
  local dir=$1 jar cp="" main mods
  if [ -f "$dir/benchmarks/src/main/java/dev/backstop/benchmarks/LogicalBench.java" ]; then
    main=dev.backstop.benchmarks; mods="benchmarks backup-testkit backup-postgres"
  else
    main=dev.backstop.testkit; mods="backup-testkit backup-postgres"
  fi
  "$dir/mvnw" -q -o -f "$dir/pom.xml" -pl backup-testkit,benchmarks -am -DskipTests package dependency:build-classpath \
      -Dmdep.outputFile=target/runtime-classpath.txt -DincludeScope=runtime >&2
  for m in $mods; do
    jar=$(ls "$dir/$m"/target/"$m"-*.jar | grep -v -- '-sources\|-javadoc\|-tests' | head -1)
    cp="${cp:+$cp:}$jar"
  done
  echo "$main $cp:$(cat "$dir/backup-postgres/target/runtime-classpath.txt")"
}

echo "# building base $BASE and the working tree" >&2
git -C "$ROOT" worktree add --detach "$WORK/base" "$BASE" >/dev/null 2>&1
read -r MAIN_BASE CP_BASE < <(build_tree "$WORK/base")
read -r MAIN_NEW CP_NEW < <(build_tree "$ROOT")
CP=$CP_NEW
run() { # run base|new PROGRAM ARGS...
  local who=$1 prog=$2; shift 2
  if [ "$who" = base ]; then java -cp "$CP_BASE" "$MAIN_BASE.$prog" "$@"; else java -cp "$CP_NEW" "$MAIN_NEW.$prog" "$@"; fi
}

# incremental_ab: the incremental kind (see the header), on the realistic fixture in the database postgres
incremental_ab() {
  [ "$ROUNDS" -le 6 ] || { echo "--rounds: got $ROUNDS, at most 6 for the incremental kind (a chain of 7)" >&2; exit 2; }
  run new LogicalBench load --port="$PORT" --db=postgres --size="$RSIZE" >/dev/null
  "$BIN/psql" -q -c 'VACUUM ANALYZE' postgres
  echo "realistic_db_bytes=$("$BIN/psql" -Atc "SELECT pg_database_size('postgres')" postgres)"
  local who day t0 t1 out
  declare -A b s r
  for who in base new; do
    rm -rf "$WORK/repo-$who" "$WORK/kek-$who.json"; b[$who]=""; s[$who]=""; r[$who]=""
    quiesce postgres
    run "$who" PhysicalBench backup --source=datadir --pgdata="$PGDIR/data" --port="$PORT" --backup-level=full \
        --repo="$WORK/repo-$who" --kek="$WORK/kek-$who.json" --zstd-workers=2 >/dev/null
  done
  local br="" rr=""
  for day in $(seq 1 "$ROUNDS"); do
    day_change realistic "$day"
    order=(base new); [ $((day % 2)) = 0 ] && order=(new base)
    for who in "${order[@]}"; do
      quiesce postgres
      t0=$(now); out=$(run "$who" PhysicalBench backup --source=datadir --pgdata="$PGDIR/data" --port="$PORT" --backup-level=incr \
          --repo="$WORK/repo-$who" --kek="$WORK/kek-$who.json" --zstd-workers=2); t1=$(now)
      b[$who]+=" $(elapsed "$t0" "$t1")"; s[$who]+=" $(sed -n 's/^stored_bytes=//p' <<<"$out")"
    done
    echo "day_${day}_incr_s base=${b[base]##* } new=${b[new]##* }; stored_bytes base=${s[base]##* } new=${s[new]##* }" >&2
    br+=" $(ratio "${b[new]##* }" "${b[base]##* }")"
  done
  for round in $(seq 1 "$ROUNDS"); do
    order=(base new); [ $((round % 2)) = 0 ] && order=(new base)
    for who in "${order[@]}"; do
      rm -rf "$WORK/restored-$who"
      quiesce postgres
      t0=$(now); run "$who" PhysicalBench restore --repo="$WORK/repo-$who" --kek="$WORK/kek-$who.json" \
          --id="$(ls "$WORK/repo-$who/backups" | sort | tail -1)" --target="$WORK/restored-$who" >/dev/null; t1=$(now)
      r[$who]+=" $(elapsed "$t0" "$t1")"
      rm -rf "$WORK/restored-$who"
    done
    echo "round_${round}_chain_restore_s base=${r[base]##* } new=${r[new]##* }" >&2
    rr+=" $(ratio "${r[new]##* }" "${r[base]##* }")"
  done
  echo "incremental_backup_base_s=$(median ${b[base]})"
  echo "incremental_backup_new_s=$(median ${b[new]})"
  echo "incremental_stored_bytes_base=$(median ${s[base]})"
  echo "incremental_stored_bytes_new=$(median ${s[new]})"
  echo "incremental_chain_restore_base_s=$(median ${r[base]})"
  echo "incremental_chain_restore_new_s=$(median ${r[new]})"
  echo "incremental_backup_new_vs_base=$(median $br)"
  echo "incremental_chain_restore_new_vs_base=$(median $rr)"
}

results_begin ab-builds
free_port
"${AS[@]}" "$BIN/initdb" -D "$PGDIR/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
"${AS[@]}" "$BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 start \
  -o "-p $PORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
      -c shared_buffers=256MB -c max_wal_size=8GB -c checkpoint_timeout=1h -c autovacuum=off \
      -c wal_level=replica -c max_wal_senders=4 $([ "$KIND" = incremental ] && echo '-c wal_log_hints=on')" >/dev/null
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres
echo "# base $(git -C "$ROOT" rev-parse --short "$BASE"), new $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet || echo '+changes'), kind $KIND, fixture $RSIZE" >&2
if [ "$KIND" = incremental ]; then
  incremental_ab
  exit 0
fi
"$BIN/createdb" realistic
run new LogicalBench load --port="$PORT" --db=realistic --size="$RSIZE" >/dev/null
"$BIN/psql" -q -c 'VACUUM ANALYZE' realistic
echo "realistic_db_bytes=$("$BIN/psql" -Atc "SELECT pg_database_size('realistic')" postgres)"

declare -A b r
br=""; rr=""
for who in base new; do b[$who]=""; r[$who]=""; done
for round in $(seq 1 "$ROUNDS"); do
  order=(base new); [ $((round % 2)) = 0 ] && order=(new base)
  for who in "${order[@]}"; do
    rm -rf "$WORK/repo-$who"
    quiesce postgres
    if [ "$KIND" = logical ]; then
      t0=$(now); out=$(run "$who" LogicalBench backup --port="$PORT" --db=realistic --repo="$WORK/repo-$who" \
          --kek="$WORK/kek-$who.json" --zstd-workers=2); t1=$(now)
      id=$(sed -n 's/^backup_id=//p' <<<"$out"); [ -n "$id" ] || id=$(ls "$WORK/repo-$who/backups" | grep -v '^probe' | head -1)
      b[$who]+=" $(elapsed "$t0" "$t1")"
      quiesce postgres
      t0=$(now); run "$who" LogicalBench restore --port="$PORT" --db="r_$who" --repo="$WORK/repo-$who" \
          --kek="$WORK/kek-$who.json" --id="$id" >/dev/null; t1=$(now)
      r[$who]+=" $(elapsed "$t0" "$t1")"
      "$BIN/dropdb" -f "r_$who"
    else
      t0=$(now); out=$(run "$who" PhysicalBench backup --source=datadir --pgdata="$PGDIR/data" --port="$PORT" \
          --repo="$WORK/repo-$who" --kek="$WORK/kek-$who.json" --zstd-workers=2); t1=$(now)
      b[$who]+=" $(elapsed "$t0" "$t1")"
      id=$(sed -n 's/^backup_id=//p' <<<"$out"); [ -n "$id" ] || id=$(ls "$WORK/repo-$who/backups" | grep -v '^probe' | head -1)
      rm -rf "$WORK/restored-$who"
      t0=$(now); run "$who" PhysicalBench restore --repo="$WORK/repo-$who" --kek="$WORK/kek-$who.json" --id="$id" \
          --target="$WORK/restored-$who" >/dev/null; t1=$(now)
      r[$who]+=" $(elapsed "$t0" "$t1")"
      rm -rf "$WORK/restored-$who"
    fi
    rm -f "$WORK/kek-$who.json"
  done
  echo "round_${round}_backup_s base=${b[base]##* } new=${b[new]##* }; restore_s base=${r[base]##* } new=${r[new]##* }" >&2
  # Same-round ratios: both builds of one round share the machine's state at that moment.
  br+=" $(ratio "${b[new]##* }" "${b[base]##* }")"
  rr+=" $(ratio "${r[new]##* }" "${r[base]##* }")"
done
mb=$(median ${b[base]}); mn=$(median ${b[new]}); rb=$(median ${r[base]}); rn=$(median ${r[new]})
echo "${KIND}_backup_base_s=$mb"
echo "${KIND}_backup_new_s=$mn"
echo "${KIND}_restore_base_s=$rb"
echo "${KIND}_restore_new_s=$rn"
echo "${KIND}_backup_new_vs_base=$(median $br)"
echo "${KIND}_restore_new_vs_base=$(median $rr)"
