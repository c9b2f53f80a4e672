#!/usr/bin/env bash
# Installs the Debian packages medpfl builds and tests against (skips apt when all are present).
# Needs root (or sudo) on a fresh machine; Swift 6.1+ must already be on PATH.
set -euo pipefail
PKGS=(libopenblas-dev libpng-dev libgdcm-dev libjpeg62-turbo-dev libtiff-dev libnifti2-dev libniftiio-dev libznz-dev libcmark-dev libsqlite3-dev zlib1g-dev pkg-config chromium fonts-liberation fonts-dejavu-core poppler-utils)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "medpfl setup: installing ${missing[*]}" >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "medpfl setup: swift is not on PATH (Swift 6.1 or newer is needed)" >&2; exit 1; }
