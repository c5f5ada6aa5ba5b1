#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs dependencies (idempotent) and builds into ${TW_BUILD_DIR:-build}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
build=${TW_BUILD_DIR:-build}
werror=OFF
[[ -n ${CI:-} && ${CI} != false ]] && werror=ON
cmake -S . -B "$build" -G Ninja -DTW_WERROR="$werror" >/dev/null
cmake --build "$build"
