"""Tiny HTML helpers shared by the sign-in/consent pages and the records browser.

Every dynamic value goes through ``esc``; nothing is marked safe implicitly.
"""

from html import escape

STYLE = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;background:#f3f3f3;margin:0;
color:#181818}
header{background:#0176d3;color:#fff;padding:12px 24px;font-size:18px}
main{max-width:960px;margin:24px auto;background:#fff;padding:24px;border-radius:6px;
box-shadow:0 1px 3px rgba(0,0,0,.15)}
label{display:block;margin:12px 0 4px;font-weight:600}
input[type=text],input[type=password]{width:100%;padding:8px;box-sizing:border-box}
button{background:#0176d3;color:#fff;border:0;padding:8px 16px;border-radius:4px;
cursor:pointer;margin:12px 8px 0 0}
button.secondary{background:#fff;color:#0176d3;border:1px solid #0176d3}
.error{background:#fde8e8;color:#ba0517;padding:10px;border-radius:4px;margin-bottom:12px}
table{border-collapse:collapse;width:100%;margin-top:12px;font-size:14px}
th,td{border-bottom:1px solid #ddd;text-align:left;padding:6px;vertical-align:top}
nav a{margin-right:12px}
.muted{color:#706e6b;font-size:13px}
"""


def esc(value):
    return escape("" if value is None else str(value), quote=True)


def page(title, body, refresh_seconds=None):
    refresh = f'<meta http-equiv="refresh" content="{int(refresh_seconds)}">' if refresh_seconds else ""
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">{refresh}'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head>"
        f"<body><header>{esc(title)}</header><main>{body}</main></body></html>"
    )


def hidden_fields(values):
    return "".join(
        f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in values.items() if v is not None
    )


def table(headers, rows):
    """``rows`` are lists of already-escaped cell HTML."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
