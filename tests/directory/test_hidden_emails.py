"""Users who hide their email in their Atlassian profile are kept without one; the others' emails are stored."""

from __future__ import annotations

from directory.models import ConfluenceUser
from directory.services import sync_run

from .conftest import make_instance


def test_hidden_emails_stay_blank_and_visible_ones_are_kept(db, make_standin, fake_sleep):
    # 60 users: enough for the stand-in's hidden emails, an app account and an inactive account.
    standin = make_standin(pages=2, users=60)
    run = sync_run(instance=make_instance(url=standin.url))

    assert run.users_seen == 60
    state = standin.state
    hidden = [u for u in state.users.values() if not u.email_visible]
    visible = [u for u in state.users.values() if u.email_visible]
    assert hidden and visible
    for record in hidden:
        assert ConfluenceUser.objects.get(account_id=record.account_id).email == ""
    for record in visible:
        assert ConfluenceUser.objects.get(account_id=record.account_id).email == record.email
    app = next(u for u in state.users.values() if u.account_type == "app")
    assert ConfluenceUser.objects.get(account_id=app.account_id).account_type == "app"
    inactive = next(u for u in state.users.values() if u.account_status == "inactive")
    assert ConfluenceUser.objects.get(account_id=inactive.account_id).account_status == "inactive"
