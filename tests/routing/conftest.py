"""Every routing test gets its own owner-lookup cache key space."""

import uuid

import pytest


@pytest.fixture(autouse=True)
def fresh_owner_cache(monkeypatch):
    """Owner lookups are cached (in Redis when REDIS_URL is set, shared with other runs): each
    test gets its own key space instead of flushing a cache others may be using."""
    from routing import salesforce_route

    monkeypatch.setattr(salesforce_route, "CACHE_KEY_PREFIX", f"test-routing:{uuid.uuid4().hex}")
