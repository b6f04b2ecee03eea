#!/usr/bin/env bash
# Relay throughput, measured with Postfix's smtp-source, on each store (SQLite and PostgreSQL), beside Postfix:
#   SESSIONS concurrent sessions x MESSAGES messages of SIZE bytes from one staff member to a rostered minor,
#   1. against a bare aiosmtpd server that accepts and discards (the ceiling for any aiosmtpd server),
#   2. through Debian's Postfix, a throwaway instance on loopback relaying to the same smtp-sink (the
#      reference: an MTA's rate for the same load, accepted and relayed), and
#   3. through Chaperone: authentication identity, roster, policy, transparency fan-out (student + two
#      guardians + principal), durable commits, delivery into smtp-sink; once per store in STORES.
# For Postfix and Chaperone two rates: accepted (smtp-source done) and end to end (the last copy at the sink:
# Postfix's queue empty, Chaperone's last delivery recorded). Then a steady load at half of Chaperone's end
# to end rate (benchmarks/paced.py) gives its p50/p99 added latency (accepted -> delivered).
# smtp-source cannot AUTH, so Chaperone runs with [smtp] trust_loopback_as, a benchmark-only setting.
# Every server first takes WARMUP messages that are not counted; ROUNDS rounds then alternate them (each
# drains before the next); the medians are reported.
set -euo pipefail
cd "$(dirname "$0")/.."
SESSIONS=${SESSIONS:-20}
MESSAGES=${MESSAGES:-5000}
SIZE=${SIZE:-2048}
ROUNDS=${ROUNDS:-5}
WARMUP=${WARMUP:-1000}
IDLE=${IDLE:-20}
PROCESSES=${PROCESSES:-2}
STORES=${STORES:-sqlite postgresql}
POSTGRES=${POSTGRES:-postgresql://postgres@127.0.0.1:5432/postgres}
PACED=${PACED:-3000}
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
databases=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  postmulti -i postfix-bench -p stop >/dev/null 2>&1 || true
  for db in "${databases[@]}"; do "$PY" -c "$admin" "DROP DATABASE IF EXISTS $db WITH (FORCE)" "$POSTGRES" || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
admin='import asyncio, sys, asyncpg
async def run():
    c = await asyncpg.connect(sys.argv[2]); await c.execute(sys.argv[1]); await c.close()
asyncio.run(run())'

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

# 1. the bare aiosmtpd baseline, and the sink every relay delivers into
bare=$(free_port)
"$PY" benchmarks/bare_aiosmtpd.py "$bare" >/dev/null & pids+=($!)
wait_port "$bare"
sink=$(free_port)
smtp-sink -u nobody "127.0.0.1:$sink" 256 & pids+=($!)

# 2. Postfix: a throwaway instance (postmulti) listening on loopback, relaying everything to the sink
postfix_port=$(free_port)
pf=/etc/postfix-bench
if [ ! -d "$pf" ]; then
  postmulti -e init >/dev/null
  postmulti -I postfix-bench -e create >/dev/null
fi
postconf -c "$pf" -e "inet_interfaces = 127.0.0.1" "inet_protocols = ipv4" "relayhost = [127.0.0.1]:$sink" \
  "mydestination =" "mynetworks = 127.0.0.0/8" "smtpd_relay_restrictions = permit_mynetworks, reject" \
  "local_transport = error:no local delivery" "master_service_disable =" "multi_instance_enable = yes" \
  "smtp_tls_security_level = none" "compatibility_level = 3.6"
postconf -c "$pf" -MX smtp/inet 2>/dev/null || true
for service in $(postconf -c "$pf" -M | awk '$2 == "inet" {print $1}'); do postconf -c "$pf" -MX "$service/inet"; done
postconf -c "$pf" -Me "127.0.0.1:$postfix_port/inet=127.0.0.1:$postfix_port inet n - n - - smtpd"
postmulti -i postfix-bench -p stop >/dev/null 2>&1 || true
postmulti -i postfix-bench -p start >/dev/null
wait_port "$postfix_port"
postfix_round() {  # prints "accepted end-to-end" rates
  local t0 t1 t2
  t0=$(date +%s.%N)
  smtp-source -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -f "$SENDER" -t "$STUDENT" "127.0.0.1:$postfix_port"
  t1=$(date +%s.%N)
  until postqueue -c "$pf" -p 2>&1 | grep -q "Mail queue is empty"; do sleep 0.02; done
  t2=$(date +%s.%N)
  "$PY" -c "print(f'{$MESSAGES / ($t1 - $t0):.0f} {$MESSAGES / ($t2 - $t0):.0f}')"
}
MESSAGES=$WARMUP postfix_round >/dev/null

# 3. Chaperone on each store
# A district where it is midday now: quiet hours would otherwise defer every message sent at night.
zone=$("$PY" -c 'from datetime import UTC, datetime; o=(12-datetime.now(UTC).hour+12)%24-12; print("Etc/GMT" if o==0 else f"Etc/GMT{-o:+d}")')
report=()
for store in $STORES; do
  if [ "$store" = sqlite ]; then
    url="sqlite:///$work/archive-$store.db"
  else
    db="chaperone_bench_$$"
    "$PY" -c "$admin" "CREATE DATABASE $db" "$POSTGRES"
    databases+=("$db")
    url="${POSTGRES%/*}/$db"
  fi
  submission=$(free_port)
  cat >"$work/chaperone-$store.toml" <<TOML
data_dir = "$work"
[district]
timezone = "$zone"
[archive]
url = "$url"
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
  .venv/bin/chaperone --config "$work/chaperone-$store.toml" roster import "$ROSTER" >/dev/null
  .venv/bin/chaperone --config "$work/chaperone-$store.toml" serve & relay=$!
  pids+=($relay)
  wait_port "$submission"
  sleep 1  # every acceptance process listening

  MESSAGES=$WARMUP drive "$bare" >/dev/null
  MESSAGES=$WARMUP drive "$submission" >/dev/null
  "$PY" benchmarks/latency.py "$url" "$WARMUP" >/dev/null  # drains
  bare_rates=() relay_rates=() e2e_rates=() postfix_accepted=() postfix_e2e=()
  for round in $(seq "$ROUNDS"); do
    bare_rates+=("$(drive "$bare")")
    read -r accepted e2e < <(postfix_round)
    postfix_accepted+=("$accepted") postfix_e2e+=("$e2e")
    t0=$(date +%s.%N)
    relay_rates+=("$(drive "$submission")")
    "$PY" benchmarks/latency.py "$url" $((WARMUP + round * MESSAGES)) "latency, burst" $MESSAGES --since "$t0" \
      >"$work/burst.txt"  # drains
    e2e_rates+=("$(sed -n 's/.*end to end \([0-9]*\) msg\/s.*/\1/p' "$work/burst.txt")")
  done
  e2e=$(median "${e2e_rates[@]}")
  half=${PACED_RATE:-$(( e2e / 2 ))}
  "$PY" benchmarks/paced.py "$submission" "$half" "$PACED" 4 "$SIZE" >/dev/null
  "$PY" benchmarks/latency.py "$url" $((WARMUP + ROUNDS * MESSAGES + PACED)) "latency at $half/s" "$PACED" \
    >"$work/paced.txt"
  kill "$relay"; wait "$relay" 2>/dev/null || true
  pf_acc=$(median "${postfix_accepted[@]}") pf_e2e=$(median "${postfix_e2e[@]}") acc=$(median "${relay_rates[@]}")
  report+=("")
  report+=("store: $store")
  report+=("  bare aiosmtpd accepts:   $(median "${bare_rates[@]}") msg/s (rounds: ${bare_rates[*]})")
  report+=("  postfix:                 accepted $pf_acc msg/s, end to end $pf_e2e msg/s (rounds: ${postfix_e2e[*]})")
  report+=("  chaperone:               accepted $acc msg/s, end to end $e2e msg/s (rounds: ${e2e_rates[*]})")
  report+=("  chaperone / postfix:     accepted $("$PY" -c "print(f'{$acc / $pf_acc:.2f}')"), end to end $("$PY" -c "print(f'{$e2e / $pf_e2e:.2f}')")")
  report+=("  $(cat "$work/burst.txt")")
  report+=("  $(cat "$work/paced.txt")")
done

echo "sessions=$SESSIONS messages=$MESSAGES size=${SIZE}B rounds=$ROUNDS acceptance processes=$PROCESSES pack=$PACK"
echo "each Chaperone message: 2 copies, 4 recipients, durable commit; each Postfix message: 1 recipient"
printf '%s\n' "${report[@]}"
