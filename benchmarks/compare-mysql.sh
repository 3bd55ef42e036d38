#!/usr/bin/env bash
# Backstop's MariaDB logical backup and restore against the tools MariaDB users already run, on one
# machine, interleaved round by round so that a slow moment of a shared VM hits every contender alike.
#
#   backup:  Backstop (MariaDbDumpSource: mariadb-dump --single-transaction at its binlog position,
#            fingerprints read from the dump stream -> zstd-3 -> SHA-256 -> AES-GCM -> local repository),
#            fresh JVM
#            vs mariadb-dump --single-transaction ... | zstd -3 -T0 | sha256sum   (the shell pipeline)
#            vs mydumper -t 2 (Debian's 0.10.1; installed with apt-get if missing)
#            plus Backstop without fingerprints, to show what the fingerprints cost
#   restore: Backstop (MariaDbRestore: verified stream into a staging database, then moved)
#            vs mariadb < dump.sql   vs   myloader -t 2
#            All three restore without writing the server's binary log, as myloader does by default
#            (its --enable-binlog is off): mariadb with SET sql_log_bin=0 as its init command,
#            Backstop with writeBinlog(false).
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
# benchmarks/target/results/) with a PNG chart next to it; the last line is
# ratio_backup_vs_shell=<x> (realistic fixture). Backstop runs in a fresh JVM each time, with class-data
# sharing as the packaged command line has it (--no-cds: without).
#
# Usage: benchmarks/compare-mysql.sh [--rounds=3] [--realistic-size=1536MiB] [--sysbench-rows=2000000]
#                                    [--work=DIR] [--keep] [--no-cds] [--out=FILE]
# Quick check (a few minutes): benchmarks/compare-mysql.sh --rounds=1 --realistic-size=30MiB --sysbench-rows=20000
set -euo pipefail

# lib.sh's results file, chart and arithmetic; sourced without arguments: the options differ
load_lib() { source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"; }
load_lib
ARGS="$*"
ROUNDS=3
RSIZE=1536MiB
SROWS=2000000
WORK=""
KEEP=0
OUT=""
for a in "$@"; do
  case "$a" in
    --rounds=*) ROUNDS=${a#*=} ;;
    --realistic-size=*) RSIZE=${a#*=} ;;
    --sysbench-rows=*) SROWS=${a#*=} ;;
    --work=*) WORK=${a#*=} ;;
    --keep) KEEP=1 ;;
    --no-cds) CDS=0 ;;
    --out=*) OUT=${a#*=} ;;
    *) echo "unknown option '$a' (see the header of $0)" >&2; exit 2 ;;
  esac
done
[ "$ROUNDS" -ge 1 ] || { echo "--rounds: got $ROUNDS, need at least 1" >&2; exit 2; }
RBYTES=$(awk -v s="$RSIZE" 'BEGIN { n = s + 0; u = s; sub(/^[0-9.]+/, "", u);
  m = (u == "GiB") ? 1073741824 : (u == "MiB") ? 1048576 : (u == "KiB") ? 1024 : (u == "" || u == "B") ? 1 : -1;
  if (m < 0 || n <= 0) { print "bad"; exit } printf "%d", n * m }')
[ "$RBYTES" != bad ] || { echo "--realistic-size: got '$RSIZE', expected e.g. 400MiB or 1.5GiB" >&2; exit 2; }
# one customer with its 4 orders takes about 1.2 KB of InnoDB data and indexes
RROWS=$(( RBYTES / 1200 )); [ "$RROWS" -ge 100 ] || RROWS=100

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
if ! command -v mydumper >/dev/null || ! command -v myloader >/dev/null; then
  echo "# installing mydumper" >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mydumper >&2
fi
for t in mariadb-install-db mariadbd mariadb mariadb-dump mydumper myloader zstd sha256sum java; do
  command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || { echo "error: $t not found" >&2; exit 2; }
done
MARIADBD=$(command -v mariadbd || echo /usr/sbin/mariadbd)

WORK=${WORK:-$(mktemp -d /tmp/backstop-mysqlbench-XXXXXX)}
mkdir -p "$WORK"
DB="$WORK/db"
PASSWORD="bench-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
export BACKSTOP_MARIADB_USER=bench BACKSTOP_MARIADB_PASSWORD="$PASSWORD"

cleanup() {
  [ -f "$DB/mariadbd.pid" ] && kill "$(cat "$DB/mariadbd.pid")" 2>/dev/null || true
  for _ in $(seq 1 60); do [ -f "$DB/mariadbd.pid" ] || break; sleep 0.5; done
  if [ "$KEEP" = 0 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

free_port

# the option file holds the password for the shell contenders; mydumper/myloader 0.10 take it on argv
cat > "$WORK/client.cnf" <<CNF
[client]
host=127.0.0.1
port=$PORT
user=bench
password=$PASSWORD
CNF
chmod 600 "$WORK/client.cnf"
sql() { mariadb --defaults-file="$WORK/client.cnf" -N -B "$@"; }

start_server() {
  mkdir -p "$DB"
  mariadb-install-db --no-defaults --auth-root-authentication-method=normal --skip-test-db --datadir="$DB/data" \
      $([ "$(id -u)" = 0 ] && echo --user=root) >/dev/null
  printf "CREATE USER 'bench'@'127.0.0.1' IDENTIFIED BY '%s';\nGRANT ALL ON *.* TO 'bench'@'127.0.0.1' WITH GRANT OPTION;\n" \
      "$PASSWORD" > "$DB/init.sql"
  "$MARIADBD" --no-defaults --datadir="$DB/data" --port="$PORT" --bind-address=127.0.0.1 --socket="$DB/sock" \
      --pid-file="$DB/mariadbd.pid" --server-id=1 --log-bin="$DB/data/binlog" --binlog-format=ROW \
      --log-error="$DB/server.log" --init-file="$DB/init.sql" --skip-name-resolve --innodb-buffer-pool-size=1G \
      --innodb-log-file-size=1G --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 --max-allowed-packet=256M \
      $([ "$(id -u)" = 0 ] && echo --user=root) >/dev/null 2>&1 &
  for _ in $(seq 1 240); do sql -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.25; done
  rm -f "$DB/init.sql"
  echo "# server $(sql -e 'SELECT VERSION()') on port $PORT, work dir $WORK" >&2
}

load_realistic() {
  sql -e "CREATE DATABASE realistic"
  sql realistic <<SQL
CREATE TABLE customer (id INT PRIMARY KEY AUTO_INCREMENT, uuid UUID NOT NULL, email VARCHAR(120) NOT NULL,
  profile JSON, last_ip INET6, balance DECIMAL(14,2) NOT NULL, created TIMESTAMP(6) NOT NULL, UNIQUE KEY (email)) ENGINE=InnoDB;
CREATE TABLE orders (id BIGINT PRIMARY KEY AUTO_INCREMENT, customer_id INT NOT NULL, placed DATETIME(3) NOT NULL,
  total DECIMAL(12,2) NOT NULL, items JSON NOT NULL, invoice BLOB, KEY (placed),
  CONSTRAINT fk_customer FOREIGN KEY (customer_id) REFERENCES customer (id)) ENGINE=InnoDB;
INSERT INTO customer (uuid, email, profile, last_ip, balance, created)
  SELECT UUID(), CONCAT('user', seq, '@example.com'),
         JSON_OBJECT('name', CONCAT('User ', seq), 'tags', JSON_ARRAY(seq % 7, seq % 11), 'bio', REPEAT(MD5(seq), 1 + seq % 4)),
         IF(seq % 3 = 0, CONCAT('2001:db8::', HEX(seq DIV 65536), ':', HEX(seq % 65536)), CONCAT('::ffff:10.', seq % 256, '.', (seq DIV 256) % 256, '.', seq % 250)), (seq % 100000) / 100,
         TIMESTAMP'2020-01-01 00:00:00' + INTERVAL seq SECOND
  FROM seq_1_to_${RROWS};
INSERT INTO orders (customer_id, placed, total, items, invoice)
  SELECT 1 + seq % ${RROWS}, TIMESTAMP'2021-01-01 00:00:00' + INTERVAL seq * 7 SECOND, (seq % 50000) / 100,
         JSON_ARRAY(JSON_OBJECT('sku', seq % 977, 'qty', 1 + seq % 5), JSON_OBJECT('sku', seq % 499, 'qty', 1)),
         IF(seq % 5 = 0, RANDOM_BYTES(512), NULL)
  FROM seq_1_to_$(( RROWS * 4 ));
SQL
}

load_sysbench() {
  sql -e "CREATE DATABASE sysbench"
  for i in 1 2 3 4; do
    sql sysbench -e "CREATE TABLE sbtest$i (id INT PRIMARY KEY AUTO_INCREMENT, k INT NOT NULL DEFAULT 0,
        c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', KEY k_$i (k)) ENGINE=InnoDB;
      INSERT INTO sbtest$i (k, c, pad) SELECT FLOOR(RAND(seq) * $SROWS),
        CONCAT_WS('-', LPAD(FLOOR(RAND(seq + 1) * 1e11), 11, '0'), LPAD(FLOOR(RAND(seq + 2) * 1e11), 11, '0'),
                  LPAD(FLOOR(RAND(seq + 3) * 1e11), 11, '0'), LPAD(FLOOR(RAND(seq + 4) * 1e11), 11, '0')),
        LPAD(FLOOR(RAND(seq + 5) * 1e11), 59, '0') FROM seq_1_to_$SROWS"
  done
}

# exact SOURCE TARGET: "exact" when every table has the same row count and CHECKSUM TABLE, else what differs
exact() {
  local t diff=""
  for t in $(sql -e "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$1' AND TABLE_TYPE = 'BASE TABLE'"); do
    local a b
    a=$(sql -e "SELECT COUNT(*) FROM \`$1\`.\`$t\`; CHECKSUM TABLE \`$1\`.\`$t\` EXTENDED" | awk '{ printf "%s ", $NF }')
    b=$(sql -e "SELECT COUNT(*) FROM \`$2\`.\`$t\`; CHECKSUM TABLE \`$2\`.\`$t\` EXTENDED" 2>/dev/null | awk '{ printf "%s ", $NF }')
    [ "$a" = "$b" ] || diff="$diff $t"
  done
  if [ -z "$diff" ]; then echo exact; else echo "inexact:${diff# }" | tr ' ' ,; fi
}

drop() { sql -e "DROP DATABASE IF EXISTS \`$1\`"; }
# timed NAME CMD...: runs CMD, sets S_NAME (wall seconds) and C_NAME (busy CPU seconds, whole machine)
timed() {
  local name=$1; shift
  local c0 t0 t1 c1
  sync; c0=$(cpu); t0=$(now)
  "$@"
  t1=$(now); c1=$(cpu)
  printf -v "S_$name" '%s' "$(elapsed "$t0" "$t1")"
  printf -v "C_$name" '%s' "$(elapsed "$c0" "$c1")"
}

echo "# building backup-testkit" >&2
"$ROOT/mvnw" -q -f "$ROOT/pom.xml" -pl backup-testkit,benchmarks -am -DskipTests package dependency:build-classpath \
    -Dmdep.outputFile=target/runtime-classpath.txt -DincludeScope=runtime >&2
CP="$(ls "$ROOT"/benchmarks/target/benchmarks-*.jar | grep -v -- '-sources\|-javadoc\|-tests' | head -1)"
CP="$CP:$(ls "$ROOT"/backup-testkit/target/backup-testkit-*.jar | grep -v -- '-sources\|-javadoc\|-tests' | head -1)"
CP="$CP:$(cat "$ROOT/backup-testkit/target/runtime-classpath.txt")"
bench() { java $(cds "mariadb-$1") -cp "$CP" dev.backstop.benchmarks.MariaDbBench "$@"; }

echo "# load average before: $(uptime)" >&2
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)
start_server
echo "# loading fixtures ($RROWS customers, 4 x $SROWS sbtest rows)" >&2
load_realistic
load_sysbench
# class-data sharing for Backstop's fresh JVMs, as the packaged command line ships it (lib.sh)
sql -e "CREATE DATABASE cds_train; CREATE TABLE cds_train.t (id INT PRIMARY KEY, v VARCHAR(20), KEY v (v)) ENGINE=InnoDB;
    INSERT INTO cds_train.t VALUES (1, 'a'), (2, 'b')"
cds_train mariadb-backup dev.backstop.benchmarks.MariaDbBench backup --port="$PORT" --db=cds_train --repo="$WORK/repo-cds" \
    --kek="$WORK/kek.json"
cds_train mariadb-restore dev.backstop.benchmarks.MariaDbBench restore --port="$PORT" --db=r_cds --repo="$WORK/repo-cds" \
    --kek="$WORK/kek.json" --id="$(ls "$WORK/repo-cds/backups" | grep -v '^probe' | head -1)" --binlog=false
drop r_cds; drop cds_train; rm -rf "$WORK/repo-cds"
results_begin compare-mysql
echo "load_average_before=$LOAD_BEFORE"

RATIO_LAST=""
for fixture in realistic sysbench; do
  declare -a shell=() myd=() bs=() rs=() myl=() bsr=() c_shell=() c_myd=() c_bs=() c_rs=() c_myl=() c_bsr=() r_bs=() r_bsr=()
  declare -a r_bs_myd=() r_bsr_rs=() floor=() x_rs=() x_myl=() x_bsr=() nofp=() c_nofp=() r_nofp=()
  echo "${fixture}_db_bytes=$(sql -e "SELECT SUM(DATA_LENGTH + INDEX_LENGTH) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$fixture'")"
  # One unmeasured dump first: right after the load the server is still flushing and purging, and
  # the first contender of round 1 (the shell pipeline) would pay for it alone.
  mariadb-dump --defaults-file="$WORK/client.cnf" --single-transaction --hex-blob "$fixture" >/dev/null
  for round in $(seq 1 "$ROUNDS"); do
    rm -rf "$WORK/out"; mkdir -p "$WORK/out"
    shell_backup() { mariadb-dump --defaults-file="$WORK/client.cnf" --single-transaction --master-data=2 --gtid --routines \
        --events --triggers --hex-blob "$fixture" | zstd -3 -T0 -q | sha256sum >/dev/null; }
    mydumper_backup() { mydumper -h 127.0.0.1 -P "$PORT" -u bench -p "$PASSWORD" -B "$fixture" -t 2 -o "$WORK/out/mydumper" \
        --trx-consistency-only >/dev/null; }
    backstop_backup() { bench backup --port="$PORT" --db="$fixture" --repo="$WORK/out/repo" --kek="$WORK/kek.json" \
        > "$WORK/out/backstop.txt"; }
    # the same without the fingerprints: what they cost
    backstop_nofp_backup() { bench backup --port="$PORT" --db="$fixture" --repo="$WORK/out/repo-nofp" --kek="$WORK/kek.json" \
        --fingerprints=false >/dev/null; }
    # rotate the order every round: no contender always runs first after a pause
    case $(( (round - 1) % 3 )) in
      0) timed shell shell_backup; timed myd mydumper_backup; timed bs backstop_backup; timed nofp backstop_nofp_backup ;;
      1) timed myd mydumper_backup; timed bs backstop_backup; timed nofp backstop_nofp_backup; timed shell shell_backup ;;
      2) timed bs backstop_backup; timed nofp backstop_nofp_backup; timed shell shell_backup; timed myd mydumper_backup ;;
    esac
    id=$(sed -n 's/^id=//p' "$WORK/out/backstop.txt")
    # the plain dump mariadb restores from is made once, untimed: the shell backup above hashes, it does not keep
    [ -f "$WORK/$fixture.sql" ] || mariadb-dump --defaults-file="$WORK/client.cnf" --single-transaction --routines --events \
        --triggers --hex-blob "$fixture" > "$WORK/$fixture.sql"
    drop r_shell; drop r_myl; drop r_bs
    shell_restore() { sql -e "CREATE DATABASE r_shell"; mariadb --defaults-file="$WORK/client.cnf" \
        --init-command="SET SESSION sql_log_bin=0" r_shell < "$WORK/$fixture.sql"; }
    myloader_restore() { myloader -h 127.0.0.1 -P "$PORT" -u bench -p "$PASSWORD" -B r_myl -d "$WORK/out/mydumper" -t 2 -o >/dev/null; }
    backstop_restore() { bench restore --port="$PORT" --db=r_bs --repo="$WORK/out/repo" --kek="$WORK/kek.json" --id="$id" \
        --binlog=false >/dev/null; }
    case $(( (round - 1) % 3 )) in
      0) timed rs shell_restore; timed myl myloader_restore; timed bsr backstop_restore ;;
      1) timed myl myloader_restore; timed bsr backstop_restore; timed rs shell_restore ;;
      2) timed bsr backstop_restore; timed rs shell_restore; timed myl myloader_restore ;;
    esac
    X_rs=$(exact "$fixture" r_shell); X_myl=$(exact "$fixture" r_myl); X_bsr=$(exact "$fixture" r_bs)
    x_rs+=("$X_rs"); x_myl+=("$X_myl"); x_bsr+=("$X_bsr")
    echo "# ${fixture} round ${round}: shell=${S_shell}s mydumper_t2=${S_myd}s backstop=${S_bs}s backstop_no_fingerprints=${S_nofp}s mariadb_restore=${S_rs}s(${X_rs}) myloader_t2=${S_myl}s(${X_myl}) backstop_restore=${S_bsr}s(${X_bsr}); busy CPU: shell=${C_shell}s mydumper_t2=${C_myd}s backstop=${C_bs}s mariadb_restore=${C_rs}s myloader_t2=${C_myl}s backstop_restore=${C_bsr}s" >&2
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
    floor+=("$(awk -v c="$C_bs" -v n="$(nproc)" -v s="$S_shell" 'BEGIN { printf "%.3f", c / n / s }')")
    drop r_shell; drop r_myl; drop r_bs
  done
  echo "${fixture}_shell_backup_median_s=$(median "${shell[@]}")"
  echo "${fixture}_mydumper_t2_median_s=$(median "${myd[@]}")"
  echo "${fixture}_backstop_backup_median_s=$(median "${bs[@]}")"
  echo "${fixture}_backstop_no_fingerprints_median_s=$(median "${nofp[@]}")"
  echo "${fixture}_mariadb_restore_median_s=$(median "${rs[@]}")"
  echo "${fixture}_myloader_t2_median_s=$(median "${myl[@]}")"
  echo "${fixture}_backstop_restore_median_s=$(median "${bsr[@]}")"
  echo "${fixture}_shell_cpu_s=$(median "${c_shell[@]}")"
  echo "${fixture}_mydumper_t2_cpu_s=$(median "${c_myd[@]}")"
  echo "${fixture}_backstop_backup_cpu_s=$(median "${c_bs[@]}")"
  echo "${fixture}_backstop_no_fingerprints_cpu_s=$(median "${c_nofp[@]}")"
  echo "${fixture}_mariadb_restore_cpu_s=$(median "${c_rs[@]}")"
  echo "${fixture}_myloader_t2_cpu_s=$(median "${c_myl[@]}")"
  echo "${fixture}_backstop_restore_cpu_s=$(median "${c_bsr[@]}")"
  echo "${fixture}_backup_cpu_floor_vs_shell=$(median "${floor[@]}")"
  # exact in every round, or the first inexact verdict
  verdict() { local v; for v in "$@"; do [ "$v" = exact ] || { echo "$v"; return; }; done; echo exact; }
  echo "${fixture}_mariadb_restore_exact=$(verdict "${x_rs[@]}")"
  echo "${fixture}_myloader_t2_exact=$(verdict "${x_myl[@]}")"
  echo "${fixture}_backstop_restore_exact=$(verdict "${x_bsr[@]}")"
  echo "${fixture}_ratio_restore_vs_myloader_t2=$(median "${r_bsr[@]}")"
  echo "${fixture}_ratio_restore_vs_mariadb=$(median "${r_bsr_rs[@]}")"
  echo "${fixture}_ratio_backup_vs_mydumper_t2=$(median "${r_bs_myd[@]}")"
  echo "${fixture}_ratio_backup_no_fingerprints_vs_shell=$(median "${r_nofp[@]}")"
  echo "${fixture}_ratio_backup_vs_shell=$(median "${r_bs[@]}")"
  [ "$fixture" = realistic ] && RATIO_LAST=$(median "${r_bs[@]}")
done
echo "cores=$(nproc) rounds=$ROUNDS realistic_size=$RSIZE realistic_customers=$RROWS sysbench_rows=$SROWS"
echo "load_average_after=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"
echo "# load average after: $(uptime)" >&2
echo "ratio_backup_vs_shell=$RATIO_LAST"
results_end
