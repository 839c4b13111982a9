"""The API's query parameters: the reader pages' filters, strict.

A page forgives a stale bookmark (an unknown status is dropped with a notice); a script
asking for something that cannot mean anything gets a 400 naming the parameter, so that a
typo is not read as "no rows". Each endpoint's parameters are a Django form, which both
checks them and describes them in the OpenAPI schema (`FormFilterBackend`), so the two
cannot drift apart.
"""

from __future__ import annotations

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.filters import BaseFilterBackend

from ..forms import DATE_INPUT_FORMATS, MAX_SEARCH_LENGTH, SubjectField
from ..models import (
    Agreement,
    AgreementStatus,
    ClauseStatus,
    FundingStatus,
    Programme,
    StatusChange,
    Topic,
    TopicStatus,
)

NOT_VISIBLE = _("No record with this slug, or not one you may see.")


def subject_field(label) -> SubjectField:
    field = SubjectField(label=label)
    field.error_messages["invalid_choice"] = NOT_VISIBLE
    return field


def date_field(label, help_text) -> forms.DateField:
    return forms.DateField(
        label=label,
        help_text=help_text,
        required=False,
        input_formats=DATE_INPUT_FORMATS,
        error_messages={"invalid": _("Enter dates as YYYY-MM-DD, for example 2012-11-19.")},
    )


def statuses_field(choices) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=_("Status"),
        help_text=_("Only records with one of these statuses; repeat the parameter for several."),
        required=False,
        choices=choices.choices,
    )


def search_field(help_text) -> forms.CharField:
    return forms.CharField(
        label=_("Search"), help_text=help_text, required=False, max_length=MAX_SEARCH_LENGTH
    )


class FilterForm(forms.Form):
    """The parameters of one endpoint, checked against what `user` may see.

    `lookups` maps a parameter to the queryset lookup it filters on; a parameter that is
    absent or empty filters nothing.
    """

    lookups: dict[str, str] = {}
    # The subject fields and the models whose visible rows they accept.
    subjects: dict[str, type] = {}

    def __init__(self, data, *, user):
        super().__init__(data)
        for name, model in self.subjects.items():
            self.fields[name].queryset = model.objects.visible_to(user).only("pk", "slug")

    def clean(self) -> dict:
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            raise forms.ValidationError(_("“since” must not be after “until”."), code="order")
        return cleaned

    def filter(self, rows: QuerySet) -> QuerySet:
        for name, lookup in self.lookups.items():
            value = self.cleaned_data.get(name)
            if value not in (None, "", []):
                rows = rows.filter(**{lookup: value})
        return rows


class TitleSearchMixin:
    def filter(self, rows: QuerySet) -> QuerySet:
        rows = super().filter(rows)
        text = self.cleaned_data.get("q")
        if text:
            rows = rows.filter(Q(title__icontains=text) | Q(summary__icontains=text))
        return rows


class AgreementFilter(TitleSearchMixin, FilterForm):
    q = search_field(_("Words in the title or summary, as on the agreements page."))
    status = statuses_field(AgreementStatus)
    lookups = {"status": "status__in"}


class TopicFilter(TitleSearchMixin, FilterForm):
    q = search_field(_("Words in the title or summary, as on the topics page."))
    status = statuses_field(TopicStatus)
    lookups = {"status": "status__in"}


class ClauseFilter(FilterForm):
    agreement = subject_field(_("The slug of one agreement: its clauses only."))
    status = statuses_field(ClauseStatus)
    lookups = {"agreement": "agreement", "status": "status__in"}
    subjects = {"agreement": Agreement}


class ClauseVersionFilter(FilterForm):
    agreement = subject_field(_("The slug of one agreement: the versions of its clauses."))
    lookups = {"agreement": "clause__agreement"}
    subjects = {"agreement": Agreement}


class PositionFilter(FilterForm):
    agreement = subject_field(_("The slug of one agreement: the positions on its clauses."))
    topic = subject_field(_("The slug of one topic: the positions on it."))
    lookups = {"agreement": "clause__agreement", "topic": "topic"}
    subjects = {"agreement": Agreement, "topic": Topic}


class FundingSourceFilter(FilterForm):
    programme = subject_field(_("The slug of one programme: its funding sources only."))
    status = statuses_field(FundingStatus)
    lookups = {"programme": "programme", "status": "status__in"}
    subjects = {"programme": Programme}


class MilestoneFilter(FilterForm):
    agreement = subject_field(_("The slug of one agreement: its milestones only."))
    topic = subject_field(_("The slug of one topic: its milestones only."))
    programme = subject_field(_("The slug of one programme: its milestones only."))
    since = date_field(_("Since"), _("Milestones on or after this date (YYYY-MM-DD)."))
    until = date_field(_("Until"), _("Milestones on or before this date (YYYY-MM-DD)."))
    lookups = {
        "agreement": "agreement",
        "topic": "topic",
        "programme": "programme",
        "since": "happens_on__gte",
        "until": "happens_on__lte",
    }
    subjects = {"agreement": Agreement, "topic": Topic, "programme": Programme}


class StatementFilter(FilterForm):
    agreement = subject_field(_("The slug of one agreement: statements about it only."))
    topic = subject_field(_("The slug of one topic: statements about it only."))
    since = date_field(_("Since"), _("Statements made on or after this date (YYYY-MM-DD)."))
    until = date_field(_("Until"), _("Statements made on or before this date (YYYY-MM-DD)."))
    lookups = {
        "agreement": "agreement",
        "topic": "topic",
        "since": "said_on__gte",
        "until": "said_on__lte",
    }
    subjects = {"agreement": Agreement, "topic": Topic}


class SourceFilter(FilterForm):
    q = search_field(_("Words in the title or the publisher's name."))

    def filter(self, rows: QuerySet) -> QuerySet:
        text = self.cleaned_data.get("q")
        if text:
            rows = rows.filter(Q(title__icontains=text) | Q(publisher__icontains=text))
        return rows


class StatusChangeFilter(FilterForm):
    """The timeline's filters."""

    agreement = subject_field(
        _("The slug of one agreement: changes of it and of its clauses, as on its timeline.")
    )
    topic = subject_field(_("The slug of one topic: its changes only."))
    kind = forms.ChoiceField(
        label=_("Kind of record"),
        help_text=_("Only changes of this kind of record."),
        required=False,
        choices=StatusChange.Kind.choices,
    )
    since = date_field(_("Since"), _("Changes that took effect on or after this date."))
    until = date_field(_("Until"), _("Changes that took effect on or before this date."))
    lookups = {
        "topic": "topic",
        "kind": "kind",
        "since": "effective_on__gte",
        "until": "effective_on__lte",
    }
    subjects = {"agreement": Agreement, "topic": Topic}

    def filter(self, rows: QuerySet) -> QuerySet:
        rows = super().filter(rows)
        if self.cleaned_data.get("agreement"):
            rows = rows.for_agreement(self.cleaned_data["agreement"])
        return rows


# The backend ------------------------------------------------------------------------------


def _schema_of(field: forms.Field) -> dict:
    if isinstance(field, forms.ModelChoiceField):
        return {"type": "string"}  # a slug; which ones depends on who asks
    if isinstance(field, forms.MultipleChoiceField):
        return {"type": "array", "items": {"type": "string", "enum": [v for v, _ in field.choices]}}
    if isinstance(field, forms.ChoiceField):
        return {"type": "string", "enum": [v for v, _ in field.choices]}
    if isinstance(field, forms.DateField):
        return {"type": "string", "format": "date"}
    if isinstance(field, forms.CharField) and field.max_length:
        return {"type": "string", "maxLength": field.max_length}
    return {"type": "string"}


class FormFilterBackend(BaseFilterBackend):
    """Filters a list by the view's `filter_form`; a bad parameter is a 400 naming it."""

    def filter_queryset(self, request, queryset: QuerySet, view) -> QuerySet:
        form_class = getattr(view, "filter_form", None)
        if form_class is None:
            return queryset
        form = form_class(request.query_params, user=request.user)
        if not form.is_valid():
            raise exceptions.ValidationError(
                {
                    "detail": _("Some parameters are not valid."),
                    "errors": {
                        name: [str(message) for message in messages]
                        for name, messages in form.errors.items()
                    },
                }
            )
        return form.filter(queryset)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        form_class = getattr(view, "filter_form", None)
        if form_class is None:
            return []
        parameters = []
        for name, field in form_class.base_fields.items():
            schema = _schema_of(field)
            parameter = {
                "name": name,
                "in": "query",
                "required": False,
                "description": str(field.help_text or field.label),
                "schema": schema,
            }
            if schema["type"] == "array":
                parameter |= {"style": "form", "explode": True}
            parameters.append(parameter)
        return parameters
