"""Statements built once per process, for the few reads every API request makes.

Building and compiling a queryset costs 0.1-0.3 ms of Python each time, against ~0.03 ms for the statement itself:
on the hot path (the token look-up of every request, the rate-limit read of every import) that is most of the
database's cost. A selector there writes its SQL once, from the models' own table and column names quoted by the
backend, with every value a parameter; its rows go through the same converters a queryset would apply, so the
values it returns are the ones the ORM would.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]
# Per selected column that needs any: its index in the row and its converters, each with the column expression
# it is called with.
RowConverters = list[tuple[int, list[tuple[Converter, Any]]]]


def row_converters(connection: BaseDatabaseWrapper, fields: Sequence[tuple[str, Field]]) -> RowConverters:
    """What ``SQLCompiler.get_converters()`` gathers for each selected column: the backend's, then the field's.

    ``fields`` are the selected columns in order, each as (the table alias it is read through, the field).
    """
    converters: RowConverters = []
    for index, (alias, field) in enumerate(fields):
        column = field.get_col(alias)
        found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if connection.vendor == "sqlite" and found == [connection.ops.convert_datetimefield_value]:
            found = [_sqlite_datetime(connection)]
        if found:
            converters.append((index, [(converter, column) for converter in found]))
    return converters


def _sqlite_datetime(connection: BaseDatabaseWrapper) -> Converter:
    """SQLite's ``convert_datetimefield_value`` for the value Python's sqlite3 hands it: a naive datetime already
    parsed from the column (Django registers that parser for the "datetime" type), which becomes aware in the
    connection's zone. Anything else (a string, an aware value, USE_TZ off) goes to Django's own converter."""
    convert = connection.ops.convert_datetimefield_value
    zone = connection.timezone if settings.USE_TZ else None

    def converter(value: Any, column: Any, connection: BaseDatabaseWrapper) -> Any:
        if zone is not None and type(value) is dt.datetime and value.tzinfo is None:
            return value.replace(tzinfo=zone)
        return value if value is None else convert(value, column, connection)

    return converter


def convert_row(connection: BaseDatabaseWrapper, row: Sequence[Any], converters: RowConverters) -> list[Any]:
    values = list(row)
    for index, column_converters in converters:
        for converter, column in column_converters:
            values[index] = converter(values[index], column, connection)
    return values


def model_from_row(model: type[Model], alias: str, values: Sequence[Any]) -> Model:
    """``model.from_db(alias, None, values)`` for a row holding every concrete field, in order.

    ``from_db`` runs ``Model.__init__``, which sends pre_init and post_init and sets each field through its
    descriptor; for an object just made, with no receivers of those signals, that comes to filling its ``__dict__``.
    With a receiver (or a model of its own ``from_db``) the object is made by ``from_db`` itself.
    """
    if (
        model.from_db.__func__ is not Model.from_db.__func__  # type: ignore[attr-defined]
        or pre_init.has_listeners(model)
        or post_init.has_listeners(model)
    ):
        return model.from_db(alias, None, values)  # type: ignore[arg-type]
    instance = model.__new__(model)
    instance.__dict__.update(zip(_attnames(model), values, strict=True))
    state = instance._state = ModelState()
    state.adding, state.db = False, alias
    return instance


@functools.cache
def _attnames(model: type[Model]) -> tuple[str, ...]:
    return tuple(field.attname for field in model._meta.concrete_fields)
