"""Reads that more than one caller needs (admin, commands, API)."""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

from django.db import connections
from django.db.models import Count, QuerySet

from portal.sql import RowConverters, convert_row, model_from_row, row_converters
from tokens import secret as token_secret
from tokens.errors import InstanceNotFound, TokenNotFound
from tokens.models import Instance, Token, live_token_condition


def instance_by_name(name: str) -> Instance:
    instance = Instance.objects.filter(name=name.strip()).select_related("license").first()
    if instance is None:
        known = ", ".join(Instance.objects.values_list("name", flat=True)[:20]) or "none yet"
        raise InstanceNotFound(f"No instance is named {name!r} (known: {known}).", field="instance")
    return instance


def token_with_instance(secret_hash: str) -> Token | None:
    """The token with this secret hash and its instance, in one indexed query: what authentication reads on
    every API request.

    The SQL is built once per process from the models' own columns (see portal/sql.py): compiling
    `select_related("instance").get(...)` anew cost ~2 ms a request, the query itself ~0.1 ms. The row goes through
    the same database converters a queryset applies, and becomes models as `from_db()` makes them.
    """
    connection = connections[Token.objects.db]
    lookup = _token_lookup(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(lookup.sql, [secret_hash])
        row = cursor.fetchone()
    if row is None:
        return None
    values = convert_row(connection, row, lookup.converters)
    split = len(Token._meta.concrete_fields)
    token = model_from_row(Token, connection.alias, values[:split])
    token.instance = model_from_row(Instance, connection.alias, values[split:])
    return token


@dataclass(frozen=True)
class _Lookup:
    sql: str
    converters: RowConverters


@functools.cache
def _token_lookup(vendor: str) -> _Lookup:
    connection = connections[Token.objects.db]
    quote = connection.ops.quote_name
    fields = [("t", f) for f in Token._meta.concrete_fields] + [("i", f) for f in Instance._meta.concrete_fields]
    # Every name comes from the models' metadata, quoted by the backend; the one value is a parameter.
    sql = (
        f"SELECT {', '.join(f'{alias}.{quote(f.column)}' for alias, f in fields)} "  # noqa: S608
        f"FROM {quote(Token._meta.db_table)} t "
        f"JOIN {quote(Instance._meta.db_table)} i ON i.{quote(Instance._meta.pk.column)} = t.{quote('instance_id')} "
        f"WHERE t.{quote('secret_hash')} = %s"
    )
    return _Lookup(sql=sql, converters=row_converters(connection, fields))


def live_tokens(instance: Instance, at: dt.datetime | None = None) -> QuerySet[Token]:
    return Token.objects.live(at).filter(instance=instance)


def instances_with_live_counts(at: dt.datetime | None = None) -> QuerySet[Instance]:
    """Instances annotated with `live_token_count`, in one query (the admin's list)."""
    return Instance.objects.annotate(live_token_count=Count("tokens", filter=live_token_condition(at, via="tokens__")))


def token_by_reference(reference: str) -> Token:
    """A token by its id, its full secret (someone holding a leaked token), or its hint as the admin shows it.

    The hint's ellipsis may be typed as "..." on a command line.
    """
    reference = reference.strip()
    tokens = Token.objects.select_related("instance")
    if reference.isdigit():
        token = tokens.filter(pk=int(reference)).first()
    elif token_secret.is_well_formed(reference):
        token = tokens.filter(secret_hash=token_secret.hash_of(reference)).first()
    else:
        hint = re.sub(r"\.\.\.", "…", reference)
        matches = list(tokens.filter(hint=hint)[:5])
        if len(matches) > 1:
            ids = ", ".join(str(t.pk) for t in matches)
            raise TokenNotFound(f"The hint {reference!r} matches several tokens (ids {ids}); give the id instead.")
        token = matches[0] if matches else None
    if token is None:
        raise TokenNotFound(f"No token matches {reference!r}: give its id or its hint (list_tokens shows both).")
    return token
