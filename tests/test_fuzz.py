"""Invariant 4 under random input: whatever a URL or a form carries, the answer is a 4xx or
a form error, never a 500, and a refused form writes nothing.

Hypothesis runs derandomized (the same examples on every run and in CI) and keeps no
example database. Each example runs in a savepoint that is rolled back, so examples do not
see each other's writes and a database error in one cannot poison the test's transaction.
"""

from __future__ import annotations

import contextlib
import warnings
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.core.paginator import UnorderedObjectListWarning
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agreements import models as domain
from agreements.models import Subscription

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # the client and the record serve every example
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

HTMX = {"HX-Request": "true"}
HEADERS = st.sampled_from([{}, HTMX, {**HTMX, "HX-Target": "more"}, {**HTMX, "HX-Boosted": "1"}])

NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "%00",
    "-1",
    "0",
    "1e309",
    "NaN",
    "Infinity",
    "9" * 40,
    str(2**63),
    str(-(2**63) - 1),
    "2012-02-30",
    "0000-00-00",
    "9999-12-31",
    "10000-01-01",
    "2012-11-19T00:00:00+99:00",
    "2012-11-19T14:05",
    "last-visit",
    "' OR 1=1 --",
    '"unclosed',
    "-",
    "or",
    "!!!&|:*()",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "\u202e\u200b\ufeff",
    "🚀" * 10,
    "draft",
    "signed",
    "title",
    "-title",
    "status",
    "exomars-cooperation",
    "side-letter",
    "clause",
]

text_values = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.text(min_size=1, max_size=3).map(lambda chunk: chunk * 4000),  # very long
)
PARAMETERS = [
    "q",
    "status",
    "sort",
    "page",
    "since",
    "until",
    "recorded_since",
    "agreement",
    "topic",
    "kind",
    "by",
    "clause_status",
    "as_of",
    "level",
    "from",
    "to",
    "view",
]
query_strings = st.dictionaries(
    st.sampled_from(PARAMETERS),
    st.one_of(text_values, st.lists(text_values, min_size=1, max_size=3)),
    max_size=6,
)


@contextlib.contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


# Reader pages --------------------------------------------------------------------------------

READER_VIEWS = {
    "dashboard": lambda r: [],
    "agreement_list": lambda r: [],
    "agreement_detail": lambda r: [r.agreement.slug],
    "clause_detail": lambda r: [r.clause.pk],
    "clause_compare": lambda r: [r.clause.pk],
    "position_grid": lambda r: [r.agreement.slug],
    "topic_list": lambda r: [],
    "topic_detail": lambda r: [r.topic.slug],
    "programme_detail": lambda r: [r.programme.slug],
    "timeline": lambda r: [],
    "blocked": lambda r: [],
    "search": lambda r: [],
    "subscriptions": lambda r: [],
}


@pytest.mark.parametrize("view", READER_VIEWS)
@FUZZ
@given(query=query_strings, headers=HEADERS)
def test_no_query_string_makes_a_reader_page_fail(record, login, stakeholder, view, query, headers):
    client = login(stakeholder)
    url = reverse(f"agreements:{view}", args=READER_VIEWS[view](record))
    with rolled_back():
        response = client.get(url, query, headers=headers)
    # The timeline's "since=last-visit" redirects to the same page at the reader's moment.
    redirected_here = response.status_code == 302 and response["Location"].startswith(url)
    assert response.status_code in (200, 400) or redirected_here, (view, query, response)
    for internal in (record.internal_clause, record.internal_agreement, record.internal_topic):
        assert internal.title not in response.text  # no filter value opens a hidden record


@FUZZ
@given(pk=st.integers(min_value=0, max_value=10**30))
def test_any_clause_number_is_a_page_or_a_404(record, login, stakeholder, pk):
    with rolled_back():
        response = login(stakeholder).get(f"/clauses/{pk}/")
    assert response.status_code in (200, 404)


path_segments = st.one_of(
    st.sampled_from(["\x00", "a\x00", "x" * 300, "%", "..", "🚀", " "]),
    st.text(min_size=1, max_size=80).filter(lambda segment: "/" not in segment),
)


@pytest.mark.parametrize(
    "name",
    [
        "agreement_detail",
        "topic_detail",
        "programme_detail",
        "agreement_briefing_pdf",
        "position_grid",
    ],
    ids=str,
)
@FUZZ
@given(slug=path_segments)
def test_any_slug_is_a_page_or_a_404(record, login, stakeholder, name, slug):
    url = reverse(f"agreements:{name}", args=["x"]).replace("/x/", f"/{quote(slug, safe='')}/")
    with rolled_back():
        response = login(stakeholder).get(url)
    assert response.status_code in (200, 404)


@pytest.mark.parametrize(
    "name,expected",
    [("changes_feed", {404}), ("milestones_calendar", {404}), ("unsubscribe", {400})],
)
@FUZZ
@given(token=path_segments, method=st.sampled_from(["get", "post"]))
@example(token="\x00", method="get")  # was a 500 on PostgreSQL, which refuses NUL in a query
def test_a_forged_token_is_refused(client, manager, name, expected, token, method):
    Subscription.objects.get_or_create(user=manager, defaults={"frequency": "weekly"})
    url = reverse(f"agreements:{name}", args=["TOKEN"]).replace("TOKEN", quote(token, safe=""))
    with rolled_back():
        response = getattr(client, method)(url)
        assert Subscription.objects.get(user=manager).frequency == "weekly"
    allowed = expected | ({405} if method == "post" and name != "unsubscribe" else set())
    assert response.status_code in allowed, (token, response.status_code)


# Forms ---------------------------------------------------------------------------------------


def subscription_state(user: User) -> tuple:
    subscription = Subscription.objects.filter(user=user).first()
    if subscription is None:
        return ()
    return (
        Subscription.objects.filter(pk=subscription.pk).values().get(),
        sorted(subscription.agreements.values_list("pk", flat=True)),
        sorted(subscription.topics.values_list("pk", flat=True)),
    )


def form_values(valid: list[str]):
    return st.one_of(st.sampled_from(valid), text_values)


@FUZZ
@given(
    data=st.fixed_dictionaries(
        {},
        optional={
            "frequency": form_values(["off", "daily", "weekly"]),
            "hour": form_values(["0", "7", "23", "24"]),
            "weekday": form_values(["0", "6", "7"]),
            "follows_everything": form_values(["on", ""]),
            "agreements": st.lists(form_values(["1", "2", "3"]), max_size=3),
            "topics": st.lists(form_values(["1", "2", "3"]), max_size=3),
        },
    ),
    headers=HEADERS,
    existing=st.booleans(),
)
# An id beyond 64 bits was a 500: the database cannot compare a 64-bit column with it.
@example(data={"frequency": "weekly", "agreements": [str(2**70)]}, headers={}, existing=False)
def test_the_subscription_form_never_fails_and_a_refusal_writes_nothing(
    record, login, manager, data, headers, existing
):
    client = login(manager)
    with rolled_back():
        if existing:
            Subscription.objects.create(user=manager, frequency="daily", hour=9)
        before = subscription_state(manager)
        response = client.post(reverse("agreements:subscriptions"), data, headers=headers)
        assert response.status_code in (200, 302)
        if response.status_code == 200 and response.context["form"].errors:
            assert subscription_state(manager) == before


@pytest.mark.parametrize("name", ["follow_agreement", "follow_topic"])
@FUZZ
@given(
    slug=st.one_of(st.sampled_from(["exomars-cooperation", "juice", "side-letter"]), path_segments),
    data=st.fixed_dictionaries(
        {}, optional={"action": form_values(["follow", "only", "stop"]), "extra": text_values}
    ),
    headers=HEADERS,
    existing=st.booleans(),
)
@example(slug="exomars-cooperation", data={"action": "\x00"}, headers={}, existing=True)
def test_the_follow_button_never_fails_and_a_refusal_writes_nothing(
    record, login, manager, name, slug, data, headers, existing
):
    client = login(manager)
    url = reverse(f"agreements:{name}", args=["x"]).replace("/x/", f"/{quote(slug, safe='')}/")
    with rolled_back():
        if existing:
            Subscription.objects.create(user=manager, frequency="daily", follows_everything=True)
        before = subscription_state(manager)
        response = client.post(url, data, headers=headers)
        assert response.status_code in (200, 302, 400, 404), response.status_code
        if response.status_code >= 400:
            assert subscription_state(manager) == before


@FUZZ
@given(
    username=form_values(["stakeholder", "", "STAKEHOLDER"]),
    password=text_values,
    remote_addr=st.sampled_from(["127.0.0.1", "::1", "192.0.2.1"]),
)
# Django's login form passes an overlong username on; axes could not store it (a 500).
@example(username="0" * 4000, password=" ", remote_addr="127.0.0.1")
def test_the_login_form_never_fails(client, stakeholder, username, password, remote_addr):
    with rolled_back():
        response = client.post(
            reverse("login"),
            {"username": username, "password": password},
            REMOTE_ADDR=remote_addr,
        )
        assert response.status_code in (200, 429)
        assert "_auth_user_id" not in client.session


DOMAIN_MODELS = [
    domain.Party,
    domain.Person,
    domain.Source,
    domain.Programme,
    domain.FundingSource,
    domain.Agreement,
    domain.Clause,
    domain.Topic,
    domain.Milestone,
    domain.Statement,
    domain.StatusChange,
]


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in DOMAIN_MODELS}


def admin_add_form(client, model_name: str) -> tuple[list[str], dict[str, str]]:
    """The fields of an admin add form, and its inlines' management forms, as served."""
    response = client.get(reverse(f"admin:agreements_{model_name}_add"))
    assert response.status_code == 200
    fields = list(response.context["adminform"].form.fields)
    management = {}
    for inline in response.context["inline_admin_formsets"]:
        prefix = inline.formset.prefix
        management |= {
            f"{prefix}-TOTAL_FORMS": "0",
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
        }
    return fields, management


ADMIN_MODELS = [
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
    "clauseversion",
    "position",
]
PLAUSIBLE = [
    "1",
    "2",
    "shared",
    "internal",
    "draft",
    "pending",
    "secured",
    "day",
    "month",
    "year",
    "EUR",
    "2012-11-19",
    "2013-02-01",
    "1200000000",
    "0.5",
    "new-slug",
    "exomars",
    "https://example.org/report",
    "javascript:alert(1)",
]


@pytest.mark.parametrize("model_name", ADMIN_MODELS)
@FUZZ
@given(data=st.data())
def test_admin_add_forms_never_fail_and_a_refusal_writes_nothing(
    record, login, editor, model_name, data
):
    client = login(editor)
    fields, management = admin_add_form(client, model_name)
    values = data.draw(
        st.fixed_dictionaries(
            {},
            optional={
                name: st.one_of(form_values(PLAUSIBLE), st.lists(form_values(PLAUSIBLE)))
                for name in fields
            },
        ),
        label="form",
    )
    with rolled_back():
        before = row_counts()
        response = client.post(
            reverse(f"admin:agreements_{model_name}_add"), {**management, **values}
        )
        assert response.status_code in (200, 302)
        if response.status_code == 200:
            assert response.context["adminform"].form.errors or response.context["errors"]
            assert row_counts() == before


@pytest.mark.parametrize("model_name", [*ADMIN_MODELS, "statuschange"])
@FUZZ
@given(
    query=st.dictionaries(
        st.sampled_from(["q", "o", "p", "status__exact", "visibility__exact", "all", "e"]),
        text_values,
        max_size=3,
    )
)
@example(query={"status__exact": "\x00"})  # was a 500 on PostgreSQL
@example(query={"q": "a\x00b"})
def test_admin_lists_never_fail(record, login, editor, model_name, query):
    with rolled_back():
        response = login(editor).get(reverse(f"admin:agreements_{model_name}_changelist"), query)
    assert response.status_code in (200, 302)


@pytest.mark.parametrize(
    "model_name,field", [("clause", "agreement"), ("agreement", "parties"), ("person", "party")]
)
@pytest.mark.parametrize("value", ["shared", ":", "\x00", str(2**70), "-1"])
def test_an_admin_id_that_is_no_id_is_a_form_error(record, login, editor, model_name, field, value):
    # The autocomplete widget used to look the value up while showing the form again: a 500.
    client = login(editor)
    _fields, management = admin_add_form(client, model_name)
    before = row_counts()

    response = client.post(
        reverse(f"admin:agreements_{model_name}_add"), {**management, field: value}
    )

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert row_counts() == before


AUTOCOMPLETES = [
    ("person", "party"),
    ("fundingsource", "programme"),
    ("clause", "agreement"),
    ("milestone", "topic"),
    ("statement", "source"),
]


@FUZZ
@given(term=text_values, autocomplete=st.sampled_from(AUTOCOMPLETES))
@example(term="\x00", autocomplete=("person", "party"))  # was a 500 on PostgreSQL
def test_the_admin_autocomplete_never_fails(record, login, editor, term, autocomplete):
    model_name, field_name = autocomplete
    query = {
        "term": term,
        "app_label": "agreements",
        "model_name": model_name,
        "field_name": field_name,
    }
    with rolled_back():
        response = login(editor).get(reverse("admin:autocomplete"), query)
    assert response.status_code == 200, (query, response.status_code)


@pytest.mark.parametrize("autocomplete", AUTOCOMPLETES, ids=[field for _, field in AUTOCOMPLETES])
def test_the_admin_autocomplete_pages_in_a_stable_order(record, login, editor, autocomplete):
    model_name, field_name = autocomplete
    query = {"app_label": "agreements", "model_name": model_name, "field_name": field_name}
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnorderedObjectListWarning)
        response = login(editor).get(reverse("admin:autocomplete"), query)
    assert response.status_code == 200


# The API -------------------------------------------------------------------------------------

API_LISTS = [
    "agreements",
    "clauses",
    "topics",
    "programmes",
    "funding-sources",
    "milestones",
    "statements",
    "sources",
    "parties",
    "status-changes",
    "clause-versions",
    "positions",
]
API_PARAMETERS = [
    "q",
    "status",
    "agreement",
    "topic",
    "programme",
    "kind",
    "since",
    "until",
    "cursor",
    "page_size",
]
api_query_strings = st.dictionaries(
    st.sampled_from(API_PARAMETERS),
    st.one_of(text_values, st.lists(text_values, min_size=1, max_size=3)),
    max_size=6,
)


@pytest.mark.parametrize("name", API_LISTS)
@FUZZ
@given(query=api_query_strings)
@example(query={"cursor": "cD1hYmM="})  # a hand-made cursor "p=abc" was a 500
def test_no_query_string_makes_the_api_fail(record, login, stakeholder, name, query):
    with rolled_back():
        response = login(stakeholder).get(f"/api/v1/{name}/", query)
    assert response.status_code in (200, 400), (name, query, response.status_code)
    assert response["Content-Type"] == "application/json"
    for internal in (record.internal_clause, record.internal_agreement, record.internal_topic):
        assert internal.title not in response.text


@pytest.mark.parametrize("name", API_LISTS)
@FUZZ
@given(key=path_segments)
def test_any_api_key_is_a_record_or_a_json_404(record, login, stakeholder, name, key):
    with rolled_back():
        response = login(stakeholder).get(f"/api/v1/{name}/{quote(key, safe='')}/")
    assert response.status_code in (200, 404), (key, response.status_code)
    assert response["Content-Type"] == "application/json"


@FUZZ
@given(header=st.one_of(text_values, text_values.map(lambda value: f"Bearer {value}")))
@example(header="Bearer trk_\x00")
def test_a_forged_api_token_is_a_401(client, record, header):
    try:
        response = client.get("/api/v1/clauses/", headers={"Authorization": header})
    except ValueError:
        return  # the test client refuses to send this header at all (a newline, say)
    assert response.status_code == 401, (header, response.status_code)
    assert response["Content-Type"] == "application/json"


@FUZZ
@given(
    query=st.dictionaries(
        st.sampled_from(["editor", "kind", "since", "until", "page"]), text_values, max_size=4
    )
)
@example(query={"since": "99999-01-01"})
@example(query={"editor": str(2**70), "page": "-1"})
def test_the_audit_trail_never_fails(record, login, editor, query):
    with rolled_back():
        response = login(editor).get(reverse("audit_trail"), query)
    assert response.status_code == 200
