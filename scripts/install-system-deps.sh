#!/usr/bin/env bash
# Installs bubblewrap (the strong sandbox) when it is missing and we can: root with apt-get.
# Without it the grader still works in "basic" sandbox mode and every report says so.
set -u
if command -v bwrap >/dev/null 2>&1 && ldconfig -p 2>/dev/null | grep -q libseccomp.so.2; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing bubblewrap (apt-get)..."
  (apt-get install -y -q bubblewrap libseccomp2 >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q bubblewrap libseccomp2 >/dev/null 2>&1; }) \
    || echo "warning: could not install bubblewrap; grading will use the basic sandbox" >&2
else
  echo "note: bubblewrap (bwrap) is not installed; grading will use the basic sandbox." >&2
  echo "      install it with your package manager (e.g. sudo apt-get install bubblewrap)." >&2
fi
exit 0
