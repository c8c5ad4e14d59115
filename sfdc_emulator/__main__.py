"""``python -m sfdc_emulator [--port 8443] [--data-dir var/sfdc] [--host 127.0.0.1] [--reset]``
and ``python -m sfdc_emulator reset --data-dir var/sfdc``."""

import argparse
import sys

from . import server, state
from .store import Store


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv and argv[0] in ("serve", "reset") else "serve"
    parser = argparse.ArgumentParser(prog="python -m sfdc_emulator")
    parser.add_argument("--data-dir", default="var/sfdc")
    if command == "serve":
        parser.add_argument("--port", type=int, default=8443)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--reset", action="store_true", help="re-seed before serving")
        parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    if command == "reset":
        from pathlib import Path

        Path(args.data_dir).mkdir(parents=True, exist_ok=True)
        state.reset(Store(Path(args.data_dir) / "state.sqlite3"))
        print(f"sfdc_emulator: re-seeded {args.data_dir}")
        return
    server.serve(args.data_dir, host=args.host, port=args.port, reset=args.reset, verbose=args.verbose)


if __name__ == "__main__":
    main()
