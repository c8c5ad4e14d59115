from django.apps import AppConfig


class SalesforceConfig(AppConfig):
    name = "integrations.salesforce"
    label = "salesforce"
    verbose_name = "Salesforce integration"

    def ready(self):
        from . import deletion, hooks, recap_destination, signals  # noqa: F401

        hooks.register()
        recap_destination.register()
        deletion.register()
