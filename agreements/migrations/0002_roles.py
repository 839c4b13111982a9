"""The three roles of DESIGN.md as groups with their permissions.

Editors edit the domain in the admin but not users or groups; Stakeholders and Managers
read. Reading is the `view_agreement` permission (agreements.models.READER_PERMISSION).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

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
]
READ_ONLY_FOR_EDITORS = ["statuschange", "digestdelivery"]


def create_roles(apps, schema_editor):
    # Permissions are normally created after migrate; make sure they exist now.
    app_config = apps.get_app_config("agreements")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def perms(*codenames):
        found = list(
            Permission.objects.filter(content_type__app_label="agreements", codename__in=codenames)
        )
        missing = set(codenames) - {p.codename for p in found}
        assert not missing, f"missing permissions: {sorted(missing)}"
        return found

    readable = [f"view_{model}" for model in DOMAIN_MODELS] + ["view_statuschange"]
    editable = [
        f"{action}_{model}" for model in DOMAIN_MODELS for action in ("add", "change", "delete")
    ]
    editor_extra = [f"view_{model}" for model in READ_ONLY_FOR_EDITORS] + [
        "view_subscription",
        "change_subscription",
    ]

    editors, _ = Group.objects.get_or_create(name="Editors")
    editors.permissions.set(perms(*readable, *editable, *editor_extra))
    stakeholders, _ = Group.objects.get_or_create(name="Stakeholders")
    stakeholders.permissions.set(perms(*readable))
    managers, _ = Group.objects.get_or_create(name="Managers")
    managers.permissions.set(perms(*readable))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(
        name__in=["Editors", "Stakeholders", "Managers"]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
