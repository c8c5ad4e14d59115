"""What the README promises about the demo is where it says."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_the_readme_names_the_demo_ports_the_demo_script_reads():
    demo = (ROOT / "scripts" / "demo.py").read_text()
    for name, default in (("WORKESTRA_DEMO_PORT", "8000"), ("SFDC_EMULATOR_PORT", "8443")):
        assert f'os.environ.get("{name}", "{default}")' in demo
        assert f"`{name}` (default `{default}`)" in README


def test_the_user_facing_page_is_in_the_repository_where_the_readme_says():
    (path,) = re.findall(r"is \[`([^`]+)`\]\(docs/", README)
    assert (ROOT / path).is_file()
    assert "Salesforce Integration" in (ROOT / path).read_text()
