# Shared by compare-logical.sh and compare-physical.sh: options, tool discovery, the build, a free
# port and the arithmetic of medians and ratios. Source it after `set -euo pipefail`; it reads the
# script's arguments from "$@" and sets ROUNDS SCALE RSIZE WORK KEEP ROOT BIN CP PORT AS OUT. The
# MariaDB scripts source it without arguments, for its results file, free port and arithmetic.
ARGS="$*"
OUT=""
ROUNDS=3
SCALE=100
RSIZE=1536MiB
WORK=""
KEEP=0
CDS=1
for a in "$@"; do
  case "$a" in
    --rounds=*) ROUNDS=${a#*=} ;;
    --pgbench-scale=*) SCALE=${a#*=} ;;
    --realistic-size=*) RSIZE=${a#*=} ;;
    --work=*) WORK=${a#*=} ;;
    --keep) KEEP=1 ;;
    --no-cds) CDS=0 ;;
    --out=*) OUT=${a#*=} ;;
    *) echo "unknown option '$a' (see the header of $0)" >&2; exit 2 ;;
  esac
done
[ "$ROUNDS" -ge 2 ] || { echo "--rounds: got $ROUNDS, need at least 2 (the median of two is their mean)" >&2; exit 2; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$(pg_config --bindir 2>/dev/null || true)
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
  BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
fi

# require_pg TOOL...: each must be in the PostgreSQL bin directory
require_pg() {
  for t in "$@"; do
    [ -x "$BIN/$t" ] || { echo "error: $t not found in '$BIN' (install the PostgreSQL server package)" >&2; exit 2; }
  done
}
# require TOOL...: each must be on PATH
require() {
  for t in "$@"; do
    command -v "$t" >/dev/null || { echo "error: $t not found on PATH" >&2; exit 2; }
  done
}

AS=()
if [ "$(id -u)" = 0 ]; then
  # initdb, postgres and pgbackrest refuse to run as root: they run as the server's OS user
  AS=(setpriv --reuid=postgres --regid=postgres --init-groups --)
fi
as_pg() { "${AS[@]}" "$@"; }

# build_testkit: 'package' in the same reactor run makes the class path point at this tree's jars,
# never at whatever dev.backstop snapshots may sit in ~/.m2; sets CP to what the benchmark mains
# need at run time, as a packaged command line would ship them: the benchmarks, testkit and
# backup-postgres jars and backup-postgres's runtime dependencies (not the benchmarks' own 140
# with the in-process S3 server), jars only, since AppCDS archives classes from jars, not directories
build_testkit() {
  echo "# building backup-testkit" >&2
  "$ROOT/mvnw" -q -f "$ROOT/pom.xml" -pl backup-testkit,benchmarks -am -DskipTests package dependency:build-classpath \
      -Dmdep.outputFile=target/runtime-classpath.txt -DincludeScope=runtime >&2
  local jar
  CP=""
  for m in benchmarks backup-testkit backup-postgres; do
    jar=$(ls "$ROOT/$m"/target/"$m"-*.jar | grep -v -- '-sources\|-javadoc\|-tests' | head -1)
    CP="${CP:+$CP:}$jar"
  done
  CP="$CP:$(cat "$ROOT/backup-postgres/target/runtime-classpath.txt")"
}

# Class-data sharing for the fresh JVMs, as a packaged command line would ship it (JDK 19+ can
# make one on first use with -XX:+AutoCreateSharedArchive): one untimed run per command records
# the classes it loads, parsed and verified, and the timed runs map them instead of loading ~3,000
# classes from 150 jars (here: 1.2 s -> 0.65 s and half the CPU for a tiny backup). On JDK 25 and
# later, as bin/backstop-cds does there, the record is an AOT cache (JEP 483/515): the classes also
# linked, and the training run's method profiles, so the JIT starts from them instead of from
# nothing. --no-cds measures without. Compiled code is not archived.
# JAVA_RELEASE: the feature release of the `java` on PATH that every fresh JVM runs on
JAVA_RELEASE=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p')
JAVA_RELEASE=${JAVA_RELEASE:-0}
# as bin/backstop: JDK 24+ grants zstd-jni native access and protobuf sun.misc.Unsafe, instead of warning
ACCESS_OPTS=""
[ "$JAVA_RELEASE" -lt 24 ] || ACCESS_OPTS="--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow"
# cds_train NAME MAIN ARGS...: runs MAIN once, recording $WORK/NAME.aot (JDK 25+) or $WORK/NAME.jsa
cds_train() {
  local name=$1; shift
  [ "$CDS" = 1 ] || return 0
  local record="-XX:ArchiveClassesAtExit=$WORK/$name.jsa"
  [ "$JAVA_RELEASE" -lt 25 ] || record="-XX:AOTCacheOutput=$WORK/$name.aot"
  java $record $ACCESS_OPTS -cp "$CP" "$@" >/dev/null 2>"$WORK/$name-cds.log" \
    || { echo "error: class-data training run '$name' failed: $(tail -3 "$WORK/$name-cds.log")" >&2; exit 1; }
}
# cds NAME: the JVM options that map what cds_train recorded for NAME, if it did, and ACCESS_OPTS
# (the AOT cache's warnings, e.g. about a stub it cannot reuse, would otherwise land on stdout, in the key=value lines)
cds() {
  if [ "$CDS" = 1 ] && [ "$JAVA_RELEASE" -ge 25 ] && [ -f "$WORK/$1.aot" ]; then
    echo "-XX:AOTCache=$WORK/$1.aot -Xlog:aot*=off -Xlog:cds*=off"
  elif [ "$CDS" = 1 ] && [ -f "$WORK/$1.jsa" ]; then echo "-XX:SharedArchiveFile=$WORK/$1.jsa"; fi
  echo "$ACCESS_OPTS"
}

# free_port: sets PORT to a loopback port nothing listens on
free_port() {
  PORT=0
  for _ in $(seq 1 50); do
    local p=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then PORT=$p; break; fi
  done
  [ "$PORT" != 0 ] || { echo "error: no free port found" >&2; exit 2; }
}

# quiesce DB: waits (at most 3 minutes) until no other session and no autovacuum worker is busy on the
# server, then checkpoints and flushes the kernel's dirty pages: a run must not pay for work an
# earlier one left behind (dirty buffers, a vacuum, the writeback of the 2 GB or so a restore leaves
# in the page cache with fsync off). It cannot see autovacuum work not started yet: benchmarks turn
# autovacuum off.
quiesce() {
  local i busy
  for i in $(seq 1 360); do
    busy=$("$BIN/psql" -Atc "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE pid <> pg_catalog.pg_backend_pid()
        AND (state = 'active' OR backend_type = 'autovacuum worker')" "$1")
    [ "$busy" = 0 ] && break
    sleep 0.5
  done
  "$BIN/psql" -qc CHECKPOINT "$1"
  sync
}
now() { date +%s.%N; }
# cpu: CPU seconds the whole machine has spent busy so far, all cores together (user, nice, system,
# irq, softirq from /proc/stat; not idle, I/O wait or time stolen by the hypervisor). The difference
# over a run counts every process's share: the server's, the tools', the JVM's.
CLK_TCK=$(getconf CLK_TCK)
cpu() { awk -v hz="$CLK_TCK" '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8) / hz }' /proc/stat; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
# day_change FIXTURE DAY: one day of changes, the same every run (on the database postgres; PGHOST/PGPORT set).
#   realistic: the newest 2 % of orders change status, the newest 0.5 % are deleted (their items with them),
#              new orders (2 % more, two items each) and events (3 % more) are appended, 0.2 % of the
#              customers and 1 % of the products, spread by a hash of their id, are updated.
#   pgbench:   5 % of the accounts' count in pgbench transactions (random accounts: nearly every page).
day_change() {
  if [ "$1" = pgbench ]; then
    "$BIN/pgbench" -n -c 2 -t $(( SCALE * 100000 * 5 / 100 / 2 )) postgres >/dev/null 2>&1
    return
  fi
  "$BIN/psql" -q -v ON_ERROR_STOP=1 postgres <<SQL
UPDATE app.orders SET status = 'day$2-' || status WHERE id > (SELECT max(id) - count(*) / 50 FROM app.orders);
DELETE FROM app.orders WHERE id > (SELECT max(id) - count(*) / 200 FROM app.orders);
INSERT INTO app.orders SELECT m + g, 1 + (m + g) % (SELECT count(*) FROM app.customer), 'new', now(), (m + g) % 1000,
    jsonb_build_object('day', $2) FROM (SELECT max(id) AS m, count(*) / 50 AS n FROM app.orders) x, generate_series(1, x.n) g;
INSERT INTO app.order_item SELECT o.id, l, 1 + (o.id * l) % (SELECT count(*) FROM app.product), l, 9.99
    FROM app.orders o, generate_series(1, 2) l WHERE o.status = 'new' AND NOT EXISTS (SELECT 1 FROM app.order_item i WHERE i.order_id = o.id);
INSERT INTO app.event SELECT m + g, 1 + (m + g) % (SELECT count(*) FROM app.customer), 'day$2', now(), jsonb_build_object('n', g)
    FROM (SELECT max(id) AS m, count(*) * 3 / 100 AS n FROM app.event) x, generate_series(1, x.n) g;
UPDATE app.customer SET profile = profile || jsonb_build_object('seen', $2) WHERE abs(hashint8(id * $2)) % 500 = 0;
UPDATE app.product SET price = price + 1 WHERE abs(hashint8(id * $2)) % 100 = 0;
SQL
}

# results_begin NAME: from here on the script's stdout (its key=value lines) also goes to $OUT
# (--out=FILE, default benchmarks/target/results/NAME-<UTC time>.txt) after a line naming the run
results_begin() {
  OUT=${OUT:-$ROOT/benchmarks/target/results/$1-$(date -u +%Y%m%dT%H%M%SZ).txt}
  mkdir -p "$(dirname "$OUT")"
  echo "# run of $(date -u +%F): benchmarks/$1.sh $ARGS ($(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -h | awk '/^Mem:/ { print $2 }') memory)" >"$OUT"
  exec 3>&1 > >(tee -a "$OUT" >&3)
  TEE_PID=$!
  # which JVM runs the fresh JVMs, and with which archive (cds_train)
  echo "jvm=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.vm\.version = //p')"
  if [ "$CDS" != 1 ]; then echo class_archive=none; elif [ "$JAVA_RELEASE" -ge 25 ]; then echo class_archive=aot
  else echo class_archive=cds; fi
}
# results_end [--no-chart]: closes $OUT and draws it next to itself as a PNG (ComparisonChart, module
# benchmarks), unless the results are no comparison of contenders
results_end() {
  exec >&3 3>&-
  wait "$TEE_PID" 2>/dev/null || true
  if [ "${1:-}" = --no-chart ]; then
    echo "# results: $OUT" >&2
    return
  fi
  java -Djava.awt.headless=true -cp "$ROOT/benchmarks/target/classes:$(cat "$ROOT/benchmarks/target/runtime-classpath.txt")" \
      dev.backstop.benchmarks.ComparisonChart "$OUT" "${OUT%.txt}.png" >&2
  echo "# results: $OUT, chart: ${OUT%.txt}.png" >&2
}
