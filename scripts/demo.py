#!/usr/bin/env python
"""The demo on one machine: migrate (SQLite), seed the `acme` workspace, then run the local
Salesforce emulator, a Celery worker (with beat, on the embedded broker) and the web server
until Ctrl-C. Logs go to var/log/."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
LOGS = VAR / "log"
WEB_PORT = int(os.environ.get("WORKESTRA_DEMO_PORT", "8000"))
SFDC_PORT = int(os.environ.get("SFDC_EMULATOR_PORT", "8443"))
SFDC_DIR = VAR / "sfdc"


def wait_for_port(port: int, process: subprocess.Popen, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{name} exited early; see {LOGS / (name + '.log')}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    sys.exit(f"{name} did not start within {timeout:.0f}s; see {LOGS / (name + '.log')}")


def start(name: str, args: list[str], env: dict) -> subprocess.Popen:
    log = open(LOGS / f"{name}.log", "ab")  # noqa: SIM115
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def main() -> None:
    LOGS.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "workestra.settings.local")
    env.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{WEB_PORT}")
    env.setdefault("SALESFORCE_LOGIN_URL", f"https://127.0.0.1:{SFDC_PORT}")
    env.setdefault("SALESFORCE_SANDBOX_LOGIN_URL", f"https://127.0.0.1:{SFDC_PORT}/sandbox")
    # The connect form's custom login host: the emulator answers on any name it is reached by.
    env.setdefault("SALESFORCE_EXTRA_LOGIN_HOSTS", f"localhost:{SFDC_PORT},127.0.0.1:{SFDC_PORT}")
    env["PYTHONUNBUFFERED"] = "1"
    manage = [str(ROOT / "manage.py")]
    subprocess.run([sys.executable, *manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([sys.executable, *manage, "seed_demo"], cwd=ROOT, env=env, check=True)

    processes = []
    emulator = start(
        "sfdc_emulator", ["-m", "sfdc_emulator", "--port", str(SFDC_PORT), "--data-dir", str(SFDC_DIR)], env
    )
    processes.append(emulator)
    wait_for_port(SFDC_PORT, emulator, "sfdc_emulator")
    # simple-salesforce and requests-oauthlib trust the emulator's CA through this bundle.
    env["REQUESTS_CA_BUNDLE"] = str(SFDC_DIR / "ca-bundle.pem")
    # The same I/O-bound pool as docker-compose.yml, smaller: the demo's SQLite has one writer.
    processes.append(
        start(
            "worker",
            [
                "-m",
                "celery",
                "-A",
                "workestra",
                "worker",
                "--beat",
                "--loglevel=INFO",
                "--pool=threads",
                "--concurrency=4",
                "--schedule",
                str(VAR / "celerybeat-schedule"),
            ],
            env,
        )
    )
    web = start("web", [*manage, "runserver", f"127.0.0.1:{WEB_PORT}", "--noreload"], env)
    processes.append(web)
    wait_for_port(WEB_PORT, web, "web")

    print(
        f"""
Workestra demo is running.

  Web app            http://127.0.0.1:{WEB_PORT}/accounts/login/
  Sign in as         admin@acme.test (admin), alice@acme.test, bob@acme.test, carol@acme.test
  Password           workestra-demo
  Salesforce (local) https://127.0.0.1:{SFDC_PORT}/   sign in there as admin@acme.test / salesforce
  Records browser    https://127.0.0.1:{SFDC_PORT}/_records/   (self-signed: accept the warning)
  Public booking     http://127.0.0.1:{WEB_PORT}/book/acme/alice/
  Routing form       http://127.0.0.1:{WEB_PORT}/forms/acme/contact-sales/
  Emails sent        {VAR / "mail"}/   (one file per email, with its invite.ics)
  Logs               {LOGS}/

Connect Salesforce at http://127.0.0.1:{WEB_PORT}/settings/integrations/salesforce/ . Ctrl-C stops everything.
""",
        flush=True,
    )

    def stop(*_):
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while all(p.poll() is None for p in processes):
        time.sleep(1)
    print("A demo process stopped; see the logs in var/log/.", file=sys.stderr)
    stop()


if __name__ == "__main__":
    main()
