#!/usr/bin/env bash
# The official-SDK compatibility step and the console's browser test: Google's google-genai and
# OpenAI's openai Python packages against `tts-repl serve`, each asking for a clip twice (the second answer must be a cache hit
# with identical audio).
#
#   Tests/compat/run.sh [BIN_DIR]     (BIN_DIR: where tts-repl and fake-gemini are built)
#
# Makes the virtual environment .build/venv from requirements.txt when missing or stale, starts
# fake-gemini and two servers on free loopback ports over temporary stores (one on the espeak
# engine for the OpenAI SDK, one on the Gemini engine with fake-gemini upstream for the Gemini
# SDK), runs sdk_compat.py then Tests/console/console_test.py (Selenium, headless Chromium) and
# Tests/console/firefox_test.py (headless Firefox over WebDriver BiDi), and stops every process and removes every folder on every exit path.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$(cd "$root" && swift build --show-bin-path)}
venv=$root/.build/venv

for tool in "$bin/tts-repl" "$bin/fake-gemini"; do
  [ -x "$tool" ] || { echo "compat: $tool is not built; run swift build first" >&2; exit 1; }
done

# The venv is rebuilt when the pinned versions change (a copy of the requirements marks it).
if ! cmp -s "$here/requirements.txt" "$venv/requirements.txt" 2>/dev/null; then
  echo "compat: installing the SDKs into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$venv/requirements.txt"
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/tts-compat.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A fresh token each run: the servers refuse anything else, so the SDKs must send it the way
# their docs say (Authorization: Bearer for OpenAI, x-goog-api-key for Google).
token="compat-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

# wait_for_port NAME PID FILE: the port a process wrote, or a failure naming the process.
wait_for_port() {
  local name=$1 pid=$2 file=$3
  for _ in $(seq 1 150); do
    if [ -s "$file" ]; then cat "$file"; return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "compat: $name exited before listening; its output:" >&2
      cat "$dir/$name.log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "compat: $name wrote no port file within 15 s; its output:" >&2
  cat "$dir/$name.log" >&2
  return 1
}

# serve NAME ENV…: starts `tts-repl serve` on a free loopback port in its own store and folder
# (no .env from the working directory, no Redis), with the given settings; sets `base` to its
# URL (not printed: a command substitution would run it in a subshell and lose its pid).
serve() {
  local name=$1; shift
  mkdir -p "$dir/$name"
  (cd "$dir/$name" && exec env -u GEMINI_API_KEY -u GEMINI_BASE_URL -u TTS_ENGINE -u REDIS_URL \
      TTS_STORE="$dir/$name/store" REDIS_URL=off TTS_SERVE_TOKENS="$token" "$@" \
      "$bin/tts-repl" serve --listen 127.0.0.1:0 --port-file "$dir/$name.port") >"$dir/$name.log" 2>&1 &
  pids+=($!)
  base="http://127.0.0.1:$(wait_for_port "$name" "$!" "$dir/$name.port")"
}

"$bin/fake-gemini" --port 0 --port-file "$dir/fake-gemini.port" >"$dir/fake-gemini.log" 2>&1 &
pids+=($!)
fake="http://127.0.0.1:$(wait_for_port fake-gemini "$!" "$dir/fake-gemini.port")"

serve openai TTS_ENGINE=espeak
openai_base=$base
serve gemini TTS_ENGINE=gemini GEMINI_BASE_URL="$fake" GEMINI_API_KEY=compat-upstream-key \
  GEMINI_MODEL=gemini-2.5-flash-preview-tts
gemini_base=$base

status=0
timeout 300 "$venv/bin/python" "$here/sdk_compat.py" --token "$token" \
  --openai-base "$openai_base" --gemini-base "$gemini_base" \
  --gemini-stats "$fake/__control/counters" || status=$?
# The web console in headless Chromium, on the espeak server (with its token, so the prompt is
# checked too); screenshots for a person go to .build/.
if [ "$status" = 0 ]; then
  CONSOLE_TOKEN="$token" CONSOLE_SCREENSHOT_DIR="$root/.build" timeout 300 "$venv/bin/python" \
    "$here/../console/console_test.py" "$openai_base" || status=$?
fi
# The same console in headless Firefox over WebDriver BiDi (Debian has no geckodriver); its
# throwaway profile goes under $dir, so even a killed test leaves nothing behind.
if [ "$status" = 0 ]; then
  CONSOLE_TOKEN="$token" CONSOLE_SCREENSHOT_DIR="$root/.build" TMPDIR="$dir" timeout 300 "$venv/bin/python" \
    "$here/../console/firefox_test.py" "$openai_base" || status=$?
fi
if [ "$status" != 0 ]; then
  for name in openai gemini fake-gemini; do
    echo "--- $name output (last 20 lines)"; tail -n 20 "$dir/$name.log"
  done
fi
exit "$status"
