"""Settings for the test suite: a throw-away data dir and a fast password hasher.

The production settings keep Argon2 first (tested in tests/registry/test_security.py).
"""

import atexit
import os
import shutil
import tempfile

if "CPSTEM_DATA_DIR" not in os.environ:
    _folder = tempfile.mkdtemp(prefix="cpstem-test-")
    os.environ["CPSTEM_DATA_DIR"] = _folder
    atexit.register(shutil.rmtree, _folder, True)

from cpstem.registry.settings import *  # noqa: F403
from cpstem.registry.settings import PASSWORD_HASHERS as PRODUCTION_PASSWORD_HASHERS

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PRODUCTION_PASSWORD_HASHERS]
