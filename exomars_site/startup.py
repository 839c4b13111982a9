"""The web application refuses to start without the settings it cannot run safely without."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


def refuse_unsafe_start() -> None:
    """Called by the WSGI and ASGI entry points, which gunicorn and runserver load."""
    if settings.STARTUP_REFUSALS:
        raise ImproperlyConfigured(" ".join(settings.STARTUP_REFUSALS))


@checks.register(checks.Tags.security, deploy=True)
def check_startup_settings(app_configs, **kwargs) -> list[checks.Error]:
    return [checks.Error(message, id="exomars_site.E001") for message in settings.STARTUP_REFUSALS]
