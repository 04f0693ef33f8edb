"""Statements built once per process, for the few reads every API request makes.

Building and compiling a queryset costs 0.1-0.3 ms of Python each time, against ~0.03 ms for the statement itself:
on the hot path (the token look-up of every request, the rate-limit read of every import) that is most of the
database's cost. A selector there writes its SQL once, from the models' own table and column names quoted by the
backend, with every value a parameter; its rows go through the same converters a queryset would apply, so the
values it returns are the ones the ORM would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field

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
        if found:
            converters.append((index, [(converter, column) for converter in found]))
    return converters


def convert_row(connection: BaseDatabaseWrapper, row: Sequence[Any], converters: RowConverters) -> list[Any]:
    values = list(row)
    for index, column_converters in converters:
        for converter, column in column_converters:
            values[index] = converter(values[index], column, connection)
    return values
