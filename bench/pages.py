"""What the benchmark drives: the reader pages, their htmx fragments, and the references.

The one list to edit when a page is added. `{agreement}`, `{clause}`, `{topic}` and
`{programme}` are filled in with records the generator makes readable to stakeholders
(agreement-0001, its first clause, topic-00001, programme-001). A page whose path the
URLconf does not resolve is reported as missing rather than measured, so the list can
name pages before they exist.
"""

from __future__ import annotations

from dataclasses import dataclass

HTMX_SUFFIX = " [htmx]"


@dataclass(frozen=True)
class Page:
    path: str
    # Also drive it with `HX-Request: true`: the same URL answering only the region it swaps.
    fragment: bool = False
    # The id of the element the fragment replaces, when the view answers by it (HX-Target).
    hx_target: str | None = None


PAGES = [
    Page("/", fragment=True),  # "Refresh" on the recent changes
    Page("/agreements/"),
    Page("/agreements/?q=mars", fragment=True),  # typing in the list's search box
    Page("/agreements/{agreement}/"),
    Page("/agreements/{agreement}/?clause_status=pending", fragment=True),
    Page("/clauses/{clause}/"),
    # The negotiation: the biggest agreement's grid (today and as it stood), filtered in
    # place; its first clause's redline of its last two versions (of 100).
    Page("/agreements/{agreement}/positions/"),
    Page("/agreements/{agreement}/positions/?as_of=2013-01-01"),
    Page("/agreements/{agreement}/positions/?level=open", fragment=True),
    Page("/clauses/{clause}/compare/"),
    Page("/clauses/{clause}/compare/?from=1&to=100&view=side"),
    Page("/topics/"),
    Page("/topics/?status=in_discussion", fragment=True),
    Page("/topics/?idle=1", fragment=True),  # ticking "Idle only"
    Page("/topics/{topic}/"),
    Page("/programmes/{programme}/"),
    Page("/timeline/"),
    Page("/timeline/?kind=clause", fragment=True),
    Page("/timeline/?page=2", fragment=True, hx_target="more"),  # "Load more"
    Page("/search/?q=mars", fragment=True),
    # What holds it up (issue 12): every open blocker, filtered in place.
    Page("/blocked/"),
    Page("/blocked/?kind=clause", fragment=True),
    # Spreadsheet downloads (exports.py), streamed row by row and kept in the page cache up
    # to 256 KB, as "Download CSV" under each list gives them: every open blocker, and the
    # biggest agreement's clauses. The whole timeline's (200,000 rows, about 27 MB, over a
    # minute) is left out: wrk would time out on it and hold every worker from the URLs
    # after it.
    Page("/blocked/?format=csv"),
    Page("/agreements/{agreement}/?format=csv"),
    # Stakeholders' own tools: the API's longest list, and the briefing. Its PDF is not
    # driven by wrk: each reader's copy is drawn once (about half a second in WeasyPrint)
    # and then cached, and the bench's many readers would measure only the drawing;
    # `BENCH_ARGS='--profile /briefing.pdf'` profiles it.
    Page("/api/v1/clauses/"),
    Page("/api/v1/clauses/?agreement={agreement}&status=pending"),
    Page("/briefing/"),
]

FLOOR = "/bench/floor/"
ADMIN = "/admin/agreements/clause/"
STATIC = "css/tracker.css"  # served under STATIC_URL by its hashed name from the manifest


@dataclass(frozen=True)
class Target:
    """One URL to measure, as it appears in the report."""

    key: str  # the report's key: the path, with " [htmx]" for a fragment
    path: str
    htmx: bool = False
    page_key: str | None = None  # for a fragment: the key of its whole page
    hx_target: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        if not self.htmx:
            return {}
        headers = {"HX-Request": "true"}
        if self.hx_target:
            headers["HX-Target"] = self.hx_target
        return headers


def targets(record: dict[str, object]) -> list[Target]:
    found = []
    for page in PAGES:
        path = page.path.format(**record)
        found.append(Target(key=path, path=path))
        if page.fragment:
            found.append(
                Target(
                    key=path + HTMX_SUFFIX,
                    path=path,
                    htmx=True,
                    page_key=path,
                    hx_target=page.hx_target,
                )
            )
    return found
