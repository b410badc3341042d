#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time: scripts/fuzz.sh [seconds per target] [target…]
# Needs the nightly toolchain (rustup) and cargo-fuzz; installs cargo-fuzz when missing.
# New inputs go to a scratch corpus; fuzz/seeds/<target> is the small committed corpus.
# A crash, panic, hang (>10 s per input) or >2 GB RSS stops the run with the input saved
# under fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(email commands webhook csv_import config)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
scratch=${FUZZ_CORPUS_DIR:-${TMPDIR:-/tmp}/promoterd-fuzz-corpus}
cargo +nightly fuzz build
bin=fuzz/target/$(rustc +nightly -vV | sed -n 's/^host: //p')/release
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  echo "== $t: ${secs}s"
  start=$(date +%s)
  log="$scratch/$t.log"
  status=0
  mkdir -p "fuzz/artifacts/$t"
  "$bin/$t" "$scratch/$t" "fuzz/seeds/$t" -artifact_prefix="fuzz/artifacts/$t/" \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=262144 -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E "^(Done|stat::number_of_executed_runs|stat::peak_rss_mb|SUMMARY)|panicked|deadly signal|Test unit written" "$log" || true
  echo "== $t: exit $status after $(( $(date +%s) - start ))s, corpus $(ls "$scratch/$t" | wc -l) inputs"
  [ "$status" -eq 0 ] || exit "$status"
done
