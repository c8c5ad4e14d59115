"""gunicorn settings for the load run: each web worker records every SQL statement slower than
LOAD_SLOW_SQL_MS (default 20) to LOAD_SLOW_SQL_LOG, BEGIN IMMEDIATE included, so time spent
waiting for SQLite's write lock (or a PostgreSQL row lock) shows up next to the request
latencies. No product code changes: it is a Django execute wrapper installed after fork."""

import os
import time

SLOW_MS = float(os.environ.get("LOAD_SLOW_SQL_MS", "20"))
LOG = os.environ.get("LOAD_SLOW_SQL_LOG", "")


def _record_slow(execute, sql, params, many, context):
    began = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        ms = (time.perf_counter() - began) * 1000
        if ms >= SLOW_MS:
            statement = " ".join(sql.split())[:70].replace(",", " ")
            with open(LOG, "a") as log:  # O_APPEND: one short line per write, safe across threads
                log.write(f"{time.time():.3f},{os.getpid()},{ms:.1f},{statement}\n")


def _install(sender, connection, **kwargs):
    if _record_slow not in connection.execute_wrappers:
        connection.execute_wrappers.append(_record_slow)


def post_fork(server, worker):
    if LOG:
        from django.db.backends.signals import connection_created

        connection_created.connect(_install, weak=False)


# Server-side time of each request (microseconds), to tell time spent in Django from time
# spent waiting for a worker, the GIL or the CPU.
accesslog = os.environ.get("LOAD_ACCESS_LOG") or None
access_log_format = "%(m)s %(U)s %(s)s %(D)s"
