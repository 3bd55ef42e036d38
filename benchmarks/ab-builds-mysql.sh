#!/usr/bin/env bash
# The MariaDB kinds of ab-builds.sh (which calls this script for them): two builds of Backstop on one
# mariadbd and fixture, interleaved round by round, the working tree ("new") against --base=REV.
# Each build runs its own MariaDbBench backup in a fresh JVM (no class-data sharing, as ab-builds.sh
# has it); the alternation puts each build first every other round. Backups only: restores are what
# compare-mysql.sh and compare-mysql-physical.sh time.
#
#   mysql:          MariaDbDumpSource (mariadb-dump at its binlog position, fingerprints from the dump
#                   stream -> zstd-3 -> SHA-256 -> AES-GCM -> local repository) of compare-mysql.sh's
#                   realistic fixture
#   mysql-physical: MariaDbBackupSource (mariadb-backup --stream=xbstream --parallel=2 -> zstd-3 on as
#                   many workers as cores -> SHA-256 -> AES-GCM) of the same server
#
# Prints the median wall and busy CPU seconds (whole machine, /proc/stat) of each build and the
# same-round ratios new/base as key=value lines (also to --out=FILE). With --keep and --work=DIR the
# base tree and both builds stay in DIR, and a later run with the same DIR and --base reuses them (only
# what changed is rebuilt), so a run on a quiet machine need not spend its time compiling; the server
# and its fixture are made anew every run.
#
# Usage: benchmarks/ab-builds-mysql.sh --base=REV --kind=mysql|mysql-physical [--rounds=3]
#                                      [--realistic-size=400MiB] [--work=DIR] [--keep] [--out=FILE]
set -euo pipefail

BASE=""
KIND=mysql
rest=()
for a in "$@"; do
  case "$a" in
    --base=*) BASE=${a#*=} ;;
    --kind=*) KIND=${a#*=} ;;
    *) rest+=("$a") ;;
  esac
done
[ -n "$BASE" ] || { echo "--base=REV is required: the commit to compare the working tree against" >&2; exit 2; }
case "$KIND" in mysql|mysql-physical) ;; *) echo "--kind: got '$KIND', allowed mysql or mysql-physical" >&2; exit 2 ;; esac
# lib.sh's results file, free port and arithmetic; sourced without arguments: the options differ
load_lib() { source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"; }
load_lib
source "$(dirname "${BASH_SOURCE[0]}")/lib-mariadb.sh" --realistic-size=400MiB --no-cds "${rest[@]}"
[ "${#MORE_ARGS[@]}" = 0 ] || { echo "unknown option '${MORE_ARGS[0]}' (see the header of $0)" >&2; exit 2; }
# the results file names the run as it was asked for
ARGS="--base=$BASE --kind=$KIND ${rest[*]}"
for t in mariadb-install-db mariadbd mariadb mariadb-dump mariadb-backup java git; do
  command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || { echo "error: $t not found" >&2; exit 2; }
done
CORES=$(nproc)

mariadb_work /tmp/backstop-ab-mysql-XXXXXX
ab_cleanup() {
  if [ "$KEEP" = 0 ]; then git -C "$ROOT" worktree remove --force "$WORK/base" >/dev/null 2>&1 || true; fi
  cleanup
}
trap ab_cleanup EXIT

# build_tree DIR: packages DIR's bench program and prints its class path (MariaDbBench, the testkit
# and the testkit's runtime dependencies, jars only)
build_tree() {
  local dir=$1
  "$dir/mvnw" -q -o -f "$dir/pom.xml" -pl backup-testkit,benchmarks -am -DskipTests -Dmaven.javadoc.skip=true \
      -Dmaven.source.skip=true package dependency:build-classpath -Dmdep.outputFile=target/runtime-classpath.txt \
      -DincludeScope=runtime >&2
  echo "$(ls "$dir"/benchmarks/target/benchmarks-*.jar | grep -v -- '-sources\|-javadoc\|-tests' | head -1):$(ls \
      "$dir"/backup-testkit/target/backup-testkit-*.jar | grep -v -- '-sources\|-javadoc\|-tests' | head -1):$(cat \
      "$dir/backup-testkit/target/runtime-classpath.txt")"
}

echo "# building base $BASE and the working tree" >&2
if [ "$(git -C "$WORK/base" rev-parse HEAD 2>/dev/null)" != "$(git -C "$ROOT" rev-parse "$BASE")" ]; then
  git -C "$ROOT" worktree remove --force "$WORK/base" >/dev/null 2>&1 || true
  git -C "$ROOT" worktree add --detach "$WORK/base" "$BASE" >/dev/null 2>&1
fi
CP_BASE=$(build_tree "$WORK/base")
CP_NEW=$(build_tree "$ROOT")
run() { # run base|new ARGS...: MariaDbBench ARGS in a fresh JVM of that build
  local who=$1; shift
  if [ "$who" = base ]; then java -cp "$CP_BASE" dev.backstop.benchmarks.MariaDbBench "$@"
  else java -cp "$CP_NEW" dev.backstop.benchmarks.MariaDbBench "$@"; fi
}

# a fresh server every run, also in a kept work directory
stop_server "$DB"; rm -rf "$DB" "$WORK"/repo-* "$WORK"/out-* "$WORK"/kek-*.json
echo "# load average before: $(uptime)" >&2
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)
start_server
echo "# loading the realistic fixture ($RROWS customers)" >&2
load_realistic
results_begin ab-builds-mysql
echo "load_average_before=$LOAD_BEFORE"
echo "# base $(git -C "$ROOT" rev-parse --short "$BASE"), new $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet || echo '+changes'), kind $KIND, fixture $RSIZE" >&2
echo "realistic_db_bytes=$(sql -e "SELECT SUM(DATA_LENGTH + INDEX_LENGTH) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'realistic'")"

backup() { # backup base|new: one backup into a fresh repository
  local who=$1
  rm -rf "$WORK/repo-$who" "$WORK/out-$who"; mkdir -p "$WORK/out-$who"
  if [ "$KIND" = mysql ]; then
    run "$who" backup --port="$PORT" --db=realistic --repo="$WORK/repo-$who" --kek="$WORK/kek-$who.json" >/dev/null
  else
    run "$who" physical-backup --port="$PORT" --repo="$WORK/repo-$who" --kek="$WORK/kek-$who.json" --zstd-workers="$CORES" \
        --parallel=2 --work="$WORK/out-$who" >/dev/null
  fi
}

declare -A b c
bb=""; cc=""
for who in base new; do b[$who]=""; c[$who]=""; done
for round in $(seq 1 "$ROUNDS"); do
  order=(base new); [ $((round % 2)) = 0 ] && order=(new base)
  for who in "${order[@]}"; do
    timed "$who" backup "$who"
    s=S_$who; u=C_$who
    b[$who]+=" ${!s}"; c[$who]+=" ${!u}"
  done
  echo "# round $round: backup_s base=${b[base]##* } new=${b[new]##* }; busy CPU base=${c[base]##* } new=${c[new]##* }" >&2
  # Same-round ratios: both builds of one round share the machine's state at that moment.
  bb+=" $(ratio "${b[new]##* }" "${b[base]##* }")"
  cc+=" $(ratio "${c[new]##* }" "${c[base]##* }")"
done
echo "${KIND}_backup_base_s=$(median ${b[base]})"
echo "${KIND}_backup_new_s=$(median ${b[new]})"
echo "${KIND}_backup_base_cpu_s=$(median ${c[base]})"
echo "${KIND}_backup_new_cpu_s=$(median ${c[new]})"
echo "cores=$CORES rounds=$ROUNDS realistic_size=$RSIZE realistic_customers=$RROWS"
echo "load_average_after=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"
echo "${KIND}_backup_cpu_new_vs_base=$(median $cc)"
echo "${KIND}_backup_new_vs_base=$(median $bb)"
results_end --no-chart
