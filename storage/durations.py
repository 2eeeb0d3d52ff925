"""Durations computed by the database, as seconds: reading two times per row and subtracting
them in Python costs more than the query for a month of conversations on SQLite, where every
time is text parsed by Python."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

Column = ColumnElement[Any] | QueryableAttribute[Any]


class seconds_between(FunctionElement[float]):  # as the SQL function it reads as
    """`later - earlier` in seconds (a float; NULL when either is NULL). SQLite's julianday
    is exact to about 50 microseconds for today's dates, enough for waits shown in minutes."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"

    def __init__(self, later: Column, earlier: Column) -> None:
        super().__init__(later, earlier)


@compiles(seconds_between, "sqlite")
def _sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


@compiles(seconds_between, "postgresql")
def _postgresql(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(EXTRACT(EPOCH FROM ({later}) - ({earlier})) AS DOUBLE PRECISION)"
