"""The production settings, plus the floor endpoint and a throwaway STATIC_ROOT.

The app's settings fix STATIC_ROOT to the checkout's `staticfiles/`; the benchmark collects
into a temporary directory instead so that it never touches a developer's files.
"""

import os

from exomars_site.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

if os.environ.get("BENCH_STATIC_ROOT"):
    STATIC_ROOT = os.environ["BENCH_STATIC_ROOT"]
