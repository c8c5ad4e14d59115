"""The web container's health check: `python -m workestra.healthcheck` exits 0 when /healthz answers 200.

It talks to gunicorn directly, so it says it came through the TLS proxy (production redirects
plain HTTP to HTTPS) and uses a Host the compose file always allows.
"""

import os
import sys
import urllib.request

URL = os.environ.get("HEALTHCHECK_URL", "http://127.0.0.1:8000/healthz")
HOST = os.environ.get("HEALTHCHECK_HOST", "localhost")


def main() -> int:
    if not URL.startswith(("http://", "https://")):
        print(f"healthcheck: HEALTHCHECK_URL must be http(s), got {URL!r}", file=sys.stderr)
        return 2
    request = urllib.request.Request(URL, headers={"Host": HOST, "X-Forwarded-Proto": "https"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # nosec B310  # scheme checked above
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"healthcheck failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
