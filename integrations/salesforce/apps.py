from django.apps import AppConfig


class SalesforceConfig(AppConfig):
    name = "integrations.salesforce"
    label = "salesforce"
    verbose_name = "Salesforce integration"

    def ready(self):
        from . import hooks, signals  # noqa: F401

        hooks.register()
