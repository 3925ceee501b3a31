#!/usr/bin/env bash
# Installs the real third-party clients the tests drive: LibreOffice 25.x (Word forms, and
# Calc for question set workbooks),
# poppler through GObject introspection, qpdf and poppler-utils (PDF checks), and Chromium
# (musforms report is opened, screenshot and printed to PDF in it).
# The bookworm-backports entry is derived from the machine's own Debian source, so no
# package host is written into this repository.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

need=()
command -v soffice >/dev/null 2>&1 && soffice --version 2>/dev/null | grep -qE 'LibreOffice (2[5-9]|[3-9][0-9])' || need+=(lo)
/usr/bin/python3 -c 'import gi; gi.require_version("Poppler", "0.18"); from gi.repository import Poppler' >/dev/null 2>&1 || need+=(poppler)
command -v qpdf >/dev/null 2>&1 || need+=(qpdf)
command -v pdftoppm >/dev/null 2>&1 || need+=(pdftoppm)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
/usr/bin/python3 -c 'import uno' >/dev/null 2>&1 || need+=(uno)
# Calc re-saves question set workbooks as Excel would (tests/test_questionbook.py).
dpkg -s libreoffice-calc-nogui >/dev/null 2>&1 || need+=(calc)

if [ ${#need[@]} -eq 0 ]; then
  echo "real clients: all present"
  exit 0
fi
echo "real clients: installing (${need[*]})"

src=/etc/apt/sources.list.d/debian.sources
bp=/etc/apt/sources.list.d/musforms-backports.sources
if [ ! -f "$bp" ] && [ -f "$src" ]; then
  # First stanza of the machine's own source, with its suite switched to backports.
  awk 'BEGIN{RS=""; ORS="\n\n"} NR==1{print; exit}' "$src" \
    | sed -E 's/^Suites:.*/Suites: bookworm-backports/' | $SUDO tee "$bp" >/dev/null
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  qpdf poppler-utils gir1.2-poppler-0.18 python3-gi fonts-dejavu-core dovecot-imapd \
  chromium >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports \
  libreoffice-writer-nogui libreoffice-calc-nogui python3-uno >/dev/null
soffice --version
