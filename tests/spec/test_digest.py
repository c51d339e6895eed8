"""``sha256_hex``: hashlib's sha256, without importing hashlib for small inputs."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from fermata.spec import digest
from fermata.spec.digest import sha256_hex


@pytest.mark.parametrize("size", [0, 1, 63, 64, 1000, digest._LARGE, digest._LARGE + 1])
def test_it_is_hashlibs_sha256(size):
    data = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    assert sha256_hex(data) == hashlib.sha256(data).hexdigest()


def test_a_small_input_does_not_import_hashlib():
    # The point of the module (start-up, #17): OpenSSL is loaded only for large inputs.
    script = ("import sys\nfrom fermata.spec.digest import sha256_hex\n"
              "sha256_hex(b'spec text')\nprint('hashlib' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "False"
