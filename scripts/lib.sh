# Shared by the scripts in this folder: where things are, and the idempotent set-up steps.
# Source it; it defines functions and variables only.

SPARKGATE_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SPARK_VERSION="${SPARK_VERSION:-4.2.0}"
SPARKGATE_CACHE="${SPARKGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sparkgate}"
GATEWAY_JAR="$SPARKGATE_HOME/gateway/target/sparkgate-gateway.jar"
AGENT_JAR="$SPARKGATE_HOME/driver-agent/target/sparkgate-driver-agent.jar"

# Output: progress (a live line with elapsed time, pip's download bar) only when stderr is a
# terminal and SPARKGATE_QUIET is not 1; `scripts/sparkgate --quiet` sets it. Quiet runs print the
# step lines below and errors, as before.
SPARKGATE_QUIET="${SPARKGATE_QUIET:-0}"
interactive() { [ "$SPARKGATE_QUIET" != 1 ] && [ -t 2 ]; }

log() { [ "$SPARKGATE_QUIET" = 1 ] || printf '[sparkgate] %s\n' "$*" >&2; }
die() { printf '[sparkgate] error: %s\n' "$*" >&2; exit 1; }

# Runs "$@" with its output in a log file; on a terminal, a live line shows LABEL and the time
# so far, then how long it took. On failure, the log's last lines go to stderr. Returns its status.
run_step() {
  local label=$1; shift
  local out; out=$(mktemp "${TMPDIR:-/tmp}/sparkgate-step.XXXXXX")
  local start=$SECONDS status=0
  if interactive; then
    "$@" >"$out" 2>&1 &
    local pid=$! spin='|/-\' i=0
    local now
    while kill -0 "$pid" 2>/dev/null; do
      # Maven names the module it builds: "Building Sparkgate gateway ... [4/6]".
      now=$(grep -o 'Building [^[]*\[[0-9]*/[0-9]*\]' "$out" 2>/dev/null | tail -n 1 | tr -s ' ' || true)
      printf '\r\033[K[sparkgate] %s %s %ds %s' "$label" "${spin:i++%4:1}" $((SECONDS - start)) "$now" >&2
      sleep 0.5
    done
    wait "$pid" || status=$?
    printf '\r\033[K' >&2
  else
    "$@" >"$out" 2>&1 || status=$?
  fi
  if [ $status -eq 0 ]; then
    log "$label: done in $((SECONDS - start)) s"
  else
    tail -n 40 "$out" >&2
  fi
  rm -f "$out"
  return $status
}

# The venv that carries the provisioned Spark (pyspark's package holds a whole Spark) and the
# Python that pyspark sessions run.
spark_venv() { printf '%s/pyspark-%s' "$SPARKGATE_CACHE" "$SPARK_VERSION"; }

# Python 3.9+ with venv support; installs Debian's python3-venv when missing.
find_python() {
  local py
  for py in python3.11 python3.12 python3.13 python3.10 python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import sys, venv; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
      command -v "$py"; return 0
    fi
  done
  if command -v apt-get >/dev/null 2>&1; then
    log "installing python3 and python3-venv with apt-get"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >&2 || return 1
    command -v python3; return 0
  fi
  return 1
}

require_java() {
  command -v java >/dev/null 2>&1 || die "Java 17 or newer is needed (java not found on PATH)"
  local v
  v=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
  [ "${v%%.*}" -ge 17 ] 2>/dev/null || die "Java 17 or newer is needed (found $v)"
}

# Sets SPARK_HOME: the one given, else the provisioned one, created on first use.
ensure_spark() {
  if [ -n "${SPARK_HOME:-}" ]; then
    [ -x "$SPARK_HOME/bin/spark-submit" ] || die "SPARK_HOME=$SPARK_HOME has no bin/spark-submit"
    export SPARK_HOME; return 0
  fi
  local venv; venv=$(spark_venv)
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import pyspark, matplotlib' 2>/dev/null; then
    local py; py=$(find_python) || die "no Python 3.9+ with venv found, and apt-get could not install one"
    log "provisioning Spark $SPARK_VERSION (pyspark==$SPARK_VERSION, a 450 MB download) into $venv"
    mkdir -p "$SPARKGATE_CACHE"
    local tmp="$venv.partial.$$"
    rm -rf "$tmp"
    "$py" -m venv "$tmp" || die "could not create a venv with $py"
    # On a terminal pip shows its download bar (size, rate, time left); quiet otherwise.
    local pip_out=(-q); interactive && pip_out=(--progress-bar on)
    "$tmp/bin/python" -m pip install "${pip_out[@]}" --disable-pip-version-check "pyspark==$SPARK_VERSION" matplotlib \
      || { rm -rf "$tmp"; die "pip could not install pyspark==$SPARK_VERSION"; }
    rm -rf "$venv" && mv "$tmp" "$venv"
  fi
  SPARK_HOME=$("$venv/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
  export SPARK_HOME
  # pyspark sessions run the venv's Python unless the user chose another.
  export PYSPARK_PYTHON="${PYSPARK_PYTHON:-$venv/bin/python}"
  [ -x "$SPARK_HOME/bin/spark-submit" ] || die "provisioned Spark at $SPARK_HOME has no bin/spark-submit"
}

# A small venv with the Python clients the tests use (requests, pytest, requests-kerberos).
ensure_test_venv() {
  local venv="$SPARKGATE_CACHE/test-venv"
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import requests, pytest' 2>/dev/null; then
    local py; py=$(find_python) || die "no Python 3.9+ with venv found"
    log "creating the test venv (requests, pytest) in $venv"
    rm -rf "$venv"
    "$py" -m venv "$venv" && "$venv/bin/python" -m pip install -q --disable-pip-version-check requests pytest \
      || die "could not install requests and pytest"
  fi
  # requests-kerberos (the seed's client) for the Kerberos tests: its gssapi module builds against
  # MIT Kerberos' development files (scripts/provision-kerberos installs them).
  if ! "$venv/bin/python" -c 'import requests_kerberos' 2>/dev/null; then
    "$SPARKGATE_HOME/scripts/provision-kerberos"
    log "adding requests-kerberos to the test venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check requests-kerberos \
      || die "could not install requests-kerberos"
  fi
  TEST_PYTHON="$venv/bin/python"
}

# A venv with schemathesis (the API fuzzer scripts/test runs against the OpenAPI description).
SCHEMATHESIS_VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"
ensure_fuzz_venv() {
  local venv="$SPARKGATE_CACHE/fuzz-venv"
  local have=""
  [ -x "$venv/bin/python" ] && have=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null || true)
  if [ ! -x "$venv/bin/schemathesis" ] || [ "$have" != "$SCHEMATHESIS_VERSION" ]; then
    local py; py=$(find_python) || die "no Python 3.9+ with venv found"
    log "creating the fuzzing venv (schemathesis $SCHEMATHESIS_VERSION) in $venv"
    rm -rf "$venv"
    "$py" -m venv "$venv" && "$venv/bin/python" -m pip install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" \
      || die "could not install schemathesis"
  fi
  SCHEMATHESIS="$venv/bin/schemathesis"
}

# True when a built artifact is older than any source or pom of the project.
stale() {
  local artifact=$1
  [ -f "$artifact" ] || return 0
  [ -n "$(find "$SPARKGATE_HOME/pom.xml" "$SPARKGATE_HOME/proto" "$SPARKGATE_HOME/gateway" "$SPARKGATE_HOME/driver-agent" \
      \( -name target -prune \) -o \( -type f \( -name '*.java' -o -name 'pom.xml' -o -path '*/resources/*' \) -newer "$artifact" -print \) | head -n 1)" ]
}

# Builds the gateway and the agent when missing or older than their sources.
ensure_build() {
  require_java
  if stale "$GATEWAY_JAR" || stale "$AGENT_JAR"; then
    command -v mvn >/dev/null 2>&1 || die "Maven is needed to build Sparkgate (mvn not found)"
    log "building (mvn package, tests skipped; a minute or more, longer on a first run that fills ~/.m2)"
    run_step "building" mvn -B -ntp -f "$SPARKGATE_HOME/pom.xml" package -Dmaven.test.skip=true \
        -pl proto,driver-agent,examples,dev-yarn,gateway || die "the build failed"
  fi
}
