#!/usr/bin/env bash
# Fetch, start, wait for and stop a REAL Neo4j and a REAL Elasticsearch on 127.0.0.1 for the
# integration tests. Used by developers and by .ci/run. See scripts/services/README.md.
#
#   scripts/services.sh fetch                  download everything (idempotent, cached)
#   scripts/services.sh start   [neo4j|es|all] start in the background and wait until ready
#   scripts/services.sh stop    [neo4j|es|all] SIGTERM, wait, SIGKILL after a timeout
#   scripts/services.sh restart [neo4j|es|all] stop then start
#   scripts/services.sh status  [neo4j|es|all] exit 0 only if all named services are up
#   scripts/services.sh env                    print the QTRACE_TEST_* export lines
#   scripts/services.sh reset   [neo4j|es|all] stop and delete the data (fresh, empty servers)
#
# Human-readable messages go to stderr; `start` and `env` print only `export ...` lines on
# stdout, so `eval "$(scripts/services.sh start)"` works. The same lines are written to
# $QTRACE_SERVICES_RUN/env.sh for `source`.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SERVICES_DIR="$SCRIPT_DIR/services"

# ---------------------------------------------------------------------------- configuration
CACHE="${QTRACE_SERVICES_CACHE:-$HOME/.cache/qtrace-services}"
RUN="${QTRACE_SERVICES_RUN:-$CACHE/run}"

pom_default() { # pom_default FILE PROPERTY -> the version pinned in the pom
    sed -n "s:.*<$2>\(.*\)</$2>.*:\1:p" "$1" | head -n 1
}
NEO4J_VERSION="${QTRACE_SERVICES_NEO4J_VERSION:-$(pom_default "$SERVICES_DIR/neo4j/pom.xml" neo4j.version)}"
ES_VERSION="${QTRACE_SERVICES_ES_VERSION:-$(pom_default "$SERVICES_DIR/es/pom.xml" es.version)}"

NEO4J_PORT="${QTRACE_SERVICES_NEO4J_PORT:-7687}"
NEO4J_HTTP_PORT="${QTRACE_SERVICES_NEO4J_HTTP_PORT:-}"
NEO4J_USER="neo4j"
NEO4J_PASSWORD="${QTRACE_SERVICES_NEO4J_PASSWORD:-qtrace-test-password}"
NEO4J_HEAP="${QTRACE_SERVICES_NEO4J_HEAP:-1g}"
NEO4J_HOME_DIR="${QTRACE_SERVICES_NEO4J_HOME:-$RUN/neo4j}"

ES_PORT="${QTRACE_SERVICES_ES_PORT:-9200}"
ES_HEAP="${QTRACE_SERVICES_ES_HEAP:-512m}"
ES_USER="${QTRACE_SERVICES_ES_USER:-qtrace-es}"

START_TIMEOUT="${QTRACE_SERVICES_TIMEOUT:-120}"      # seconds to wait for readiness
STOP_TIMEOUT="${QTRACE_SERVICES_STOP_TIMEOUT:-60}"   # seconds between SIGTERM and SIGKILL
PYTHON="${QTRACE_SERVICES_PYTHON:-python3}"
MVN="${QTRACE_SERVICES_MVN:-mvn}"
# Extra Maven arguments, e.g. QTRACE_SERVICES_MVN_ARGS="-o" or "-Dmaven.repo.local=/path".
read -r -a MVN_ARGS <<<"${QTRACE_SERVICES_MVN_ARGS:-}"

NEO4J_DIST="$CACHE/neo4j-harness-$NEO4J_VERSION"      # lib/*.jar + .complete
ES_DIST="$CACHE/elasticsearch-$ES_VERSION"             # unzipped distribution + .complete

# ---------------------------------------------------------------------------- helpers
say() { printf 'services: %s\n' "$*" >&2; }
die() { printf 'services: ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

is_root() { [ "$(id -u)" -eq 0 ]; }

java_bin() {
    if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
        echo "$JAVA_HOME/bin/java"
    elif command -v java >/dev/null 2>&1; then
        command -v java
    else
        die "java not found (need a JDK 17+; set JAVA_HOME or put java on PATH)"
    fi
}

java_home() { # the JDK that `java` belongs to, for ES_JAVA_HOME
    local bin
    bin="$(readlink -f "$(java_bin)")"
    dirname "$(dirname "$bin")"
}

port_open() { # port_open PORT -> 0 if something accepts TCP connections on 127.0.0.1:PORT
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

http_get() { # http_get URL -> body on stdout, non-zero unless HTTP 2xx
    if command -v curl >/dev/null 2>&1; then
        curl -fsS --max-time 15 "$1" 2>/dev/null
    else
        "$PYTHON" -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=15).read().decode())' "$1" 2>/dev/null
    fi
}

log_tail() { # log_tail FILE...: the last lines of each existing file, to stderr
    local f
    for f in "$@"; do
        [ -f "$f" ] || continue
        printf -- '----- last lines of %s -----\n' "$f" >&2
        tail -n 40 "$f" >&2
        printf -- '----- end of %s -----\n' "$f" >&2
    done
}

# pid files hold the pid of the launch wrapper (see launch_service), started with setsid, i.e. the
# leader of its own process group; every process of the service (the Neo4j JVM; the ES CLI and
# its server JVM) is in that group. SERVICE.exit receives the exit status of the service's
# command once it ends, SERVICE.log its stdout and stderr.
pid_file() { echo "$RUN/$1.pid"; }
exit_file() { echo "$RUN/$1.exit"; }

service_marker() { # a string the service's command line must contain (guards against pid reuse)
    case "$1" in
        neo4j) echo "Launcher.java" ;; # the wrapper's arguments and the JVM's
        es) echo "elasticsearch" ;;    # the wrapper, setpriv/env, bin/elasticsearch and the JVMs
    esac
}

service_name() { case "$1" in es) echo elasticsearch ;; *) echo "$1" ;; esac; }

running_pid() { # running_pid SERVICE -> prints the pid and returns 0 if the service is running
    local file pid
    file="$(pid_file "$1")"
    [ -f "$file" ] || return 1
    pid="$(cat "$file" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    if pid_alive "$pid" && has_marker "$1" "$pid"; then
        echo "$pid"
        return 0
    fi
    return 1
}

pid_alive() { # pid_alive PID -> 0 if the process exists and is not a zombie
    local stat
    kill -0 "$1" 2>/dev/null || return 1
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0 # no /proc entry to read: trust kill -0
    stat="${stat##*) }"                                   # the state follows "pid (comm) "
    [ "${stat:0:1}" != Z ] && [ "${stat:0:1}" != X ]
}

has_marker() { # has_marker SERVICE PID -> 0 if the command line of PID contains the marker
    tr '\0' ' ' <"/proc/$2/cmdline" 2>/dev/null | grep -qF -- "$(service_marker "$1")"
}

group_alive() { kill -0 -- "-$1" 2>/dev/null; }

services_of() { # services_of [neo4j|es|all] -> the list
    case "${1:-all}" in
        neo4j) echo neo4j ;;
        es | elasticsearch) echo es ;;
        all) echo "neo4j es" ;;
        *) die "unknown service '$1' (expected neo4j, es or all)" ;;
    esac
}

lock_run_dir() { # serialise start/stop/reset of one run dir; fd 9 is closed for the services
    mkdir -p "$RUN"
    exec 9>"$RUN/.lock"
    if command -v flock >/dev/null 2>&1; then
        flock -w 300 9 || die "another services.sh is busy with $RUN (lock $RUN/.lock)"
    fi
}

# ---------------------------------------------------------------------------- fetch
run_mvn() { # quiet Maven; its output (errors only, with -q) goes to stderr without ANSI codes
    local out rc=0
    out="$(mktemp)"
    "$MVN" -B -q -Dstyle.color=never ${MVN_ARGS[@]+"${MVN_ARGS[@]}"} "$@" >"$out" 2>&1 || rc=$?
    sed 's/\x1b\[[0-9;]*m//g' "$out" | grep -v '^[[:space:]]*$' >&2 || true
    rm -f "$out"
    return "$rc"
}

fetch_neo4j() {
    if [ -f "$NEO4J_DIST/.complete" ]; then
        say "neo4j-harness $NEO4J_VERSION already fetched ($NEO4J_DIST)"
        return 0
    fi
    command -v "$MVN" >/dev/null 2>&1 || die "Maven ('$MVN') is needed to fetch Neo4j"
    say "fetching org.neo4j.test:neo4j-harness:$NEO4J_VERSION and its runtime dependencies (Maven)..."
    rm -rf "$NEO4J_DIST.tmp"
    mkdir -p "$NEO4J_DIST.tmp"
    if ! run_mvn -f "$SERVICES_DIR/neo4j/pom.xml" -Dneo4j.version="$NEO4J_VERSION" \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$NEO4J_DIST.tmp/lib"; then
        rm -rf "$NEO4J_DIST.tmp"
        die "Maven could not resolve neo4j-harness $NEO4J_VERSION (see above)"
    fi
    [ -f "$NEO4J_DIST.tmp/lib/neo4j-harness-$NEO4J_VERSION.jar" ] \
        || die "neo4j-harness-$NEO4J_VERSION.jar missing after Maven ran"
    touch "$NEO4J_DIST.tmp/.complete"
    rm -rf "$NEO4J_DIST"
    mv "$NEO4J_DIST.tmp" "$NEO4J_DIST"
    say "neo4j-harness $NEO4J_VERSION: $(find "$NEO4J_DIST/lib" -name '*.jar' | wc -l) jars in $NEO4J_DIST/lib"
}

fetch_es() {
    if [ -f "$ES_DIST/.complete" ]; then
        say "elasticsearch $ES_VERSION already fetched ($ES_DIST)"
        es_root_plugin
        return 0
    fi
    command -v "$MVN" >/dev/null 2>&1 || die "Maven ('$MVN') is needed to fetch Elasticsearch"
    local tmp="$CACHE/elasticsearch-$ES_VERSION.tmp"
    say "fetching org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip (Maven)..."
    rm -rf "$tmp"
    mkdir -p "$tmp/dl"
    if ! run_mvn -f "$SERVICES_DIR/es/pom.xml" -Des.version="$ES_VERSION" \
        dependency:copy-dependencies -DoutputDirectory="$tmp/dl"; then
        rm -rf "$tmp"
        die "Maven could not resolve the Elasticsearch $ES_VERSION zip (see above)"
    fi
    local zip="$tmp/dl/elasticsearch-$ES_VERSION.zip"
    [ -f "$zip" ] || die "elasticsearch-$ES_VERSION.zip missing after Maven ran"
    say "unpacking $(basename "$zip")..."
    if command -v unzip >/dev/null 2>&1; then
        unzip -q "$zip" -d "$tmp/x"
    else # keeps no file modes: make the launch scripts executable again
        "$PYTHON" -m zipfile -e "$zip" "$tmp/x"
        chmod -R a+rX "$tmp/x"
        chmod +x "$tmp/x/elasticsearch-$ES_VERSION/bin/"* "$tmp/x/elasticsearch-$ES_VERSION/lib/platform/"*/* 2>/dev/null || true
    fi
    [ -x "$tmp/x/elasticsearch-$ES_VERSION/bin/elasticsearch" ] || die "unexpected layout inside $zip"
    touch "$tmp/x/elasticsearch-$ES_VERSION/.complete"
    rm -rf "$ES_DIST"
    mv "$tmp/x/elasticsearch-$ES_VERSION" "$ES_DIST"
    rm -rf "$tmp"
    say "elasticsearch $ES_VERSION unpacked in $ES_DIST"
    es_root_plugin
}

# Builds scripts/services/es/root-endpoint into plugins/qtrace-root-endpoint of the cached
# distribution (see the comment in the .java file for why). Rebuilt when the source changes;
# QTRACE_SERVICES_ES_ROOT_ENDPOINT=0 removes it. A failure only warns: ES runs without it.
es_root_plugin() {
    local src="$SERVICES_DIR/es/root-endpoint/QtraceRootEndpointPlugin.java"
    local dir="$ES_DIST/plugins/qtrace-root-endpoint" stamp="$ES_DIST/.qtrace-root-endpoint.sha1"
    if [ "${QTRACE_SERVICES_ES_ROOT_ENDPOINT:-1}" = 0 ]; then
        if [ -e "$dir" ]; then
            say "removing the root-endpoint plugin (QTRACE_SERVICES_ES_ROOT_ENDPOINT=0)"
        fi
        rm -rf "$dir" "$stamp"
        return 0
    fi
    local sum
    sum="$(sha1sum <"$src" | cut -c1-40)"
    if [ -f "$dir/qtrace-root-endpoint.jar" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ]; then
        return 0
    fi
    local javac="javac"
    if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/javac" ]; then javac="$JAVA_HOME/bin/javac"; fi
    if ! command -v "$javac" >/dev/null 2>&1; then
        say "WARNING: no javac: Elasticsearch will run without GET / (ping/info)"
        return 0
    fi
    say "building the root-endpoint plugin for elasticsearch $ES_VERSION"
    local tmp="$ES_DIST/.root-plugin.tmp"
    rm -rf "$tmp" "$dir" "$stamp"
    mkdir -p "$tmp/classes" "$tmp/plugin"
    if ! "$javac" --release 17 -nowarn -cp "$ES_DIST/lib/*" -d "$tmp/classes" "$src" >&2; then
        rm -rf "$tmp"
        say "WARNING: the root-endpoint plugin did not compile against $ES_VERSION: Elasticsearch will run without GET / (ping/info)"
        return 0
    fi
    if command -v jar >/dev/null 2>&1; then
        jar cf "$tmp/plugin/qtrace-root-endpoint.jar" -C "$tmp/classes" .
    else
        (cd "$tmp/classes" && "$PYTHON" -m zipfile -c "$tmp/plugin/qtrace-root-endpoint.jar" qtrace)
    fi
    {
        echo "description=Serves GET / and HEAD / (the integ-test-zip lacks the module that does)"
        echo "version=1.0"
        echo "name=qtrace-root-endpoint"
        echo "classname=qtrace.es.QtraceRootEndpointPlugin"
        echo "java.version=17"
        echo "elasticsearch.version=$ES_VERSION"
    } >"$tmp/plugin/plugin-descriptor.properties"
    mkdir -p "$ES_DIST/plugins"
    mv "$tmp/plugin" "$dir"
    rm -rf "$tmp"
    echo "$sum" >"$stamp"
}

fetch_services() { # fetch_services SERVICE...: one fetch per cache at a time (lock on fd 8)
    mkdir -p "$CACHE"
    exec 8>"$CACHE/.fetch.lock"
    if command -v flock >/dev/null 2>&1; then
        flock -w 900 8 || die "another services.sh is fetching into $CACHE (lock $CACHE/.fetch.lock)"
    fi
    local svc
    for svc in "$@"; do
        case "$svc" in
            neo4j) fetch_neo4j ;;
            es) fetch_es ;;
        esac
    done
    exec 8>&-
}

cmd_fetch() {
    # shellcheck disable=SC2046 # word splitting of the service list is intended
    fetch_services $(services_of "${1:-all}")
}

# ---------------------------------------------------------------------------- environment
write_env() {
    mkdir -p "$RUN"
    {
        echo "export QTRACE_TEST_NEO4J_URL=bolt://127.0.0.1:$NEO4J_PORT"
        echo "export QTRACE_TEST_NEO4J_USER=$NEO4J_USER"
        echo "export QTRACE_TEST_NEO4J_PASSWORD=$(printf '%q' "$NEO4J_PASSWORD")"
        echo "export QTRACE_TEST_ES_URL=http://127.0.0.1:$ES_PORT"
    } >"$RUN/env.sh.tmp"
    mv "$RUN/env.sh.tmp" "$RUN/env.sh"
}

cmd_env() {
    write_env
    cat "$RUN/env.sh"
}

# ---------------------------------------------------------------------------- launch and startup
# The wrapper every service runs under, as `bash -c "$LAUNCH_WRAPPER" NAME EXIT_FILE CMD...`: it
# runs CMD as its child and writes CMD's exit status to EXIT_FILE when CMD ends, so a failed
# start can report it. `trap :` keeps it alive through the SIGTERM of a stop until CMD has shut
# down (CMD itself gets the default action back: traps with a handler are reset on exec).
# shellcheck disable=SC2016 # expanded by the wrapper, not here
LAUNCH_WRAPPER='exit_file=$1
shift
trap : TERM INT HUP
"$@"
rc=$?
printf "%s\n" "$rc" >"$exit_file"
exit "$rc"'

declare -gA LAUNCHED_PID=() LAUNCHED_AT=() # what this invocation launched, per service
# How long a just-forked pid may still run this script's code (fork done, exec of setsid not yet)
# before it must show the service's marker. Only a heavily loaded machine needs more than 1 s.
EXEC_GRACE="${QTRACE_SERVICES_EXEC_GRACE:-30}"

# launch_service SERVICE LOG CMD...: start CMD in the background in its own session (setsid), with
# stdout and stderr to LOG, and record the pid. Right after this the pid is still a fork of this
# shell, not yet the service: startup_check allows for that.
launch_service() {
    local svc="$1" log="$2"
    shift 2
    rm -f "$(exit_file "$svc")"
    # 9>&- / 8>&-: do not inherit the run-dir and fetch locks.
    setsid "$BASH" -c "$LAUNCH_WRAPPER" "qtrace-$svc" "$(exit_file "$svc")" "$@" \
        </dev/null >"$log" 2>&1 8>&- 9>&- &
    LAUNCHED_PID[$svc]=$!
    LAUNCHED_AT[$svc]=$SECONDS
    echo "${LAUNCHED_PID[$svc]}" >"$(pid_file "$svc")"
}

# describe_exit SERVICE PID: sets EXIT_TEXT to how the launched process ended (not in a $(...):
# `wait` only knows the status of this shell's own children).
describe_exit() {
    local svc="$1" pid="$2" rc file
    file="$(exit_file "$svc")"
    if [ -s "$file" ]; then
        rc="$(cat "$file")"
        if [[ "$rc" =~ ^[0-9]+$ ]] && [ "$rc" -gt 128 ]; then
            EXIT_TEXT="exit status $rc: killed by SIG$(kill -l $((rc - 128)) 2>/dev/null || echo "$((rc - 128))")"
        else
            EXIT_TEXT="exit status $rc"
        fi
    elif [ "${LAUNCHED_PID[$svc]:-}" = "$pid" ]; then
        rc=0
        wait "$pid" 2>/dev/null || rc=$?
        EXIT_TEXT="the launch ended with status $rc before $(service_name "$svc") ran"
    else
        EXIT_TEXT="exit status unknown: not started by this command"
    fi
}

# startup_check SERVICE LOG...: returns 0 while the service may still come up. Calls start_failed
# (showing the LOGs) when the launched process has really ended, or when the pid never turned into
# the service. Liveness is kill -0 (not a zombie); the command-line marker is only required once
# the process has had EXEC_GRACE seconds to exec.
startup_check() {
    local svc="$1" pid
    shift
    pid="$(cat "$(pid_file "$svc")" 2>/dev/null || true)"
    if [[ "$pid" =~ ^[0-9]+$ ]] && [ ! -s "$(exit_file "$svc")" ] && pid_alive "$pid"; then
        has_marker "$svc" "$pid" && return 0
        if [ "${LAUNCHED_PID[$svc]:-}" = "$pid" ] && [ $((SECONDS - LAUNCHED_AT[$svc])) -lt "$EXEC_GRACE" ]; then
            return 0 # forked, not yet exec'd
        fi
        start_failed "$svc" "pid $pid did not turn into $(service_name "$svc") within ${EXEC_GRACE}s (command line: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-200))" "$@"
    fi
    describe_exit "$svc" "$pid"
    start_failed "$svc" "$(service_name "$svc") exited during startup ($EXIT_TEXT); its stdout/stderr: $1" "$@"
}

# ---------------------------------------------------------------------------- Neo4j
neo4j_launch() {
    local pid
    if pid="$(running_pid neo4j)"; then
        say "neo4j already running (pid $pid)"
        return 0
    fi
    rm -f "$(pid_file neo4j)"
    if port_open "$NEO4J_PORT"; then
        die "port $NEO4J_PORT is already in use by a process this script did not start (set QTRACE_SERVICES_NEO4J_PORT)"
    fi
    [ "${#NEO4J_PASSWORD}" -ge 8 ] || die "QTRACE_SERVICES_NEO4J_PASSWORD must have at least 8 characters (Neo4j 5 rule)"
    [ -f "$NEO4J_DIST/.complete" ] || die "neo4j-harness $NEO4J_VERSION is not fetched (run: $0 fetch)"
    rm -rf "$NEO4J_HOME_DIR/tmp"
    mkdir -p "$NEO4J_HOME_DIR/tmp"
    local log="$RUN/neo4j.log"
    [ -f "$log" ] && mv -f "$log" "$log.1"
    say "starting neo4j $NEO4J_VERSION on bolt://127.0.0.1:$NEO4J_PORT (home $NEO4J_HOME_DIR, log $log)"
    QTRACE_SERVICES_NEO4J_PORT="$NEO4J_PORT" \
    QTRACE_SERVICES_NEO4J_HTTP_PORT="$NEO4J_HTTP_PORT" \
    QTRACE_SERVICES_NEO4J_PASSWORD="$NEO4J_PASSWORD" \
    QTRACE_SERVICES_NEO4J_HOME="$NEO4J_HOME_DIR" \
        launch_service neo4j "$log" "$(java_bin)" \
        -Xms256m -Xmx"$NEO4J_HEAP" -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
        -XX:-OmitStackTraceInFastThrow \
        --add-opens=java.base/java.nio=ALL-UNNAMED \
        --add-opens=java.base/java.io=ALL-UNNAMED \
        --add-opens=java.base/java.lang=ALL-UNNAMED \
        --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
        -Dio.netty.tryReflectionSetAccessible=true \
        -Djava.io.tmpdir="$NEO4J_HOME_DIR/tmp" \
        -cp "$NEO4J_DIST/lib/*" \
        "$SERVICES_DIR/neo4j/Launcher.java"
}

neo4j_wait() {
    local pid deadline log="$RUN/neo4j.log" rc check_out
    pid="$(cat "$(pid_file neo4j)" 2>/dev/null || true)"
    deadline=$((SECONDS + START_TIMEOUT))
    local url="bolt://127.0.0.1:$NEO4J_PORT" have_driver=1
    while :; do
        startup_check neo4j "$log" "$NEO4J_HOME_DIR/logs/debug.log"
        if grep -q 'QTRACE-NEO4J-READY' "$log" 2>/dev/null && port_open "$NEO4J_PORT"; then
            if [ "$have_driver" -eq 1 ]; then
                rc=0
                check_out="$("$PYTHON" "$SERVICES_DIR/check_neo4j.py" "$url" "$NEO4J_USER" "$NEO4J_PASSWORD" 2>&1)" || rc=$?
                case "$rc" in
                    0) say "neo4j ready: $url answered RETURN 1 as user $NEO4J_USER (pid $pid)"; return 0 ;;
                    2) start_failed neo4j "neo4j is up but rejects the configured password: $check_out" "$log" ;;
                    3) have_driver=0
                       say "python package 'neo4j' not installed: checking the Bolt port only" ;;
                    *) : ;; # not answering yet
                esac
            fi
            if [ "$have_driver" -eq 0 ]; then
                say "neo4j ready: $url accepts connections (pid $pid)"
                return 0
            fi
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            start_failed neo4j "neo4j not ready after ${START_TIMEOUT}s (${check_out:-no ready line yet}); log: $log" \
                "$log" "$NEO4J_HOME_DIR/logs/debug.log"
        fi
        sleep 1
    done
}

# ---------------------------------------------------------------------------- Elasticsearch
# Elasticsearch refuses to run as root. As root, it runs as the system user $ES_USER (created on
# first use), and since $HOME (/root) is usually not readable by other users, its files live in
# /var/lib/qtrace-es: dist/ holds a hard-linked (or copied) mirror of the cached distribution and
# run-<hash of the run dir>/ its config, data, logs and tmp; $RUN/es is a symlink to the latter.
# Not as root, it runs as the calling user straight from the cache with its files in $RUN/es.
ES_SYS_BASE="${QTRACE_SERVICES_ES_SYSTEM_DIR:-/var/lib/qtrace-es}"

es_base() {
    if is_root; then
        echo "$ES_SYS_BASE/run-$(printf '%s' "$RUN" | sha1sum | cut -c1-12)"
    else
        echo "$RUN/es"
    fi
}

es_home() {
    # As root: a mirror per cache content, so re-mirroring never touches a running node's files.
    if is_root; then
        local key
        key="$(cat "$ES_DIST/.qtrace-root-endpoint.sha1" 2>/dev/null || echo none)"
        echo "$ES_SYS_BASE/dist/elasticsearch-$ES_VERSION-${key:0:8}"
    else
        echo "$ES_DIST"
    fi
}

es_prepare_root() { # create the user and the mirror; only as root
    if ! id -u "$ES_USER" >/dev/null 2>&1; then
        command -v useradd >/dev/null 2>&1 || die "running as root: need useradd to create user '$ES_USER' for Elasticsearch"
        say "creating system user '$ES_USER' (Elasticsearch refuses to run as root)"
        useradd --system --user-group --no-create-home --home-dir "$ES_SYS_BASE" \
            --shell /usr/sbin/nologin "$ES_USER" \
            || id -u "$ES_USER" >/dev/null 2>&1 || die "could not create user '$ES_USER'"
    fi
    install -d -m 0755 "$ES_SYS_BASE" "$ES_SYS_BASE/dist"
    local home
    home="$(es_home)"
    if [ ! -f "$home/.complete" ]; then
        say "mirroring the distribution to $home (readable by $ES_USER)"
        rm -rf "$home.tmp.$$" "$home"
        cp -al "$ES_DIST" "$home.tmp.$$" 2>/dev/null || { rm -rf "$home.tmp.$$"; cp -a "$ES_DIST" "$home.tmp.$$"; }
        chmod -R a+rX "$home.tmp.$$"
        mv -T "$home.tmp.$$" "$home" 2>/dev/null || rm -rf "$home.tmp.$$" # lost a race: fine
    fi
}

es_write_config() {
    local base="$1" home="$2"
    mkdir -p "$base"
    if [ ! -d "$base/config" ]; then
        cp -R "$home/config" "$base/config"
    fi
    mkdir -p "$base/data" "$base/logs" "$base/tmp" "$base/config/jvm.options.d"
    cat >"$base/config/elasticsearch.yml" <<EOF
# Written by scripts/services.sh on every start; edits are overwritten.
cluster.name: qtrace-test
node.name: qtrace-test-node
path.data: $base/data
path.logs: $base/logs
network.host: 127.0.0.1
http.port: $ES_PORT
# Loopback + single-node discovery = development mode: bootstrap checks (vm.max_map_count,
# file descriptors, ...) only warn, they do not stop the node.
discovery.type: single-node
xpack.security.enabled: false
# Never block writes because the disk of a developer machine or CI runner is nearly full.
cluster.routing.allocation.disk.threshold_enabled: false
# Let tests delete indices by wildcard.
action.destructive_requires_name: false
EOF
    cat >"$base/config/jvm.options.d/qtrace.options" <<EOF
-Xms$ES_HEAP
-Xmx$ES_HEAP
EOF
    if is_root; then
        chown -R "$ES_USER:" "$base/config"
        chown "$ES_USER:" "$base" "$base/data" "$base/logs" "$base/tmp"
    fi
}

es_launch() {
    local pid
    if pid="$(running_pid es)"; then
        say "es already running (pid $pid)"
        return 0
    fi
    rm -f "$(pid_file es)"
    if port_open "$ES_PORT"; then
        die "port $ES_PORT is already in use by a process this script did not start (set QTRACE_SERVICES_ES_PORT)"
    fi
    [ -f "$ES_DIST/.complete" ] || die "elasticsearch $ES_VERSION is not fetched (run: $0 fetch)"
    local base home log="$RUN/es.log" jhome
    is_root && es_prepare_root
    base="$(es_base)"
    home="$(es_home)"
    es_write_config "$base" "$home"
    if is_root; then
        ln -sfn "$base" "$RUN/es"
    fi
    jhome="$(java_home)"
    [ -f "$log" ] && mv -f "$log" "$log.1"
    local -a as_user=()
    if is_root; then
        command -v setpriv >/dev/null 2>&1 || die "running as root: need setpriv (util-linux) to run Elasticsearch as '$ES_USER'"
        as_user=(setpriv "--reuid=$ES_USER" "--regid=$ES_USER" --init-groups)
    fi
    say "starting elasticsearch $ES_VERSION on http://127.0.0.1:$ES_PORT (heap $ES_HEAP, files $base${as_user:+, user $ES_USER}, log $log)"
    # The tool-visible environment is kept small: a stray JAVA_TOOL_OPTIONS or ES_JAVA_OPTS from
    # the caller could break the node.
    launch_service es "$log" ${as_user[@]+"${as_user[@]}"} env -i \
        PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        HOME="$base" LANG=C.UTF-8 \
        ES_JAVA_HOME="$jhome" ES_PATH_CONF="$base/config" ES_TMPDIR="$base/tmp" \
        "$home/bin/elasticsearch" -p "$base/server.pid"
}

es_wait() {
    local pid deadline log="$RUN/es.log" body="" url="http://127.0.0.1:$ES_PORT"
    pid="$(cat "$(pid_file es)" 2>/dev/null || true)"
    deadline=$((SECONDS + START_TIMEOUT))
    while :; do
        startup_check es "$log" "$(es_base)/logs/qtrace-test.log"
        if body="$(http_get "$url/_cluster/health?wait_for_status=yellow&timeout=2s")"; then
            case "$body" in
                *'"status":"green"'* | *'"status":"yellow"'*)
                    say "elasticsearch ready: $url cluster health $(printf '%s' "$body" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p') (pid $pid)"
                    return 0
                    ;;
            esac
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            start_failed es "elasticsearch not ready after ${START_TIMEOUT}s (last health answer: ${body:-none}); log: $log" \
                "$log" "$(es_base)/logs/qtrace-test.log"
        fi
        sleep 1
    done
}

# ---------------------------------------------------------------------------- commands
start_failed() { # start_failed SERVICE MESSAGE LOG...: show the logs, stop what was started, fail
    local svc="$1" message="$2" pid
    shift 2
    log_tail "$@"
    pid="$(cat "$(pid_file "$svc")" 2>/dev/null || true)"
    # What this invocation launched is stopped even before it has exec'd (no marker yet).
    if [[ "$pid" =~ ^[0-9]+$ ]] && { pid_alive "$pid" || group_alive "$pid"; } \
        && { [ "${LAUNCHED_PID[$svc]:-}" = "$pid" ] || has_marker "$svc" "$pid"; }; then
        say "stopping the $svc that did not come up"
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        wait_stopped "$svc" "$pid" "$SECONDS"
    fi
    rm -f "$(pid_file "$svc")"
    die "$message"
}

cmd_start() {
    local svcs svc
    svcs="$(services_of "${1:-all}")"
    lock_run_dir
    # fetch first, so a failed download starts nothing
    # shellcheck disable=SC2086 # word splitting of the service list is intended
    fetch_services $svcs
    local t0=$SECONDS
    for svc in $svcs; do # launch all, then wait for all: the JVMs boot in parallel
        case "$svc" in
            neo4j) neo4j_launch ;;
            es) es_launch ;;
        esac
    done
    for svc in $svcs; do
        case "$svc" in
            neo4j) neo4j_wait ;;
            es) es_wait ;;
        esac
    done
    say "ready after $((SECONDS - t0))s"
    write_env
    say "environment written to $RUN/env.sh (source it, or eval this command's output)"
    cat "$RUN/env.sh"
}

signal_stop() { # signal_stop SERVICE -> sends SIGTERM; prints the pid if it was running
    local svc="$1" pid
    if ! pid="$(running_pid "$svc")"; then
        say "$svc not running"
        rm -f "$(pid_file "$svc")"
        return 0
    fi
    say "stopping $svc (pid $pid): SIGTERM, SIGKILL after ${STOP_TIMEOUT}s"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    echo "$svc:$pid"
}

wait_stopped() { # wait_stopped SERVICE PID T0: wait for PID's group to end; SIGKILL after the timeout
    local svc="$1" pid="$2" t0="$3" waited=0
    while { group_alive "$pid" || pid_alive "$pid"; } && [ $((SECONDS - t0)) -lt "$STOP_TIMEOUT" ]; do
        sleep 0.5
    done
    if group_alive "$pid" || pid_alive "$pid"; then
        say "$svc did not stop within ${STOP_TIMEOUT}s: SIGKILL"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        while { group_alive "$pid" || pid_alive "$pid"; } && [ "$waited" -lt 10 ]; do
            sleep 0.5
            waited=$((waited + 1))
        done
    fi
    say "$svc stopped ($((SECONDS - t0))s)"
}

cmd_stop() {
    local svc entry pid t0=$SECONDS
    local -a pending=()
    lock_run_dir
    for svc in $(services_of "${1:-all}"); do # signal all first: they shut down in parallel
        entry="$(signal_stop "$svc")"
        [ -n "$entry" ] && pending+=("$entry")
    done
    for entry in ${pending[@]+"${pending[@]}"}; do
        svc="${entry%%:*}"
        pid="${entry#*:}"
        wait_stopped "$svc" "$pid" "$t0"
        rm -f "$(pid_file "$svc")"
    done
}

cmd_status() {
    local svc pid rc=0
    for svc in $(services_of "${1:-all}"); do
        if pid="$(running_pid "$svc")"; then
            case "$svc" in
                neo4j)
                    if port_open "$NEO4J_PORT"; then
                        echo "neo4j: running (pid $pid), bolt://127.0.0.1:$NEO4J_PORT accepting connections"
                    else
                        echo "neo4j: running (pid $pid), bolt://127.0.0.1:$NEO4J_PORT NOT accepting connections"; rc=1
                    fi ;;
                es)
                    local health
                    if health="$(http_get "http://127.0.0.1:$ES_PORT/_cluster/health")"; then
                        echo "es: running (pid $pid), http://127.0.0.1:$ES_PORT health $(printf '%s' "$health" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')"
                    else
                        echo "es: running (pid $pid), http://127.0.0.1:$ES_PORT NOT answering"; rc=1
                    fi ;;
            esac
        else
            echo "$svc: stopped"
            rc=1
        fi
    done
    return "$rc"
}

cmd_reset() {
    local svc
    cmd_stop "${1:-all}"
    for svc in $(services_of "${1:-all}"); do
        case "$svc" in
            neo4j) say "deleting neo4j data in $NEO4J_HOME_DIR"; rm -rf "$NEO4J_HOME_DIR" ;;
            es) say "deleting elasticsearch data in $(es_base)"; rm -rf "$(es_base)" "$RUN/es" ;;
        esac
    done
}

main() {
    local cmd="${1:-}"
    [ $# -gt 0 ] && shift
    [ $# -le 1 ] || usage
    case "$cmd" in
        fetch) cmd_fetch "$@" ;;
        start) cmd_start "$@" ;;
        stop) cmd_stop "$@" ;;
        restart) cmd_stop "$@"; cmd_start "$@" ;;
        status) cmd_status "$@" ;;
        env) cmd_env ;;
        reset) cmd_reset "$@" ;;
        -h | --help | help | "") usage ;;
        *) say "unknown command '$cmd'"; usage ;;
    esac
}

# Sourcing the script (tests do) defines the functions without running a command.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi
