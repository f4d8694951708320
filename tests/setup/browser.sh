#!/usr/bin/env bash
# Installs Debian's Chromium and ChromeDriver for the browser tests when
# they are missing (idempotent), and prints `export` lines naming them:
#
#   eval "$(tests/setup/browser.sh)"
#
# The tests start their own ChromeDriver on a free loopback port and drive a
# headless Chromium through it; nothing is left running.
set -euo pipefail

log() { echo "browser: $*" >&2; }

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    log "installing chromium and chromium-driver from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y chromium chromium-driver >&2; then
        apt-get update >&2
        apt-get install -y chromium chromium-driver >&2
    fi
fi

CHROMIUM="$(command -v chromium)"
CHROMEDRIVER="$(command -v chromedriver)"
log "ready: $("$CHROMEDRIVER" --version 2>/dev/null | head -n1)"
echo "export INBOX_TEST_CHROMIUM=$CHROMIUM"
echo "export INBOX_TEST_CHROMEDRIVER=$CHROMEDRIVER"
