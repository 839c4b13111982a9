"""The three roles of DESIGN.md as groups with their permissions.

Editors edit the domain in the admin but not users or groups; Stakeholders and Managers
read. Reading is the `view_agreement` permission (agreements.models.READER_PERMISSION).
Used by the roles migration and by tests that flush the database.
"""

from django.apps import apps as global_apps

DOMAIN_MODELS = [
    "party",
    "person",
    "source",
    "programme",
    "fundingsource",
    "agreement",
    "clause",
    "topic",
    "milestone",
    "statement",
    "link",
]
# Events: added through their services, never changed or deleted (migration 0013).
EVENT_MODELS = ["clauseversion", "position"]
READABLE = [f"view_{model}" for model in DOMAIN_MODELS + EVENT_MODELS] + ["view_statuschange"]
EDITABLE = [
    f"{action}_{model}" for model in DOMAIN_MODELS for action in ("add", "change", "delete")
]
EDITOR_EXTRA = [
    "view_digestdelivery",
    "view_subscription",
    "change_subscription",
    *(f"add_{model}" for model in EVENT_MODELS),
]

ROLES = {
    "Editors": READABLE + EDITABLE + EDITOR_EXTRA,
    "Stakeholders": READABLE,
    "Managers": READABLE,
}


def ensure_roles(apps=global_apps) -> None:
    """Create or reset the groups and their permissions; safe to run any number of times.

    In a migration, only the permissions of the models that exist at that point are given:
    a later migration that adds a model runs this again."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    present = {model._meta.model_name for model in apps.get_app_config("agreements").get_models()}
    for name, all_codenames in ROLES.items():
        codenames = [code for code in all_codenames if code.split("_", 1)[1] in present]
        permissions = list(
            Permission.objects.filter(content_type__app_label="agreements", codename__in=codenames)
        )
        missing = set(codenames) - {permission.codename for permission in permissions}
        if missing:
            raise RuntimeError(f"permissions missing for role {name}: {sorted(missing)}")
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(permissions)
