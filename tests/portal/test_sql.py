"""portal.sql: statements built once per process give what the ORM gives."""

import datetime as dt

import pytest
from django.db import connection
from django.db.models.signals import post_init

from portal.sql import convert_row, model_from_row, row_converters
from tests.factories import issue, make_instance
from tokens.models import Instance, Token
from tokens.selectors import token_with_instance

pytestmark = pytest.mark.django_db


def state(obj) -> dict:
    return {name: value for name, value in vars(obj).items() if name != "_state"} | {
        "adding": obj._state.adding, "db": obj._state.db
    }


def test_a_model_from_a_row_is_the_one_from_db_makes():
    instance = make_instance("acme")
    row = [getattr(instance, field.attname) for field in Instance._meta.concrete_fields]
    made = model_from_row(Instance, connection.alias, row)
    assert type(made) is Instance
    assert state(made) == state(Instance.from_db(connection.alias, None, row))
    assert made == instance and made.name == "acme"


def test_with_a_post_init_receiver_from_db_makes_it():
    instance = make_instance("acme")
    row = [getattr(instance, field.attname) for field in Instance._meta.concrete_fields]
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(receiver, sender=Instance)
    try:
        made = model_from_row(Instance, connection.alias, row)
    finally:
        post_init.disconnect(receiver, sender=Instance)
    assert seen == [made]


def test_the_token_look_up_gives_the_orms_token_and_instance():
    issued = issue(make_instance("acme"), label="ci-docs")
    token = token_with_instance(issued.token.secret_hash)
    orm = Token.objects.select_related("instance").get(pk=issued.token.pk)
    for field in Token._meta.concrete_fields:
        assert getattr(token, field.attname) == getattr(orm, field.attname), field.name
    for field in Instance._meta.concrete_fields:
        assert getattr(token.instance, field.attname) == getattr(orm.instance, field.attname), field.name
    assert token._state.adding is False and token.instance._state.adding is False
    assert token_with_instance("0" * 64) is None


@pytest.mark.parametrize(
    "value",
    [None, dt.datetime(2026, 12, 2, 22, 46, 35, 541877), "2026-12-02 22:46:35.541877", dt.datetime(2026, 12, 2, tzinfo=dt.UTC)],
)
def test_row_converters_give_what_the_backend_converters_give(value):
    field = Token._meta.get_field("expires_at")
    column = field.get_col("t")
    converters = row_converters(connection, [("t", field)])  # none on PostgreSQL: psycopg gives aware datetimes
    expected = value
    for converter in connection.ops.get_db_converters(column) + column.get_db_converters(connection):
        expected = converter(expected, column, connection)
    (converted,) = convert_row(connection, [value], converters)
    assert converted == expected
    if isinstance(expected, dt.datetime):
        assert converted.tzinfo == expected.tzinfo
