"""Forms that read the query string of the reader pages.

A URL is user input: a bookmark from an older version, a hand-edited filter, a crawler.
Each list page parses its parameters with one of these forms. A value that cannot mean
anything sensible (a malformed date, an agreement the reader cannot see) is a form error
and the page answers 400 saying what is wrong; a value that is merely stale (a status
that no longer exists, an overlong search text) is dropped or shortened with a notice,
so that an old bookmark still shows something. Never a 500.
"""

from __future__ import annotations

from collections.abc import Iterable

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import Level, StatusChange, validate_record_date

MAX_SEARCH_LENGTH = 200
DATE_INPUT_FORMATS = ["%Y-%m-%d"]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self):
        super().__init__(format="%Y-%m-%d")


class CheckedModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Refuses an id beyond the database's integer range like any unknown id.

    Django looks the submitted ids up as they come; an integer beyond the column's 64 bits
    raised an error in the database: a 500 instead of a form error.
    """

    def _check_values(self, value):
        opts = self.queryset.model._meta
        field = opts.get_field(self.to_field_name) if self.to_field_name else opts.pk
        for pk in value:
            try:
                field.run_validators(field.to_python(pk))
            except (ValidationError, ValueError, TypeError):
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                ) from None
        return super()._check_values(value)


class ReaderQueryForm(forms.Form):
    """A form over request.GET that also collects notices about what it dropped."""

    def __init__(self, data: QueryDict | None = None, **kwargs):
        self.notices: list[str] = []
        super().__init__(QueryDict(mutable=True) if data is None else data.copy(), **kwargs)

    def drop_unknown(self, name: str, known: Iterable[str]) -> None:
        """Keep the known values of a multi-valued parameter; note the others."""
        known = set(known)
        values = self.data.getlist(name)
        kept = [value for value in values if value in known]
        if len(kept) != len(values):
            self.notices.append(str(_("Unknown status ignored.")))
            self.data.setlist(name, kept)

    def clean_q(self) -> str:
        text = self.cleaned_data.get("q", "")
        if len(text) > MAX_SEARCH_LENGTH:
            self.notices.append(
                ngettext(
                    "Search text shortened to its first %(count)d character.",
                    "Search text shortened to its first %(count)d characters.",
                    MAX_SEARCH_LENGTH,
                )
                % {"count": MAX_SEARCH_LENGTH}
            )
            text = text[:MAX_SEARCH_LENGTH].strip()
        return text


def search_field(label) -> forms.CharField:
    # No max_length: an overlong text is shortened with a notice in clean_q, not refused.
    return forms.CharField(label=label, required=False, strip=True)


IDLE_CHOICES = [("1", _("Idle only"))]


class ListFilterForm(ReaderQueryForm):
    """Search text, statuses and sort order of a list page (agreements, topics)."""

    SORT_CHOICES = [
        ("title", _("Title, A to Z")),
        ("-title", _("Title, Z to A")),
        ("status", _("Status")),
        ("updated", _("Recently updated")),
    ]

    q = search_field(_("Search"))
    status = forms.MultipleChoiceField(
        label=_("Status"), required=False, widget=forms.CheckboxSelectMultiple
    )
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=SORT_CHOICES)
    # `?idle=1`: only the idle records (agreements: with an idle clause). Anything else is
    # a form error: it cannot mean anything sensible.
    idle = forms.ChoiceField(label=_("Activity"), required=False, choices=IDLE_CHOICES)

    def __init__(self, data: QueryDict | None, *, statuses: list[tuple[str, str]]):
        super().__init__(data)
        self.fields["status"].choices = statuses
        self.drop_unknown("status", (value for value, _label in statuses))

    @property
    def selected_statuses(self) -> list[str]:
        return self.data.getlist("status")

    @property
    def selected_idle(self) -> list[str]:
        return self.data.getlist("idle")


class ClauseFilterForm(ReaderQueryForm):
    """The status filter of an agreement's clause table."""

    clause_status = forms.MultipleChoiceField(
        label=_("Clause status"), required=False, widget=forms.CheckboxSelectMultiple
    )

    idle = forms.CharField(label=_("Activity"), required=False)

    def __init__(self, data: QueryDict | None, *, statuses: list[tuple[str, str]]):
        super().__init__(data)
        self.fields["clause_status"].choices = statuses
        self.drop_unknown("clause_status", (value for value, _label in statuses))

    def clean_idle(self) -> bool:
        # This form cannot fail (the agreement page is shown whatever the filter says): a
        # value that is not "1" is dropped with a notice.
        value = self.cleaned_data.get("idle", "")
        if value not in ("", "1"):
            self.notices.append(str(_("Unknown activity filter ignored.")))
            self.data.setlist("idle", [])
        return value == "1"

    @property
    def selected_statuses(self) -> list[str]:
        return self.data.getlist("clause_status")

    @property
    def selected_idle(self) -> list[str]:
        return self.data.getlist("idle")


class SubjectField(forms.ModelChoiceField):
    """One agreement or topic, named by its slug in the URL.

    Not a list to choose from: a record grows to thousands of topics, and a select of all of
    them would be most of the page. The reader arrives with the slug from the record's own
    page ("The whole history on the timeline"); the form shows it and a way to drop it.
    Checking the slug costs one query, and only when one is given.
    """

    widget = forms.HiddenInput

    def __init__(self, label: str, **kwargs):
        super().__init__(queryset=None, label=label, required=False, to_field_name="slug")

    def label_from_instance(self, obj) -> str:
        return obj.title


class TimelineFilterForm(ReaderQueryForm):
    """Which status changes the timeline shows.

    The agreement and topic are looked up among the ones the reader may see, so asking for
    an internal record's history gets the same answer as asking for one that does not exist.
    """

    agreement = SubjectField(label=_("Agreement"))
    topic = SubjectField(label=_("Topic"))
    kind = forms.ChoiceField(
        label=_("Kind of record"),
        required=False,
        choices=[("", _("Any kind")), *StatusChange.Kind.choices],
    )
    since = forms.DateField(
        label=_("Since"), required=False, input_formats=DATE_INPUT_FORMATS, widget=DateInput()
    )
    until = forms.DateField(
        label=_("Until"), required=False, input_formats=DATE_INPUT_FORMATS, widget=DateInput()
    )
    # "Since my last visit" (`?since=last-visit`, resolved by the view to this): what was
    # recorded since that moment, whatever day it took effect.
    recorded_since = forms.DateTimeField(
        label=_("Recorded since"), required=False, widget=forms.HiddenInput
    )

    error_messages = {
        "date": _("Enter dates as YYYY-MM-DD, for example 2012-11-19."),
        "moment": _("Enter a moment as YYYY-MM-DDTHH:MM, for example 2012-11-19T14:05."),
        "order": _("“Since” must not be after “until”."),
    }

    def __init__(self, data: QueryDict | None, *, agreements: QuerySet, topics: QuerySet):
        super().__init__(data)
        self.fields["agreement"].queryset = agreements.only("pk", "slug", "title")
        self.fields["topic"].queryset = topics.only("pk", "slug", "title")
        for name in ("since", "until"):
            self.fields[name].error_messages["invalid"] = self.error_messages["date"]
        self.fields["recorded_since"].error_messages["invalid"] = self.error_messages["moment"]

    def last_visit_began_at(self):
        """The moment "Since my last visit" asked for, to say it back; None otherwise."""
        return self.cleaned_data.get("recorded_since") if self.is_valid() else None

    def subjects(self) -> list[tuple[forms.BoundField, object]]:
        """The agreement or topic the timeline is narrowed to, with its field, to show."""
        if not self.is_valid():
            return []
        return [
            (self[name], self.cleaned_data[name])
            for name in ("agreement", "topic")
            if self.cleaned_data[name] is not None
        ]

    def clean(self) -> dict:
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            raise forms.ValidationError(self.error_messages["order"], code="order")
        return cleaned


class SearchForm(ReaderQueryForm):
    q = search_field(_("Search the record"))


class PositionGridForm(ReaderQueryForm):
    """The position grid's day (`as_of`) and its level filter (`level`, repeated)."""

    as_of = forms.DateField(
        label=_("As it stood on"),
        required=False,
        input_formats=DATE_INPUT_FORMATS,
        widget=DateInput(),
        validators=[validate_record_date],
        error_messages={"invalid": _("Enter dates as YYYY-MM-DD, for example 2012-11-19.")},
    )
    level = forms.MultipleChoiceField(
        label=_("Agreement level"),
        required=False,
        choices=Level.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, data: QueryDict | None):
        super().__init__(data)
        self.drop_unknown("level", Level.values)

    @property
    def selected_levels(self) -> list[str]:
        return self.data.getlist("level")


class CompareForm(ReaderQueryForm):
    """Which two versions of a clause a redline compares, and how it is laid out. Left out,
    they are the last two; given the other way round, they are swapped."""

    INLINE, SIDE_BY_SIDE = "inline", "side"

    old = forms.IntegerField(label=_("From version"), required=False, min_value=1)
    new = forms.IntegerField(label=_("To version"), required=False, min_value=1)
    view = forms.ChoiceField(
        label=_("Layout"),
        required=False,
        choices=[(INLINE, _("Inline")), (SIDE_BY_SIDE, _("Side by side"))],
    )

    def __init__(self, data: QueryDict | None, *, numbers: list[int]):
        # `from` is a Python keyword: the URL's from/to are the form's old/new.
        data = data.copy() if data is not None else QueryDict(mutable=True)
        for url_name, name in (("from", "old"), ("to", "new")):
            if url_name in data:
                data.setlist(name, data.getlist(url_name))
        super().__init__(data)
        self.numbers = numbers

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        old, new = cleaned.get("old"), cleaned.get("new")
        for number in (old, new):
            if number is not None and number not in self.numbers:
                raise forms.ValidationError(
                    _("This clause has no version %(number)s.") % {"number": number},
                    code="unknown",
                )
        latest = self.numbers[-1] if self.numbers else None
        if new is None:
            new = latest if old is None or old != latest else old
        if old is None:
            old = max([n for n in self.numbers if n < new] or [new]) if new else None
        if old is not None and new is not None and old > new:
            old, new = new, old
        cleaned["old"], cleaned["new"] = old, new
        cleaned["view"] = cleaned.get("view") or self.INLINE
        return cleaned


class BlockedFilterForm(ReaderQueryForm):
    """The filters of /blocked/: what kind of record is blocked, what kind blocks it, and
    an agreement (the dashboard's "Blocked" count links here with it)."""

    kind = forms.MultipleChoiceField(
        label=_("Blocked record"), required=False, widget=forms.CheckboxSelectMultiple
    )
    by = forms.MultipleChoiceField(
        label=_("Blocked by"), required=False, widget=forms.CheckboxSelectMultiple
    )
    agreement = forms.SlugField(label=_("Agreement"), required=False, max_length=80)

    def __init__(self, data: QueryDict | None, *, kinds: list[tuple[str, str]]):
        super().__init__(data)
        for name in ("kind", "by"):
            self.fields[name].choices = kinds
            self.drop_unknown(name, (value for value, _label in kinds))

    @property
    def selected_kinds(self) -> list[str]:
        return self.data.getlist("kind")

    @property
    def selected_blockers(self) -> list[str]:
        return self.data.getlist("by")
