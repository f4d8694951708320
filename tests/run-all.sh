#!/usr/bin/env bash
# Runs every test of the project, after installing and starting what the
# tests need: PostgreSQL must answer (started here when its cluster is
# installed but stopped), Dovecot and Postfix are installed from Debian's
# packages and started on 127.0.0.1 by tests/setup/mail-servers.sh, Chromium
# and ChromeDriver are installed by tests/setup/browser.sh, and the
# small encoder model the classifier tests load comes from its PyPI package.
# Then: format check, clippy with warnings denied, and the whole test suite.
#
#   ./tests/run-all.sh            # everything
#   ./tests/run-all.sh -- NAME    # only tests whose name contains NAME
set -euo pipefail
cd "$(dirname "$0")/.."

filter=()
if [ "${1:-}" = "--" ]; then
  shift
  filter=("$@")
fi

export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"

echo "==> PostgreSQL"
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    for version in $(ls /etc/postgresql 2>/dev/null); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
  fi
  for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 1
  done
fi
pg_isready -h 127.0.0.1 -p 5432 || { echo "PostgreSQL does not answer on 127.0.0.1:5432; the store tests need it." >&2; exit 1; }

echo "==> Mail servers (Dovecot, Postfix)"
eval "$(tests/setup/mail-servers.sh)"

echo "==> Chromium and ChromeDriver"
eval "$(tests/setup/browser.sh)"

echo "==> Encoder test model"
INBOX_TEST_ENCODER_DIR="$(classifiers/scripts/fetch-test-model.sh)"
export INBOX_TEST_ENCODER_DIR

echo "==> Format"
cargo fmt --all --check

echo "==> Clippy"
cargo clippy --workspace --all-targets -- -D warnings

echo "==> Tests"
cargo test --workspace -- "${filter[@]}"
