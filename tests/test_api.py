"""The read-only API: who gets in, what they see, what the schema promises, what it costs.

alice (a stakeholder) has a token; the editor sees internal records; an outsider (no reader
group) is refused. Answers are checked against the OpenAPI schema the project serves.
"""

from __future__ import annotations

import copy
import datetime
import json
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from agreements import services
from agreements.api.tokens import issue_token, revoke_token
from agreements.models import (
    ApiToken,
    Clause,
    ClauseVersion,
    Level,
    Position,
    StatusChange,
    hash_token,
)
from tests.test_query_counts import grow

LISTS = {
    "agreements": "/api/v1/agreements/",
    "clauses": "/api/v1/clauses/",
    "topics": "/api/v1/topics/",
    "programmes": "/api/v1/programmes/",
    "funding-sources": "/api/v1/funding-sources/",
    "milestones": "/api/v1/milestones/",
    "statements": "/api/v1/statements/",
    "sources": "/api/v1/sources/",
    "parties": "/api/v1/parties/",
    "status-changes": "/api/v1/status-changes/",
    "clause-versions": "/api/v1/clause-versions/",
    "positions": "/api/v1/positions/",
    "links": "/api/v1/links/",
}


@pytest.fixture(autouse=True)
def fresh_rates():
    caches["api-throttle"].clear()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def alice_token(stakeholder) -> str:
    _token, secret = issue_token(stakeholder, name="budget sheet")
    return secret


@pytest.fixture
def api(client, alice_token):
    """GET as alice, with her token; the answer's JSON."""

    def get(path: str, query: dict | None = None, status: int = 200):
        response = client.get(path, query or {}, headers=bearer(alice_token))
        assert response.status_code == status, (path, response.status_code, response.content)
        assert response["Content-Type"] == "application/json"
        return response.json()

    return get


def every_row(client, path: str, headers: dict) -> list[dict]:
    """Every row of a list, following the cursor one row at a time."""
    rows, url = [], f"{path}?page_size=1"
    while url:
        page = client.get(url, headers=headers).json()
        rows += page["results"]
        url = page["next"]
    return rows


# Who gets in ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", LISTS.values())
def test_it_refuses_anonymous_requests_with_a_json_401(client, record, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert "detail" in response.json()


def test_an_unknown_or_malformed_token_is_a_401(client, record):
    for header in ["Bearer trk_guessed", "Bearer", "Bearer a b", "Bearer " + "x" * 500, "Bearer é"]:
        response = client.get(LISTS["clauses"], headers={"Authorization": header})
        assert response.status_code == 401, header
        assert "detail" in response.json()


def test_a_token_of_a_user_in_no_reader_group_is_a_403(client, record, outsider, stakeholder):
    # issue_token refuses outsiders; the stakeholder's token outlives her reader group.
    _token, secret = issue_token(stakeholder, name="old")
    stakeholder.groups.clear()
    response = client.get(LISTS["agreements"], headers=bearer(secret))
    assert response.status_code == 403
    assert response.json()["detail"]


def test_a_user_who_loses_their_group_loses_the_api_at_once(client, record, stakeholder):
    _token, secret = issue_token(stakeholder, name="sheet")
    assert client.get(LISTS["topics"], headers=bearer(secret)).status_code == 200
    stakeholder.groups.remove(Group.objects.get(name="Stakeholders"))
    assert client.get(LISTS["topics"], headers=bearer(secret)).status_code == 403


def test_a_deactivated_user_loses_the_api_at_once(client, record, stakeholder, alice_token):
    assert client.get(LISTS["topics"], headers=bearer(alice_token)).status_code == 200
    stakeholder.is_active = False
    stakeholder.save()
    assert client.get(LISTS["topics"], headers=bearer(alice_token)).status_code == 401


def test_a_revoked_token_stops_at_once(client, record, stakeholder):
    token, secret = issue_token(stakeholder, name="sheet")
    assert client.get(LISTS["topics"], headers=bearer(secret)).status_code == 200
    revoke_token(token)
    assert client.get(LISTS["topics"], headers=bearer(secret)).status_code == 401


def test_an_expired_token_is_refused(client, record, stakeholder):
    token, secret = issue_token(stakeholder, name="sheet", days=30)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())
    assert client.get(LISTS["topics"], headers=bearer(secret)).status_code == 401


def test_a_token_is_stored_hashed_and_its_use_is_noted(client, record, stakeholder):
    token, secret = issue_token(stakeholder, name="sheet")
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert secret not in json.dumps(stored, default=str)
    assert stored["secret_hash"] == hash_token(secret)
    assert stored["prefix"] == secret[:12] and stored["last_used_at"] is None
    assert stored["expires_at"] - stored["created_at"] == datetime.timedelta(days=90)

    client.get(LISTS["topics"], headers=bearer(secret))
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None


def test_the_browser_session_works_too(login, record, stakeholder):
    assert login(stakeholder).get(LISTS["clauses"]).status_code == 200


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
def test_the_api_only_reads(client, record, alice_token, method):
    response = getattr(client, method)(LISTS["clauses"], headers=bearer(alice_token))
    assert response.status_code == 405
    assert "detail" in response.json()


def test_a_session_post_is_a_405_not_a_csrf_failure(record, stakeholder):
    client = Client(enforce_csrf_checks=True)
    client.force_login(stakeholder)
    response = client.post(LISTS["clauses"])
    assert response.status_code == 405


def test_an_address_that_names_nothing_is_a_json_404(client, record, alice_token):
    for path in ["/api/", "/api/v1/", "/api/v1/nothing/", "/api/v2/clauses/", "/api/v1/clauses/x/"]:
        response = client.get(path, headers=bearer(alice_token))
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/json"
    assert client.get("/api/v1/nothing/").status_code == 401


def test_requests_beyond_the_rate_get_a_429(client, record, alice_token, stakeholder, settings):
    settings.API_THROTTLE_RATE = "3/minute"
    answers = [client.get(LISTS["topics"], headers=bearer(alice_token)) for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert int(answers[-1]["Retry-After"]) > 0
    assert "detail" in answers[-1].json()
    # Each token has its own budget.
    _other, second = issue_token(stakeholder, name="second script")
    assert client.get(LISTS["topics"], headers=bearer(second)).status_code == 200


# What they see ----------------------------------------------------------------------------


def internal_rows(record) -> dict[str, set]:
    return {
        "agreements": {record.internal_agreement.slug},
        "clauses": {record.internal_clause.pk, record.clause_of_internal_agreement.pk},
        "topics": {record.internal_topic.slug},
        "funding-sources": {record.internal_funding.pk},
        "milestones": {record.internal_milestone.pk},
        "statements": {record.internal_statement.pk},
        "status-changes": set(
            StatusChange.objects.filter(
                clause__in=[record.internal_clause, record.clause_of_internal_agreement]
            ).values_list("pk", flat=True)
        ),
    }


def keys(rows: list[dict]) -> set:
    return {row.get("slug", row["id"]) if "slug" in row else row["id"] for row in rows}


def test_internal_records_never_reach_a_stakeholder(client, record, alice_token, editor):
    services.change_status(record.internal_clause, to="pending", by=editor)
    staff = Client()
    staff.force_login(editor)
    for name, hidden in internal_rows(record).items():
        seen = keys(every_row(client, LISTS[name], bearer(alice_token)))
        assert seen and not seen & hidden, name
        assert hidden <= keys(every_row(staff, LISTS[name], {})), name


def test_staff_see_which_records_are_internal(client, record, alice_token, editor):
    shared = every_row(client, LISTS["clauses"], bearer(alice_token))
    assert {row["visibility"] for row in shared} == {"shared"}
    client.force_login(editor)
    staff = {row["id"]: row["visibility"] for row in every_row(client, LISTS["clauses"], {})}
    assert staff[record.internal_clause.pk] == "internal"
    assert staff[record.clause.pk] == "shared"


def test_an_internal_record_is_a_404_for_a_stakeholder(api, record):
    api(f"/api/v1/agreements/{record.internal_agreement.slug}/", status=404)
    api(f"/api/v1/clauses/{record.internal_clause.pk}/", status=404)
    api(f"/api/v1/clauses/{record.clause_of_internal_agreement.pk}/", status=404)
    api(f"/api/v1/topics/{record.internal_topic.slug}/", status=404)
    assert api(f"/api/v1/clauses/{record.clause.pk}/")["title"] == record.clause.title


def test_a_link_to_an_internal_record_is_null(api, record):
    record.roscosmos.visibility = "internal"
    record.roscosmos.save()
    clause = api(f"/api/v1/clauses/{record.clause.pk}/")
    assert clause["obligated_party"] is None
    agreement = api(f"/api/v1/agreements/{record.agreement.slug}/")
    assert agreement["parties"] == ["esa"]


def test_programmes_carry_their_funding_totals_over_what_the_reader_may_see(api, record):
    funding = api("/api/v1/programmes/exomars/")["funding"]
    # 30 M secured and 50 M potential are shared; the internal 10 M expected is not counted.
    assert funding["secured"] == "30000000.00"
    assert funding["expected"] == "0.00"
    assert funding["found"] == "80000000.00"
    assert funding["uncovered_if_all_comes_through"] == "270000000.00"
    assert funding["uncovered_counting_secured_only"] == "320000000.00"


def test_milestones_carry_their_date_and_its_precision(api, record):
    milestone = api(f"/api/v1/milestones/{record.milestone.pk}/")
    assert (milestone["happens_on"], milestone["precision"], milestone["happens_by"]) == (
        "2016-01-01",
        "year",
        "2016-12-31",
    )


# Filters ----------------------------------------------------------------------------------


def test_filters_mirror_the_reader_pages(api, record, editor):
    services.change_status(
        record.clause, to="pending", by=editor, effective_on=datetime.date(2013, 3, 1)
    )
    assert keys(api(LISTS["clauses"], {"status": "pending"})["results"]) == {record.clause.pk}
    both = api(
        LISTS["clauses"], {"status": ["pending", "draft"], "agreement": record.agreement.slug}
    )
    assert keys(both["results"]) == {record.clause.pk, record.second_clause.pk}
    assert keys(api(LISTS["agreements"], {"q": "lunar robotics"})["results"]) == set()
    assert keys(api(LISTS["agreements"], {"q": "two ExoMars"})["results"]) == {
        record.agreement.slug
    }
    since = api(LISTS["status-changes"], {"since": "2013-01-01"})["results"]
    assert [(row["clause"], row["to_status"]) for row in since] == [(record.clause.pk, "pending")]
    until = api(LISTS["status-changes"], {"until": "2012-12-31", "kind": "topic"})["results"]
    assert {row["topic"] for row in until} == {record.topic.slug}
    of_agreement = api(LISTS["status-changes"], {"agreement": record.agreement.slug})["results"]
    assert {row["kind"] for row in of_agreement} == {"agreement", "clause"}


@pytest.mark.parametrize(
    "path,query,parameter",
    [
        ("agreements", {"status": "nonsense"}, "status"),
        ("agreements", {"q": "x" * 201}, "q"),
        ("clauses", {"agreement": "side-letter"}, "agreement"),  # internal: as if unknown
        ("clauses", {"agreement": "no-such-thing"}, "agreement"),
        ("status-changes", {"since": "19/11/2012"}, "since"),
        ("status-changes", {"kind": "party"}, "kind"),
        ("status-changes", {"since": "2013-01-02", "until": "2013-01-01"}, "__all__"),
        ("milestones", {"until": "2012-02-30"}, "until"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(api, record, path, query, parameter):
    body = api(LISTS[path], query, status=400)
    assert parameter in body["errors"], body


@pytest.mark.parametrize(
    "query",
    [
        {"cursor": "garbage"},
        {"cursor": "cD1hYmM="},
        {"page_size": "0"},
        {"page_size": "501"},
        {"page_size": "x"},
    ],
)
def test_a_bad_cursor_or_page_size_is_a_400(api, record, query):
    assert "detail" in api(LISTS["clauses"], query, status=400)


def test_the_cursor_walks_every_row_once_in_a_stable_order(client, record, alice_token, editor):
    grow(record, 7)
    rows = every_row(client, LISTS["clauses"], bearer(alice_token))
    ids = [row["id"] for row in rows]
    assert ids == sorted(ids) and len(ids) == len(set(ids)) == 9
    changes = [row["id"] for row in every_row(client, LISTS["status-changes"], bearer(alice_token))]
    assert changes == sorted(changes, reverse=True)


# The schema -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def openapi() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def strict(document: dict) -> dict:
    """The schema with no property beyond those it names: an answer must match it exactly."""
    document = json.loads(json.dumps(document, default=str))
    for component in document["components"]["schemas"].values():
        if "properties" in component:
            component["additionalProperties"] = False
    return copy.deepcopy(document)


def response_validator(document: dict, path: str) -> Draft202012Validator:
    registry = Registry().with_resource("urn:api", Resource(strict(document), DRAFT202012))
    ref = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    return Draft202012Validator(
        {"$ref": "urn:api" + ref["schema"]["$ref"]},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def test_the_schema_validates_without_a_warning(db):
    out = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out, stderr=out)
    assert out.getvalue().startswith("openapi: 3.1.0")


def test_every_operation_reads(openapi):
    methods = {method for operations in openapi["paths"].values() for method in operations}
    assert methods == {"get"}
    assert {path for path in openapi["paths"] if not path.endswith("}/")} == set(LISTS.values())


def test_every_list_answers_as_its_schema_says(client, record, negotiation, openapi, editor):
    services.change_status(record.clause, to="pending", by=editor, note="Agreed in principle")
    services.record_link(record.agreement, "blocked_by", record.topic, by=editor)
    client.force_login(editor)  # staff: every kind of row, links to internal records too
    for path in LISTS.values():
        answer = client.get(path)
        assert answer.status_code == 200, path
        body = answer.json()
        assert body["results"], path
        errors = list(response_validator(openapi, path).iter_errors(body))
        assert not errors, (path, [(error.json_path, error.message) for error in errors])
        first = body["results"][0]
        one = client.get(f"{path}{first.get('slug', first['id'])}/").json()
        detail = next(template for template in openapi["paths"] if template.startswith(f"{path}{{"))
        assert not list(response_validator(openapi, detail).iter_errors(one)), detail


ROLES = {"anonymous": 401, "outsider": 403, "stakeholder": 200, "manager": 200, "editor": 200}


def test_each_endpoint_of_the_schema_answers_each_role(record, negotiation, openapi, request):
    """A walk over the schema: every path, every role, the answer it must get."""
    link = services.record_link(record.agreement, "blocked_by", record.topic, by=record.editor)
    keys_by_list = {
        "/api/v1/links/": link.pk,
        "/api/v1/agreements/": record.agreement.slug,
        "/api/v1/topics/": record.topic.slug,
        "/api/v1/programmes/": record.programme.slug,
        "/api/v1/parties/": record.esa.slug,
        "/api/v1/clauses/": record.clause.pk,
        "/api/v1/funding-sources/": record.secured.pk,
        "/api/v1/milestones/": record.milestone.pk,
        "/api/v1/statements/": record.statement.pk,
        "/api/v1/sources/": record.source.pk,
        "/api/v1/clause-versions/": negotiation.v1.pk,
        "/api/v1/positions/": negotiation.reservation.pk,
        "/api/v1/status-changes/": record.clause.status_changes.first().pk,
    }
    problems = []
    for role, expected in ROLES.items():
        client = Client()
        if role != "anonymous":
            client.force_login(request.getfixturevalue(role))
        for template in openapi["paths"]:
            base = template.split("{")[0]
            path = base if base == template else f"{base}{keys_by_list[base]}/"
            response = client.get(path)
            if response.status_code != expected or response["Content-Type"] != "application/json":
                problems.append(f"{role} {path}: {response.status_code}")
    assert not problems, problems


def test_the_docs_are_served_from_the_project_under_its_security_policy(login, record, stakeholder):
    client = login(stakeholder)
    for name in ("api:docs",):
        response = client.get(reverse(name))
        assert response.status_code == 200
        page = response.text
        policy = response["Content-Security-Policy"]
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert "<style" not in page and "http" not in page.replace("http-equiv", "")
        for script in page.split("<script")[1:]:
            assert script.lstrip().startswith("src="), script[:80]  # no inline script
    script = client.get(reverse("api:docs"), {"script": ""})
    assert script["Content-Type"] == "application/javascript"
    assert reverse("api:schema") in script.text
    assert client.get(reverse("api:schema")).status_code == 200


def test_the_docs_need_a_reader(client, outsider, record):
    assert client.get(reverse("api:docs")).status_code == 401
    client.force_login(outsider)
    response = client.get(reverse("api:docs"))
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"


# What it costs ----------------------------------------------------------------------------


def queries(client, path: str, headers: dict, *, kept: bool = False) -> int:
    """What the list costs when it is worked out, or with `kept` when it was just asked."""
    client.get(path, headers=headers)  # the token's first use is noted, once
    if not kept:
        caches["default"].clear()
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path, headers=headers).status_code == 200
    return len(
        [q for q in captured.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    )


@pytest.mark.parametrize("path", LISTS.values())
def test_a_list_costs_the_same_queries_with_3_or_300_rows(client, record, alice_token, path):
    grow(record, 3)
    few = queries(client, f"{path}?page_size=500", bearer(alice_token))
    grow(record, 297)
    many = queries(client, f"{path}?page_size=500", bearer(alice_token))
    assert few == many <= 5


def test_a_list_asked_again_before_a_change_is_kept(client, record, editor, alice_token):
    """Only the token, and the reader permission with the record's version, are read; a
    change is in the next answer."""
    path = f"{LISTS['clauses']}?page_size=500"
    first = client.get(path, headers=bearer(alice_token)).json()
    assert queries(client, path, bearer(alice_token), kept=True) == 2
    assert client.get(path, headers=bearer(alice_token)).json() == first

    services.change_status(record.second_clause, to="pending", by=editor)
    changed = client.get(path, headers=bearer(alice_token)).json()
    statuses = {row["reference"]: row["status"] for row in changed["results"]}
    assert statuses["2"] == "pending"
    assert changed != first


def test_a_kept_list_is_kept_per_audience(client, record, editor, alice_token):
    internal = "Fallback position on landing module"
    as_reader = {
        row["title"]
        for row in client.get(LISTS["clauses"], headers=bearer(alice_token)).json()["results"]
    }
    client.force_login(editor)
    as_staff = {row["title"] for row in client.get(LISTS["clauses"]).json()["results"]}
    assert internal in as_staff
    assert internal not in as_reader


def negotiate(record, count: int) -> None:
    """`count` more clauses of the record's agreement, each with a text that both parties
    accept, except every third one, which Roscosmos reserves."""
    offset = Clause.objects.count()
    clauses = Clause.objects.bulk_create(
        Clause(agreement=record.agreement, reference=f"N{n}", position=n, title=f"N{n}")
        for n in range(offset, offset + count)
    )
    day = datetime.date(2013, 1, 1)
    versions = ClauseVersion.objects.bulk_create(
        ClauseVersion(clause=c, number=1, text="t", proposed_on=day, recorded_by=record.editor)
        for c in clauses
    )
    Position.objects.bulk_create(
        Position(
            party=party,
            clause=version.clause,
            version=version,
            stance="reserves" if party == record.roscosmos and n % 3 == 0 else "accepts",
            reservation="scrutiny" if party == record.roscosmos and n % 3 == 0 else "",
            taken_on=day,
            recorded_by=record.editor,
        )
        for n, version in enumerate(versions)
        for party in (record.esa, record.roscosmos)
    )


def test_the_clause_list_decides_levels_in_constant_cheap_sql(client, record, alice_token):
    """Levels come from one grouped subquery per clause (positions.with_levels), for the
    API as for the pages: the same queries for 3 or 300 negotiated clauses, and the SQL
    passes over the positions once, not once per count and again in the CASE."""
    path = f"{LISTS['clauses']}?page_size=500"
    negotiate(record, 3)
    few = queries(client, path, bearer(alice_token))
    negotiate(record, 297)
    many = queries(client, path, bearer(alice_token))
    caches["default"].clear()
    with CaptureQueriesContext(connection) as captured:
        rows = client.get(path, headers=bearer(alice_token)).json()["results"]
    assert few == many <= 5
    levels = {row["reference"]: row["level"] for row in rows if row["reference"][0] == "N"}
    assert len(levels) == 300
    reserved = {reference for reference, level in levels.items() if level == Level.RESERVED}
    assert len(reserved) == 100
    assert set(levels.values()) == {Level.RESERVED, Level.AGREED}
    clause_list = next(q["sql"] for q in captured if 'FROM "agreements_clause"' in q["sql"])
    # The grouped subquery and the two "no later position" checks of `current()`.
    assert clause_list.count('FROM "agreements_position"') == 3


def test_clauses_carry_their_level_and_versions_and_positions_their_own_endpoints(
    api, negotiation, record
):
    clauses = {row["id"]: row for row in api(LISTS["clauses"])["results"]}
    assert clauses[record.clause.pk]["level"] == "agreed"
    assert clauses[record.clause.pk]["current_version"] == 2
    assert clauses[record.second_clause.pk]["level"] == "reserved"
    versions = api(LISTS["clause-versions"], {"agreement": record.agreement.slug})["results"]
    assert {(row["clause"], row["number"]) for row in versions} == {
        (record.clause.pk, 1),
        (record.clause.pk, 2),
        (record.second_clause.pk, 1),
    }  # not the internal clause's
    positions = api(LISTS["positions"])["results"]
    reservation = next(row for row in positions if row["stance"] == "reserves")
    assert reservation["party"] == "roscosmos"
    assert reservation["reservation"] == "scrutiny"
    assert reservation["version"] == 1


def test_a_confidential_position_never_reaches_a_stakeholder(api, negotiation, record):
    hidden = negotiation.position(record.esa, record.clause, "rejects", None, internal=True)
    assert hidden.pk not in {row["id"] for row in api(LISTS["positions"])["results"]}
