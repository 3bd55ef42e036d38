#!/usr/bin/env bash
# Backstop's physical (base) backup and restore against pgBackRest and the plain shell pipeline, on one
# machine, interleaved round by round so that a slow moment of a shared VM hits every contender alike.
#
#   backup:  Backstop (DataDirectorySource: reads the data directory between pg_backup_start and
#            pg_backup_stop, tar as pg_basebackup -Ft -X fetch writes it -> zstd-3 with 2 workers -> SHA-256 ->
#            AES-GCM -> local repository)
#            vs pgBackRest full (zst level 3, process-max 2, aes-256-cbc)
#            vs pg_basebackup -D - -Ft -X fetch | zstd -3 -T0
#            vs Backstop with BaseBackupSource (pg_basebackup -Ft -X fetch piped into the same pipeline),
#               the backstop_basebackup column
#   restore: Backstop's DataDirectorySource backup (fetch + verify digests/AEAD + extract with CRC-32C against backup_manifest + pg_verifybackup --skip-checksums)  vs  pgBackRest restore
#
#   incremental round, after the full rounds of each fixture: a Backstop full and a pgBackRest full, then
#            six days of one stated, deterministic change (day_change in lib.sh: about 5 % of the pages as an
#            application changes them on the realistic fixture; 5 % of the accounts updated at random by
#            pgbench transactions, the worst case for page-level increments, on the pgbench fixture), each
#            followed by Backstop incr and pgBackRest --type=incr (interleaved; on day 1 also pgBackRest
#            --type=diff): wall time, busy CPU (whole machine) and stored bytes; then the restore of the
#            full + 6 increments, Backstop's vs pgBackRest's. The cluster runs with wal_log_hints=on, which
#            Backstop's increments need.
#
# Fixtures, one cluster each: pgbench at --pgbench-scale (default 100, ~1.5 GB) and the realistic
# application-like database of backup-testkit (RealisticFixture) at --realistic-size (default 1536MiB).
# Installs pgbackrest with apt-get if missing. Starts and stops its own PostgreSQL (trust auth on
# 127.0.0.1, a random port, data in --work). Prints medians and same-round ratios as key=value lines,
# also written to --out=FILE (default benchmarks/target/results/) with a PNG chart next to it;
# the last line is ratio_backup_vs_pgbackrest=<x>, the worse of the two fixtures for the backstop
# (DataDirectorySource) column.
#
# Usage: benchmarks/compare-physical.sh [--rounds=3] [--pgbench-scale=100] [--realistic-size=1536MiB]
#                                       [--work=DIR] [--keep] [--no-cds] [--out=FILE]
# Quick check (a few minutes): benchmarks/compare-physical.sh --pgbench-scale=5 --realistic-size=80MiB
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_pg initdb pg_ctl pg_basebackup pg_verifybackup psql pgbench createdb
if ! command -v pgbackrest >/dev/null; then
  echo "# installing pgbackrest" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pgbackrest >&2
fi
require zstd java pgbackrest

WORK=${WORK:-$(mktemp -d /tmp/backstop-physbench-XXXXXX)}
mkdir -p "$WORK"
chmod 755 "$WORK"
PGDIR="$WORK/pg"

cleanup() {
  "${AS[@]}" "$BIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1 || true
  if [ "$KEEP" = 0 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

build_testkit
results_begin compare-physical
bench() { java $(cds "physical-$1") -cp "$CP" dev.backstop.benchmarks.PhysicalBench "$@"; }
# the datadir backup loads other classes than the pg_basebackup one: a class-data archive of its own
bench_datadir() { java $(cds physical-datadir) -cp "$CP" dev.backstop.benchmarks.PhysicalBench backup --source=datadir --pgdata="$PGDIR/data" "$@"; }
load() { java -cp "$CP" dev.backstop.benchmarks.LogicalBench "$@"; }

free_port
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres


start_cluster() {
  rm -rf "$PGDIR"; mkdir -p "$PGDIR"; [ "$(id -u)" = 0 ] && chown postgres: "$PGDIR"
  as_pg "$BIN/initdb" -D "$PGDIR/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
  as_pg "$BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 start \
    -o "-p $PORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
        -c shared_buffers=256MB -c max_wal_size=8GB -c checkpoint_timeout=1h -c maintenance_work_mem=256MB \
        -c archive_mode=on -c archive_command=/bin/true -c wal_log_hints=on" >/dev/null
  echo "# server $("$BIN/psql" -Atc 'SHOW server_version' postgres) on port $PORT, work dir $WORK" >&2
}

# pgBackRest: repository and configuration owned by the server's OS user, WAL archive check off
# (archiving is out of scope of this comparison: Backstop's base backup carries its WAL with -X fetch)
pgbr_setup() {
  rm -rf "$WORK/pgbr"; mkdir -p "$WORK/pgbr/repo" "$WORK/pgbr/log" "$WORK/pgbr/lock"
  cat > "$WORK/pgbr/pgbackrest.conf" <<CONF
[global]
repo1-path=$WORK/pgbr/repo
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=backstop-benchmark-not-a-secret
compress-type=zst
compress-level=3
process-max=2
start-fast=y
archive-check=n
repo1-retention-full=1
log-path=$WORK/pgbr/log
lock-path=$WORK/pgbr/lock
log-level-console=warn

[bench]
pg1-path=$PGDIR/data
pg1-port=$PORT
pg1-socket-path=$PGDIR
CONF
  [ "$(id -u)" = 0 ] && chown -R postgres: "$WORK/pgbr"
  as_pg pgbackrest --config="$WORK/pgbr/pgbackrest.conf" --stanza=bench stanza-create >&2
}
pgbr() { as_pg pgbackrest --config="$WORK/pgbr/pgbackrest.conf" --stanza=bench "$@"; }

# incremental_round FIXTURE: see the header; sets INCR_RATIO (median day's time ratio Backstop incr / pgBackRest incr)
incremental_round() {
  local f=$1 day t0 t1 c0 c1 out b0 b1
  local bi=() bic=() bib=() pi=() pic=() pib=() rt=() rb=() rownt=() rownb=()
  rm -rf "$WORK/repo-inc"
  quiesce postgres
  t0=$(now); out=$(bench_datadir --backup-level=full --port="$PORT" --repo="$WORK/repo-inc" --kek="$WORK/kek.json" --zstd-workers=2); t1=$(now)
  local own_full_s own_full_b
  own_full_s=$(elapsed "$t0" "$t1"); own_full_b=$(sed -n 's/^stored_bytes=//p' <<<"$out")
  pgbr --type=full backup
  for day in 1 2 3 4 5 6; do
    day_change "$f" "$day"
    quiesce postgres
    for who in $([ $(( day % 2 )) = 1 ] && echo "backstop pgbackrest" || echo "pgbackrest backstop"); do
      if [ "$who" = backstop ]; then
        c0=$(cpu); t0=$(now)
        out=$(bench_datadir --backup-level=incr --port="$PORT" --repo="$WORK/repo-inc" --kek="$WORK/kek.json" --zstd-workers=2)
        t1=$(now); c1=$(cpu)
        bi+=("$(elapsed "$t0" "$t1")"); bic+=("$(elapsed "$c0" "$c1")"); bib+=("$(sed -n 's/^stored_bytes=//p' <<<"$out")")
      else
        b0=$(du -sb "$WORK/pgbr/repo" | cut -f1); c0=$(cpu); t0=$(now)
        pgbr --type=incr backup
        t1=$(now); c1=$(cpu); b1=$(du -sb "$WORK/pgbr/repo" | cut -f1)
        pi+=("$(elapsed "$t0" "$t1")"); pic+=("$(elapsed "$c0" "$c1")"); pib+=("$(( b1 - b0 ))")
      fi
    done
    rt+=("$(ratio "${bi[-1]}" "${pi[-1]}")"); rb+=("$(ratio "${bib[-1]}" "${pib[-1]}")")
    rownt+=("$(ratio "${bi[-1]}" "$own_full_s")"); rownb+=("$(ratio "${bib[-1]}" "$own_full_b")")
    echo "${f}_incr_day${day}: backstop=${bi[-1]}s/${bic[-1]}cpu-s/${bib[-1]}B pgbackrest=${pi[-1]}s/${pic[-1]}cpu-s/${pib[-1]}B" >&2
    if [ "$day" = 1 ]; then
      b0=$(du -sb "$WORK/pgbr/repo" | cut -f1); c0=$(cpu); t0=$(now)
      pgbr --type=diff backup
      t1=$(now); c1=$(cpu); b1=$(du -sb "$WORK/pgbr/repo" | cut -f1)
      echo "${f}_pgbackrest_diff_day1_s=$(elapsed "$t0" "$t1")"
      echo "${f}_pgbackrest_diff_day1_cpu_s=$(elapsed "$c0" "$c1")"
      echo "${f}_pgbackrest_diff_day1_bytes=$(( b1 - b0 ))"
      echo "${f}_ratio_incr_vs_pgbackrest_diff=$(ratio "${bi[-1]}" "$(elapsed "$t0" "$t1")")"
    fi
  done
  local newest
  newest=$(ls "$WORK/repo-inc/backups" | sort | tail -1)
  rm -rf "$WORK/restore-inc-bs" "$WORK/restore-inc-br"
  mkdir -p "$WORK/restore-inc-br"; chmod 700 "$WORK/restore-inc-br"; [ "$(id -u)" = 0 ] && chown postgres: "$WORK/restore-inc-br"
  t0=$(now); pgbr --pg1-path="$WORK/restore-inc-br" restore; t1=$(now)
  local chain_br chain_bs
  chain_br=$(elapsed "$t0" "$t1")
  t0=$(now); bench restore --repo="$WORK/repo-inc" --kek="$WORK/kek.json" --id="$newest" --target="$WORK/restore-inc-bs" >/dev/null; t1=$(now)
  chain_bs=$(elapsed "$t0" "$t1")
  rm -rf "$WORK/restore-inc-bs" "$WORK/restore-inc-br"
  echo "${f}_backstop_own_full_s=$own_full_s"
  echo "${f}_backstop_own_full_bytes=$own_full_b"
  echo "${f}_backstop_incr_median_s=$(median "${bi[@]}")"
  echo "${f}_backstop_incr_median_cpu_s=$(median "${bic[@]}")"
  echo "${f}_backstop_incr_median_bytes=$(median "${bib[@]}")"
  echo "${f}_pgbackrest_incr_median_s=$(median "${pi[@]}")"
  echo "${f}_pgbackrest_incr_median_cpu_s=$(median "${pic[@]}")"
  echo "${f}_pgbackrest_incr_median_bytes=$(median "${pib[@]}")"
  echo "${f}_backstop_chain_restore_s=$chain_bs"
  echo "${f}_pgbackrest_chain_restore_s=$chain_br"
  INCR_RATIO=$(median "${rt[@]}")
  echo "${f}_ratio_incr_vs_pgbackrest_incr=$INCR_RATIO"
  echo "${f}_ratio_incr_bytes_vs_pgbackrest_incr=$(median "${rb[@]}")"
  echo "${f}_ratio_incr_vs_own_full=$(median "${rownt[@]}")"
  echo "${f}_ratio_incr_bytes_vs_own_full=$(median "${rownb[@]}")"
  echo "${f}_ratio_chain_restore_vs_pgbackrest=$(ratio "$chain_bs" "$chain_br")"
  rm -rf "$WORK/repo-inc"
}

WORST=0
WORST_INCR=0
for fixture in pgbench realistic; do
  start_cluster
  if [ "$CDS" = 1 ] && [ ! -f "$WORK/physical-restore.jsa" ]; then
    echo "# recording the class-data archives: one untimed backup and restore of the empty cluster" >&2
    cds_train physical-backup dev.backstop.benchmarks.PhysicalBench backup --port="$PORT" --repo="$WORK/repo-cds" \
        --kek="$WORK/kek.json" --zstd-workers=2
    cds_train physical-restore dev.backstop.benchmarks.PhysicalBench restore --repo="$WORK/repo-cds" --kek="$WORK/kek.json" \
        --id="$(ls "$WORK/repo-cds/backups")" --target="$WORK/restore-cds"
    rm -rf "$WORK/repo-cds" "$WORK/restore-cds"
    # the datadir archive is recorded on an increment over a full backup: it loads what a full loads, plus the
    # parent's manifest read and decode that the incremental round's timed runs need
    java -cp "$CP" dev.backstop.benchmarks.PhysicalBench backup --source=datadir --pgdata="$PGDIR/data" --port="$PORT" \
        --repo="$WORK/repo-cds" --kek="$WORK/kek.json" --zstd-workers=2 >/dev/null 2>&1
    cds_train physical-datadir dev.backstop.benchmarks.PhysicalBench backup --source=datadir --pgdata="$PGDIR/data" --port="$PORT" \
        --repo="$WORK/repo-cds" --kek="$WORK/kek.json" --zstd-workers=2 --backup-level=incr
    rm -rf "$WORK/repo-cds"
  fi
  if [ "$fixture" = pgbench ]; then
    echo "# loading pgbench scale $SCALE" >&2
    "$BIN/pgbench" -i -q -s "$SCALE" postgres >/dev/null 2>&1
  else
    echo "# loading the realistic fixture at $RSIZE" >&2
    load load --port="$PORT" --db=postgres --size="$RSIZE" >/dev/null
  fi
  "$BIN/psql" -q -c 'VACUUM ANALYZE' postgres
  "$BIN/psql" -q -c 'CHECKPOINT' postgres
  pgbr_setup
  size=$("$BIN/psql" -Atc "SELECT sum(pg_database_size(oid)) FROM pg_database" postgres)
  echo "${fixture}_cluster_bytes=$size"
  sh=(); br=(); bs=(); bb=(); brr=(); bsr=(); r_br=(); r_bb=(); r_sh=(); r_rest=()
  for round in $(seq 1 "$ROUNDS"); do
    order=(shell pgbackrest backstop backstop_basebackup)
    k=$(( (round - 1) % 4 ))
    order=("${order[@]:$k}" "${order[@]:0:$k}")
    for who in "${order[@]}"; do
      case $who in
        shell)
          rm -f "$WORK/base.tar.zst"
          t0=$(now); "$BIN/pg_basebackup" -D - -Ft -X fetch -c fast | zstd -3 -T0 -q > "$WORK/base.tar.zst"; t1=$(now)
          s_sh=$(elapsed "$t0" "$t1") ;;
        pgbackrest)
          t0=$(now); pgbr --type=full backup; t1=$(now)
          s_br=$(elapsed "$t0" "$t1") ;;
        backstop)
          rm -rf "$WORK/repo"
          t0=$(now); out=$(bench_datadir --port="$PORT" --repo="$WORK/repo" --kek="$WORK/kek.json" --zstd-workers=2); t1=$(now)
          s_bs=$(elapsed "$t0" "$t1")
          id=$(sed -n 's/^backup_id=//p' <<<"$out")
          stored=$(sed -n 's/^stored_bytes=//p' <<<"$out")
          plain=$(sed -n 's/^plaintext_bytes=//p' <<<"$out") ;;
        backstop_basebackup)
          rm -rf "$WORK/repo-bb"
          t0=$(now); bench backup --source=basebackup --port="$PORT" --repo="$WORK/repo-bb" --kek="$WORK/kek.json" \
              --zstd-workers=2 >/dev/null; t1=$(now)
          s_bb=$(elapsed "$t0" "$t1")
          rm -rf "$WORK/repo-bb" ;;
      esac
    done
    if [ $(( round % 2 )) = 1 ]; then first=br; else first=bs; fi
    for who in $first $([ $first = br ] && echo bs || echo br); do
      rm -rf "$WORK/restore-$who"
      if [ $who = br ]; then
        mkdir -p "$WORK/restore-br"; chmod 700 "$WORK/restore-br"; [ "$(id -u)" = 0 ] && chown postgres: "$WORK/restore-br"
        t0=$(now); pgbr --pg1-path="$WORK/restore-br" restore; t1=$(now)
        s_brr=$(elapsed "$t0" "$t1")
      else
        t0=$(now); bench restore --repo="$WORK/repo" --kek="$WORK/kek.json" --id="$id" --target="$WORK/restore-bs" >/dev/null; t1=$(now)
        s_bsr=$(elapsed "$t0" "$t1")
      fi
      rm -rf "$WORK/restore-$who"
    done
    echo "${fixture}_round${round}: shell=${s_sh}s pgbackrest=${s_br}s backstop=${s_bs}s backstop_basebackup=${s_bb}s pgbackrest_restore=${s_brr}s backstop_restore=${s_bsr}s" >&2
    sh+=("$s_sh"); br+=("$s_br"); bs+=("$s_bs"); bb+=("$s_bb"); brr+=("$s_brr"); bsr+=("$s_bsr")
    r_br+=("$(ratio "$s_bs" "$s_br")"); r_bb+=("$(ratio "$s_bb" "$s_br")"); r_sh+=("$(ratio "$s_sh" "$s_br")"); r_rest+=("$(ratio "$s_bsr" "$s_brr")")
  done
  echo "${fixture}_backstop_plaintext_bytes=$plain"
  echo "${fixture}_backstop_stored_bytes=$stored"
  echo "${fixture}_shell_backup_median_s=$(median "${sh[@]}")"
  echo "${fixture}_pgbackrest_backup_median_s=$(median "${br[@]}")"
  echo "${fixture}_backstop_backup_median_s=$(median "${bs[@]}")"
  echo "${fixture}_backstop_basebackup_backup_median_s=$(median "${bb[@]}")"
  echo "${fixture}_pgbackrest_restore_median_s=$(median "${brr[@]}")"
  echo "${fixture}_backstop_restore_median_s=$(median "${bsr[@]}")"
  echo "${fixture}_ratio_shell_vs_pgbackrest=$(median "${r_sh[@]}")"
  echo "${fixture}_ratio_backup_vs_pgbackrest=$(median "${r_br[@]}")"
  echo "${fixture}_ratio_backstop_basebackup_vs_pgbackrest=$(median "${r_bb[@]}")"
  echo "${fixture}_ratio_restore_vs_pgbackrest=$(median "${r_rest[@]}")"
  WORST=$(awk -v a="$WORST" -v b="$(median "${r_br[@]}")" 'BEGIN { print (b > a ? b : a) }')
  incremental_round "$fixture"
  WORST_INCR=$(awk -v a="$WORST_INCR" -v b="$INCR_RATIO" 'BEGIN { print (b > a ? b : a) }')
  as_pg "$BIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null
done
echo "rounds=$ROUNDS pgbench_scale=$SCALE realistic_size=$RSIZE"
echo "ratio_incr_vs_pgbackrest_incr=$WORST_INCR"
echo "ratio_backup_vs_pgbackrest=$WORST"
results_end
