"""Guards read from the source: SOQL is built only through the escaping formatter, templates
never switch escaping off, and only the signed webhook is CSRF-exempt. A new exception to
any of these must be reviewed (and this file changed) on purpose."""

import ast
import re
import string
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ("workestra", "bookings", "routing", "notetaker", "integrations")
SOQL_MODULE = REPO / "integrations" / "salesforce" / "soql.py"
SOQL_TEXT = re.compile(r"\bSELECT\b[\s\S]*\bFROM\b", re.IGNORECASE)
LITERAL_SAFE = {"like_contains", "datetime_literal"}  # their results are already escaped SOQL


def product_modules():
    for package in PRODUCT:
        for path in sorted((REPO / package).rglob("*.py")):
            if "migrations" not in path.parts and path != SOQL_MODULE:
                yield path, ast.parse(path.read_text(), filename=str(path))


def parents(tree) -> dict:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def callee(call: ast.Call) -> str:
    return call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", "")


def where(path, node) -> str:
    return f"{path.relative_to(REPO)}:{node.lineno}"


# soql() formats a template escaped; soql_template() marks a template kept for in_chunks(), which
# fills its IN list with format_soql() and the rest as soql() does.
SOQL_BUILDERS = {"soql", "soql_template"}


def test_soql_is_built_only_through_the_escaping_formatter():
    problems = []
    for path, tree in product_modules():
        parent_of = parents(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
                if SOQL_TEXT.search(text) or re.search(r"\b(WHERE|FROM)\s*$", text):
                    problems.append(f"{where(path, node)}: SOQL in an f-string")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SOQL_TEXT.search(node.value):
                parent = parent_of.get(node)
                if isinstance(parent, ast.Expr):
                    continue  # a docstring
                if not (
                    isinstance(parent, ast.Call)
                    and callee(parent) in SOQL_BUILDERS
                    and parent.args
                    and parent.args[0] is node
                ):
                    problems.append(f"{where(path, node)}: SOQL text outside soql(template, ...)")
    assert not problems, "SOQL must go through integrations.salesforce.soql.soql():\n" + "\n".join(problems)


def test_literal_placeholders_only_take_pre_escaped_values():
    """`{:literal}` inserts a value unescaped: only like_contains()/datetime_literal() may fill it."""
    problems = []
    for path, tree in product_modules():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and callee(node) == "soql" and node.args):
                continue
            template = node.args[0]
            if not (isinstance(template, ast.Constant) and isinstance(template.value, str)):
                problems.append(f"{where(path, node)}: soql() with a template that is not a literal")
                continue
            specs = [spec for _, field, spec, _ in string.Formatter().parse(template.value) if field is not None]
            for spec, arg in zip(specs, node.args[1:]):  # noqa: B905
                if spec == "literal" and not (isinstance(arg, ast.Call) and callee(arg) in LITERAL_SAFE):
                    problems.append(f"{where(path, node)}: {{:literal}} filled with {ast.unparse(arg)}")
    assert not problems, "\n".join(problems)


def test_templates_never_switch_escaping_off():
    problems = []
    for path in sorted((REPO / "templates").rglob("*.html")):
        text = path.read_text()
        for pattern in (r"\|\s*safe\b", r"autoescape\s+off", r"\|\s*safeseq\b"):
            problems += [f"{path.relative_to(REPO)}: {m.group(0)}" for m in re.finditer(pattern, text)]
    for path, tree in product_modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and callee(node) in {"mark_safe", "SafeString", "SafeText"}:
                problems.append(f"{where(path, node)}: {callee(node)}()")
    assert not problems, "escaping switched off:\n" + "\n".join(problems)


def test_only_the_signed_webhook_is_csrf_exempt():
    exempt = []
    for path, tree in product_modules():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names = [ast.unparse(d) for d in node.decorator_list]
                if any("csrf_exempt" in name for name in names):
                    exempt.append(f"{path.relative_to(REPO)}:{node.name}")
            elif isinstance(node, ast.Call) and callee(node) == "csrf_exempt":
                exempt.append(f"{where(path, node)}: csrf_exempt(...)")
    assert exempt == ["notetaker/views.py:recap_webhook"]


def test_only_plain_text_email_templates_switch_escaping_off():
    """Text emails are not HTML: escaping would turn O'Brien into O&#x27;Brien. They are
    rendered only into text/plain bodies (bookings.email_outbox.build_message)."""
    offenders = [
        str(path.relative_to(REPO))
        for path in sorted((REPO / "templates").rglob("*"))
        if path.is_file()
        and re.search(r"autoescape\s+off", path.read_text())
        and not (path.suffix == ".txt" and path.parent.name == "emails")
    ]
    assert not offenders, offenders
