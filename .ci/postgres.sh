#!/usr/bin/env bash
# A throwaway PostgreSQL server on 127.0.0.1 for the test suite and the benchmark.
#
#   source .ci/postgres.sh          # install if needed, start (or reuse), export the URL
#   .ci/postgres.sh stop            # stop it (also: pg_stop after sourcing)
#
# Exports ORCHESTRA_TEST_POSTGRES_URL and ORCHESTRA_REQUIRE_POSTGRES=1, and
# ORCHESTRA_TEST_PGBOUNCER_URL: a pgbouncer in transaction-pooling mode in
# front of the same server (installed from Debian too), for the tests of
# prepared_statements=False. The cluster lives in $ORCHESTRA_PG_DIR (default
# /tmp/orchestra-pg) and runs as the unprivileged `postgres` user when started
# by root. Idempotent: a running server (and pgbouncer) there is reused.

_pg_dir="${ORCHESTRA_PG_DIR:-/tmp/orchestra-pg}"

_pg_as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

_pg_bindir() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    if [ -z "$dir" ]; then
        if [ "$(id -u)" != 0 ]; then
            echo "postgres.sh: PostgreSQL is not installed; run as root or apt-get install postgresql" >&2
            return 1
        fi
        apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2 || return 1
        dir="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
    fi
    echo "$dir"
}

# The first port from $1 (default 54329) up to 54429 that nothing listens on.
_pg_free_port() {
    local port
    for port in $(seq "${1:-54329}" 54429); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    echo "postgres.sh: no free port in 54329-54429" >&2
    return 1
}

pg_start() {
    local bindir port
    bindir="$(_pg_bindir)" || return 1
    if [ -f "$_pg_dir/data/postmaster.pid" ] && _pg_as_owner "$bindir/pg_ctl" -D "$_pg_dir/data" status >/dev/null 2>&1; then
        port="$(cat "$_pg_dir/port")"
    else
        if [ ! -f "$_pg_dir/data/PG_VERSION" ]; then
            rm -rf "$_pg_dir"
            mkdir -p "$_pg_dir"
            [ "$(id -u)" = 0 ] && chown postgres: "$_pg_dir"
            chmod 700 "$_pg_dir"
            _pg_as_owner "$bindir/initdb" -D "$_pg_dir/data" -U postgres -A trust -E UTF8 >"$_pg_dir/initdb.log" 2>&1 \
                || { cat "$_pg_dir/initdb.log" >&2; return 1; }
        fi
        port="$(_pg_free_port)" || return 1
        _pg_as_owner sh -c "echo $port > '$_pg_dir/port'"
        _pg_as_owner "$bindir/pg_ctl" -D "$_pg_dir/data" -l "$_pg_dir/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $_pg_dir -c max_connections=200" start >/dev/null \
            || { cat "$_pg_dir/server.log" >&2; return 1; }
        # The test role creates a database per test, so it needs CREATEDB; and it drops
        # each one WITH (FORCE), which must end any session still on it, an autovacuum
        # worker's too: pg_signal_backend.
        _pg_as_owner "$bindir/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 <<'SQL' >/dev/null || return 1
SET client_min_messages = warning;
SELECT 'CREATE ROLE orchestra LOGIN CREATEDB' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'orchestra')\gexec
GRANT pg_signal_backend TO orchestra;
SELECT 'CREATE DATABASE orchestra OWNER orchestra' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'orchestra')\gexec
SQL
    fi
    export ORCHESTRA_TEST_POSTGRES_URL="postgresql+psycopg://orchestra@127.0.0.1:$port/orchestra"
    export ORCHESTRA_REQUIRE_POSTGRES=1
    echo "postgres.sh: PostgreSQL on 127.0.0.1:$port ($ORCHESTRA_TEST_POSTGRES_URL)" >&2
    _pgbouncer_start "$port"
}

_pgbouncer_start() {
    local pg_port="$1" port
    if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
        if [ "$(id -u)" != 0 ]; then
            echo "postgres.sh: pgbouncer not installed; its tests will skip" >&2
            return 0
        fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >&2 || return 1
    fi
    local attempt first=54329
    for attempt in 1 2 3; do
        _pgbouncer_launch "$pg_port" "$first" || return 1
        port="$(cat "$_pg_dir/pgbouncer.port")"
        # pgbouncer daemonizes before it binds: a port found free can be taken in between
        # (a client socket's ephemeral port is in this range too), so wait until it answers.
        if _pg_listening "$port"; then
            export ORCHESTRA_TEST_PGBOUNCER_URL="postgresql+psycopg://orchestra@127.0.0.1:$port/orchestra"
            echo "postgres.sh: pgbouncer (transaction pooling) on 127.0.0.1:$port" >&2
            return 0
        fi
        echo "postgres.sh: pgbouncer did not start on port $port (attempt $attempt)" >&2
        tail -n 3 "$_pg_dir/pgbouncer.log" >&2
        rm -f "$_pg_dir/pgbouncer.pid"
        first=$((port + 1))
    done
    return 1
}

# True once something accepts connections on 127.0.0.1:$1 (up to 5 s).
_pg_listening() {
    local tries
    for tries in $(seq 50); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# Start pgbouncer in front of the server on port $1, on a free port from $2, unless one
# is already running.
_pgbouncer_launch() {
    local pg_port="$1" port
    if [ -f "$_pg_dir/pgbouncer.pid" ] && kill -0 "$(cat "$_pg_dir/pgbouncer.pid")" 2>/dev/null; then
        return 0
    else
        port="$(_pg_free_port "$2")" || return 1
        # Transaction pooling with two server connections: consecutive
        # transactions of one client land on different server sessions.
        _pg_as_owner sh -c "cat > '$_pg_dir/pgbouncer.ini'" <<INI
[databases]
* = host=127.0.0.1 port=$pg_port
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $_pg_dir/userlist.txt
pool_mode = transaction
default_pool_size = 2
max_client_conn = 200
logfile = $_pg_dir/pgbouncer.log
pidfile = $_pg_dir/pgbouncer.pid
INI
        _pg_as_owner sh -c "echo '\"orchestra\" \"\"' > '$_pg_dir/userlist.txt'; echo $port > '$_pg_dir/pgbouncer.port'"
        _pg_as_owner "$(command -v pgbouncer || echo /usr/sbin/pgbouncer)" -d -q "$_pg_dir/pgbouncer.ini" \
            || { cat "$_pg_dir/pgbouncer.log" >&2; return 1; }
    fi
}

pg_stop() {
    local bindir
    if [ -f "$_pg_dir/pgbouncer.pid" ]; then
        kill "$(cat "$_pg_dir/pgbouncer.pid")" 2>/dev/null || true
        rm -f "$_pg_dir/pgbouncer.pid"
    fi
    bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    if [ -n "$bindir" ] && [ -f "$_pg_dir/data/postmaster.pid" ]; then
        _pg_as_owner "$bindir/pg_ctl" -D "$_pg_dir/data" -m fast -w stop >/dev/null 2>&1 || true
        echo "postgres.sh: stopped" >&2
    fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    case "${1:-start}" in
        start)
            pg_start
            echo "export ORCHESTRA_TEST_POSTGRES_URL=$ORCHESTRA_TEST_POSTGRES_URL ORCHESTRA_REQUIRE_POSTGRES=1" \
                "ORCHESTRA_TEST_PGBOUNCER_URL=${ORCHESTRA_TEST_PGBOUNCER_URL:-}"
            ;;
        stop) pg_stop ;;
        *) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
    esac
else
    pg_start
fi
