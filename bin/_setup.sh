# Shared set-up for bin/serve and bin/test: install what is missing, fast when nothing is.
# Sourced, not run. Works on a fresh Debian 12 machine as root with only the package registries reachable.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export SSL_CERT_FILE="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"
export UV_PYTHON_DOWNLOADS=never
# Bytecode is cached in one ignored folder (var/pycache) rather than not at all: without a cache every Python process
# (each pytest worker, each manage.py) compiled every module it imported again, about 7 s of CPU a test process.
unset PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX="$ROOT/var/pycache"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

say() { printf '\033[1m==> [%3d s] %s\033[0m\n' "$SECONDS" "$*" >&2; }  # with the seconds since the start

# supervise NAME CMD...: run CMD, and run it again SUPERVISE_DELAY seconds (default 2) after each exit, until this
# process gets SIGTERM or SIGINT, which stops CMD too. Run it in the background: `supervise "the worker" cmd &`.
supervise() {
  local name="$1" child="" status
  shift
  trap 'if [ -n "$child" ]; then kill "$child" 2>/dev/null; wait "$child" 2>/dev/null; fi; exit 0' TERM INT
  while true; do
    "$@" &
    child=$!
    status=0
    wait "$child" || status=$?
    say "$name stopped (exit $status); starting it again in ${SUPERVISE_DELAY:-2} s"
    sleep "${SUPERVISE_DELAY:-2}" & wait $!
  done
}

find_python312() {
  local candidates=(python3.12 "${PYENV_ROOT:-/root/.pyenv}"/versions/3.12.*/bin/python3.12 /usr/bin/python3.12 /usr/local/bin/python3.12)
  for c in "${candidates[@]}"; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
      command -v "$c"; return 0
    fi
  done
  return 1
}

apt_install() {  # apt_install PACKAGE... — only those not yet installed
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    say "apt: installing ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

setup_python() {
  local stamp="$VENV/.lock.sha256" want
  want="$(sha256sum requirements.lock.txt | cut -d' ' -f1)"
  if [ -x "$PY" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  local py312
  py312="$(find_python312)" || { echo "Python 3.12 is needed (pyenv or /usr/bin/python3.12); none found" >&2; exit 1; }
  if [ ! -x "$ROOT/.tools/bin/uv" ]; then
    say "installing uv (fast Python package installer) into .tools/"
    "$py312" -m venv "$ROOT/.tools"
    "$ROOT/.tools/bin/pip" install -q --disable-pip-version-check "uv==0.13.9"
  fi
  if [ ! -x "$PY" ]; then
    say "creating .venv with $py312"
    "$ROOT/.tools/bin/uv" venv -q --python "$py312" "$VENV"
  fi
  say "installing Python packages from requirements.lock.txt"
  "$ROOT/.tools/bin/uv" pip sync -q --python "$PY" --require-hashes requirements.lock.txt
  echo "$want" > "$stamp"
}

setup_assets() {
  local stamp="node_modules/.lock.sha256" want
  want="$(sha256sum package.json package-lock.json | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    command -v npm >/dev/null 2>&1 || apt_install nodejs npm
    say "installing front-end packages (NHS.UK design system) with npm"
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
    echo "$want" > "$stamp"
  fi
  local dist="node_modules/nhsuk-frontend/dist/nhsuk" out="static/vendor/nhsuk"
  if [ ! -f "$out/.stamp" ] || [ "$(cat "$out/.stamp")" != "$want" ]; then
    rm -rf "$out"; mkdir -p "$out/root"
    # the source maps too: the minified files reference them, and production collectstatic checks references
    cp "$dist"/nhsuk-frontend.min.css{,.map} "$dist"/nhsuk-frontend.min.js{,.map} "$out/"
    cp -r "$dist/assets" "$out/root/assets"   # the CSS asks for /assets/... at the site root
    echo "$want" > "$out/.stamp"
  fi
}

mkdir -p "$ROOT/var"
