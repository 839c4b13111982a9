"""The audit trail as editors read it: who changed which field of what, when, from where and
why. The events themselves are written by PostgreSQL (agreements/models/audit.py); this
module says what the application knows about a write (`recorded`, the middleware) and reads
the events back (`field_history`, `recent_edits`). Staff only: the admin is its only door.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pghistory
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import F, IntegerField, Q, QuerySet, Value
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from .models import EVENT_MODELS, Agreement, AuditEvent, Topic

REASON_MAX_LENGTH = 200
# A field's text longer than this, or any multi-line text, is shown as a word-level redline.
LONG_TEXT = 80
# Events shown on a record's admin page, newest first.
HISTORY_LENGTH = 50
READ_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


# What the application says about a write ------------------------------------------------------


def recorded(**metadata) -> pghistory.context:
    """`with recorded(command="load_demo"):` — every write inside carries `metadata` in its
    events. Called (not entered) inside such a block, it adds to what the block says."""
    return pghistory.context(**metadata)


def give_reason(reason: str) -> None:
    """The editor's reason for the change being saved, kept with its events."""
    if reason:
        recorded(reason=reason)


class AuditContextMiddleware:
    """Writes made while answering a request carry the user and the URL.

    Reads (GET) are left alone: nothing is set, no query is made, no statement changes.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in READ_METHODS:
            return self.get_response(request)
        user = getattr(request, "user", None)
        user_id = user.pk if user is not None and user.is_authenticated else None
        with recorded(user=user_id, url=request.path):
            return self.get_response(request)


# Reading the events back ------------------------------------------------------------------------


@dataclass
class FieldChange:
    label: str
    old: str
    new: str
    long_text: bool = False


@dataclass
class Edit:
    """One event as a row of a history: what happened to which record, who, when, why."""

    when: datetime
    action: str
    kind: str
    label: str
    editor: object = None
    reason: str = ""
    origin: str = ""
    changes: list[FieldChange] = field(default_factory=list)
    record_url: str = ""


ACTIONS = {
    "insert": _("created"),
    "update": _("changed"),
    "delete": _("deleted"),
    "add": _("party added"),
    "remove": _("party removed"),
}


def origin_of(context: dict | None) -> str:
    """Where a write came from, as the trail shows it."""
    if not context:
        return str(_("outside the application (a database session)"))
    if context.get("command"):
        return f"manage.py {context['command']}"
    return context.get("url", "")


def _column_fields(model: type[models.Model]) -> dict[str, models.Field]:
    return {f.column: f for f in model._meta.concrete_fields}


class ValueNames:
    """Shows stored values as an editor reads them: choices by label, links by the linked
    record's name (one query per kind of linked record, for all the events shown)."""

    def __init__(self) -> None:
        self.wanted: dict[type[models.Model], set] = {}
        self.names: dict[type[models.Model], dict] = {}

    def want(self, model_field: models.Field, value) -> None:
        if model_field.is_relation and value not in (None, ""):
            self.wanted.setdefault(model_field.related_model, set()).add(value)

    def load(self) -> None:
        for model, ids in self.wanted.items():
            valid = [int(pk) for pk in ids if str(pk).isdigit()]
            self.names[model] = {
                str(pk): str(obj) for pk, obj in model._default_manager.in_bulk(valid).items()
            }

    def shown(self, model_field: models.Field | None, value) -> str:
        if value is None or value == "":
            return "—"
        if model_field is None:
            return str(value)
        if model_field.is_relation:
            return self.names.get(model_field.related_model, {}).get(str(value), f"#{value}")
        if model_field.choices:
            return str(dict(model_field.flatchoices).get(value, value))
        if isinstance(model_field, models.BooleanField):
            return str(_("yes") if value in (True, "true") else _("no"))
        return str(value)


def _is_long(model_field: models.Field | None, old: str, new: str) -> bool:
    if not isinstance(model_field, models.TextField | models.CharField) or model_field.choices:
        return False
    return any(len(text or "") > LONG_TEXT or "\n" in (text or "") for text in (old, new))


def _editors(events) -> dict:
    ids = {str(e.pgh_context.get("user")) for e in events if e.pgh_context}
    valid = [int(pk) for pk in ids if pk.isdigit()]
    return {str(pk): user for pk, user in get_user_model().objects.in_bulk(valid).items()}


def _party_event_label(event, names: ValueNames, party_field) -> list[FieldChange]:
    party = names.shown(party_field, event.party_id)
    if event.pgh_label == "add":
        return [FieldChange(str(_("parties")), "—", party)]
    return [FieldChange(str(_("parties")), party, "—")]


def edits_of(events: list[AuditEvent]) -> list[Edit]:
    """The events as rows, with names for the linked records and the editors."""
    names = ValueNames()
    for event in events:
        tracked = _column_fields(event.pgh_tracked_model)
        for column, (old, new) in (event.pgh_diff or {}).items():
            if column in tracked:
                names.want(tracked[column], old)
                names.want(tracked[column], new)
        if hasattr(event, "party_id"):
            names.want(event.pgh_tracked_model._meta.get_field("party"), event.party_id)
    names.load()
    editors = _editors(events)
    edits = []
    for event in events:
        tracked_model = event.pgh_tracked_model
        context = event.pgh_context or {}
        edit = Edit(
            when=event.pgh_created_at,
            action=str(ACTIONS.get(event.pgh_label, event.pgh_label)),
            kind=str(kind_label(tracked_model)),
            label=_event_label(event),
            editor=editors.get(str(context.get("user"))),
            reason=context.get("reason", ""),
            origin=origin_of(event.pgh_context),
        )
        if hasattr(event, "party_id"):
            edit.changes = _party_event_label(event, names, tracked_model._meta.get_field("party"))
        columns = _column_fields(tracked_model)
        for column, (old, new) in sorted((event.pgh_diff or {}).items()):
            model_field = columns.get(column)
            label = str(model_field.verbose_name) if model_field else column
            if _is_long(model_field, old, new):
                edit.changes.append(FieldChange(label, old or "", new or "", long_text=True))
            else:
                edit.changes.append(
                    FieldChange(label, names.shown(model_field, old), names.shown(model_field, new))
                )
        edits.append(edit)
    return edits


def _event_label(event) -> str:
    for name in ("title", "name", "summary"):
        value = getattr(event, name, None)
        if value:
            return value if len(value) <= 80 else f"{value[:79]}…"
    if hasattr(event, "party_id"):
        owner = "agreement_id" if hasattr(event, "agreement_id") else "topic_id"
        return f"#{getattr(event, owner)}"
    return f"#{getattr(event, 'id', '')}"


def kind_label(model: type[models.Model]) -> str:
    if model._meta.auto_created:
        owner = model._meta.auto_created
        return _("%(record)s parties") % {"record": owner._meta.verbose_name}
    return model._meta.verbose_name


def field_history(record: models.Model) -> list[Edit]:
    """A record's edits, newest first: its own events, and for an agreement or topic the
    parties added and removed."""
    event_model = EVENT_MODELS.get(type(record))
    if event_model is None:
        return []
    events = list(
        event_model.objects.filter(pgh_obj_id=record.pk).order_by("-pgh_id")[:HISTORY_LENGTH]
    )
    if isinstance(record, Agreement | Topic):
        through = type(record).parties.through
        owner = type(record)._meta.model_name
        events += list(
            EVENT_MODELS[through]
            .objects.filter(**{f"{owner}_id": record.pk})
            .order_by("-pgh_id")[:HISTORY_LENGTH]
        )
        events.sort(key=lambda event: (event.pgh_created_at, event.pgh_id), reverse=True)
        events = events[:HISTORY_LENGTH]
    return edits_of(events)


# Recent edits across the record ----------------------------------------------------------------

# kind (in the URL) -> event model, for the trail's filter.
KINDS = {
    event_model._meta.model_name.removesuffix("event"): event_model
    for event_model in EVENT_MODELS.values()
}


def kind_choices() -> list[tuple[str, str]]:
    return sorted(
        ((kind, str(kind_label(model.pgh_tracked_model))) for kind, model in KINDS.items()),
        key=lambda choice: choice[1].lower(),
    )


def recent_edit_keys(kind: str = "", editor=None, since=None, until=None) -> QuerySet:
    """One row per event, newest first, over every event table (or `kind`'s): (time, kind
    number, id). A UNION of small index-ordered reads; the page's events are then loaded
    by id, kind by kind."""
    chosen = [KINDS[kind]] if kind in KINDS else list(KINDS.values())
    parts = []
    for model in chosen:
        number = list(KINDS.values()).index(model)
        events = model.objects.all()
        if editor is not None:
            events = events.filter(pgh_context__user=editor.pk)
        if since is not None:
            events = events.filter(pgh_created_at__date__gte=since)
        if until is not None:
            events = events.filter(pgh_created_at__date__lte=until)
        parts.append(
            events.annotate(
                kind_number=Value(number, output_field=IntegerField()),
                at=F("pgh_created_at"),
                event_id=F("pgh_id"),
            )
            .order_by()
            .values_list("at", "kind_number", "event_id")
        )
    query = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return query.order_by("-at", "-kind_number", "-event_id")


def edits_for(keys) -> list[Edit]:
    """The events named by `recent_edit_keys` rows, as edits, in the rows' order."""
    models_by_number = list(KINDS.values())
    wanted: dict[int, list[int]] = {}
    for _at, number, event_id in keys:
        wanted.setdefault(number, []).append(event_id)
    loaded = {}
    for number, ids in wanted.items():
        model = models_by_number[number]
        for event in model.objects.filter(pgh_id__in=ids):
            loaded[number, event.pgh_id] = event
    events = [
        loaded[number, event_id] for _at, number, event_id in keys if (number, event_id) in loaded
    ]
    edits = edits_of(events)
    for edit, event in zip(edits, events, strict=True):
        edit.record_url = record_admin_url(event)
    return edits


def record_admin_url(event) -> str:
    from django.urls import NoReverseMatch, reverse

    tracked = event.pgh_tracked_model
    if tracked._meta.auto_created:
        owner = tracked._meta.auto_created
        pk = getattr(event, f"{owner._meta.model_name}_id")
    else:
        owner, pk = tracked, event.pgh_obj_id
    try:
        return reverse(f"admin:agreements_{owner._meta.model_name}_change", args=[pk])
    except NoReverseMatch:
        return ""


def editors_choices() -> QuerySet:
    return (
        get_user_model()
        .objects.filter(Q(is_staff=True) | Q(is_superuser=True))
        .order_by("username")
    )
