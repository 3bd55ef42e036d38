#!/usr/bin/env bash
# Backstop's logical backup and restore against the tools people use instead, on one machine,
# interleaved round by round so that a slow moment of a shared VM hits every contender alike.
#
#   backup:  Backstop (pg_dump -Fc -Z0 -> zstd-3 on 2 threads as zstd -T0 here -> SHA-256 -> AES-GCM -> local repository, fingerprints
#            in the same snapshot)  vs  pg_dump -Fc  vs  pg_dump -Fp | zstd -3 -T0 | sha256sum
#            plus Backstop with fingerprints off, to show what the in-snapshot proof costs, and
#            Backstop in one long-lived JVM (a service embedding the library; every other Backstop
#            run is a fresh JVM, as the CLI is)
#   restore: Backstop (streamed into a staging database while verified, renamed after)  vs
#            pg_restore -j2 of the -Fc dump, plus Backstop's spooled restore (fetch + verify to a
#            temp file, then pg_restore -j2), the path taken for existing targets, and the streamed
#            restore in the long-lived JVM
#
# Fixtures: pgbench at --pgbench-scale (default 100, ~1.5 GB) and the realistic application-like
# database of backup-testkit (RealisticFixture) at --realistic-size (default 1536MiB).
# Starts and stops its own PostgreSQL (trust auth on 127.0.0.1, a random port, data in --work).
# Autovacuum is off on that server: after a restore it would analyze and freeze the freshly loaded
# tables inside whichever contender runs next. Before every timed run the server is checkpointed and
# the page cache flushed.
# Prints medians and same-round ratios as key=value lines, also written to --out=FILE (default
# benchmarks/target/results/) with a PNG chart next to it; the last line is ratio_backup_vs_shell=<x>,
# the worse of the two fixtures. Each run's machine-wide busy CPU (all processes: server, tools, JVM)
# is measured too: *_cpu_s lines, and *_cpu_floor_vs_shell = Backstop's CPU / cores / the shell's
# wall time, the ratio Backstop could not beat on this machine even with every core busy throughout.
#
# Usage: benchmarks/compare-logical.sh [--rounds=3] [--pgbench-scale=100] [--realistic-size=1536MiB]
#                                      [--work=DIR] [--keep] [--no-cds] [--out=FILE]
# Quick check (a few minutes): benchmarks/compare-logical.sh --pgbench-scale=5 --realistic-size=80MiB
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_pg initdb pg_ctl pg_dump pg_restore psql pgbench createdb dropdb
require zstd sha256sum java

WORK=${WORK:-$(mktemp -d /tmp/backstop-bench-XXXXXX)}
mkdir -p "$WORK"
chmod 755 "$WORK"
PGDIR="$WORK/pg"
mkdir -p "$PGDIR"
[ "$(id -u)" = 0 ] && chown postgres: "$PGDIR"

cleanup() {
  if [ -n "${WARM_PID:-}" ]; then kill "$WARM_PID" 2>/dev/null || true; fi
  "${AS[@]}" "$BIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1 || true
  if [ "$KEEP" = 0 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

build_testkit
results_begin compare-logical
bench() { java $(cds "logical-$1") -cp "$CP" dev.backstop.benchmarks.LogicalBench "$@"; }

# the long-lived JVM: one command per line in, key=value lines and "end" out. Its answer lands in
# WARM_OUT, not on stdout: a coprocess's pipes are closed in subshells such as $(...)
coproc WARM { java -cp "$CP" dev.backstop.benchmarks.LogicalBench serve 2>"$WORK/warm-jvm.log"; }
warm() {
  echo "$*" >&"${WARM[1]}"
  WARM_OUT=""
  local line
  while IFS= read -r line <&"${WARM[0]}"; do
    [ "$line" = end ] && break
    WARM_OUT+="$line"$'\n'
  done
  if grep -q '^error=' <<<"$WARM_OUT"; then echo "error: long-lived JVM: $WARM_OUT" >&2; exit 1; fi
}

free_port
CORES=$(nproc)

"${AS[@]}" "$BIN/initdb" -D "$PGDIR/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
"${AS[@]}" "$BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 start \
  -o "-p $PORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
      -c shared_buffers=256MB -c max_wal_size=8GB -c checkpoint_timeout=1h -c maintenance_work_mem=256MB \
      -c autovacuum=off" >/dev/null
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres
echo "# server $("$BIN/psql" -Atc 'SHOW server_version' postgres) on port $PORT, work dir $WORK" >&2

if [ "$CDS" = 1 ]; then
  echo "# recording the class-data archives: one untimed backup and restore of a tiny database" >&2
  "$BIN/createdb" cds_train
  "$BIN/psql" -q -c "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 10000) g" \
      -c "ALTER TABLE t ADD PRIMARY KEY (id)" cds_train
  cds_train logical-backup dev.backstop.benchmarks.LogicalBench backup --port="$PORT" --db=cds_train \
      --repo="$WORK/repo-cds" --kek="$WORK/kek.json"
  cds_train logical-restore dev.backstop.benchmarks.LogicalBench restore --port="$PORT" --db=r_cds \
      --repo="$WORK/repo-cds" --kek="$WORK/kek.json" --id="$(ls "$WORK/repo-cds/backups")"
  "$BIN/dropdb" -f r_cds; "$BIN/dropdb" cds_train; rm -rf "$WORK/repo-cds"
fi


"$BIN/createdb" pgbench
echo "# loading pgbench scale $SCALE" >&2
"$BIN/pgbench" -i -q -s "$SCALE" pgbench >/dev/null 2>&1
"$BIN/createdb" realistic
echo "# loading the realistic fixture at $RSIZE" >&2
bench load --port="$PORT" --db=realistic --size="$RSIZE" >/dev/null
"$BIN/psql" -q -c 'VACUUM ANALYZE' pgbench
"$BIN/psql" -q -c 'VACUUM ANALYZE' realistic
"$BIN/psql" -q -c 'CHECKPOINT' postgres

WORST=0
for db in pgbench realistic; do
  size=$("$BIN/psql" -Atc "SELECT pg_database_size('$db')" postgres)
  echo "${db}_db_bytes=$size"
  shell=(); fc=(); bs=(); nofp=(); pgr=(); bsr=(); bss=(); r_shell=(); r_fc=(); r_rest=(); r_nofp=(); r_spool=()
  bw=(); bwr=(); r_warm=(); r_warm_rest=()
  c_shell=(); c_fc=(); c_bs=(); c_bw=(); c_pgr=(); c_bsr=(); floor_backup=(); floor_restore=()
  # the long-lived JVM's first backup and restore of this fixture, not timed: it is warm from here on
  rm -rf "$WORK/repo-warmup"
  warm backup --port="$PORT" --db="$db" --repo="$WORK/repo-warmup" --kek="$WORK/kek.json" --zstd-workers=2
  wid=$(sed -n 's/^backup_id=//p' <<<"$WARM_OUT")
  warm restore --port="$PORT" --db=r_warmup --repo="$WORK/repo-warmup" --kek="$WORK/kek.json" --id="$wid"
  "$BIN/dropdb" -f r_warmup; rm -rf "$WORK/repo-warmup"
  for round in $(seq 1 "$ROUNDS"); do
    # rotate the order every round: no contender always runs first after a pause
    order=(shell fc backstop nofp warm)
    k=$(( (round - 1) % 5 ))
    order=("${order[@]:$k}" "${order[@]:0:$k}")
    for who in "${order[@]}"; do
      quiesce postgres
      case $who in
        shell)
          c0=$(cpu); t0=$(now); "$BIN/pg_dump" -Fp "$db" | zstd -3 -T0 -q | sha256sum >/dev/null; t1=$(now); c1=$(cpu)
          s_shell=$(elapsed "$t0" "$t1"); cpu_shell=$(elapsed "$c0" "$c1") ;;
        fc)
          rm -f "$WORK/fc.dump"
          c0=$(cpu); t0=$(now); "$BIN/pg_dump" -Fc -f "$WORK/fc.dump" "$db"; t1=$(now); c1=$(cpu)
          s_fc=$(elapsed "$t0" "$t1"); cpu_fc=$(elapsed "$c0" "$c1") ;;
        backstop)
          rm -rf "$WORK/repo"
          c0=$(cpu); t0=$(now); out=$(bench backup --port="$PORT" --db="$db" --repo="$WORK/repo" --kek="$WORK/kek.json" --zstd-workers=2); t1=$(now); c1=$(cpu)
          s_bs=$(elapsed "$t0" "$t1"); cpu_bs=$(elapsed "$c0" "$c1")
          id=$(sed -n 's/^backup_id=//p' <<<"$out")
          stored=$(sed -n 's/^stored_bytes=//p' <<<"$out")
          plain=$(sed -n 's/^plaintext_bytes=//p' <<<"$out") ;;
        nofp)
          rm -rf "$WORK/repo-nofp"
          t0=$(now); bench backup --port="$PORT" --db="$db" --repo="$WORK/repo-nofp" --kek="$WORK/kek.json" --zstd-workers=2 --fingerprints=false >/dev/null; t1=$(now)
          s_nofp=$(elapsed "$t0" "$t1")
          rm -rf "$WORK/repo-nofp" ;;
        warm)
          rm -rf "$WORK/repo-warm"
          c0=$(cpu); t0=$(now); warm backup --port="$PORT" --db="$db" --repo="$WORK/repo-warm" --kek="$WORK/kek.json" --zstd-workers=2; t1=$(now); c1=$(cpu)
          s_bw=$(elapsed "$t0" "$t1"); cpu_bw=$(elapsed "$c0" "$c1")
          id_w=$(sed -n 's/^backup_id=//p' <<<"$WARM_OUT") ;;
      esac
    done
    # restores, rotating which goes first
    "$BIN/dropdb" --if-exists -f r_pg 2>/dev/null; "$BIN/dropdb" --if-exists -f r_bs 2>/dev/null
    "$BIN/dropdb" --if-exists -f r_bss 2>/dev/null; "$BIN/dropdb" --if-exists -f r_bsw 2>/dev/null
    order=(pg bs bss bsw)
    k=$(( (round - 1) % 4 ))
    order=("${order[@]:$k}" "${order[@]:0:$k}")
    for who in "${order[@]}"; do
      quiesce postgres
      if [ $who = bsw ]; then
        c0=$(cpu); t0=$(now); warm restore --port="$PORT" --db=r_bsw --repo="$WORK/repo-warm" --kek="$WORK/kek.json" --id="$id_w"; t1=$(now); c1=$(cpu)
        s_bwr=$(elapsed "$t0" "$t1")
      elif [ $who = bss ]; then
        t0=$(now); bench restore --port="$PORT" --db=r_bss --repo="$WORK/repo" --kek="$WORK/kek.json" --id="$id" --streaming=false >/dev/null; t1=$(now)
        s_bss=$(elapsed "$t0" "$t1")
      elif [ $who = pg ]; then
        "$BIN/createdb" r_pg
        c0=$(cpu); t0=$(now); "$BIN/pg_restore" -j2 -d r_pg "$WORK/fc.dump"; t1=$(now); c1=$(cpu)
        s_pgr=$(elapsed "$t0" "$t1"); cpu_pgr=$(elapsed "$c0" "$c1")
      else
        c0=$(cpu); t0=$(now); bench restore --port="$PORT" --db=r_bs --repo="$WORK/repo" --kek="$WORK/kek.json" --id="$id" >/dev/null; t1=$(now); c1=$(cpu)
        s_bsr=$(elapsed "$t0" "$t1"); cpu_bsr=$(elapsed "$c0" "$c1")
      fi
    done
    "$BIN/dropdb" -f r_pg; "$BIN/dropdb" -f r_bs; "$BIN/dropdb" -f r_bss; "$BIN/dropdb" -f r_bsw
    echo "${db}_round${round}: shell=${s_shell}s pg_dump_fc=${s_fc}s backstop=${s_bs}s backstop_no_fingerprints=${s_nofp}s backstop_warm_jvm=${s_bw}s pg_restore_j2=${s_pgr}s backstop_restore=${s_bsr}s backstop_restore_spooled=${s_bss}s backstop_restore_warm_jvm=${s_bwr}s; busy CPU: shell=${cpu_shell}s pg_dump_fc=${cpu_fc}s backstop=${cpu_bs}s pg_restore_j2=${cpu_pgr}s backstop_restore=${cpu_bsr}s" >&2
    c_shell+=("$cpu_shell"); c_fc+=("$cpu_fc"); c_bs+=("$cpu_bs"); c_bw+=("$cpu_bw"); c_pgr+=("$cpu_pgr"); c_bsr+=("$cpu_bsr")
    floor_backup+=("$(awk -v c="$cpu_bs" -v n="$CORES" -v w="$s_shell" 'BEGIN { printf "%.3f", c / n / w }')")
    floor_restore+=("$(awk -v c="$cpu_bsr" -v n="$CORES" -v w="$s_pgr" 'BEGIN { printf "%.3f", c / n / w }')")
    bw+=("$s_bw"); bwr+=("$s_bwr"); r_warm+=("$(ratio "$s_bw" "$s_shell")"); r_warm_rest+=("$(ratio "$s_bwr" "$s_pgr")")
    shell+=("$s_shell"); fc+=("$s_fc"); bs+=("$s_bs"); nofp+=("$s_nofp"); pgr+=("$s_pgr"); bsr+=("$s_bsr"); bss+=("$s_bss")
    r_shell+=("$(ratio "$s_bs" "$s_shell")"); r_fc+=("$(ratio "$s_bs" "$s_fc")"); r_rest+=("$(ratio "$s_bsr" "$s_pgr")")
    r_nofp+=("$(ratio "$s_nofp" "$s_shell")"); r_spool+=("$(ratio "$s_bss" "$s_pgr")")
  done
  echo "${db}_backstop_plaintext_bytes=$plain"
  echo "${db}_backstop_stored_bytes=$stored"
  echo "${db}_backstop_compression_ratio=$(ratio "$plain" "$stored")"
  echo "${db}_fc_dump_bytes=$(stat -c %s "$WORK/fc.dump")"
  echo "${db}_shell_backup_median_s=$(median "${shell[@]}")"
  echo "${db}_pg_dump_fc_median_s=$(median "${fc[@]}")"
  echo "${db}_backstop_backup_median_s=$(median "${bs[@]}")"
  echo "${db}_backstop_no_fingerprints_median_s=$(median "${nofp[@]}")"
  echo "${db}_pg_restore_j2_median_s=$(median "${pgr[@]}")"
  echo "${db}_backstop_restore_median_s=$(median "${bsr[@]}")"
  echo "${db}_backstop_restore_spooled_median_s=$(median "${bss[@]}")"
  echo "${db}_backstop_warm_jvm_backup_median_s=$(median "${bw[@]}")"
  echo "${db}_backstop_warm_jvm_restore_median_s=$(median "${bwr[@]}")"
  echo "${db}_shell_cpu_s=$(median "${c_shell[@]}")"
  echo "${db}_pg_dump_fc_cpu_s=$(median "${c_fc[@]}")"
  echo "${db}_backstop_backup_cpu_s=$(median "${c_bs[@]}")"
  echo "${db}_backstop_warm_jvm_backup_cpu_s=$(median "${c_bw[@]}")"
  echo "${db}_pg_restore_j2_cpu_s=$(median "${c_pgr[@]}")"
  echo "${db}_backstop_restore_cpu_s=$(median "${c_bsr[@]}")"
  echo "${db}_backup_cpu_floor_vs_shell=$(median "${floor_backup[@]}")"
  echo "${db}_restore_cpu_floor_vs_pg_restore_j2=$(median "${floor_restore[@]}")"
  echo "${db}_ratio_backup_vs_shell=$(median "${r_shell[@]}")"
  echo "${db}_ratio_backup_vs_pg_dump_fc=$(median "${r_fc[@]}")"
  echo "${db}_ratio_backup_no_fingerprints_vs_shell=$(median "${r_nofp[@]}")"
  echo "${db}_ratio_restore_vs_pg_restore_j2=$(median "${r_rest[@]}")"
  echo "${db}_ratio_restore_spooled_vs_pg_restore_j2=$(median "${r_spool[@]}")"
  echo "${db}_ratio_warm_jvm_backup_vs_shell=$(median "${r_warm[@]}")"
  echo "${db}_ratio_warm_jvm_restore_vs_pg_restore_j2=$(median "${r_warm_rest[@]}")"
  WORST=$(awk -v a="$WORST" -v b="$(median "${r_shell[@]}")" 'BEGIN { print (b > a ? b : a) }')
done
echo "cores=$CORES rounds=$ROUNDS pgbench_scale=$SCALE realistic_size=$RSIZE load_average=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"
echo "ratio_backup_vs_shell=$WORST"
results_end
