#!/usr/bin/env bash
# The recovery point of MariaDB binlog archiving under a steady write load: a throwaway MariaDB
# (EphemeralMariaDb: mariadbd --no-defaults on a random loopback port), a BinlogReceiver shipping the
# active binlog as deltas every 200 ms (zstd, AES-GCM) into a local repository, a bulk insert load
# (--load-rows-per-s rows of ~170 bytes, in 10 batches a second) and beside it a marker row committed
# --markers-per-s times a second for --seconds. Each marker's lag runs from its commit returning to
# BinlogReceiver.rpo() showing the archive past the binlog position read right after that commit
# (an upper bound of the marker's end: the lag is never understated), looked at every 10 ms.
# BinlogRpoMeasurement does the work; this script builds it and keeps its output.
#
# Prints key=value lines, also written to --out=FILE (default benchmarks/target/results/):
# binlog_rpo_max_ms, the receiver's own reported lag, markers not archived 5 s after the load, the
# server's binlog bytes per second; the last two lines are binlog_rpo_p50_ms=<x> and
# binlog_rpo_p99_ms=<x> (target p99 < 1000). --no-deltas measures whole files only (with
# --max-binlog-size=BYTES to make the server rotate; otherwise nothing is archived until a rotation).
#
# Usage: benchmarks/measure-binlog-rpo.sh [--seconds=60] [--markers-per-s=20] [--load-rows-per-s=5000]
#                                         [--no-deltas] [--max-binlog-size=BYTES] [--out=FILE]
# Quick check (under a minute): benchmarks/measure-binlog-rpo.sh --seconds=10
set -euo pipefail

# lib.sh's results file and build; sourced without arguments: the options differ
load_lib() { source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"; }
load_lib
ARGS="$*"
# BinlogRpoMeasurement takes the last of an option given twice: the script's 60 s default comes first
JAVA_ARGS=(--seconds=60)
for a in "$@"; do
  case "$a" in
    --seconds=*|--markers-per-s=*|--load-rows-per-s=*|--max-binlog-size=*) JAVA_ARGS+=("$a") ;;
    --no-deltas) JAVA_ARGS+=(--deltas=false) ;;
    --out=*) OUT=${a#*=} ;;
    *) echo "unknown option '$a' (see the header of $0)" >&2; exit 2 ;;
  esac
done
for t in mariadbd mariadb-install-db mariadb-binlog java; do
  command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || { echo "error: $t not found" >&2; exit 2; }
done

echo "# building backup-testkit" >&2
"$ROOT/mvnw" -q -f "$ROOT/pom.xml" -pl backup-testkit,benchmarks -am -DskipTests package dependency:build-classpath \
    -Dmdep.outputFile=target/runtime-classpath.txt -DincludeScope=runtime >&2
CP="$(ls "$ROOT"/benchmarks/target/benchmarks-*.jar | grep -v -- '-sources\|-javadoc\|-tests' | head -1)"
CP="$CP:$(ls "$ROOT"/backup-testkit/target/backup-testkit-*.jar | grep -v -- '-sources\|-javadoc\|-tests' | head -1)"
CP="$CP:$(cat "$ROOT/backup-testkit/target/runtime-classpath.txt")"

echo "# load average before: $(uptime)" >&2
results_begin measure-binlog-rpo
echo "load_average_before=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"
out=$(java -cp "$CP" dev.backstop.benchmarks.BinlogRpoMeasurement "${JAVA_ARGS[@]}")
grep -v '^binlog_rpo_p' <<<"$out"
echo "load_average_after=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,) cores=$(nproc)"
# the percentiles last, p99 the very last line
grep '^binlog_rpo_p' <<<"$out"
results_end --no-chart
