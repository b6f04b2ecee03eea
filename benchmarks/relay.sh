#!/usr/bin/env bash
# Relay throughput, measured with Postfix's smtp-source:
#   SESSIONS concurrent sessions x MESSAGES messages of SIZE bytes from one staff member to a rostered minor,
#   1. against a bare aiosmtpd server that accepts and discards (the ceiling for any aiosmtpd server), and
#   2. through Chaperone: authentication identity, roster, policy, transparency fan-out (student + two
#      guardians + principal), durable SQLite commits, delivery into smtp-sink.
# Prints both rates, their ratio, and Chaperone's p50/p99 added latency (accepted -> delivered downstream).
# smtp-source cannot AUTH, so Chaperone runs with [smtp] trust_loopback_as, a benchmark-only setting.
# Both servers first take WARMUP messages that are not counted (Python's caches, the archive file's first
# pages). ROUNDS rounds then alternate the two (each Chaperone round drains its queue before the next bare
# one, so its deliveries never compete with the baseline); the medians are reported. Last, IDLE single
# messages sent one at a time show the latency of a relay that is not under a burst.
set -euo pipefail
cd "$(dirname "$0")/.."
SESSIONS=${SESSIONS:-20}
MESSAGES=${MESSAGES:-5000}
SIZE=${SIZE:-2048}
ROUNDS=${ROUNDS:-5}
WARMUP=${WARMUP:-1000}
IDLE=${IDLE:-20}
PROCESSES=${PROCESSES:-2}
# The policy pack: "default" (rules and the learned model), or benchmarks/rules-only.toml to measure what the
# model costs the relay (PACK=benchmarks/rules-only.toml make bench).
PACK=${PACK:-default}
PY=${PY:-.venv/bin/python}
SENDER=dreyes@nusd.example.org
STUDENT=spatel@students.nusd.example.org
ROSTER=${ROSTER:-../shared/district-sample}

if ! command -v smtp-source >/dev/null || ! command -v smtp-sink >/dev/null; then
  echo "installing postfix for smtp-source and smtp-sink" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null
fi

work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; return 1; }
drive() {  # one smtp-source run against port $1; prints its rate in messages/s
  local t0 t1
  t0=$(date +%s.%N)
  smtp-source -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -f "$SENDER" -t "$STUDENT" "127.0.0.1:$1"
  t1=$(date +%s.%N)
  "$PY" -c "print(f'{$MESSAGES / ($t1 - $t0):.0f}')"
}
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }

# 1. the bare aiosmtpd baseline
bare=$(free_port)
"$PY" benchmarks/bare_aiosmtpd.py "$bare" >/dev/null & pids+=($!)
wait_port "$bare"

# 2. Chaperone, delivering into smtp-sink
sink=$(free_port)
smtp-sink -u nobody "127.0.0.1:$sink" 256 & pids+=($!)
submission=$(free_port)
# A district where it is midday now: quiet hours would otherwise defer every message sent at night.
zone=$("$PY" -c 'from datetime import UTC, datetime; o=(12-datetime.now(UTC).hour+12)%24-12; print("Etc/GMT" if o==0 else f"Etc/GMT{-o:+d}")')
cat >"$work/chaperone.toml" <<TOML
data_dir = "$work"
[district]
timezone = "$zone"
[archive]
url = "sqlite:///$work/archive.db"
[smtp]
submission = "127.0.0.1:$submission"
inbound = ""
require_tls = false
trust_loopback_as = "$SENDER"
processes = $PROCESSES
[delivery]
target = "smtp://127.0.0.1:$sink"
workers = ${WORKERS:-8}
nice = ${NICE:-10}
[policy]
pack = "$PACK"
[logging]
level = "warning"
TOML
.venv/bin/chaperone --config "$work/chaperone.toml" roster import "$ROSTER" >/dev/null
.venv/bin/chaperone --config "$work/chaperone.toml" serve & pids+=($!)
wait_port "$submission"
sleep 1  # every acceptance process listening

MESSAGES=$WARMUP drive "$bare" >/dev/null
MESSAGES=$WARMUP drive "$submission" >/dev/null
"$PY" benchmarks/latency.py "$work/archive.db" "$WARMUP" >/dev/null  # drains
bare_rates=() relay_rates=()
for round in $(seq "$ROUNDS"); do
  bare_rates+=("$(drive "$bare")")
  relay_rates+=("$(drive "$submission")")
  "$PY" benchmarks/latency.py "$work/archive.db" $((WARMUP + round * MESSAGES)) "latency, burst" \
    $((round * MESSAGES)) >"$work/latency.txt"  # drains
done
for _ in $(seq "$IDLE"); do
  smtp-source -s 1 -m 1 -l "$SIZE" -f "$SENDER" -t "$STUDENT" "127.0.0.1:$submission"
  sleep 0.3
done
"$PY" benchmarks/latency.py "$work/archive.db" $((WARMUP + ROUNDS * MESSAGES + IDLE)) "latency, idle" \
  "$IDLE" >>"$work/latency.txt"
bare_rate=$(median "${bare_rates[@]}")
relay_rate=$(median "${relay_rates[@]}")

echo "sessions=$SESSIONS messages=$MESSAGES size=${SIZE}B rounds=$ROUNDS acceptance processes=$PROCESSES"
echo "bare aiosmtpd:      $bare_rate msg/s (rounds: ${bare_rates[*]})"
echo "chaperone:          $relay_rate msg/s (rounds: ${relay_rates[*]}; each message: 2 copies, 4 recipients, durable commit)"
echo "ratio:              $("$PY" -c "print(f'{$relay_rate / $bare_rate:.2f}')")"
cat "$work/latency.txt"
