"""Every URL, for every role, with and without htmx: who gets in, and what the others get.

The table below names every URL of the project (the admin by a representative set). A URL
added to the URLconf without a row here fails `test_every_project_url_is_in_the_table`, so
nobody ships a page without deciding who may open it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from agreements import digests, services
from agreements.api.tokens import issue_token
from agreements.models import ApiToken, Programme, Subscription, Topic, Visibility
from tests.conftest import Record

ROLES = ("anonymous", "outsider", "stakeholder", "manager", "editor", "superuser")
HTMX = {"HX-Request": "true"}

# Outcomes other than a plain status code.
LOGIN = "login"  # the site's login page (an HX-Redirect to it for htmx)
ADMIN_LOGIN = "admin login"  # the admin's login page


def answers(default, **by_role) -> dict[str, object]:
    return {role: by_role.get(role, default) for role in ROLES}


# Answer patterns shared by many rows.
READER_PAGE = answers(200, anonymous=LOGIN, outsider=403)
STAFF_ONLY_RECORD = answers(404, anonymous=LOGIN, outsider=403, editor=200, superuser=200)
NO_SUCH_RECORD = answers(404, anonymous=LOGIN, outsider=403)
POST_ONLY = answers(405, anonymous=LOGIN)
STAFF_ONLY = answers(403, anonymous=LOGIN, editor=200, superuser=200)
PUBLIC = answers(200)
LOGGED_IN = answers(200, anonymous=LOGIN)
# The admin's own pages send anyone but staff to the admin's login; its model pages are
# behind LoginRequiredMiddleware like the rest of the site, so anonymous goes to the site's.
ADMIN_SITE = answers(ADMIN_LOGIN, editor=200, superuser=200)
ADMIN_FOR_EDITORS = answers(ADMIN_LOGIN, anonymous=LOGIN, editor=200, superuser=200)
ADMIN_FOR_SUPERUSERS = answers(ADMIN_LOGIN, anonymous=LOGIN, editor=403, superuser=200)
ADMIN_FOR_NOBODY = answers(ADMIN_LOGIN, anonymous=LOGIN, editor=403, superuser=403)
# The API answers for itself, in JSON: 401 without credentials, 403 for a non-reader.
API = answers(200, anonymous=401, outsider=403)
API_STAFF_ONLY_RECORD = answers(404, anonymous=401, outsider=403, editor=200, superuser=200)
API_NO_SUCH_RECORD = answers(404, anonymous=401, outsider=403)


def api_cases(name: str, shared, internal=None) -> list:
    """A list of the API, one shared record of it, an internal one, and an unknown key."""
    cases = [
        Case(f"api:{name}-list", API),
        Case(f"api:{name}-detail", API, lambda o: [shared(o)], label="shared"),
        Case(f"api:{name}-detail", API_NO_SUCH_RECORD, lambda o: ["987654"], label="unknown"),
    ]
    if internal is not None:
        cases.append(
            Case(
                f"api:{name}-detail",
                API_STAFF_ONLY_RECORD,
                lambda o: [internal(o)],
                label="internal",
            )
        )
    return cases


@dataclass(frozen=True)
class Case:
    name: str
    expect: dict[str, object]
    args: Callable[[SimpleNamespace], list] = lambda objects: []
    label: str = ""
    # A reader page answers htmx with a fragment, never a whole document.
    fragment: bool = False
    query: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.name}[{self.label}]" if self.label else self.name


def admin_model_cases(model: str, *, expect_list, expect_add, expect_change, obj=None) -> list:
    cases = [
        Case(f"admin:{model}_changelist", expect_list),
        Case(f"admin:{model}_add", expect_add),
    ]
    if obj is not None:
        cases.append(Case(f"admin:{model}_change", expect_change, lambda o: [obj(o).pk]))
    return cases


DOMAIN_ADMIN = {
    "agreements_party": lambda o: o.record.esa,
    "agreements_person": lambda o: o.record.speaker,
    "agreements_source": lambda o: o.record.source,
    "agreements_programme": lambda o: o.record.programme,
    "agreements_fundingsource": lambda o: o.record.internal_funding,
    "agreements_agreement": lambda o: o.record.internal_agreement,
    "agreements_clause": lambda o: o.record.internal_clause,
    "agreements_topic": lambda o: o.record.internal_topic,
    "agreements_milestone": lambda o: o.record.internal_milestone,
    "agreements_statement": lambda o: o.record.internal_statement,
}

CASES: list[Case] = [
    # Reader pages --------------------------------------------------------------------------
    Case("agreements:dashboard", READER_PAGE, fragment=True),
    Case("agreements:agreement_list", READER_PAGE, fragment=True),
    Case(
        "agreements:agreement_list",
        answers(400, anonymous=LOGIN, outsider=403),
        label="bad sort",
        query={"sort": "password"},
        fragment=True,
    ),
    Case(
        "agreements:agreement_detail",
        READER_PAGE,
        lambda o: [o.record.agreement.slug],
        label="shared",
        fragment=True,
    ),
    Case(
        "agreements:agreement_detail",
        STAFF_ONLY_RECORD,
        lambda o: [o.record.internal_agreement.slug],
        label="internal",
    ),
    Case("agreements:agreement_detail", NO_SUCH_RECORD, lambda o: ["no-such"], label="unknown"),
    Case(
        "agreements:clause_detail",
        READER_PAGE,
        lambda o: [o.record.clause.pk],
        label="shared",
        fragment=True,
    ),
    Case(
        "agreements:clause_detail",
        STAFF_ONLY_RECORD,
        lambda o: [o.record.internal_clause.pk],
        label="internal",
    ),
    Case(
        "agreements:clause_detail",
        STAFF_ONLY_RECORD,
        lambda o: [o.record.clause_of_internal_agreement.pk],
        label="of an internal agreement",
    ),
    Case("agreements:clause_detail", NO_SUCH_RECORD, lambda o: [2**62], label="unknown"),
    Case(
        "agreements:clause_compare",
        READER_PAGE,
        lambda o: [o.record.clause.pk],
        label="shared",
        fragment=True,
    ),
    Case(
        "agreements:clause_compare",
        STAFF_ONLY_RECORD,
        lambda o: [o.record.internal_clause.pk],
        label="internal",
    ),
    Case(
        "agreements:clause_compare",
        STAFF_ONLY_RECORD,
        lambda o: [o.record.clause_of_internal_agreement.pk],
        label="of an internal agreement",
    ),
    Case("agreements:clause_compare", NO_SUCH_RECORD, lambda o: [2**62], label="unknown"),
    Case(
        "agreements:position_grid",
        READER_PAGE,
        lambda o: [o.record.agreement.slug],
        label="shared",
        fragment=True,
    ),
    Case(
        "agreements:position_grid",
        STAFF_ONLY_RECORD,
        lambda o: [o.record.internal_agreement.slug],
        label="internal",
    ),
    Case("agreements:position_grid", NO_SUCH_RECORD, lambda o: ["no-such"], label="unknown"),
    # The Follow button posts; a GET is refused before anything is looked up.
    Case(
        "agreements:follow_agreement",
        POST_ONLY,
        lambda o: [o.record.agreement.slug],
        label="shared",
    ),
    Case("agreements:follow_topic", POST_ONLY, lambda o: [o.record.topic.slug], label="shared"),
    Case("agreements:topic_list", READER_PAGE, fragment=True),
    Case(
        "agreements:topic_detail",
        READER_PAGE,
        lambda o: [o.record.topic.slug],
        label="shared",
        fragment=True,
    ),
    Case(
        "agreements:topic_detail",
        STAFF_ONLY_RECORD,
        lambda o: [o.record.internal_topic.slug],
        label="internal",
    ),
    Case("agreements:topic_detail", NO_SUCH_RECORD, lambda o: ["no-such"], label="unknown"),
    Case(
        "agreements:programme_detail",
        READER_PAGE,
        lambda o: [o.record.programme.slug],
        label="shared",
        fragment=True,
    ),
    Case(
        "agreements:programme_detail",
        STAFF_ONLY_RECORD,
        lambda o: [o.internal_programme.slug],
        label="internal",
    ),
    Case("agreements:programme_detail", NO_SUCH_RECORD, lambda o: ["no-such"], label="unknown"),
    Case("agreements:timeline", READER_PAGE, fragment=True),
    Case(
        "agreements:timeline",
        answers(400, anonymous=LOGIN, outsider=403, editor=200, superuser=200),
        label="internal agreement",
        query={"agreement": "side-letter"},
    ),
    Case(
        "agreements:timeline",
        answers(400, anonymous=LOGIN, outsider=403),
        label="bad date",
        query={"since": "19/11/2012"},
        fragment=True,
    ),
    # "Since my last visit": each reader's own moment, by a redirect; on a first visit (each
    # role has just logged in for the first time here), the whole timeline.
    Case(
        "agreements:timeline",
        answers((302, "/timeline/"), anonymous=LOGIN, outsider=403),
        label="since my last visit",
        query={"since": "last-visit"},
    ),
    Case(
        "agreements:timeline",
        READER_PAGE,
        label="recorded since",
        query={"recorded_since": "2012-11-19T14:05"},
        fragment=True,
    ),
    Case("agreements:blocked", READER_PAGE, fragment=True),
    Case(
        "agreements:blocked",
        READER_PAGE,
        label="filtered",
        query={"kind": "agreement", "by": "funding_source", "agreement": "exomars-cooperation"},
        fragment=True,
    ),
    Case(
        "agreements:blocked",
        answers(400, anonymous=LOGIN, outsider=403),
        label="not an agreement",
        query={"agreement": "../etc"},
        fragment=True,
    ),
    Case("agreements:search", READER_PAGE, query={"q": "launch"}, fragment=True),
    Case("agreements:briefing", READER_PAGE),
    Case("agreements:briefing_pdf", READER_PAGE),
    Case(
        "agreements:agreement_briefing_pdf",
        READER_PAGE,
        lambda o: [o.record.agreement.slug],
        label="shared",
    ),
    Case(
        "agreements:agreement_briefing_pdf",
        STAFF_ONLY_RECORD,
        lambda o: [o.record.internal_agreement.slug],
        label="internal",
    ),
    Case(
        "agreements:agreement_briefing_pdf", NO_SUCH_RECORD, lambda o: ["no-such"], label="unknown"
    ),
    # Digests and feeds ---------------------------------------------------------------------
    Case("agreements:subscriptions", READER_PAGE),
    Case("agreements:reset_feed_token", POST_ONLY),
    Case(
        "agreements:subscription_preview",
        # The stakeholder's own: staff and its reader preview it.
        answers(403, anonymous=LOGIN, editor=200, superuser=200, stakeholder=200),
        lambda o: [o.subscription.pk],
        label="existing",
    ),
    Case(
        "agreements:subscription_preview",
        answers(403, anonymous=LOGIN, editor=404, superuser=404),
        lambda o: [2**62],
        label="unknown",
    ),
    Case("agreements:unsubscribe", PUBLIC, lambda o: [o.unsubscribe_token], label="signed token"),
    Case("agreements:unsubscribe", answers(400), lambda o: ["forged:token"], label="forged"),
    Case(
        "agreements:unsubscribe",
        answers(400),
        lambda o: [o.unsubscribe_token[:-2] + "xx"],
        label="altered",
    ),
    Case("agreements:changes_feed", PUBLIC, lambda o: [o.feed_token], label="token"),
    Case("agreements:changes_feed", answers(404), lambda o: ["guessed"], label="unknown"),
    Case(
        "agreements:milestones_calendar",
        PUBLIC,
        lambda o: [o.feed_token],
        label="token",
    ),
    Case("agreements:milestones_calendar", answers(404), lambda o: ["guessed"], label="unknown"),
    Case("agreements:create_api_token", POST_ONLY),
    Case("agreements:revoke_api_token", POST_ONLY, lambda o: [o.api_token.pk], label="own or not"),
    # The API --------------------------------------------------------------------------------
    *api_cases("agreement", lambda o: o.record.agreement.slug, lambda o: "side-letter"),
    *api_cases("clause", lambda o: o.record.clause.pk, lambda o: o.record.internal_clause.pk),
    *api_cases("topic", lambda o: o.record.topic.slug, lambda o: o.record.internal_topic.slug),
    *api_cases("programme", lambda o: o.record.programme.slug, lambda o: "contingency"),
    *api_cases(
        "funding-source", lambda o: o.record.secured.pk, lambda o: o.record.internal_funding.pk
    ),
    *api_cases(
        "milestone", lambda o: o.record.milestone.pk, lambda o: o.record.internal_milestone.pk
    ),
    *api_cases(
        "statement", lambda o: o.record.statement.pk, lambda o: o.record.internal_statement.pk
    ),
    *api_cases("source", lambda o: o.record.source.pk),
    *api_cases("party", lambda o: o.record.esa.slug),
    *api_cases("link", lambda o: o.shared_link.pk, lambda o: o.internal_link.pk),
    *api_cases(
        "status-change",
        lambda o: o.record.clause.status_changes.get().pk,
        lambda o: o.record.internal_clause.status_changes.get().pk,
    ),
    *api_cases(
        "clause-version",
        lambda o: o.negotiation.v1.pk,
        lambda o: o.negotiation.internal_v1.pk,
    ),
    *api_cases(
        "position",
        lambda o: o.negotiation.reservation.pk,
        lambda o: o.negotiation.internal_position.pk,
    ),
    Case("api:schema", API),
    Case("api:docs", API),
    Case("api:not_found", answers(404, anonymous=401, outsider=403)),
    # Accounts ------------------------------------------------------------------------------
    Case("healthz", PUBLIC),
    Case("login", PUBLIC),
    Case("logout", answers(405, anonymous=LOGIN)),
    Case("password_change", LOGGED_IN),
    Case("password_change_done", LOGGED_IN),
    # The admin, a representative set --------------------------------------------------------
    Case("admin:index", ADMIN_SITE),
    Case("admin:login", answers(200, editor=(302, "/admin/"), superuser=(302, "/admin/"))),
    Case(
        "admin:logout",
        answers((302, "/admin/"), anonymous=ADMIN_LOGIN, editor=405, superuser=405),
    ),
    Case("admin:password_change", ADMIN_SITE),
    # The audit trail: staff only, like the admin's model pages.
    Case("audit_trail", ADMIN_FOR_EDITORS),
    Case("admin:jsi18n", ADMIN_SITE),
    Case("admin:app_list", ADMIN_SITE, lambda o: ["agreements"], label="agreements"),
    Case(
        "admin:app_list",
        answers(ADMIN_LOGIN, editor=404, superuser=200),
        lambda o: ["auth"],
        label="auth",
    ),
    *(
        case
        for model, obj in DOMAIN_ADMIN.items()
        for case in admin_model_cases(
            model,
            expect_list=ADMIN_FOR_EDITORS,
            expect_add=ADMIN_FOR_EDITORS,
            expect_change=ADMIN_FOR_EDITORS,
            obj=obj,
        )
    ),
    # Versions and positions are added through their services; never changed (the change
    # page shows them read-only).
    *admin_model_cases(
        "agreements_clauseversion",
        expect_list=ADMIN_FOR_EDITORS,
        expect_add=ADMIN_FOR_EDITORS,
        expect_change=ADMIN_FOR_EDITORS,
        obj=lambda o: o.negotiation.internal_v1,
    ),
    *admin_model_cases(
        "agreements_position",
        expect_list=ADMIN_FOR_EDITORS,
        expect_add=ADMIN_FOR_EDITORS,
        expect_change=ADMIN_FOR_EDITORS,
        obj=lambda o: o.negotiation.reservation,
    ),
    # The history and the ledger are read-only, even for superusers.
    *admin_model_cases(
        "agreements_statuschange",
        expect_list=ADMIN_FOR_EDITORS,
        expect_add=ADMIN_FOR_NOBODY,
        expect_change=ADMIN_FOR_EDITORS,
        obj=lambda o: o.record.internal_clause.status_changes.get(),
    ),
    *admin_model_cases(
        "agreements_subscription",
        expect_list=ADMIN_FOR_EDITORS,
        expect_add=ADMIN_FOR_NOBODY,
        expect_change=ADMIN_FOR_EDITORS,
        obj=lambda o: o.subscription,
    ),
    *admin_model_cases(
        "agreements_digestdelivery",
        expect_list=ADMIN_FOR_EDITORS,
        expect_add=ADMIN_FOR_NOBODY,
        expect_change=None,
    ),
    # Accounts and the login log are the superuser's.
    *admin_model_cases(
        "auth_user",
        expect_list=ADMIN_FOR_SUPERUSERS,
        expect_add=ADMIN_FOR_SUPERUSERS,
        expect_change=ADMIN_FOR_SUPERUSERS,
        obj=lambda o: o.users["stakeholder"],
    ),
    *admin_model_cases(
        "auth_group",
        expect_list=ADMIN_FOR_SUPERUSERS,
        expect_add=ADMIN_FOR_SUPERUSERS,
        expect_change=None,
    ),
    *admin_model_cases(
        "axes_accessattempt",
        expect_list=ADMIN_FOR_SUPERUSERS,
        expect_add=ADMIN_FOR_NOBODY,
        expect_change=None,
    ),
]


def project_url_names() -> set[str]:
    """Every named URL of the project, from the resolver, outside the admin."""
    names: set[str] = set()

    def walk(resolver: URLResolver, namespace: tuple[str, ...]) -> None:
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                inner = (*namespace, pattern.namespace) if pattern.namespace else namespace
                if inner[:1] != ("admin",):
                    walk(pattern, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names.add(":".join((*namespace, pattern.name)))

    walk(get_resolver(), ())
    return names


def test_every_project_url_is_in_the_table():
    in_table = {case.name for case in CASES}
    found = project_url_names()
    assert {"agreements:dashboard", "login", "healthz"} <= found  # the walk itself works
    missing = found - in_table
    assert not missing, f"add these URLs to CASES with the answer each role gets: {missing}"


@pytest.fixture
def objects(record: Record, negotiation, editor, stakeholder, manager, outsider, superuser):
    subscription = Subscription(user=stakeholder, frequency="weekly")
    feed_token = subscription.issue_feed_token()
    subscription.save()
    internal_programme = Programme.objects.create(
        name="Contingency fund",
        slug="contingency",
        estimated_cost=0,
        visibility=Visibility.INTERNAL,
    )
    users = {
        "outsider": outsider,
        "stakeholder": stakeholder,
        "manager": manager,
        "editor": editor,
        "superuser": superuser,
    }
    api_token, _secret = issue_token(stakeholder, name="sheet")
    return SimpleNamespace(
        record=record,
        negotiation=negotiation,
        subscription=subscription,
        feed_token=feed_token,
        api_token=api_token,
        unsubscribe_token=digests.unsubscribe_token(subscription),
        internal_programme=internal_programme,
        users=users,
        # What holds the agreement up: a shared topic, and one readers may not see.
        shared_link=services.record_link(record.agreement, "blocked_by", record.topic, by=editor),
        internal_link=services.record_link(
            record.agreement, "blocked_by", record.internal_topic, by=editor
        ),
    )


def client_for(role: str, users: dict[str, User]) -> Client:
    client = Client()
    if role != "anonymous":
        client.force_login(users[role])
    return client


def mismatch(case: Case, role: str, htmx: bool, response, path: str) -> str | None:
    """What is wrong with this answer, or None."""
    expected = case.expect[role]
    status = response.status_code
    location = response.get("Location", "")
    got = f"{status} {location}".strip()
    if expected == LOGIN:
        if htmx:
            ok = status == 200 and response.get("HX-Redirect", "").startswith(
                f"{reverse('login')}?next="
            )
            got = f"{status} HX-Redirect={response.get('HX-Redirect')}"
        else:
            ok = status == 302 and location.startswith(f"{reverse('login')}?next=")
    elif expected == ADMIN_LOGIN:
        if htmx and role == "anonymous":
            # The htmx middleware sends a lost session to the site's login as a whole page.
            ok = status == 200 and "login" in response.get("HX-Redirect", "")
        else:
            ok = status == 302 and location.startswith(f"{reverse('admin:login')}?next=")
    elif isinstance(expected, tuple):
        ok = (status, location) == expected
    else:
        ok = status == expected
        if ok and status == 200 and htmx and case.fragment:
            ok = b"<html" not in response.content
            got = "200 but a whole page"
    if ok:
        return None
    return f"{role}{' htmx' if htmx else ''} GET {path}: expected {expected}, got {got}"


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_each_role_gets_the_expected_answer(case: Case, objects):
    path = reverse(case.name, args=case.args(objects))
    problems = []
    for role in ROLES:
        client = client_for(role, objects.users)
        for htmx in (False, True):
            response = client.get(path, case.query, headers=HTMX if htmx else {})
            problem = mismatch(case, role, htmx, response, path)
            if problem:
                problems.append(problem)
    assert not problems, "\n".join(problems)


# Writes need a CSRF token -------------------------------------------------------------------
# (Only one-click unsubscribe does without: tests/test_unsubscribe.py.)

POSTS = [
    ("login", lambda o: {"username": "stakeholder", "password": "x"}),
    ("logout", lambda o: {}),
    ("password_change", lambda o: {}),
    ("agreements:subscriptions", lambda o: {"frequency": "off", "hour": "7", "weekday": "0"}),
    ("agreements:reset_feed_token", lambda o: {}),
    ("agreements:create_api_token", lambda o: {"token-name": "x", "token-days": "90"}),
    ("agreements:revoke_api_token", lambda o: {}),
    ("agreements:follow_agreement", lambda o: {"action": "follow"}),
    ("agreements:follow_topic", lambda o: {"action": "follow"}),
    ("admin:agreements_topic_add", lambda o: {"title": "New", "slug": "new"}),
    (
        "admin:agreements_clause_changelist",
        lambda o: {"action": "delete_selected", "_selected_action": [o.record.clause.pk]},
    ),
]


POST_ARGS = {
    "agreements:revoke_api_token": lambda o: [o.api_token.pk],
    "agreements:follow_agreement": lambda o: [o.record.agreement.slug],
    "agreements:follow_topic": lambda o: [o.record.topic.slug],
}


@pytest.mark.parametrize("name,data", POSTS, ids=[name for name, _ in POSTS])
def test_every_write_without_a_csrf_token_is_refused(objects, name, data):
    client = Client(enforce_csrf_checks=True)
    client.force_login(objects.users["editor"])
    token_before = objects.subscription.feed_token_hash
    counts_before = (Topic.objects.count(), Subscription.objects.count(), ApiToken.objects.count())

    response = client.post(
        reverse(name, args=POST_ARGS.get(name, lambda o: [])(objects)), data(objects)
    )

    assert response.status_code == 403
    assert b"CSRF" in response.content
    objects.subscription.refresh_from_db()
    assert objects.subscription.feed_token_hash == token_before
    assert (
        Topic.objects.count(),
        Subscription.objects.count(),
        ApiToken.objects.count(),
    ) == counts_before
    assert not ApiToken.objects.filter(revoked_at__isnull=False).exists()
    assert not mail.outbox
    assert client.get(reverse("agreements:dashboard")).status_code == 200  # still logged in
