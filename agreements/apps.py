from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AgreementsConfig(AppConfig):
    name = "agreements"
    verbose_name = _("Negotiation record")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the deploy check that refuses a production start without secrets.
        from exomars_site import startup  # noqa: F401

        post_migrate.connect(keep_every_trigger_running, sender=self)
        # Any login (the site's form, the admin's, a test's force_login) begins a visit.
        user_logged_in.connect(begin_visit, dispatch_uid="agreements.begin_visit")


def begin_visit(sender, request, user, **kwargs) -> None:
    """The timeline's "Since my last visit" counts from the previous visit's start."""
    from django.utils import timezone

    from .models import ReaderVisit

    ReaderVisit.record_login(user, timezone.now())


def keep_every_trigger_running(using: str, **kwargs) -> None:
    """pgtrigger writes its `_pgtrigger_should_ignore` function again with each trigger a
    migration installs, and that function lets any client skip the audit triggers. After
    every `migrate`, it is put back to skipping nothing (agreements/database_guards.py), so
    a record table opted into the audit trail later cannot reopen the hole."""
    from django.db import connections

    from .database_guards import NO_TRIGGER_SKIPPED

    with connections[using].cursor() as cursor:
        cursor.execute(NO_TRIGGER_SKIPPED)
