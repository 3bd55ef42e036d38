#!/usr/bin/env bash
# Backstop's MariaDB logical backup and restore against the tools MariaDB users already run, on one
# machine, interleaved round by round so that a slow moment of a shared VM hits every contender alike.
#
#   backup:  Backstop (MariaDbDumpSource: mariadb-dump --single-transaction at its binlog position,
#            fingerprints read from the dump stream -> zstd-3 on as many workers as cores, as zstd -T0
#            has them -> SHA-256 -> AES-GCM -> local repository), fresh JVM
#            vs mariadb-dump --single-transaction ... | zstd -3 -T0 | sha256sum   (the shell pipeline)
#            vs mydumper -t 2 (Debian's 0.10.1; installed with apt-get if missing; without -R -E -G, as
#               the fixtures have no routines, events or triggers)
#            plus Backstop without fingerprints, to show what the fingerprints cost, and the same
#            Backstop backup in one long-lived JVM (a service embedding the library: its first backup
#            and restore of each fixture warm it up untimed; every other Backstop run is a fresh JVM,
#            as the command line is)
#   restore: Backstop (MariaDbRestore: verified stream into a staging database, then moved), fresh JVM
#            and long-lived JVM, vs mariadb < dump.sql   vs   myloader -t 2
#   physical (part "physical", before the logical rounds): compare-mysql-physical.sh with the same
#            --rounds, --realistic-size, --sysbench-rows: Backstop's mariadb-backup backup vs
#            mariadb-backup --backup --stream=xbstream | zstd -3 -T0, its restore vs zstd -d | mbstream -x,
#            --prepare and --move-back; its lines prefixed physical_ (physical_ratio_backup_vs_shell,
#            physical_ratio_restore_vs_shell, target <= 1.0 each), its own results file and chart besides
#   binlog RPO (part "binlog-rpo", before the logical rounds): measure-binlog-rpo.sh --seconds=
#            --rpo-seconds: the lag from a commit to the archive holding it under a write load,
#            binlog_rpo_p50_ms and binlog_rpo_p99_ms (target p99 < 1000)
#
# The binary log during restores: myloader 0.10 writes none by default (myloader --help:
# "-e, --enable-binlog  Enable binary logging of the restore data", off unless given), so every
# restore here runs without it: mariadb with SET sql_log_bin=0 as its init command (its CREATE
# DATABASE too), Backstop with writeBinlog(false). *_binlog_bytes, the growth of the server's binlog
# files over each restore, shows it held in the run (a few hundred bytes at most). A restore whose
# rows must reach replicas writes them to the binlog, which costs every contender alike.
#
# Every restore is checked for exactness against the source (row count and CHECKSUM TABLE of every
# table): a restore that lost data is reported as inexact next to its time. myloader 0.10 runs
# non-strict and is known to turn UUID/INET columns into zero values with only warnings.
#
# Fixtures: "realistic" (application-like: customers with JSON profiles, UUID and INET6 columns and a
# unique email, orders with JSON lines, BLOB invoices, DECIMAL totals, a secondary index and a foreign
# key; --realistic-size of table data and indexes, default 1536MiB) and "sysbench" (sbtest-like
# tables; --sysbench-rows rows in each of 4 tables). Starts and stops its own mariadbd (--no-defaults,
# random loopback port, data in --work). Prints medians, busy CPU per contender (machine-wide, all
# processes) and same-round ratios as key=value lines, also written to --out=FILE (default
# benchmarks/target/results/) with a PNG chart next to it; the last two lines are
# ratio_backup_longlived_vs_shell=<x> and ratio_backup_vs_shell=<x> (realistic fixture). Fresh
# JVMs start with class-data sharing, as the packaged command line has it (--no-cds: without).
#
# Usage: benchmarks/compare-mysql.sh [--rounds=3] [--realistic-size=1536MiB] [--sysbench-rows=2000000]
#                                    [--parts=logical,physical,binlog-rpo] [--rpo-seconds=60]
#                                    [--work=DIR] [--keep] [--no-cds] [--out=FILE]
# Quick check (a few minutes): benchmarks/compare-mysql.sh --rounds=1 --realistic-size=30MiB --sysbench-rows=20000 --rpo-seconds=10
# Logical only: --parts=logical
set -euo pipefail

# lib.sh's results file, chart and arithmetic; sourced without arguments: the options differ
load_lib() { source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"; }
load_lib
# the options above, the server, its fixtures and the exactness check
source "$(dirname "${BASH_SOURCE[0]}")/lib-mariadb.sh" "$@"
PARTS=logical,physical,binlog-rpo
RPO_SECONDS=60
for a in "${MORE_ARGS[@]}"; do
  case "$a" in
    --parts=*) PARTS=${a#*=} ;;
    --rpo-seconds=*) RPO_SECONDS=${a#*=} ;;
    *) echo "unknown option '$a' (see the header of $0)" >&2; exit 2 ;;
  esac
done
for p in ${PARTS//,/ }; do
  case "$p" in
    logical|physical|binlog-rpo) ;;
    *) echo "--parts: got '$p' in '$PARTS', allowed: logical, physical, binlog-rpo (comma-separated)" >&2; exit 2 ;;
  esac
done
[[ "$RPO_SECONDS" =~ ^[1-9][0-9]*$ ]] || { echo "--rpo-seconds: got '$RPO_SECONDS', expected a whole number of seconds > 0" >&2; exit 2; }
part() { [[ ",$PARTS," == *",$1,"* ]]; }

if ! command -v mydumper >/dev/null || ! command -v myloader >/dev/null; then
  echo "# installing mydumper" >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mydumper >&2
fi
for t in mariadb-install-db mariadbd mariadb mariadb-dump mydumper myloader zstd sha256sum java join; do
  command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || { echo "error: $t not found" >&2; exit 2; }
done

CORES=$(nproc)
mariadb_work /tmp/backstop-mysqlbench-XXXXXX

build_bench
echo "# load average before: $(uptime)" >&2
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)
results_begin compare-mysql
echo "load_average_before=$LOAD_BEFORE"
echo "parts=$PARTS"
# the other parts first, each with its own server, work directory, results file and chart beside this one's
if part physical; then
  echo "# part physical: benchmarks/compare-mysql-physical.sh" >&2
  env -u WORK "$ROOT/benchmarks/compare-mysql-physical.sh" --rounds="$ROUNDS" --realistic-size="$RSIZE" --sysbench-rows="$SROWS" \
      $([ "$CDS" = 1 ] || echo --no-cds) --out="${OUT%.txt}-physical.txt" | sed -u 's/^/physical_/'
fi
if part binlog-rpo; then
  echo "# part binlog-rpo: benchmarks/measure-binlog-rpo.sh" >&2
  env -u WORK "$ROOT/benchmarks/measure-binlog-rpo.sh" --seconds="$RPO_SECONDS" --out="${OUT%.txt}-binlog-rpo.txt" \
      | sed -u 's/^load_average/binlog_rpo_load_average/'
fi
if ! part logical; then
  results_end --no-chart
  exit 0
fi
start_server
echo "# loading fixtures ($RROWS customers, 4 x $SROWS sbtest rows)" >&2
load_realistic
load_sysbench
cds_mariadb
start_warm

RATIO_LAST=""; RATIO_LL=""
for fixture in realistic sysbench; do
  declare -a shell=() myd=() bs=() rs=() myl=() bsr=() c_shell=() c_myd=() c_bs=() c_rs=() c_myl=() c_bsr=() r_bs=() r_bsr=()
  declare -a r_bs_myd=() r_bsr_rs=() floor=() x_rs=() x_myl=() x_bsr=() nofp=() c_nofp=() r_nofp=()
  declare -a ll=() llr=() c_ll=() c_llr=() r_ll=() r_llr=() x_llr=() w_rs=() w_myl=() w_bsr=() w_llr=()
  echo "${fixture}_db_bytes=$(sql -e "SELECT SUM(DATA_LENGTH + INDEX_LENGTH) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$fixture'")"
  # the long-lived JVM's first backup and restore of this fixture, not timed: it is warm from here on
  rm -rf "$WORK/repo-warmup"
  warm backup --port="$PORT" --db="$fixture" --repo="$WORK/repo-warmup" --kek="$WORK/kek.json" --zstd-workers="$CORES"
  drop r_warmup
  warm restore --port="$PORT" --db=r_warmup --repo="$WORK/repo-warmup" --kek="$WORK/kek.json" \
      --id="$(sed -n 's/^id=//p' <<<"$WARM_OUT")" --binlog=false
  drop r_warmup; rm -rf "$WORK/repo-warmup"
  for round in $(seq 1 "$ROUNDS"); do
    rm -rf "$WORK/out"; mkdir -p "$WORK/out"
    shell_backup() { mariadb-dump --defaults-file="$WORK/client.cnf" --single-transaction --master-data=2 --gtid --routines \
        --events --triggers --hex-blob "$fixture" | zstd -3 -T0 -q | sha256sum >/dev/null; }
    mydumper_backup() { mydumper -h 127.0.0.1 -P "$PORT" -u bench -p "$PASSWORD" -B "$fixture" -t 2 -o "$WORK/out/mydumper" \
        --trx-consistency-only >/dev/null; }
    backstop_backup() { bench backup --port="$PORT" --db="$fixture" --repo="$WORK/out/repo" --kek="$WORK/kek.json" --zstd-workers="$CORES" \
        > "$WORK/out/backstop.txt"; }
    # the same without the fingerprints: what they cost
    backstop_nofp_backup() { bench backup --port="$PORT" --db="$fixture" --repo="$WORK/out/repo-nofp" --kek="$WORK/kek.json" --zstd-workers="$CORES" \
        --fingerprints=false >/dev/null; }
    # the same backup in the long-lived JVM: what the fresh JVM's start and warm-up cost
    longlived_backup() { warm backup --port="$PORT" --db="$fixture" --repo="$WORK/out/repo-ll" --kek="$WORK/kek.json" \
        --zstd-workers="$CORES"; }
    # rotate the order every round: no contender always runs first after a pause
    order=(shell myd bs nofp ll)
    k=$(( (round - 1) % 5 ))
    for who in "${order[@]:$k}" "${order[@]:0:$k}"; do
      case $who in
        shell) timed shell shell_backup ;;
        myd) timed myd mydumper_backup ;;
        bs) timed bs backstop_backup ;;
        nofp) timed nofp backstop_nofp_backup ;;
        ll) timed ll longlived_backup; id_ll=$(sed -n 's/^id=//p' <<<"$WARM_OUT") ;;
      esac
    done
    id=$(sed -n 's/^id=//p' "$WORK/out/backstop.txt")
    # the plain dump mariadb restores from is made once, untimed: the shell backup above hashes, it does not keep
    [ -f "$WORK/$fixture.sql" ] || mariadb-dump --defaults-file="$WORK/client.cnf" --single-transaction --routines --events \
        --triggers --hex-blob "$fixture" > "$WORK/$fixture.sql"
    drop r_shell; drop r_myl; drop r_bs; drop r_ll
    # none of the restores writes the binlog (see the header); binlog_bytes before and after each proves it
    shell_restore() { sql -e "SET SESSION sql_log_bin = 0; CREATE DATABASE r_shell"; mariadb --defaults-file="$WORK/client.cnf" \
        --init-command="SET SESSION sql_log_bin=0" r_shell < "$WORK/$fixture.sql"; }
    myloader_restore() { myloader -h 127.0.0.1 -P "$PORT" -u bench -p "$PASSWORD" -B r_myl -d "$WORK/out/mydumper" -t 2 -o >/dev/null; }
    backstop_restore() { bench restore --port="$PORT" --db=r_bs --repo="$WORK/out/repo" --kek="$WORK/kek.json" --id="$id" \
        --binlog=false >/dev/null; }
    longlived_restore() { warm restore --port="$PORT" --db=r_ll --repo="$WORK/out/repo-ll" --kek="$WORK/kek.json" --id="$id_ll" \
        --binlog=false; }
    order=(rs myl bsr llr)
    k=$(( (round - 1) % 4 ))
    for who in "${order[@]:$k}" "${order[@]:0:$k}"; do
      b0=$(binlog_bytes)
      case $who in
        rs) timed rs shell_restore ;;
        myl) timed myl myloader_restore ;;
        bsr) timed bsr backstop_restore ;;
        llr) timed llr longlived_restore ;;
      esac
      printf -v "W_$who" '%s' $(( $(binlog_bytes) - b0 ))
    done
    X_rs=$(exact "$fixture" r_shell); X_myl=$(exact "$fixture" r_myl); X_bsr=$(exact "$fixture" r_bs); X_llr=$(exact "$fixture" r_ll)
    x_rs+=("$X_rs"); x_myl+=("$X_myl"); x_bsr+=("$X_bsr"); x_llr+=("$X_llr")
    w_rs+=("$W_rs"); w_myl+=("$W_myl"); w_bsr+=("$W_bsr"); w_llr+=("$W_llr")
    echo "# ${fixture} round ${round}: shell=${S_shell}s mydumper_t2=${S_myd}s backstop=${S_bs}s backstop_no_fingerprints=${S_nofp}s backstop_longlived=${S_ll}s mariadb_restore=${S_rs}s(${X_rs}) myloader_t2=${S_myl}s(${X_myl}) backstop_restore=${S_bsr}s(${X_bsr}) backstop_longlived_restore=${S_llr}s(${X_llr}); busy CPU: shell=${C_shell}s mydumper_t2=${C_myd}s backstop=${C_bs}s backstop_longlived=${C_ll}s mariadb_restore=${C_rs}s myloader_t2=${C_myl}s backstop_restore=${C_bsr}s backstop_longlived_restore=${C_llr}s; binlog bytes written: mariadb_restore=${W_rs} myloader_t2=${W_myl} backstop_restore=${W_bsr} backstop_longlived_restore=${W_llr}" >&2
    if [ "$round" = 1 ]; then
      echo "${fixture}_plain_dump_bytes=$(stat -c %s "$WORK/$fixture.sql")"
      echo "${fixture}_backstop_stored_bytes=$(sed -n 's/^stored_bytes=//p' "$WORK/out/backstop.txt")"
      echo "${fixture}_mydumper_bytes=$(du -sb "$WORK/out/mydumper" | cut -f1)"
    fi
    shell+=("$S_shell"); myd+=("$S_myd"); bs+=("$S_bs"); rs+=("$S_rs"); myl+=("$S_myl"); bsr+=("$S_bsr")
    c_shell+=("$C_shell"); c_myd+=("$C_myd"); c_bs+=("$C_bs"); c_rs+=("$C_rs"); c_myl+=("$C_myl"); c_bsr+=("$C_bsr")
    r_bs+=("$(ratio "$S_bs" "$S_shell")"); r_bsr+=("$(ratio "$S_bsr" "$S_myl")")
    r_bs_myd+=("$(ratio "$S_bs" "$S_myd")"); r_bsr_rs+=("$(ratio "$S_bsr" "$S_rs")")
    nofp+=("$S_nofp"); c_nofp+=("$C_nofp"); r_nofp+=("$(ratio "$S_nofp" "$S_shell")")
    ll+=("$S_ll"); llr+=("$S_llr"); c_ll+=("$C_ll"); c_llr+=("$C_llr")
    r_ll+=("$(ratio "$S_ll" "$S_shell")"); r_llr+=("$(ratio "$S_llr" "$S_myl")")
    floor+=("$(awk -v c="$C_bs" -v n="$(nproc)" -v s="$S_shell" 'BEGIN { printf "%.3f", c / n / s }')")
    drop r_shell; drop r_myl; drop r_bs; drop r_ll
  done
  echo "${fixture}_shell_backup_median_s=$(median "${shell[@]}")"
  echo "${fixture}_mydumper_t2_median_s=$(median "${myd[@]}")"
  echo "${fixture}_backstop_backup_median_s=$(median "${bs[@]}")"
  echo "${fixture}_backstop_no_fingerprints_median_s=$(median "${nofp[@]}")"
  echo "${fixture}_backstop_longlived_backup_median_s=$(median "${ll[@]}")"
  echo "${fixture}_mariadb_restore_median_s=$(median "${rs[@]}")"
  echo "${fixture}_myloader_t2_median_s=$(median "${myl[@]}")"
  echo "${fixture}_backstop_restore_median_s=$(median "${bsr[@]}")"
  echo "${fixture}_backstop_longlived_restore_median_s=$(median "${llr[@]}")"
  echo "${fixture}_shell_cpu_s=$(median "${c_shell[@]}")"
  echo "${fixture}_mydumper_t2_cpu_s=$(median "${c_myd[@]}")"
  echo "${fixture}_backstop_backup_cpu_s=$(median "${c_bs[@]}")"
  echo "${fixture}_backstop_no_fingerprints_cpu_s=$(median "${c_nofp[@]}")"
  echo "${fixture}_backstop_longlived_backup_cpu_s=$(median "${c_ll[@]}")"
  echo "${fixture}_mariadb_restore_cpu_s=$(median "${c_rs[@]}")"
  echo "${fixture}_myloader_t2_cpu_s=$(median "${c_myl[@]}")"
  echo "${fixture}_backstop_restore_cpu_s=$(median "${c_bsr[@]}")"
  echo "${fixture}_backstop_longlived_restore_cpu_s=$(median "${c_llr[@]}")"
  echo "${fixture}_backup_cpu_floor_vs_shell=$(median "${floor[@]}")"
  # the binlog bytes each restore wrote (median of the rounds): near zero for all, or the comparison is unfair
  echo "${fixture}_mariadb_restore_binlog_bytes=$(median "${w_rs[@]}")"
  echo "${fixture}_myloader_t2_binlog_bytes=$(median "${w_myl[@]}")"
  echo "${fixture}_backstop_restore_binlog_bytes=$(median "${w_bsr[@]}")"
  echo "${fixture}_backstop_longlived_restore_binlog_bytes=$(median "${w_llr[@]}")"
  # exact in every round, or the first inexact verdict
  verdict() { local v; for v in "$@"; do [ "$v" = exact ] || { echo "$v"; return; }; done; echo exact; }
  echo "${fixture}_mariadb_restore_exact=$(verdict "${x_rs[@]}")"
  echo "${fixture}_myloader_t2_exact=$(verdict "${x_myl[@]}")"
  echo "${fixture}_backstop_restore_exact=$(verdict "${x_bsr[@]}")"
  echo "${fixture}_backstop_longlived_restore_exact=$(verdict "${x_llr[@]}")"
  echo "${fixture}_ratio_restore_vs_myloader_t2=$(median "${r_bsr[@]}")"
  echo "${fixture}_ratio_restore_vs_mariadb=$(median "${r_bsr_rs[@]}")"
  echo "${fixture}_ratio_restore_longlived_vs_myloader_t2=$(median "${r_llr[@]}")"
  echo "${fixture}_ratio_backup_vs_mydumper_t2=$(median "${r_bs_myd[@]}")"
  echo "${fixture}_ratio_backup_no_fingerprints_vs_shell=$(median "${r_nofp[@]}")"
  echo "${fixture}_ratio_backup_longlived_vs_shell=$(median "${r_ll[@]}")"
  echo "${fixture}_ratio_backup_vs_shell=$(median "${r_bs[@]}")"
  if [ "$fixture" = realistic ]; then RATIO_LAST=$(median "${r_bs[@]}"); RATIO_LL=$(median "${r_ll[@]}"); fi
done
echo "cores=$(nproc) rounds=$ROUNDS realistic_size=$RSIZE realistic_customers=$RROWS sysbench_rows=$SROWS"
echo "load_average_after=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"
echo "# load average after: $(uptime)" >&2
echo "ratio_backup_longlived_vs_shell=$RATIO_LL"
echo "ratio_backup_vs_shell=$RATIO_LAST"
results_end
