#!/usr/bin/env bash
# Run the actor benchmark workloads for the peer implementations:
#   rust   — bench/actors/rust   (ractor on tokio)
#   erlang — bench/actors/erlang (Erlang/OTP processes, escript)
#
# Usage:
#   bench/actors/peers.sh                     # all five workloads, default sizes
#   bench/actors/peers.sh WORKLOAD [ARGS...]  # one workload, e.g. `ring 1000 100000`
#
# Workloads: pingpong [N] | fanout [N] [C] | ring [A] [M] | spawn [N] | ask [N]
# Each run prints one JSON line on stdout; progress and skips go to stderr.
#
# Environment:
#   PEERS=rust,erlang   which peers to run (default both)
#   RUNS=1              repeat each (workload, peer) this many times
#   SKIP_BUILD=1        do not (re)build the Rust bench
#   NO_INSTALL=1        never try to install Erlang with apt-get
#   SINGLE_THREAD=1     run every workload on one thread: the Rust bench on a
#                       tokio current_thread runtime, Erlang with `+S 1`
#   ACTOR_BENCH_WORKERS passed through to the Rust bench (0 = current_thread)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RUST_DIR="$HERE/rust"
ERL_SCRIPT="$HERE/erlang/actor_bench.erl"
RUST_BIN="$RUST_DIR/target/release/actor_bench"
PEERS="${PEERS:-rust,erlang}"
RUNS="${RUNS:-1}"
WORKLOADS=(pingpong fanout ring spawn ask)
if [[ "${SINGLE_THREAD:-0}" == 1 ]]; then
    export ACTOR_BENCH_WORKERS=0
    export ERL_FLAGS="${ERL_FLAGS:+$ERL_FLAGS }+S 1"
fi

log() { echo "peers.sh: $*" >&2; }

want() { [[ ",$PEERS," == *",$1,"* ]]; }

if [[ $# -gt 0 ]]; then
    case "$1" in
        pingpong|fanout|ring|spawn|ask) ;;
        -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) log "unknown workload '$1' (expected one of: ${WORKLOADS[*]})"; exit 2 ;;
    esac
fi

# ---------------------------------------------------------------- rust peer --
have_rust=0
if want rust; then
    if [[ "${SKIP_BUILD:-0}" == 1 && -x "$RUST_BIN" ]]; then
        have_rust=1
    elif ! command -v cargo >/dev/null 2>&1; then
        log "cargo not found: skipping the Rust (ractor) peer"
    else
        log "building the Rust (ractor) bench (release, target dir $RUST_DIR/target)"
        # Its own target dir and its own [workspace]: independent of the Noodle workspace.
        if CARGO_TARGET_DIR="$RUST_DIR/target" nice -n 10 \
            cargo build --release --locked --quiet --manifest-path "$RUST_DIR/Cargo.toml" >&2; then
            have_rust=1
        else
            log "Rust bench build FAILED: skipping the Rust (ractor) peer"
        fi
    fi
fi

# -------------------------------------------------------------- erlang peer --
have_erlang=0
if want erlang; then
    if ! command -v escript >/dev/null 2>&1 && [[ "${NO_INSTALL:-0}" != 1 ]]; then
        SUDO=""
        if [[ $(id -u) -ne 0 ]]; then
            if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; fi
        fi
        if [[ $(id -u) -eq 0 || -n "$SUDO" ]] && command -v apt-get >/dev/null 2>&1; then
            log "Erlang not found: installing erlang-base with apt-get"
            export DEBIAN_FRONTEND=noninteractive
            if ! { $SUDO apt-get update -qq >&2 && $SUDO apt-get install -y -qq erlang-base >&2; }; then
                log "apt-get install erlang-base failed"
            fi
        else
            log "Erlang not found and cannot apt-get install it (not root / no apt-get)"
        fi
    fi
    if command -v escript >/dev/null 2>&1; then
        have_erlang=1
    else
        log "Erlang/OTP (escript) unavailable: SKIPPING the Erlang peer"
    fi
fi

# --------------------------------------------------------------------- run --
run_one() {
    local i
    for ((i = 0; i < RUNS; i++)); do
        if [[ $have_rust == 1 ]]; then
            "$RUST_BIN" "$@" || log "rust: '$*' failed (exit $?)"
        fi
        if [[ $have_erlang == 1 ]]; then
            escript "$ERL_SCRIPT" "$@" || log "erlang: '$*' failed (exit $?)"
        fi
    done
}

if [[ $have_rust == 0 && $have_erlang == 0 ]]; then
    log "no peer available to run"
    exit 1
fi

if [[ $# -eq 0 ]]; then
    for w in "${WORKLOADS[@]}"; do run_one "$w"; done
else
    run_one "$@"
fi
