from django.apps import AppConfig


class NotetakerConfig(AppConfig):
    name = "notetaker"
    verbose_name = "Notetaker recaps"

    def ready(self):
        from . import hooks

        hooks.register()
