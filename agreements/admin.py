"""The editors' admin: where the negotiation record is written.

Statuses change only through `services.change_status` and `services.record_creation`, so
the change form, the inlines and the bulk action below hand every status write to them and
save the other fields without touching `status`. The history (`StatusChange`) and the
digest deliveries are read-only here: the first is append-only, the second is the ledger
that keeps a digest from being sent twice.
"""

from __future__ import annotations

import copy

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import model_ngettext
from django.contrib.admin.widgets import (
    AdminDateWidget,
    AutocompleteSelect,
    AutocompleteSelectMultiple,
    RelatedFieldWidgetWrapper,
)
from django.core.exceptions import BadRequest, ValidationError
from django.core.paginator import Paginator
from django.db import models, transaction
from django.db.models import ExpressionWrapper
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst, format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import audit_trail, digests, services
from .forms import MAX_SEARCH_LENGTH, CheckedModelMultipleChoiceField
from .models import (
    EARLIEST_DATE,
    LATEST_DATE,
    SIDE_BY_MODEL,
    SIDE_MODELS,
    SIDES,
    Agreement,
    Clause,
    ClauseVersion,
    DatePrecision,
    DigestDelivery,
    FundingSource,
    Link,
    Milestone,
    Party,
    Person,
    Position,
    Programme,
    RecordKey,
    Source,
    Statement,
    StatusChange,
    Subscription,
    Topic,
    Visibility,
    approximate_date,
    check_date_precision,
    money,
    validate_record_date,
    web_link,
)

admin.site.site_header = gettext_lazy("Negotiation tracker")
admin.site.site_title = gettext_lazy("Negotiation tracker")
admin.site.index_title = gettext_lazy("The negotiation record")

# History notes are free text; a bound keeps a pasted document out of every digest.
NOTE_MAX_LENGTH = 2000


# Display helpers ----------------------------------------------------------------------------


def change_link(obj: models.Model | None) -> str:
    if obj is None:
        return "—"
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, obj)


# Malformed input ------------------------------------------------------------------------------


def _well_formed_ids(widget, values) -> list:
    """The submitted values that can be ids of the widget's related model (in range too:
    the database cannot compare a 64-bit column with a larger integer)."""
    opts = widget.field.remote_field.model._meta
    target = opts.get_field(getattr(widget.field.remote_field, "field_name", opts.pk.attname))
    kept = []
    for value in values:
        try:
            target.run_validators(target.to_python(value))
        except (ValidationError, ValueError, TypeError):
            continue
        kept.append(value)
    return kept


class CheckedAutocompleteSelect(AutocompleteSelect):
    # Django's autocomplete looks the submitted values up as they are when it renders a
    # refused form again: "abc" for an id raised ValueError there, a 500 instead of the
    # form's own "Select a valid choice".
    def optgroups(self, name, value, attr=None):
        return super().optgroups(name, _well_formed_ids(self, value), attr)


class CheckedAutocompleteSelectMultiple(AutocompleteSelectMultiple):
    def optgroups(self, name, value, attr=None):
        return super().optgroups(name, _well_formed_ids(self, value), attr)


class MalformedInputRefused:
    """For every admin of the app: bad ids and NUL characters are refused, not a 500.

    PostgreSQL refuses a NUL character anywhere in a query, and the admin passes search
    terms and list filter values to it as they come.
    """

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = CheckedAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs.setdefault("form_class", CheckedModelMultipleChoiceField)
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = CheckedAutocompleteSelectMultiple(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        # Bounded like the readers' search: every word is a condition, and thousands of
        # them make a query the database parses for seconds.
        search_term = search_term.replace("\x00", "")[:MAX_SEARCH_LENGTH]
        return super().get_search_results(request, queryset, search_term)

    def get_changelist_instance(self, request: HttpRequest):
        if any("\x00" in value for _name, values in request.GET.lists() for value in values):
            # The admin's own answer to filter values it cannot use: back to the list.
            raise IncorrectLookupParameters
        for name, values in request.GET.lists():
            if not all(date_part_in_range(name, value) for value in values):
                raise BadRequest(f"{name}: no such date")
        return super().get_changelist_instance(request)


# The parts of a date the admin filters by (the date drill-down: `?effective_on__year=`), and
# the values they may take. Django computes the next year or day from them, which
# overflowed past 9999: a 500 rather than an empty list.
DATE_PART_RANGES = {
    "year": (EARLIEST_DATE.year, LATEST_DATE.year),
    "iso_year": (EARLIEST_DATE.year, LATEST_DATE.year),
    "quarter": (1, 4),
    "month": (1, 12),
    "week": (1, 53),
    "day": (1, 31),
    "week_day": (1, 7),
    "iso_week_day": (1, 7),
}


def date_part_in_range(lookup: str, value: str) -> bool:
    """False for a date-part filter (`happens_on__year=99999`) out of its range."""
    parts = [part for part in lookup.split(LOOKUP_SEP)[1:] if part in DATE_PART_RANGES]
    if not parts:
        return True
    low, high = DATE_PART_RANGES[parts[0]]
    try:
        return low <= int(value) <= high
    except ValueError:
        return False


class OfferedLookupsOnly:
    """Query-string filters only through what the list offers: its filters, its date
    drill-down.

    Django accepts any lookup on a model's own fields, and answers with a count: on a model
    that holds a credential, `?feed_token_hash__startswith=a` would give it away a character
    at a time. Anything else is refused (400).
    """

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        offered = {self.date_hierarchy} - {None}
        for item in self.get_list_filter(request):
            if isinstance(item, type) and issubclass(item, admin.SimpleListFilter):
                offered.add(item.parameter_name)
            else:
                offered.add(item[0] if isinstance(item, list | tuple) else item)
        return any(
            lookup == path or lookup.startswith(f"{path}{LOOKUP_SEP}") for path in offered
        ) and super().lookup_allowed(lookup, value, request)


def audit_reason_field() -> forms.CharField:
    return forms.CharField(
        label=gettext_lazy("Reason for the change"),
        required=False,
        max_length=audit_trail.REASON_MAX_LENGTH,
        help_text=gettext_lazy("Optional, one line: kept in the audit trail with this change."),
    )


class AuditedRecordForm(forms.ModelForm):
    """A record's fields, and the editor's reason for the change, for the audit trail."""

    audit_reason = audit_reason_field()


class VisibleRecordAdmin(MalformedInputRefused, admin.ModelAdmin):
    """Every record says whether readers see it, in the list and as a filter.

    A shared clause of an internal agreement is hidden from readers all the same, so the
    list asks the readers' own visibility rule rather than the record's flag alone.

    Its change form asks for a reason for the change, kept with the save's audit events,
    and shows the record's field-level history (agreements/audit_trail.py).
    """

    form = AuditedRecordForm

    def get_fieldsets(self, request: HttpRequest, obj=None):
        return [
            *super().get_fieldsets(request, obj),
            (gettext_lazy("Audit trail"), {"fields": ("audit_reason",)}),
        ]

    def save_form(self, request: HttpRequest, form, change: bool):
        audit_trail.give_reason(form.cleaned_data.get("audit_reason", ""))
        return super().save_form(request, form, change)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["field_history"] = audit_trail.field_history(obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_queryset(self, request: HttpRequest):
        queryset = super().get_queryset(request)
        return queryset.annotate(
            readers_see_it=ExpressionWrapper(
                queryset.visibility_rule(), output_field=models.BooleanField()
            )
        )

    def get_deleted_objects(self, objs, request: HttpRequest):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        if protected:
            # Django counts the protecting history rows as "no permission to delete";
            # the honest reason is that the history protects the record.
            perms_needed = set()
        return deleted, counts, perms_needed, protected

    @admin.display(description=gettext_lazy("readers see it"), ordering="visibility")
    def shown_to(self, obj) -> str:
        if obj.visibility == Visibility.INTERNAL:
            return format_html("<strong>{}</strong>", _("No: internal"))
        if not obj.readers_see_it:
            return format_html("<strong>{}</strong>", _("No: it belongs to an internal record"))
        return _("Yes")


# Statuses -----------------------------------------------------------------------------------


def status_note_field() -> forms.CharField:
    return forms.CharField(
        label=gettext_lazy("note for the history"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Why the status changed, in a sentence or two."),
    )


# Said in the hint and in the error, so that nobody has to guess the format.
DATE_FORMAT_HINT = gettext_lazy("YYYY-MM-DD, for example 2013-03-14.")


def status_effective_on_field() -> forms.DateField:
    # Starts empty: a default of today recorded many changes on the day they were typed in
    # rather than the day they happened. The admin's calendar offers a "Today" shortcut.
    return forms.DateField(
        label=gettext_lazy("effective on"),
        required=False,
        validators=[validate_record_date],
        # Written as the hint says; the language's own formats are accepted too (Django
        # always adds ISO), which the calendar's "Today" shortcut may type.
        widget=AdminDateWidget(format="%Y-%m-%d"),
        help_text=format_lazy(
            "{} {}",
            gettext_lazy("When it happened in the negotiation; needed when the status changes."),
            DATE_FORMAT_HINT,
        ),
        error_messages={
            "invalid": format_lazy("{} {}", gettext_lazy("Enter a date as"), DATE_FORMAT_HINT)
        },
    )


def status_source_field() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label=gettext_lazy("source of the change"),
        queryset=Source.objects.all(),
        required=False,
        help_text=gettext_lazy("Needed for Signed, Secured and Agreed, unless there is none yet."),
    )


def status_no_source_yet_field() -> forms.BooleanField:
    return forms.BooleanField(
        label=gettext_lazy("no source yet"),
        required=False,
        help_text=gettext_lazy("Readers see that this change has no source yet."),
    )


def status_details(cleaned_data: dict) -> dict:
    """The keyword arguments the status services take, from a form's cleaned data."""
    return {
        "note": cleaned_data.get("status_note") or "",
        "effective_on": cleaned_data.get("status_effective_on"),
        "source": cleaned_data.get("status_source"),
        "no_source_yet": bool(cleaned_data.get("status_no_source_yet")),
    }


# Where a refusal of the status services is shown on a status form.
STATUS_ERROR_FIELDS = {"effective_on": "status_effective_on", "source": "status_source"}


def add_status_error(form: forms.Form, error: services.StatusChangeError) -> None:
    form.add_error(STATUS_ERROR_FIELDS.get(error.field or "", "status"), str(error))


def describe_change(change: StatusChange) -> str:
    """A saved change restated: "Clause 1: Pending signature → Signed, effective 14 Mar 2013,
    source …"."""
    if change.source is not None:
        sourced = _("source: %(source)s") % {"source": change.source}
    elif change.no_source_yet:
        sourced = _("no source yet")
    else:
        sourced = _("no source")
    return _("%(record)s: %(from)s → %(to)s, effective %(date)s, %(source)s.") % {
        "record": change.subject,
        "from": change.from_label or "—",
        "to": change.to_label,
        "date": approximate_date(change.effective_on),
        "source": sourced,
    }


class StatusRecordForm(AuditedRecordForm):
    """A record's own fields, plus the note, date and source of a status change."""

    status_note = status_note_field()
    status_effective_on = status_effective_on_field()
    status_source = status_source_field()
    status_no_source_yet = status_no_source_yet_field()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "status" in self.fields:
            # The status the editor saw travels with the form: saving other edits then
            # leaves alone a status another editor changed in the meantime.
            self.fields["status"].show_hidden_initial = True

    @property
    def status_was_changed(self) -> bool:
        return "status" in self.fields and "status" in self.changed_data

    def clean(self) -> dict:
        cleaned_data = super().clean()
        adding = self.instance._state.adding
        if not adding and not self.status_was_changed:
            # A note or source with no status change would be silently dropped.
            for name in ("status_note", "status_source", "status_no_source_yet"):
                if cleaned_data.get(name):
                    self.add_error(
                        name,
                        _("The status did not change, so this would not be recorded."),
                    )
        if not adding and self.status_was_changed and not self.errors:
            if cleaned_data.get("status_effective_on") is None:
                self.add_error(
                    "status_effective_on",
                    format_lazy(
                        "{} {}",
                        _("Say when the new status took effect:"),
                        DATE_FORMAT_HINT,
                    ),
                )
                return cleaned_data
            try:
                services.check_status_change(
                    self.instance, to=cleaned_data["status"], **status_details(cleaned_data)
                )
            except services.StatusChangeError as error:
                add_status_error(self, error)
        elif adding and not self.errors and cleaned_data.get("status_effective_on"):
            try:
                services.check_status_change(
                    self.instance,
                    to="",
                    effective_on=cleaned_data["status_effective_on"],
                )
            except services.StatusChangeError as error:
                add_status_error(self, error)
        return cleaned_data


def save_all_but_status(obj: models.Model) -> None:
    """Save an existing record without writing its status column at all.

    A full save would write back the status as loaded, undoing a change another editor
    committed since, with no history row.
    """
    obj.save(
        update_fields=[
            field.name
            for field in obj._meta.concrete_fields
            if not field.primary_key and field.name != "status"
        ]
    )


class BulkStatusChangeForm(forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("new status"))
    status_note = status_note_field()
    status_effective_on = status_effective_on_field()
    status_source = status_source_field()
    status_no_source_yet = status_no_source_yet_field()
    audit_reason = audit_reason_field()  # asked once, kept with every record's change

    def __init__(self, *args, status_choices, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = status_choices
        self.fields["status_effective_on"].required = True

    def clean(self) -> dict:
        cleaned_data = super().clean()
        if not self.errors:
            # The date and the source, which do not depend on the record; each record's
            # own history is checked when it is changed.
            try:
                services.check_status_change(
                    Clause(), to=cleaned_data["status"], **status_details(cleaned_data)
                )
            except services.StatusChangeError as error:
                add_status_error(self, error)
        return cleaned_data


def action_form(
    model_admin, request, queryset, form, *, action, title, action_label, intro
) -> TemplateResponse:
    """The page of a bulk action that needs details first (templates/admin/agreements/
    action_on_selected.html)."""
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "subtitle": None,
        "opts": model_admin.opts,
        "form": form,
        "queryset": queryset,
        "action": action,
        "action_label": action_label,
        "intro": intro,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": model_admin.media + form.media,
    }
    return TemplateResponse(request, "admin/agreements/action_on_selected.html", context)


class HistoryLabels:
    """Status values shown by their labels, for the history list and inline."""

    @admin.display(description=gettext_lazy("from"))
    def from_label(self, obj: StatusChange) -> str:
        return obj.from_label or "—"

    @admin.display(description=gettext_lazy("to"), ordering="to_status")
    def to_label(self, obj: StatusChange) -> str:
        return obj.to_label


class ReadOnlyInline(admin.TabularInline):
    """Rows of an append-only table on their record's page: added by a service, never here."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class HistoryInline(HistoryLabels, ReadOnlyInline):
    """A record's status history on its own page, read-only."""

    model = StatusChange
    fields = readonly_fields = (
        "effective_on",
        "from_label",
        "to_label",
        "note",
        "source",
        "recorded_by",
        "recorded_at",
    )
    ordering = ("-effective_on", "-recorded_at", "-id")
    show_change_link = True
    verbose_name = gettext_lazy("status change")
    verbose_name_plural = gettext_lazy("status history")

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).with_subjects()


class StatusRecordAdmin(VisibleRecordAdmin):
    """Admin for records with a status: every status write goes through the services."""

    form = StatusRecordForm
    inlines = [HistoryInline]
    actions = ["change_status_of_selected"]
    status_fieldset = (
        gettext_lazy("Status"),
        {
            "fields": (
                "status",
                "status_effective_on",
                "status_note",
                "status_source",
                "status_no_source_yet",
            ),
            "description": gettext_lazy(
                "A new status is recorded in the history with this date, note and source."
            ),
        },
    )

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_label(self, obj) -> str:
        return obj.get_status_display()

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        details = status_details(form.cleaned_data)
        if not change:
            services.record_creation(obj, by=request.user, **details)
            return
        wanted = obj.status
        obj.status = form.initial["status"]
        save_all_but_status(obj)
        if form.status_was_changed:
            try:
                change = services.change_status(obj, to=wanted, by=request.user, **details)
            except services.StatusChangeError as error:
                # Another editor got there first; the other edits are saved.
                self.message_user(request, str(error), messages.WARNING)
            else:
                self.message_user(request, describe_change(change), messages.SUCCESS)

    def get_form(self, request: HttpRequest, obj=None, change: bool = False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        # "+" beside the source of the change, as beside any foreign key: a source can be
        # added from the status section without leaving the page.
        source = form.base_fields["status_source"]
        if not isinstance(source.widget, RelatedFieldWidgetWrapper):
            source.widget = RelatedFieldWidgetWrapper(
                source.widget,
                StatusChange._meta.get_field("source").remote_field,
                self.admin_site,
                can_add_related=self.admin_site.is_registered(Source)
                and request.user.has_perm("agreements.add_source"),
                can_change_related=False,
                can_delete_related=False,
                can_view_related=False,
            )
        return form

    def delete_view(self, request: HttpRequest, object_id: str, extra_context=None):
        kind = services.KIND_BY_MODEL[self.model]
        if StatusChange.objects.filter(**{f"{kind}_id": object_id}).exists():
            self.message_user(
                request,
                _(
                    "This record has a history, which is kept for good: retire it with a "
                    "status (withdrawn, abandoned, dropped or lost) instead of deleting it."
                ),
                messages.WARNING,
            )
        return super().delete_view(request, object_id, extra_context)

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        if formset.model not in services.KIND_BY_MODEL:
            super().save_formset(request, form, formset, change)
            return
        for obj in formset.save(commit=False):
            if obj._state.adding:
                services.record_creation(obj, by=request.user)
            else:
                save_all_but_status(obj)
        formset.save_m2m()

    @admin.action(
        permissions=["change"],
        description=gettext_lazy("Change the status of the selected %(verbose_name_plural)s"),
    )
    def change_status_of_selected(self, request: HttpRequest, queryset) -> HttpResponse | None:
        form = BulkStatusChangeForm(
            request.POST if "apply" in request.POST else None,
            status_choices=self.model.Status.choices,
        )
        if form.is_valid():
            self.apply_status_change(request, queryset, form)
            return None
        return action_form(
            self,
            request,
            queryset,
            form,
            action="change_status_of_selected",
            title=_("Change the status of several %(name)s")
            % {"name": self.opts.verbose_name_plural},
            action_label=_("Change status"),
            intro=_(
                "Each of these %(records)s moves to the new status, with one line in its "
                "history carrying the date, note and source below. Those that already have "
                "that status are left alone."
            )
            % {"records": self.opts.verbose_name_plural},
        )

    def apply_status_change(self, request: HttpRequest, queryset, form) -> None:
        to = form.cleaned_data["status"]
        details = status_details(form.cleaned_data)
        audit_trail.give_reason(form.cleaned_data["audit_reason"])
        changed, left_alone, refused = [], [], []
        # All or nothing, and in primary-key order so two bulk changes cannot deadlock.
        with transaction.atomic():
            for subject in queryset.order_by("pk"):
                if subject.status == to:
                    left_alone.append(subject)
                    continue
                try:
                    services.change_status(subject, to=to, by=request.user, **details)
                except services.StatusChangeError as error:
                    refused.append(f"{subject}: {error}")
                else:
                    changed.append(subject)
        for reason in refused:
            self.message_user(request, reason, messages.ERROR)
        label = self.model.Status(to).label
        if changed:
            self.message_user(
                request,
                _("%(count)d %(items)s moved to “%(status)s”.")
                % {
                    "count": len(changed),
                    "items": model_ngettext(self.opts, len(changed)),
                    "status": label,
                },
                messages.SUCCESS,
            )
        if left_alone:
            self.message_user(
                request,
                _("Left alone, already “%(status)s”: %(records)s.")
                % {"status": label, "records": ", ".join(str(s) for s in left_alone)},
                messages.WARNING,
            )


class StatusRecordInline(MalformedInputRefused, admin.TabularInline):
    """Child records with a status, added in place; their status changes on their own page."""

    readonly_fields = ("status",)
    extra = 0
    show_change_link = True
    # Every record has a creation row in its history, which protects it from deletion.
    can_delete = False


# Links: what holds what up ------------------------------------------------------------------


def link_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Every record a link may reach, grouped by kind: ("clause:12", "Clause 2 · …")."""
    groups = []
    for side in SIDES:
        model = SIDE_MODELS[side]
        records = model.objects.all()
        if side == "clause":
            records = records.select_related("agreement")
        groups.append(
            (
                capfirst(model._meta.verbose_name_plural),
                [(f"{side}:{record.pk}", str(record)) for record in records],
            )
        )
    return groups


class LinkForm(forms.ModelForm):
    """One link of a record's page; `other` is the record at the link's other end."""

    other = forms.ChoiceField(label=gettext_lazy("record"), choices=link_choices)

    class Meta:
        model = Link
        fields = ("kind", "condition", "lag_days", "linked_on", "note", "source", "visibility")
        widgets = {"note": forms.Textarea(attrs={"rows": 2, "cols": 30})}

    # The prefix of the fields that hold `other`: "to_" on the record's own links, "" on
    # the links that reach it. Set by the inline.
    other_prefix = "to_"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            key = self.other_key_of(self.instance)
            self.initial["other"] = f"{key.side}:{key.pk}"

    def other_key_of(self, link: Link) -> RecordKey:
        return link.other_key if self.other_prefix == "to_" else link.record_key

    def clean(self):
        cleaned = super().clean()
        other = cleaned.get("other")
        if not other or not cleaned.get("kind"):
            return cleaned
        side, pk = other.split(":")
        for each in SIDES:
            setattr(self.instance, f"{self.other_prefix}{each}_id", None)
        setattr(self.instance, f"{self.other_prefix}{side}_id", int(pk))
        return cleaned


class LinkFormSet(forms.BaseInlineFormSet):
    """A record's links; the last of a page's link formsets checks cycles for all of them,
    so that two links saved together in the two inlines are refused together."""

    link_siblings: list[LinkFormSet] = ()
    checks_cycles = True

    def parent_key(self) -> RecordKey:
        # A record being added has no id yet: 0 stands for it in the graph.
        return RecordKey(SIDE_BY_MODEL[type(self.instance)], self.instance.pk or 0)

    def proposed(self) -> tuple[list[Link], set[int]]:
        """The links as this formset would save them, with both sides set, and the ids of
        those it would delete."""
        links, removed = [], set()
        parent = self.parent_key()
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or (
                not form.has_changed() and not form.instance.pk
            ):
                continue
            if self.can_delete and self._should_delete_form(form):
                if form.instance.pk:
                    removed.add(form.instance.pk)
                continue
            link = form.instance
            prefix = "" if form.other_prefix == "to_" else "to_"
            setattr(link, f"{prefix}{parent.side}_id", parent.pk)
            links.append(link)
        return links, removed

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data.get("kind"):
                continue
            if self.can_delete and self._should_delete_form(form):
                continue
            link = copy.copy(form.instance)
            prefix = "" if form.other_prefix == "to_" else "to_"
            parent = self.parent_key()
            setattr(link, f"{prefix}{parent.side}_id", parent.pk)
            try:
                services.check_link(link)
            except services.LinkError as error:
                form.add_error(error.field if error.field in form.fields else None, str(error))
        if not self.checks_cycles or any(self.errors):
            return
        links, removed = self.proposed()
        for sibling in self.link_siblings:
            if not sibling.is_valid():
                return
            more, gone = sibling.proposed()
            links += more
            removed |= gone
        try:
            services.check_no_cycle([copy.copy(link) for link in links], removed)
        except services.LinkError as error:
            raise ValidationError(str(error)) from error


class LinkInline(MalformedInputRefused, admin.TabularInline):
    model = Link
    form = LinkForm
    formset = LinkFormSet
    extra = 0
    fields = ("kind", "other", "condition", "lag_days", "linked_on", "note", "source", "visibility")
    autocomplete_fields = ("source",)
    other_prefix = "to_"

    def get_formset(self, request: HttpRequest, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = type("LinkForm", (formset.form,), {"other_prefix": self.other_prefix})
        return formset


def link_inlines(side: str) -> list[type[LinkInline]]:
    """The two link inlines of a record page: what the record waits on (and its other
    links), and what waits on it."""
    own = type(
        f"{side}OwnLinksInline",
        (LinkInline,),
        {
            "fk_name": side,
            "other_prefix": "to_",
            "verbose_name": gettext_lazy("link from this record (blocked by, precedes, …)"),
            "verbose_name_plural": gettext_lazy("Blocked by, precedes, package, related"),
        },
    )
    incoming = type(
        f"{side}IncomingLinksInline",
        (LinkInline,),
        {
            "fk_name": f"to_{side}",
            "other_prefix": "",
            "verbose_name": gettext_lazy("link to this record (what it holds up, …)"),
            "verbose_name_plural": gettext_lazy("Holds up, and other links to this record"),
        },
    )
    return [own, incoming]


class LinkedRecordAdmin:
    """A record admin with the two link inlines, saved together through
    `services.record_links` (one lock, one cycle check for both)."""

    def _create_formsets(self, request, obj, change):
        formsets, inline_instances = super()._create_formsets(request, obj, change)
        linked = [formset for formset in formsets if isinstance(formset, LinkFormSet)]
        for formset in linked:
            formset.link_siblings = [other for other in linked if other is not formset]
            formset.checks_cycles = formset is linked[-1]
        return formsets, inline_instances

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """The form checked for cycles; `record_links` checks again under its lock at save.
        A cycle another editor closed in between is refused there: the whole save is rolled
        back (the admin saves in one transaction) and the editor is told, not shown a 500."""
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except services.LinkError as error:
            self.message_user(
                request,
                _("Nothing was saved: %(error)s (another editor's links changed meanwhile).")
                % {"error": error},
                messages.ERROR,
            )
            return HttpResponseRedirect(request.get_full_path())

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        linked = [formset for formset in formsets if isinstance(formset, LinkFormSet)]
        super().save_related(request, form, [f for f in formsets if f not in linked], change)
        links, removed = [], []
        for formset in linked:
            links += formset.save(commit=False)
            removed += formset.deleted_objects
        if links or removed:
            services.record_links(links, by=request.user, removed=removed)


# Parties, people, sources -------------------------------------------------------------------


@admin.register(Party)
class PartyAdmin(VisibleRecordAdmin):
    list_display = ("name", "short_name", "kind", "shown_to")
    list_filter = ("kind", "visibility")
    search_fields = ("name", "short_name")
    prepopulated_fields = {"slug": ("name",)}
    fields = ("name", "short_name", "slug", "kind", "visibility")


@admin.register(Person)
class PersonAdmin(VisibleRecordAdmin):
    list_display = ("name", "party", "role", "shown_to")
    list_filter = ("party", "visibility")
    search_fields = ("name", "role")
    autocomplete_fields = ("party",)
    fields = ("name", "party", "role", "visibility")


@admin.register(Source)
class SourceAdmin(VisibleRecordAdmin):
    list_display = ("title", "publisher", "kind", "published_on", "link", "shown_to")
    list_filter = ("kind", "visibility")
    search_fields = ("title", "publisher")
    date_hierarchy = "published_on"
    fields = ("title", "publisher", "kind", "published_on", "url", "visibility")

    @admin.display(description=gettext_lazy("link"))
    def link(self, obj: Source) -> str:
        if not web_link(obj.url):
            return obj.url  # shown as text, escaped: an import may have stored anything
        return format_html('<a href="{}" rel="noopener noreferrer">{}</a>', obj.url, _("open"))


# Money --------------------------------------------------------------------------------------


@admin.register(Programme)
class ProgrammeAdmin(VisibleRecordAdmin):
    list_display = (
        "name",
        "cost",
        "in_question",
        "uncovered_if_all_comes_through",
        "uncovered_counting_secured_only",
        "shown_to",
    )
    list_filter = ("visibility",)
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}
    fields = (
        "name",
        "slug",
        "summary",
        "currency",
        "estimated_cost",
        "cost_note",
        "amount_in_question",
        "funding_summary",
        "visibility",
    )
    readonly_fields = ("funding_summary",)

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).visible_to(request.user).with_funding()

    @admin.display(description=gettext_lazy("estimated cost"), ordering="estimated_cost")
    def cost(self, obj: Programme) -> str:
        return money(obj.estimated_cost, obj.currency)

    @admin.display(description=gettext_lazy("in question"), ordering="amount_in_question")
    def in_question(self, obj: Programme) -> str:
        return money(obj.amount_in_question, obj.currency)

    @admin.display(description=gettext_lazy("uncovered if everything comes through"))
    def uncovered_if_all_comes_through(self, obj: Programme) -> str:
        return money(obj.funding.uncovered_if_all_comes_through, obj.currency)

    @admin.display(description=gettext_lazy("uncovered counting secured money only"))
    def uncovered_counting_secured_only(self, obj: Programme) -> str:
        return money(obj.funding.uncovered_counting_secured_only, obj.currency)

    @admin.display(description=gettext_lazy("funding"))
    def funding_summary(self, obj: Programme) -> str:
        if obj.pk is None:
            return _("Derived from the funding sources once the programme is saved.")
        funding = obj.funding
        rows = [
            (label, money(getattr(funding, status), obj.currency))
            for status, label in FundingSource.Status.choices
        ]
        rows += [
            (
                _("Uncovered if everything comes through"),
                money(funding.uncovered_if_all_comes_through, obj.currency),
            ),
            (
                _("Uncovered counting secured money only"),
                money(funding.uncovered_counting_secured_only, obj.currency),
            ),
        ]
        return format_html(
            "<table><tbody>{}</tbody></table>",
            format_html_join("", "<tr><th scope='row'>{}</th><td>{}</td></tr>", rows),
        )


@admin.register(FundingSource)
class FundingSourceAdmin(LinkedRecordAdmin, StatusRecordAdmin):
    list_display = (
        "title",
        "programme",
        "contributor",
        "amount_shown",
        "status_label",
        "decision",
        "shown_to",
    )
    list_filter = ("status", "programme", "visibility")
    search_fields = ("title", "condition")
    autocomplete_fields = ("programme", "contributor", "source")
    inlines = [*link_inlines("funding_source"), HistoryInline]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "programme",
                    "title",
                    "contributor",
                    "amount",
                    "condition",
                    ("decision_on", "decision_precision"),
                    "source",
                    "visibility",
                )
            },
        ),
        StatusRecordAdmin.status_fieldset,
    )

    @admin.display(description=gettext_lazy("amount"), ordering="amount")
    def amount_shown(self, obj: FundingSource) -> str:
        return money(obj.amount, obj.programme.currency)

    @admin.display(description=gettext_lazy("decision expected"), ordering="decision_on")
    def decision(self, obj: FundingSource) -> str:
        return approximate_date(obj.decision_on, obj.decision_precision)


# Agreements, clauses, topics ----------------------------------------------------------------


class ClauseInline(StatusRecordInline):
    model = Clause
    fields = ("reference", "position", "title", "obligated_party", "status", "visibility")
    autocomplete_fields = ("obligated_party",)
    ordering = ("position", "reference")


@admin.register(Agreement)
class AgreementAdmin(LinkedRecordAdmin, StatusRecordAdmin):
    list_display = ("title", "programme", "status_label", "clause_count", "shown_to")
    list_filter = ("status", "programme", "visibility")
    search_fields = ("title", "summary")
    prepopulated_fields = {"slug": ("title",)}
    autocomplete_fields = ("parties", "programme")
    inlines = [ClauseInline, *link_inlines("agreement"), HistoryInline]
    fieldsets = (
        (None, {"fields": ("title", "slug", "parties", "programme", "summary", "visibility")}),
        StatusRecordAdmin.status_fieldset,
    )

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).visible_to(request.user).with_clause_counts()

    @admin.display(description=gettext_lazy("clauses"), ordering="clause_total")
    def clause_count(self, obj: Agreement) -> int:
        return obj.clause_total


def negotiation_error(error: services.NegotiationError) -> ValidationError:
    return ValidationError(str(error))


def event_date_field(label) -> forms.DateField:
    """When a text was proposed or a position taken; today if left empty."""
    return forms.DateField(
        label=label,
        required=False,
        initial=timezone.localdate,
        validators=[validate_record_date],
        widget=AdminDateWidget,
        help_text=gettext_lazy("Today if left empty."),
    )


class ClauseForm(StatusRecordForm):
    """A clause; a new text becomes a new version, with who proposed it, when and how."""

    version_proposed_by = forms.ModelChoiceField(
        label=gettext_lazy("text proposed by"),
        queryset=Party.objects.all(),
        required=False,
        help_text=gettext_lazy("For a new text; empty for a joint text."),
    )
    version_kind = forms.ChoiceField(
        label=gettext_lazy("kind of text"),
        choices=ClauseVersion.Kind.choices,
        initial=ClauseVersion.Kind.PROPOSAL,
        required=False,
    )
    version_proposed_on = event_date_field(gettext_lazy("text proposed on"))
    version_precision = forms.ChoiceField(
        label=gettext_lazy("date precision"),
        choices=DatePrecision.choices,
        initial=DatePrecision.DAY,
        required=False,
    )
    version_source = forms.ModelChoiceField(
        label=gettext_lazy("source of the text"), queryset=Source.objects.all(), required=False
    )
    version_note = forms.CharField(
        label=gettext_lazy("note on the text"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    @property
    def text_was_changed(self) -> bool:
        return "text" in self.changed_data and bool(self.cleaned_data.get("text", "").strip())

    def clean(self) -> dict:
        cleaned_data = super().clean()
        emptied = "text" in self.changed_data and not cleaned_data.get("text", "").strip()
        if emptied and not self.instance._state.adding:
            self.add_error("text", _("A text is never erased: record a new version of it instead."))
        day = cleaned_data.get("version_proposed_on")
        if day:
            try:
                check_date_precision(
                    day,
                    cleaned_data.get("version_precision") or DatePrecision.DAY,
                    "version_proposed_on",
                )
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned_data

    def version_details(self) -> dict:
        data = self.cleaned_data
        return {
            "proposed_by": data.get("version_proposed_by"),
            "kind": data.get("version_kind") or ClauseVersion.Kind.PROPOSAL,
            "proposed_on": data.get("version_proposed_on"),
            "precision": data.get("version_precision") or DatePrecision.DAY,
            "source": data.get("version_source"),
            "note": data.get("version_note") or "",
        }


class ClauseVersionInline(ReadOnlyInline):
    model = ClauseVersion
    fields = readonly_fields = (
        "number",
        "kind",
        "proposed_by",
        "proposed_on",
        "text",
        "source",
        "recorded_by",
    )
    ordering = ("-number",)
    verbose_name_plural = gettext_lazy("versions of the text")


class PositionInline(ReadOnlyInline):
    model = Position
    fk_name = "clause"
    fields = readonly_fields = (
        "party",
        "stance",
        "reservation",
        "version",
        "taken_on",
        "visibility",
        "note",
        "source",
    )
    ordering = ("-taken_on", "-recorded_at", "-id")
    show_change_link = True

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("party", "version__clause", "source")


class BulkPositionForm(forms.Form):
    party = forms.ModelChoiceField(label=gettext_lazy("party"), queryset=Party.objects.all())
    stance = forms.ChoiceField(label=gettext_lazy("stance"), choices=Position.Stance.choices)
    reservation = forms.ChoiceField(
        label=gettext_lazy("kind of reservation"),
        choices=[("", "—"), *Position.ReservationKind.choices],
        required=False,
    )
    taken_on = event_date_field(gettext_lazy("date"))
    precision = forms.ChoiceField(
        label=gettext_lazy("date precision"), choices=DatePrecision.choices
    )
    source = forms.ModelChoiceField(
        label=gettext_lazy("source"), queryset=Source.objects.all(), required=False
    )
    note = forms.CharField(
        label=gettext_lazy("note"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    internal = forms.BooleanField(
        label=gettext_lazy("internal (staff only)"),
        required=False,
        help_text=gettext_lazy("A party's confidential position: readers never see it."),
    )


@admin.register(Clause)
class ClauseAdmin(LinkedRecordAdmin, StatusRecordAdmin):
    form = ClauseForm
    list_display = (
        "reference",
        "title",
        "agreement",
        "obligated_party",
        "status_label",
        "shown_to",
    )
    list_display_links = ("reference", "title")
    list_filter = ("status", "agreement", "visibility")
    search_fields = ("reference", "title", "text")
    autocomplete_fields = ("agreement", "obligated_party")
    inlines = [ClauseVersionInline, PositionInline, *link_inlines("clause"), HistoryInline]
    actions = ["change_status_of_selected", "record_position_on_selected"]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "agreement",
                    ("reference", "position"),
                    "title",
                    "obligated_party",
                    "visibility",
                )
            },
        ),
        (
            gettext_lazy("Text"),
            {
                "fields": (
                    "text",
                    ("version_proposed_by", "version_kind"),
                    ("version_proposed_on", "version_precision"),
                    "version_source",
                    "version_note",
                ),
                "description": gettext_lazy(
                    "A changed text is recorded as a new version, proposed by whom, when and "
                    "where below; earlier versions are kept and can be compared."
                ),
            },
        ),
        StatusRecordAdmin.status_fieldset,
    )

    def save_model(self, request: HttpRequest, obj: Clause, form: ClauseForm, change: bool):
        text = obj.text
        if change:
            # The text changes by a new version only, after the other fields are saved.
            obj.text = obj._loaded_text
        super().save_model(request, obj, form, change)
        if form.text_was_changed:
            try:
                services.add_clause_version(
                    obj, text=text, by=request.user, **form.version_details()
                )
            except services.NegotiationError as error:
                self.message_user(request, str(error), messages.WARNING)

    @admin.action(
        permissions=["change"],
        description=gettext_lazy("Record a position of a party on the selected clauses"),
    )
    def record_position_on_selected(self, request: HttpRequest, queryset):
        form = BulkPositionForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            self.apply_position(request, queryset, form.cleaned_data)
            return None
        return action_form(
            self,
            request,
            queryset,
            form,
            action="record_position_on_selected",
            title=_("Record a position on several clauses"),
            action_label=_("Record the position"),
            intro=_(
                "The party's position below is recorded on each of these clauses, on its "
                "current text. Clauses of an agreement the party does not negotiate are left "
                "alone."
            ),
        )

    def apply_position(self, request: HttpRequest, queryset, data: dict) -> None:
        recorded, left_alone = [], []
        with transaction.atomic():
            for clause in queryset.select_related("agreement").order_by("pk"):
                try:
                    services.record_position(
                        data["party"],
                        clause=clause,
                        stance=data["stance"],
                        reservation=data["reservation"],
                        taken_on=data["taken_on"],
                        precision=data["precision"],
                        source=data["source"],
                        note=data["note"],
                        internal=data["internal"],
                        by=request.user,
                    )
                except services.NegotiationError as error:
                    left_alone.append(f"{clause} ({error})")
                else:
                    recorded.append(clause)
        if recorded:
            self.message_user(
                request,
                _("Position recorded on %(count)d clauses.") % {"count": len(recorded)},
                messages.SUCCESS,
            )
        if left_alone:
            self.message_user(
                request,
                _("Left alone: %(records)s.") % {"records": "; ".join(left_alone)},
                messages.WARNING,
            )


class PositionForm(forms.ModelForm):
    internal = forms.BooleanField(
        label=gettext_lazy("internal (staff only)"),
        required=False,
        help_text=gettext_lazy("A party's confidential position: readers never see it."),
    )

    class Meta:
        model = Position
        fields = (
            "party",
            "clause",
            "topic",
            "stance",
            "reservation",
            "version",
            "taken_on",
            "precision",
            "source",
            "statement",
            "note",
        )

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        try:
            data["version"] = services.check_position(
                data["party"],
                stance=data["stance"],
                clause=data.get("clause"),
                topic=data.get("topic"),
                reservation=data.get("reservation") or "",
                version=data.get("version"),
            )
        except services.NegotiationError as error:
            raise negotiation_error(error) from error
        return data

    def _post_clean(self) -> None:
        # The row is made by the service, which checks the rest; no model validation
        # against a half-filled instance.
        pass


class AppendOnlyAdmin(MalformedInputRefused, admin.ModelAdmin):
    """Events added through a service; never changed or deleted."""

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Position)
class PositionAdmin(AppendOnlyAdmin):
    form = PositionForm
    list_display = ("party", "stance", "reservation", "clause", "topic", "taken_on", "visibility")
    list_filter = ("stance", "party", "visibility")
    search_fields = ("note", "clause__title", "topic__title", "party__name")
    autocomplete_fields = ("party", "clause", "topic", "version", "source", "statement")
    date_hierarchy = "taken_on"

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("party", "clause", "topic")

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        # "Add a position" links from a clause page carry ?clause=<id>.
        return {
            key: value
            for key, value in super().get_changeform_initial_data(request).items()
            if key in {"clause", "topic", "party"} and str(value).isdigit()
        }

    def save_model(self, request: HttpRequest, obj: Position, form: PositionForm, change: bool):
        data = form.cleaned_data
        saved = services.record_position(
            data["party"],
            clause=data.get("clause"),
            topic=data.get("topic"),
            stance=data["stance"],
            reservation=data.get("reservation") or "",
            version=data.get("version"),
            taken_on=data.get("taken_on"),
            precision=data.get("precision") or DatePrecision.DAY,
            source=data.get("source"),
            statement=data.get("statement"),
            note=data.get("note") or "",
            internal=data.get("internal", False),
            by=request.user,
        )
        # The admin goes on with `obj` (its log entry, its message): make it the saved row.
        obj.__dict__.update(saved.__dict__)


class ClauseVersionForm(forms.ModelForm):
    class Meta:
        model = ClauseVersion
        fields = (
            "clause",
            "text",
            "proposed_by",
            "kind",
            "proposed_on",
            "precision",
            "source",
            "note",
        )

    def clean(self) -> dict:
        data = super().clean()
        clause, text = data.get("clause"), (data.get("text") or "").strip()
        if clause is not None and text and text == clause.text.strip():
            self.add_error("text", _("This is the clause's current text already."))
        return data

    def _post_clean(self) -> None:
        pass  # the number is the service's to give


@admin.register(ClauseVersion)
class ClauseVersionAdmin(AppendOnlyAdmin):
    form = ClauseVersionForm
    list_display = ("clause", "number", "kind", "proposed_by", "proposed_on")
    list_filter = ("kind", "proposed_by")
    search_fields = ("text", "clause__title", "clause__reference")
    autocomplete_fields = ("clause", "proposed_by", "source")

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("clause", "proposed_by")

    def save_model(self, request, obj: ClauseVersion, form: ClauseVersionForm, change: bool):
        data = form.cleaned_data
        try:
            saved = services.add_clause_version(
                data["clause"],
                text=data["text"],
                by=request.user,
                proposed_by=data.get("proposed_by"),
                kind=data["kind"],
                proposed_on=data.get("proposed_on"),
                precision=data.get("precision") or DatePrecision.DAY,
                source=data.get("source"),
                note=data.get("note") or "",
            )
        except services.NegotiationError as error:
            self.message_user(request, str(error), messages.ERROR)
            return
        # The admin goes on with `obj` (its log entry, its message): make it the saved row.
        obj.__dict__.update(saved.__dict__)


@admin.register(Topic)
class TopicAdmin(LinkedRecordAdmin, StatusRecordAdmin):
    list_display = ("title", "status_label", "next_step", "shown_to")
    list_filter = ("status", "visibility")
    search_fields = ("title", "summary", "next_step")
    prepopulated_fields = {"slug": ("title",)}
    autocomplete_fields = ("parties",)
    fieldsets = (
        (None, {"fields": ("title", "slug", "parties", "summary", "next_step", "visibility")}),
        StatusRecordAdmin.status_fieldset,
    )
    inlines = [*link_inlines("topic"), HistoryInline]


# Milestones and statements ------------------------------------------------------------------


@admin.register(Milestone)
class MilestoneAdmin(LinkedRecordAdmin, VisibleRecordAdmin):
    list_display = ("title", "kind", "when", "agreement", "topic", "programme", "shown_to")
    list_filter = ("kind", "precision", "visibility")
    search_fields = ("title", "description")
    date_hierarchy = "happens_on"
    autocomplete_fields = ("agreement", "topic", "programme", "source")
    fields = (
        "title",
        "kind",
        ("happens_on", "precision"),
        "done_on",
        "description",
        "agreement",
        "topic",
        "programme",
        "source",
        "visibility",
    )

    inlines = link_inlines("milestone")

    @admin.display(description=gettext_lazy("date"), ordering="happens_on")
    def when(self, obj: Milestone) -> str:
        return approximate_date(obj.happens_on, obj.precision)


@admin.register(Statement)
class StatementAdmin(VisibleRecordAdmin):
    list_display = ("said_on", "person", "gist", "agreement", "topic", "source", "shown_to")
    list_display_links = ("said_on", "person")
    list_filter = ("visibility", "person__party")
    search_fields = ("summary", "person__name")
    date_hierarchy = "said_on"
    autocomplete_fields = ("person", "source", "agreement", "topic")
    fields = ("person", "said_on", "summary", "source", "agreement", "topic", "visibility")

    @admin.display(description=gettext_lazy("what was said"))
    def gist(self, obj: Statement) -> str:
        return obj.summary if len(obj.summary) <= 80 else f"{obj.summary[:79]}…"


# The history and the digests: read-only -----------------------------------------------------


class ReadOnlyAdmin(MalformedInputRefused, admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(StatusChange)
class StatusChangeAdmin(HistoryLabels, ReadOnlyAdmin):
    list_display = (
        "effective_on",
        "subject_link",
        "kind",
        "from_label",
        "to_label",
        "recorded_by",
        "recorded_at",
        "source",
    )
    list_filter = ("kind", "to_status")
    search_fields = ("note",)
    date_hierarchy = "effective_on"
    fields = (
        "subject_link",
        "kind",
        "from_label",
        "to_label",
        "effective_on",
        "note",
        "source",
        "recorded_by",
        "recorded_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).with_subjects()

    @admin.display(description=gettext_lazy("record"))
    def subject_link(self, obj: StatusChange) -> str:
        return change_link(obj.subject)


@admin.register(Subscription)
class SubscriptionAdmin(OfferedLookupsOnly, MalformedInputRefused, admin.ModelAdmin):
    list_display = (
        "user",
        "frequency",
        "hour",
        "weekday",
        "language",
        "follows_everything",
        "next_due_at",
    )
    list_filter = ("frequency", "language", "follows_everything")
    search_fields = ("user__username", "user__email")
    autocomplete_fields = ("agreements", "topics")
    # The feed token is a credential of its owner; editors neither see nor set it (only its
    # digest is stored, and OfferedLookupsOnly refuses lookups on it).
    fields = (
        "user",
        "frequency",
        ("hour", "weekday"),
        "language",
        "follows_everything",
        "agreements",
        "topics",
        "next_due_at",
        "created_at",
        "preview",
    )
    readonly_fields = ("user", "next_due_at", "created_at", "preview")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Managers subscribe themselves; a subscription is created with its owner.
        return False

    @admin.display(description=gettext_lazy("next digest"))
    def preview(self, obj: Subscription) -> str:
        url = reverse("agreements:subscription_preview", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Preview it in the browser"))

    def save_model(self, request, obj: Subscription, form, change: bool) -> None:
        was_active = Subscription.objects.filter(pk=obj.pk).exclude(frequency="off").exists()
        digests.reschedule(obj, was_active=was_active, now=timezone.now())
        super().save_model(request, obj, form, change)


@admin.register(DigestDelivery)
class DigestDeliveryAdmin(OfferedLookupsOnly, ReadOnlyAdmin):
    list_display = (
        "recipient",
        "period_start",
        "period_end",
        "status",
        "attempts",
        "sent_at",
    )
    list_filter = ("status",)
    search_fields = ("recipient", "subject", "message_id")
    date_hierarchy = "period_end"
    fields = (
        "subscription",
        "recipient",
        "period_start",
        "period_end",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "message_id",
        "planned_at",
        "sent_at",
        "subject",
        "body_text",
    )
    readonly_fields = fields


# The audit trail across the record: staff only -------------------------------------------------

AUDIT_TRAIL_PAGE_SIZE = 50


class AuditTrailFilter(forms.Form):
    editor = forms.ModelChoiceField(
        label=gettext_lazy("editor"), queryset=audit_trail.editors_choices(), required=False
    )
    kind = forms.ChoiceField(label=gettext_lazy("kind of record"), required=False)
    since = forms.DateField(
        label=gettext_lazy("from"), required=False, validators=[validate_record_date]
    )
    until = forms.DateField(
        label=gettext_lazy("until"), required=False, validators=[validate_record_date]
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["editor"].queryset = audit_trail.editors_choices()
        self.fields["kind"].choices = [("", _("All")), *audit_trail.kind_choices()]


def audit_trail_view(request: HttpRequest) -> HttpResponse:
    """`/admin/audit-trail/`: recent edits across the record, newest first, filtered by
    editor, kind of record and date. The admin's own login and staff check guard it."""
    form = AuditTrailFilter(request.GET or None)
    if form.is_bound and not form.is_valid():
        keys = audit_trail.recent_edit_keys().none()
    else:
        wanted = form.cleaned_data if form.is_bound else {}
        keys = audit_trail.recent_edit_keys(
            kind=wanted.get("kind", ""),
            editor=wanted.get("editor"),
            since=wanted.get("since"),
            until=wanted.get("until"),
        )
    page = Paginator(keys, AUDIT_TRAIL_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        **admin.site.each_context(request),
        "title": _("Audit trail"),
        "subtitle": None,
        "form": form,
        "page_obj": page,
        "edits": audit_trail.edits_for(list(page.object_list)),
    }
    return TemplateResponse(request, "admin/agreements/audit_trail.html", context)
