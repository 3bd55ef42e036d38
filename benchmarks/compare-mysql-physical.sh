#!/usr/bin/env bash
# Backstop's MariaDB physical backup and restore against mariadb-backup in the shell, on one machine,
# interleaved round by round so that a slow moment of a shared VM hits every contender alike.
#
#   backup:  Backstop (MariaDbBackupSource: mariadb-backup --backup --stream=xbstream, its binlog
#            coordinates read from the stream -> zstd-3 on as many workers as cores -> SHA-256 ->
#            AES-GCM -> local repository), fresh JVM
#            vs mariadb-backup --backup --stream=xbstream | zstd -3 -T0 > file
#   restore: Backstop (MariaDbPhysicalRestore.toDataDirectory: verified fetch, the xbstream extracted
#            in the JVM, mariadb-backup --prepare, --move-back into a fresh data directory), fresh JVM
#            vs zstd -d | mbstream -x, mariadb-backup --prepare, --move-back into a fresh data directory
#            Both place the prepared copy with --move-back from a directory on the target's file
#            system, as Backstop does: --copy-back would add a whole copy of the data to the shell's
#            time only. Both run mariadb-backup with the same --parallel and --prepare memory.
#
# Every restore is checked for exactness, untimed: a mariadbd started on the restored data directory
# must hold every table of both fixtures with the source's row count and CHECKSUM TABLE ... EXTENDED.
#
# Fixtures: one server holding both of compare-mysql.sh's databases, "realistic" (--realistic-size of
# table data and indexes, default 1536MiB) and "sysbench" (--sysbench-rows rows in each of 4 tables);
# a physical backup takes the whole server. Starts and stops its own mariadbd (--no-defaults, random
# loopback port, data in --work). Prints medians, busy CPU per contender (machine-wide, all processes,
# from /proc/stat) and same-round ratios as key=value lines, also written to --out=FILE (default
# benchmarks/target/results/) with a PNG chart next to it; the last line is ratio_backup_vs_shell=<x>
# (target <= 1.0), the one before it ratio_restore_vs_shell=<x> (target <= 1.0). Backstop's fresh JVMs
# start with class-data sharing, as compare-mysql.sh's and the packaged command line have it, recorded
# by one untimed backup and restore of the server before the fixtures are loaded (--no-cds: without).
#
# Usage: benchmarks/compare-mysql-physical.sh [--rounds=3] [--realistic-size=1536MiB] [--sysbench-rows=2000000]
#                                             [--parallel=2] [--work=DIR] [--keep] [--no-cds] [--out=FILE]
# Quick check (a few minutes): benchmarks/compare-mysql-physical.sh --rounds=1 --realistic-size=30MiB --sysbench-rows=20000
set -euo pipefail

# lib.sh's results file, chart and arithmetic; sourced without arguments: the options differ
load_lib() { source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"; }
load_lib
# the options above, the server, its fixtures and the exactness check
source "$(dirname "${BASH_SOURCE[0]}")/lib-mariadb.sh" "$@"
PARALLEL=2
for a in "${MORE_ARGS[@]}"; do
  case "$a" in
    --parallel=*) PARALLEL=${a#*=} ;;
    *) echo "unknown option '$a' (see the header of $0)" >&2; exit 2 ;;
  esac
done
for t in mariadb-install-db mariadbd mariadb mariadb-backup mbstream zstd java join; do
  command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || { echo "error: $t not found" >&2; exit 2; }
done
CORES=$(nproc)

mariadb_work /tmp/backstop-mysqlphys-XXXXXX
build_bench
echo "# load average before: $(uptime)" >&2
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)
start_server
# mariadb-backup reads its own group, as Backstop's private option file gives it
client_cnf "$WORK/backup.cnf" mariadb-backup "$PORT"
# class-data archives of a physical backup and restore (lib.sh), recorded while the server holds only
# its system tables, so the untimed training runs are short
cds_train mariadb-physical-backup dev.backstop.benchmarks.MariaDbBench physical-backup --port="$PORT" --repo="$WORK/repo-cds" \
    --kek="$WORK/kek.json" --zstd-workers="$CORES" --parallel="$PARALLEL" --work="$WORK"
cds_train mariadb-physical-restore dev.backstop.benchmarks.MariaDbBench physical-restore --repo="$WORK/repo-cds" \
    --kek="$WORK/kek.json" --id="$(ls "$WORK/repo-cds/backups" | grep -v '^probe' | head -1)" --datadir="$WORK/cds-restore"
rm -rf "$WORK/repo-cds" "$WORK/cds-restore"
echo "# loading fixtures ($RROWS customers, 4 x $SROWS sbtest rows)" >&2
load_realistic
load_sysbench
results_begin compare-mysql-physical
echo "load_average_before=$LOAD_BEFORE"
echo "server_db_bytes=$(sql -e "SELECT SUM(DATA_LENGTH + INDEX_LENGTH) FROM information_schema.TABLES")"

# exact_restored VAR DATADIR: sets VAR to the verdict on both fixtures of a server started on DATADIR
# (against the source), then stops that server
exact_restored() {
  local v1 v2
  start_restored "$2"
  v1=$(exact_on "$WORK/client.cnf" realistic "$WORK/restored.cnf" realistic)
  v2=$(exact_on "$WORK/client.cnf" sysbench "$WORK/restored.cnf" sysbench)
  stop_server "$RDB"
  if [ "$v1" = exact ] && [ "$v2" = exact ]; then printf -v "$1" exact; else printf -v "$1" '%s' "realistic:$v1;sysbench:$v2"; fi
}

shell_backup() {
  mkdir -p "$WORK/out/shell-tmp"
  mariadb-backup --defaults-file="$WORK/backup.cnf" --backup --stream=xbstream --target-dir="$WORK/out/shell-tmp/target" \
      --tmpdir="$WORK/out/shell-tmp" --parallel="$PARALLEL" 2>"$WORK/out/shell-backup.log" | zstd -3 -T0 -q > "$WORK/out/shell.xbstream.zst"
  rm -rf "$WORK/out/shell-tmp"
}
backstop_backup() {
  bench physical-backup --port="$PORT" --repo="$WORK/out/repo" --kek="$WORK/kek.json" --zstd-workers="$CORES" \
      --parallel="$PARALLEL" --work="$WORK/out" > "$WORK/out/backstop.txt"
}
shell_restore() {
  local x="$WORK/out/.restore-shell.extracting"
  mkdir -p "$x"
  zstd -d -q -c "$WORK/out/shell.xbstream.zst" | mbstream -x -C "$x"
  mariadb-backup --no-defaults --prepare --target-dir="$x" >"$WORK/out/shell-prepare.log" 2>&1
  mariadb-backup --no-defaults --move-back --target-dir="$x" --datadir="$WORK/out/restore-shell" >"$WORK/out/shell-move.log" 2>&1
  rm -rf "$x"
}
backstop_restore() {
  bench physical-restore --repo="$WORK/out/repo" --kek="$WORK/kek.json" --id="$id" --datadir="$WORK/out/restore-bs" \
      > "$WORK/out/backstop-restore.txt"
}

declare -a shell=() bs=() rs=() bsr=() c_shell=() c_bs=() c_rs=() c_bsr=() r_bs=() r_bsr=() floor=() x_rs=() x_bsr=()
for round in $(seq 1 "$ROUNDS"); do
  rm -rf "$WORK/out"; mkdir -p "$WORK/out"
  # alternate which goes first: neither always runs first after a pause
  if [ $(( round % 2 )) = 1 ]; then order=(shell bs); else order=(bs shell); fi
  for who in "${order[@]}"; do
    case $who in
      shell) timed shell shell_backup ;;
      bs) timed bs backstop_backup ;;
    esac
  done
  id=$(sed -n 's/^id=//p' "$WORK/out/backstop.txt")
  for who in "${order[@]}"; do
    case $who in
      shell) timed rs shell_restore ;;
      bs) timed bsr backstop_restore ;;
    esac
  done
  exact_restored X_rs "$WORK/out/restore-shell"; exact_restored X_bsr "$WORK/out/restore-bs"
  echo "# round ${round}: shell=${S_shell}s backstop=${S_bs}s shell_restore=${S_rs}s(${X_rs}) backstop_restore=${S_bsr}s(${X_bsr}); busy CPU: shell=${C_shell}s backstop=${C_bs}s shell_restore=${C_rs}s backstop_restore=${C_bsr}s; backstop restore: $(grep -v '^stream_bytes' "$WORK/out/backstop-restore.txt" | tr '\n' ' ')" >&2
  if [ "$round" = 1 ]; then
    echo "server_mariadb_backup_shell_stored_bytes=$(stat -c %s "$WORK/out/shell.xbstream.zst")"
    echo "server_backstop_plaintext_bytes=$(sed -n 's/^plaintext_bytes=//p' "$WORK/out/backstop.txt")"
    echo "server_backstop_stored_bytes=$(sed -n 's/^stored_bytes=//p' "$WORK/out/backstop.txt")"
  fi
  shell+=("$S_shell"); bs+=("$S_bs"); rs+=("$S_rs"); bsr+=("$S_bsr")
  c_shell+=("$C_shell"); c_bs+=("$C_bs"); c_rs+=("$C_rs"); c_bsr+=("$C_bsr")
  x_rs+=("$X_rs"); x_bsr+=("$X_bsr")
  r_bs+=("$(ratio "$S_bs" "$S_shell")"); r_bsr+=("$(ratio "$S_bsr" "$S_rs")")
  floor+=("$(awk -v c="$C_bs" -v n="$CORES" -v s="$S_shell" 'BEGIN { printf "%.3f", c / n / s }')")
done
rm -rf "$WORK/out"
# exact in every round, or the first inexact verdict
verdict() { local v; for v in "$@"; do [ "$v" = exact ] || { echo "$v"; return; }; done; echo exact; }
echo "server_shell_backup_median_s=$(median "${shell[@]}")"
echo "server_backstop_backup_median_s=$(median "${bs[@]}")"
echo "server_shell_restore_median_s=$(median "${rs[@]}")"
echo "server_backstop_restore_median_s=$(median "${bsr[@]}")"
echo "server_shell_cpu_s=$(median "${c_shell[@]}")"
echo "server_backstop_backup_cpu_s=$(median "${c_bs[@]}")"
echo "server_shell_restore_cpu_s=$(median "${c_rs[@]}")"
echo "server_backstop_restore_cpu_s=$(median "${c_bsr[@]}")"
echo "server_backup_cpu_floor_vs_shell=$(median "${floor[@]}")"
echo "server_shell_restore_exact=$(verdict "${x_rs[@]}")"
echo "server_backstop_restore_exact=$(verdict "${x_bsr[@]}")"
echo "cores=$CORES rounds=$ROUNDS parallel=$PARALLEL realistic_size=$RSIZE realistic_customers=$RROWS sysbench_rows=$SROWS"
echo "load_average_after=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"
echo "# load average after: $(uptime)" >&2
echo "ratio_restore_vs_shell=$(median "${r_bsr[@]}")"
echo "ratio_backup_vs_shell=$(median "${r_bs[@]}")"
results_end
