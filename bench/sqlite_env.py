"""Environment of the benchmarks that run on SQLite in a temporary folder: imported before Django,
so the settings read it. `prepare()` returns the repository root and the working folder."""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def prepare(prefix: str = "workestra-bench-", **extra: str) -> tuple[Path, Path]:
    """Point Django at a fresh SQLite file under a new temporary folder (never at DATABASE_URL or
    REDIS_URL), with the test settings; `extra` adds or overrides environment variables."""
    sys.path.insert(0, str(ROOT))
    work = Path(tempfile.mkdtemp(prefix=prefix))
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="workestra.settings.test",
        SQLITE_PATH=str(work / "bench.sqlite3"),
        WORKESTRA_TEST_RUN_DIR=str(work),
        PUBLIC_BASE_URL="http://127.0.0.1:8000",
        **extra,
    )
    return ROOT, work
