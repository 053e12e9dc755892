"""Bundled and user-supplied curve-set files (TOML or CSV) and their validation.

TOML format (as the bundled sets in ``sets/``)::

    name = "myregistry"
    title = "..."; citation = "..."; verified = "yes|partial|no"; verification = "..."
    [[levels]]
    gmfcs = "I"
    limit = 87.7
    age90_years = 4.8
    source = "..."
    ... one [[levels]] table for each of I-V

CSV format: columns ``gmfcs,limit,age90_years`` and optionally ``source``; one row per level.
Lines starting with ``#`` are comments; ``# name: ...``, ``# title: ...``, ``# citation: ...``
and ``# verified: ...`` set the metadata (the name defaults to the file name).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cpstem.csvtext import parse_csv_text, read_text_file
from cpstem.datafiles import toml_data
from cpstem.measures.gmfcs import Level
from cpstem.measures.levels import FunctionLevel
from cpstem.numbers import finite_float
from cpstem.reference.curves import SCALE_MAX, CurveSet, LevelCurve, parse_level
from cpstem.reference.errors import CurveError

_SETS = resources.files("cpstem.reference").joinpath("sets")


def available() -> list[str]:
    """Names of the bundled curve sets."""
    return sorted(p.name.removesuffix(".toml") for p in _SETS.iterdir() if p.name.endswith(".toml"))


def load(name: str) -> CurveSet:
    """A bundled curve set by name (see :func:`available`)."""
    if name not in available():
        raise CurveError(
            f"unknown curve set {name!r}: bundled sets are {', '.join(available())}"
            " (or give a file with load_file)",
            code="not_found",
            field="name",
            params={"value": name, "allowed": available()},
        )
    data = toml_data("cpstem.reference", f"sets/{name}.toml")
    return _from_data(data, where=f"curve set {name}")


def load_file(path: str | Path) -> CurveSet:
    """A user's own curve set from a TOML or CSV file, validated."""
    path = Path(path)
    text = read_text_file(path, CurveError, "curve set file")
    if path.suffix.lower() == ".toml":
        return _from_toml(text, where=path.name, default_name=path.stem)
    if path.suffix.lower() == ".csv":
        return _from_csv(text, where=path.name, name=path.stem)
    raise CurveError(
        f"curve set file {path.name}: use a .toml or .csv file",
        code="invalid_choice",
        field="path",
        params={"suffix": path.suffix},
    )


def _number(value: Any, what: str) -> float:
    return finite_float(value, what, CurveError, params={"where": what})


def _level_curve(row: Mapping[str, Any], where: str) -> LevelCurve:
    for key in ("gmfcs", "limit", "age90_years"):
        if row.get(key) in (None, ""):
            raise CurveError(
                f"{where}: {key} is missing", code="required", field=key, params={"where": where}
            )
    level = parse_level(row["gmfcs"])
    limit = _number(row["limit"], f"{where}: limit")
    age90 = _number(row["age90_years"], f"{where}: age90_years")
    if not 0 < limit <= SCALE_MAX:
        raise CurveError(
            f"{where}: limit {limit:g} must lie above 0 and at most {SCALE_MAX:g}",
            code="out_of_range",
            field="limit",
            params={"where": where, "value": limit},
        )
    if not 0 < age90 <= 30:
        raise CurveError(
            f"{where}: age90_years {age90:g} must lie above 0 and at most 30",
            code="out_of_range",
            field="age90_years",
            params={"where": where, "value": age90},
        )
    return LevelCurve(
        level=level, limit=limit, age90_years=age90, source=str(row.get("source", ""))
    )


def _assemble(curves: list[LevelCurve], where: str) -> MappingProxyType[FunctionLevel, LevelCurve]:
    by_level: dict[FunctionLevel, LevelCurve] = {}
    for c in curves:
        if c.level in by_level:
            raise CurveError(
                f"{where}: GMFCS level {c.level} is given twice",
                code="duplicate",
                field="gmfcs",
                params={"where": where, "level": str(c.level)},
            )
        by_level[c.level] = c
    missing = [str(lv) for lv in Level if lv not in by_level]
    if missing:
        raise CurveError(
            f"{where}: no curve for GMFCS level(s) {', '.join(missing)}",
            code="required",
            field="gmfcs",
            params={"where": where, "levels": missing},
        )
    return MappingProxyType({lv: by_level[lv] for lv in Level})


def _from_toml(text: str, where: str, default_name: str = "") -> CurveSet:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CurveError(
            f"{where}: not valid TOML ({exc})", code="malformed_file", params={"where": where}
        ) from None
    return _from_data(data, where, default_name)


def _from_data(data: Mapping[str, Any], where: str, default_name: str = "") -> CurveSet:
    levels = data.get("levels")
    if not isinstance(levels, list) or not all(isinstance(r, dict) for r in levels):
        raise CurveError(
            f"{where}: needs one [[levels]] table per GMFCS level",
            code="malformed_file",
            field="levels",
            params={"where": where},
        )
    curves = [_level_curve(r, f"{where}, levels[{i}]") for i, r in enumerate(levels)]
    meta = {
        k: str(data[k])
        for k in ("title", "scale", "model", "citation", "population", "verified", "verification")
        if k in data
    }
    if meta.get("model", "stable-limit") != "stable-limit":
        raise CurveError(
            f"{where}: model {meta['model']!r} is not supported (stable-limit only)",
            code="invalid_choice",
            field="model",
            params={"where": where, "value": meta["model"]},
        )
    return CurveSet(
        name=str(data.get("name", default_name)), curves=_assemble(curves, where), **meta
    )


def _from_csv(text: str, where: str, name: str) -> CurveSet:
    table = parse_csv_text(text, where, CurveError)
    if not {"gmfcs", "limit", "age90_years"} <= set(table.columns):
        raise CurveError(
            f"{where}: columns must include gmfcs,limit,age90_years",
            code="malformed_file",
            params={"where": where, "columns": list(table.columns)},
        )
    curves = [_level_curve(row, f"{where} line {lineno}") for lineno, row in table.rows]
    return CurveSet(
        name=table.meta.get("name", name),
        curves=_assemble(curves, where),
        title=table.meta.get("title", f"user curve set {name}"),
        citation=table.meta.get("citation", ""),
        verified=table.meta.get("verified", "user-supplied"),
    )
