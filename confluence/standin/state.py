"""The stand-in's in-memory Confluence: spaces, pages, properties, labels, attachments, users and page views.

Every read and write goes through ``StandinState.lock``; handlers hold it only while touching the data, never while
sleeping for the latency knob, so concurrent clients are bound by the latency, not by each other.
"""

from __future__ import annotations

import bisect
import random
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

DEFAULT_EMAIL = "demo@example.com"
DEFAULT_TOKEN = "demo-api-token"  # noqa: S105 - the stand-in's published demo credential, not a secret
SERVICE_ACCOUNT_ID = "557058:00000000-0000-4000-8000-000000000001"
# Extra seeded spaces, after DEMO and DOCS, when more than two are asked for.
EXTRA_SPACE_KEYS = ["ENG", "OPS", "SALES", "HR", "LEGAL", "MKT", "SUP", "FIN"]

SAMPLE_BODY = (
    "<p>This space was seeded by the <strong>Confluence stand-in</strong>. Pages imported through the portal "
    "appear under this homepage.</p>"
    '<ac:structured-macro ac:name="info"><ac:rich-text-body><p>Nothing here is a real Confluence: data lives '
    "in memory and is gone when the stand-in stops.</p></ac:rich-text-body></ac:structured-macro>"
    '<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">bash</ac:parameter>'
    "<ac:plain-text-body><![CDATA[python -m confluence.standin --port 8090]]></ac:plain-text-body>"
    "</ac:structured-macro>"
)


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class SpaceRecord:
    id: int
    key: str
    name: str
    homepage_id: int | None
    created_at: datetime
    author_id: str = SERVICE_ACCOUNT_ID


@dataclass
class PropertyRecord:
    id: int
    key: str
    value: Any
    version: int
    created_at: datetime
    message: str = ""


@dataclass
class AttachmentRecord:
    """One file attached to a page, current version only (as much history as the portal ever reads)."""

    id: int  # shown as "att<id>", as Confluence does
    page_id: int
    title: str
    media_type: str
    data: bytes
    comment: str
    created_at: datetime
    file_id: str
    status: str = "current"
    version: int = 1
    version_created_at: datetime = field(default_factory=now)
    version_author_id: str = SERVICE_ACCOUNT_ID


@dataclass
class PageRecord:
    id: int
    space_id: int
    title: str
    parent_id: int | None
    body: str
    created_at: datetime
    author_id: str
    status: str = "current"
    version: int = 1
    version_message: str = ""
    version_created_at: datetime = field(default_factory=now)
    version_author_id: str = SERVICE_ACCOUNT_ID
    labels: list[tuple[int, str]] = field(default_factory=list)  # (label id, name), in the order added
    properties: dict[str, PropertyRecord] = field(default_factory=dict)
    attachments: dict[int, AttachmentRecord] = field(default_factory=dict)  # by id, ascending = creation order
    views: int = 0
    viewers: int = 0


@dataclass
class UserRecord:
    account_id: str
    display_name: str
    email: str
    email_visible: bool = True
    account_status: str = "active"
    account_type: str = "atlassian"
    time_zone: str = "Europe/London"


class StandinState:
    """All data of one stand-in. Ids are increasing integers, so id order is creation order and a cursor can be
    "the last id returned"."""

    def __init__(
        self, *, email: str = DEFAULT_EMAIL, pages: int = 0, spaces: int = 2, users: int = 300, seed: int = 1
    ) -> None:
        self.lock = threading.RLock()
        self.email = email
        self.spaces: dict[int, SpaceRecord] = {}
        self.space_by_key: dict[str, int] = {}
        self.pages: dict[int, PageRecord] = {}
        self.page_ids: list[int] = []  # every page id, ascending
        self.space_page_ids: dict[int, list[int]] = {}  # per space, ascending
        self.titles: dict[tuple[int, str], int] = {}  # current pages only: (space id, title) -> page id
        self.users: dict[str, UserRecord] = {}
        self.user_order: list[str] = []
        self._next_id = 65536
        self._next_label_id = 1000
        # What tests assert "nothing was written" on: successful writes only, unlike the per-operation request counts.
        self.page_versions_made = 0
        self.attachment_versions_made = 0
        self.attachments_deleted = 0
        self.attachment_index: dict[int, AttachmentRecord] = {}  # every attachment by id, whatever its status
        self._seed(pages=pages, spaces=spaces, users=users, seed=seed)
        self.reset_writes()  # the seed is not a write anyone asked for

    # ------------------------------------------------------------------ ids

    def new_id(self) -> int:
        with self.lock:
            self._next_id += 1
            return self._next_id

    def new_label_id(self) -> int:
        with self.lock:
            self._next_label_id += 1
            return self._next_label_id

    # ------------------------------------------------------------------ writes

    def add_space(self, key: str, name: str) -> SpaceRecord:
        with self.lock:
            space = SpaceRecord(id=self.new_id(), key=key, name=name, homepage_id=None, created_at=now())
            self.spaces[space.id] = space
            self.space_by_key[key] = space.id
            self.space_page_ids[space.id] = []
            home = self.add_page(space_id=space.id, title=f"{name} Home", body=SAMPLE_BODY, parent_id=None)
            space.homepage_id = home.id
            return space

    def add_page(
        self,
        *,
        space_id: int,
        title: str,
        body: str,
        parent_id: int | None,
        author_id: str = SERVICE_ACCOUNT_ID,
        created_at: datetime | None = None,
    ) -> PageRecord:
        """Insert a page; the caller has checked the title is free and the parent exists."""
        with self.lock:
            moment = created_at or now()
            page = PageRecord(
                id=self.new_id(),
                space_id=space_id,
                title=title,
                parent_id=parent_id,
                body=body,
                created_at=moment,
                author_id=author_id,
                version_created_at=moment,
            )
            self.pages[page.id] = page
            self.page_ids.append(page.id)
            self.space_page_ids[space_id].append(page.id)
            self.titles[(space_id, title)] = page.id
            self.page_versions_made += 1
            return page

    def retitle(self, page: PageRecord, title: str) -> None:
        with self.lock:
            self.titles.pop((page.space_id, page.title), None)
            page.title = title
            if page.status == "current":
                self.titles[(page.space_id, title)] = page.id

    def attachment_by_id(self, raw: str) -> AttachmentRecord | None:
        """An attachment of a current page by "att123" (v1 and v2 spell ids so) or the bare number."""
        with self.lock:
            number = raw[3:] if raw.startswith("att") else raw
            found = self.attachment_index.get(int(number)) if number.isdigit() else None
            if found is None or self.pages[found.page_id].status != "current":
                return None
            return found

    def trash(self, page: PageRecord) -> None:
        with self.lock:
            if self.titles.get((page.space_id, page.title)) == page.id:
                del self.titles[(page.space_id, page.title)]
            page.status = "trashed"

    def archive(self, page: PageRecord) -> None:
        """Archived pages leave the page tree and free their title, like trashed ones, but stay readable."""
        with self.lock:
            if self.titles.get((page.space_id, page.title)) == page.id:
                del self.titles[(page.space_id, page.title)]
            page.status = "archived"

    # ------------------------------------------------------------------ reads

    def page_ids_after(self, ids: list[int], after: int | None) -> int:
        """Index in ``ids`` of the first id greater than ``after`` (cursor continuation)."""
        return 0 if after is None else bisect.bisect_right(ids, after)

    def user_for_email(self, email: str) -> UserRecord | None:
        with self.lock:
            return next((u for u in self.users.values() if u.email == email), None)

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {
                "spaces": len(self.spaces),
                "pages": sum(1 for p in self.pages.values() if p.status == "current"),
                "users": len(self.users),
                "attachments": sum(
                    1 for p in self.pages.values() for a in p.attachments.values() if a.status == "current"
                ),
            }

    def writes(self) -> dict[str, int]:
        with self.lock:
            return {
                "page_versions": self.page_versions_made,
                "attachment_versions": self.attachment_versions_made,
                "attachments_deleted": self.attachments_deleted,
            }

    def reset_writes(self) -> None:
        with self.lock:
            self.page_versions_made = self.attachment_versions_made = self.attachments_deleted = 0

    # ------------------------------------------------------------------ seed

    def _seed(self, *, pages: int, spaces: int, users: int, seed: int) -> None:
        rng = random.Random(seed)
        self.users[SERVICE_ACCOUNT_ID] = UserRecord(
            account_id=SERVICE_ACCOUNT_ID, display_name="Portal Service Account", email=self.email
        )
        self.user_order.append(SERVICE_ACCOUNT_ID)
        first = [
            "Ada",
            "Grace",
            "Alan",
            "Edsger",
            "Barbara",
            "Ken",
            "Margaret",
            "Linus",
            "Radia",
            "Donald",
            "Frances",
            "Tim",
        ]
        last = [
            "Lovelace",
            "Hopper",
            "Turing",
            "Dijkstra",
            "Liskov",
            "Thompson",
            "Hamilton",
            "Torvalds",
            "Perlman",
            "Knuth",
        ]
        for n in range(max(0, users - 1)):
            account_id = f"5b10ac8d82e05b22cc7d{n:04x}" + uuid.UUID(int=rng.getrandbits(128)).hex[:4]
            name = f"{rng.choice(first)} {rng.choice(last)} {n + 1}"
            is_app = n % 53 == 52
            self.users[account_id] = UserRecord(
                account_id=account_id,
                display_name=name if not is_app else f"Automation bot {n + 1}",
                email=f"user{n + 1}@example.com",
                # Some people hide their email in their Atlassian profile; the APIs then leave it out.
                email_visible=n % 7 != 3,
                account_status="inactive" if n % 41 == 40 else "active",
                account_type="app" if is_app else "atlassian",
                time_zone=rng.choice(["Europe/London", "America/New_York", "Asia/Tokyo", "Australia/Sydney"]),
            )
            self.user_order.append(account_id)
        names = {"DEMO": "Demo", "DOCS": "Documentation"}
        keys = ["DEMO", "DOCS", *EXTRA_SPACE_KEYS]
        keys += [f"SPACE{i}" for i in range(len(keys), max(spaces, 2))]
        authors = list(self.users)
        for key in keys[: max(spaces, 2)]:
            self.add_space(key, names.get(key, key.title()))
        homepages = [s.homepage_id for s in self.spaces.values()]
        # ``pages`` counts every page, homepages included, so "2,000 pages in a space" is exactly 8 full v2 pages.
        extra = max(0, pages - len(homepages))
        space_ids = list(self.spaces)
        base = now() - timedelta(days=365)
        for n in range(extra):
            space_id = space_ids[n % len(space_ids)]
            self.add_page(
                space_id=space_id,
                title=f"Seeded page {n + 1}",
                body=f"<p>Seeded page number {n + 1}.</p>",
                parent_id=self.spaces[space_id].homepage_id,
                author_id=authors[n % len(authors)],
                created_at=base + timedelta(minutes=n),
            )
        for page in self.pages.values():
            page.views = rng.randint(0, 500)
            page.viewers = min(page.views, rng.randint(0, 40))
