import pytest


@pytest.fixture(autouse=True)
def hook_test_templates(settings, tmp_path):
    """A template that hook tests hand back in a Panel (no product template fits)."""
    (tmp_path / "bookings").mkdir()
    (tmp_path / "bookings" / "_test_panel.html").write_text("<p>{{ text }}</p>")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path]}]


@pytest.fixture(autouse=True)
def isolated_hooks(monkeypatch):
    """Booking pages as bookings alone renders them: other apps' registered hooks are set aside,
    and a test registers its own by appending to the (fresh) lists."""
    from bookings import hooks

    for registry in ("calendar_banners", "booking_badges", "booking_panels", "link_integration_panels"):
        monkeypatch.setattr(hooks, registry, [])
