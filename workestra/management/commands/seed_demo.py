from django.conf import settings
from django.core.management.base import BaseCommand

from workestra.demo import DEMO_PASSWORD, DEMO_PEOPLE, seed_demo_workspace


class Command(BaseCommand):
    help = "Create the demo workspace (acme), its people and booking links. Safe to run again."

    def handle(self, *args, **options):
        workspace = seed_demo_workspace()
        base = settings.PUBLIC_BASE_URL
        self.stdout.write(self.style.SUCCESS(f"Demo workspace “{workspace.name}” ({workspace.slug}) is ready."))
        self.stdout.write(f"Sign in at {base}/accounts/login/ with password: {DEMO_PASSWORD}")
        for person in DEMO_PEOPLE:
            self.stdout.write(
                f"  {person.email:<18} {person.role:<6} {person.timezone:<20} "
                f"{base}/book/{workspace.slug}/{person.link_slug}/"
            )
