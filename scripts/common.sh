# Shared by the scripts in this folder (sourced, not run): make sure the build tools are there.
# On a fresh Debian 12 machine as root this installs what is missing; elsewhere it says what to do.

ensure_build_tools() {
  if ! command -v cc >/dev/null 2>&1; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
      echo "common.sh: no C compiler (mimalloc needs one): installing build-essential" >&2
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends build-essential >/dev/null
    else
      echo "common.sh: no C compiler found: install one (apt-get install build-essential)" >&2
      return 1
    fi
  fi
  if [[ -f "$HOME/.cargo/env" ]]; then
    # shellcheck disable=SC1091
    source "$HOME/.cargo/env"
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    if command -v curl >/dev/null 2>&1; then
      echo "common.sh: no Rust toolchain: installing it with rustup (https://rustup.rs)" >&2
      curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
      # shellcheck disable=SC1091
      source "$HOME/.cargo/env"
    else
      echo "common.sh: no Rust toolchain: install it from https://rustup.rs (curl is needed for that)" >&2
      return 1
    fi
  fi
}
