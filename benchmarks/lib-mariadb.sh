# Shared by compare-mysql.sh and compare-mysql-physical.sh: their options, the MariaDB server they
# start, its fixtures, the exactness check of a restore and the timing of one contender. Source it
# after lib.sh with the script's arguments: it parses the common options (--rounds, --realistic-size,
# --sysbench-rows, --work, --keep, --out) and leaves the others in MORE_ARGS for the script. Then
# mariadb_work TEMPLATE makes the work directory and sets DB, PASSWORD and MARIADBD; start_server
# sets PORT.
ARGS="$*"
ROUNDS=3
RSIZE=1536MiB
SROWS=2000000
WORK=""
KEEP=0
OUT=""
MORE_ARGS=()
for a in "$@"; do
  case "$a" in
    --rounds=*) ROUNDS=${a#*=} ;;
    --realistic-size=*) RSIZE=${a#*=} ;;
    --sysbench-rows=*) SROWS=${a#*=} ;;
    --work=*) WORK=${a#*=} ;;
    --keep) KEEP=1 ;;
    --no-cds) CDS=0 ;;
    --out=*) OUT=${a#*=} ;;
    *) MORE_ARGS+=("$a") ;;
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

# mariadb_work TEMPLATE: the work directory (--work, else a new one from mktemp TEMPLATE), the server's
# place in it, the bench account's password, and the clean-up on exit
mariadb_work() {
  WORK=${WORK:-$(mktemp -d "$1")}
  mkdir -p "$WORK"
  # absolute: the servers and tools run with other working directories
  WORK=$(cd "$WORK" && pwd)
  MARIADBD=$(command -v mariadbd || echo /usr/sbin/mariadbd)
  DB="$WORK/db"
  # the server of a physically restored data directory, while its exactness is checked
  RDB="$WORK/restored-server"
  PASSWORD="bench-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
  export BACKSTOP_MARIADB_USER=bench BACKSTOP_MARIADB_PASSWORD="$PASSWORD"
  trap cleanup EXIT
}

# stop_server DIR: stops the mariadbd whose pid file is DIR/mariadbd.pid and waits for it to go
stop_server() {
  [ -f "$1/mariadbd.pid" ] && kill "$(cat "$1/mariadbd.pid")" 2>/dev/null || true
  for _ in $(seq 1 120); do [ -f "$1/mariadbd.pid" ] || break; sleep 0.5; done
}

cleanup() {
  # a long-lived bench JVM (coproc WARM), if the script started one
  if [ -n "${WARM_PID:-}" ]; then kill "$WARM_PID" 2>/dev/null || true; fi
  stop_server "$RDB"
  stop_server "$DB"
  if [ "$KEEP" = 0 ]; then rm -rf "$WORK"; fi
}

# client_cnf FILE GROUP PORT: an option file (mode 0600 from the start) with the bench account's
# password, for the MariaDB programs: it never goes on their command lines
client_cnf() {
  (umask 077; cat > "$1" <<CNF
[$2]
host=127.0.0.1
port=$3
user=bench
password=$PASSWORD
CNF
  )
}
sql() { mariadb --defaults-file="$WORK/client.cnf" -N -B "$@"; }

# start_server: a fresh mariadbd (--no-defaults, random loopback port, binlog on) with the bench
# account; sets PORT and writes $WORK/client.cnf
start_server() {
  free_port
  client_cnf "$WORK/client.cnf" client "$PORT"
  # the server's temporary files in its own directory: a shared /tmp gets cleaned under it
  mkdir -p "$DB/tmp"
  mariadb-install-db --no-defaults --auth-root-authentication-method=normal --skip-test-db --datadir="$DB/data" \
      $([ "$(id -u)" = 0 ] && echo --user=root) >/dev/null
  printf "CREATE USER 'bench'@'127.0.0.1' IDENTIFIED BY '%s';\nGRANT ALL ON *.* TO 'bench'@'127.0.0.1' WITH GRANT OPTION;\n" \
      "$PASSWORD" > "$DB/init.sql"
  "$MARIADBD" --no-defaults --datadir="$DB/data" --port="$PORT" --bind-address=127.0.0.1 --socket="$DB/sock" \
      --pid-file="$DB/mariadbd.pid" --tmpdir="$DB/tmp" --server-id=1 --log-bin="$DB/data/binlog" --binlog-format=ROW \
      --log-error="$DB/server.log" --init-file="$DB/init.sql" --skip-name-resolve --innodb-buffer-pool-size=1G \
      --innodb-log-file-size=1G --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 --max-allowed-packet=256M \
      $([ "$(id -u)" = 0 ] && echo --user=root) >/dev/null 2>&1 &
  for _ in $(seq 1 240); do sql -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.25; done
  rm -f "$DB/init.sql"
  echo "# server $(sql -e 'SELECT VERSION()') on port $PORT, work dir $WORK" >&2
}

# start_restored DATADIR: a mariadbd on a physically restored data directory (its own port and socket,
# no binlog: it only answers the exactness check); sets RPORT and writes $WORK/restored.cnf
start_restored() {
  local keep=$PORT
  free_port; RPORT=$PORT; PORT=$keep
  client_cnf "$WORK/restored.cnf" client "$RPORT"
  rm -rf "$RDB"; mkdir -p "$RDB/tmp"
  "$MARIADBD" --no-defaults --datadir="$1" --port="$RPORT" --bind-address=127.0.0.1 --socket="$RDB/sock" \
      --pid-file="$RDB/mariadbd.pid" --tmpdir="$RDB/tmp" --log-error="$RDB/server.log" --skip-name-resolve --innodb-buffer-pool-size=256M \
      --max-allowed-packet=256M $([ "$(id -u)" = 0 ] && echo --user=root) >/dev/null 2>&1 &
  for _ in $(seq 1 480); do
    mariadb --defaults-file="$WORK/restored.cnf" -N -B -e 'SELECT 1' >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  echo "error: the server on the restored data directory $1 did not start: $(tail -5 "$RDB/server.log")" >&2
  exit 1
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

# table_sums CNF DB: one line per base table of DB: name, row count and CHECKSUM TABLE ... EXTENDED
table_sums() {
  local t
  for t in $(mariadb --defaults-file="$1" -N -B -e "SELECT TABLE_NAME FROM information_schema.TABLES
      WHERE TABLE_SCHEMA = '$2' AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME"); do
    echo "$t $(mariadb --defaults-file="$1" -N -B -e "SELECT COUNT(*) FROM \`$2\`.\`$t\`; CHECKSUM TABLE \`$2\`.\`$t\` EXTENDED" \
        | awk '{ printf "%s ", $NF }')"
  done
}

# exact_on CNF_A DB_A CNF_B DB_B: "exact" when both have the same tables, each with the same row count and
# CHECKSUM TABLE, else "inexact:" and what differs (a table missing on either side counts)
exact_on() {
  local diff
  diff=$(join -a1 -a2 -e missing -o 0,1.2,1.3,2.2,2.3 <(table_sums "$1" "$2" | sort) <(table_sums "$3" "$4" 2>/dev/null | sort) \
      | awk '$2 != $4 || $3 != $5 { printf "%s,", $1 }')
  if [ -z "$diff" ]; then echo exact; else echo "inexact:${diff%,}"; fi
}
# exact SOURCE TARGET: both databases on the benchmark's server
exact() { exact_on "$WORK/client.cnf" "$1" "$WORK/client.cnf" "$2"; }

drop() { sql -e "SET SESSION sql_log_bin = 0; DROP DATABASE IF EXISTS \`$1\`"; }
# binlog_bytes: the size of all the server's binlog files together: a restore that writes the binlog grows it
binlog_bytes() { sql -e "SHOW BINARY LOGS" | awk '{ s += $2 } END { printf "%d", s }'; }

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

# build_bench: builds the testkit and benchmarks in this tree; sets CP to the jars MariaDbBench needs
build_bench() {
  echo "# building backup-testkit" >&2
  "$ROOT/mvnw" -q -f "$ROOT/pom.xml" -pl backup-testkit,benchmarks -am -DskipTests -Dmaven.javadoc.skip=true \
      -Dmaven.source.skip=true package dependency:build-classpath -Dmdep.outputFile=target/runtime-classpath.txt \
      -DincludeScope=runtime >&2
  CP="$(ls "$ROOT"/benchmarks/target/benchmarks-*.jar | grep -v -- '-sources\|-javadoc\|-tests' | head -1)"
  CP="$CP:$(ls "$ROOT"/backup-testkit/target/backup-testkit-*.jar | grep -v -- '-sources\|-javadoc\|-tests' | head -1)"
  CP="$CP:$(cat "$ROOT/backup-testkit/target/runtime-classpath.txt")"
}
# fresh JVMs map the class-data archive cds_mariadb recorded for their command (lib.sh), as the
# packaged command line does
bench() { java $(cds "mariadb-$1") -cp "$CP" dev.backstop.benchmarks.MariaDbBench "$@"; }

# cds_mariadb: records the class-data archives of a logical backup and restore of a tiny database
cds_mariadb() {
  sql -e "CREATE DATABASE cds_train; CREATE TABLE cds_train.t (id INT PRIMARY KEY, v VARCHAR(20), KEY v (v)) ENGINE=InnoDB;
      INSERT INTO cds_train.t VALUES (1, 'a'), (2, 'b')"
  cds_train mariadb-backup dev.backstop.benchmarks.MariaDbBench backup --port="$PORT" --db=cds_train --repo="$WORK/repo-cds" \
      --kek="$WORK/kek.json" --zstd-workers="$(nproc)"
  cds_train mariadb-restore dev.backstop.benchmarks.MariaDbBench restore --port="$PORT" --db=r_cds --repo="$WORK/repo-cds" \
      --kek="$WORK/kek.json" --id="$(ls "$WORK/repo-cds/backups" | grep -v '^probe' | head -1)" --binlog=false
  sql -e "DROP DATABASE IF EXISTS r_cds; DROP DATABASE cds_train"; rm -rf "$WORK/repo-cds"
}

# start_warm: one long-lived bench JVM (MariaDbBench serve) as coprocess WARM; warm CMD ARGS... sends
# it one command and leaves its key=value answer in WARM_OUT (not on stdout: a coprocess's pipes are
# closed in subshells such as $(...)); an answer with error= ends the script
start_warm() {
  coproc WARM { java -cp "$CP" dev.backstop.benchmarks.MariaDbBench serve 2>"$WORK/warm-jvm.log"; }
}
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
