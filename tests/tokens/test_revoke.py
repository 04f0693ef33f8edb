"""token_revoke: immediate and final, and recorded."""

import pytest

from tests.factories import issue
from tokens.errors import AlreadyRevoked
from tokens.models import Token, TokenEvent
from tokens.services import token_revoke

pytestmark = pytest.mark.django_db


def test_revoking_is_recorded_and_final(instance, django_user_model):
    admin = django_user_model.objects.create_user("ada", is_staff=True)
    token = issue(instance).token
    token_revoke(token=token, actor=admin)
    token.refresh_from_db()
    assert token.state() == Token.State.REVOKED
    assert token.revoked_by == admin
    assert TokenEvent.objects.filter(token=token, action="revoked", actor=admin).count() == 1

    with pytest.raises(AlreadyRevoked, match="already revoked") as refusal:
        token_revoke(token=token, actor=admin)
    assert refusal.value.code == "already_revoked"
    assert TokenEvent.objects.filter(token=token, action="revoked").count() == 1


def test_a_stale_copy_cannot_revoke_twice(instance):
    token = issue(instance).token
    stale = Token.objects.get(pk=token.pk)
    token_revoke(token=token, actor=None, actor_name="ops (manage.py)")
    with pytest.raises(AlreadyRevoked):
        token_revoke(token=stale, actor=None)
    assert TokenEvent.objects.get(token=token, action="revoked").actor_name == "ops (manage.py)"
