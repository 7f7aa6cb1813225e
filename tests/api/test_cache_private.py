"""test_cache.py with RUNS_PUBLIC=0 (test_cache_private.env): cached runs
still need a valid session on every request, logout takes effect at once.
Run: sh tests/lib/with-pg.sh tests/lib/with-api.sh \
    tests/api/test_cache_private.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_cache  # noqa: E402

if __name__ == "__main__":
    test_cache.main()
