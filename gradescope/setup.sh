#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image; the autograder zip
# is unpacked in /autograder/source. Installs Python, bubblewrap (the sandbox; without working
# user namespaces the grader falls back to its "basic" sandbox and every result says so) and
# the grader's wheel (dist/, put there by `grader release --gradescope`) with its dependencies
# into /autograder/venv.
set -euo pipefail

apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    python3 python3-venv python3-pip bubblewrap
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --upgrade pip
/autograder/venv/bin/python -m pip install /autograder/source/dist/*.whl
