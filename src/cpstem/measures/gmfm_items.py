"""The GMFM-88 item catalogue: 88 items in five dimensions, 66 of them in the GMFM-66.

Loaded from ``data/gmfm88_items.csv`` and ``data/gmfm_dimensions.csv`` (sources in the files).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from cpstem.datafiles import DataFileError
from cpstem.measures.catalog import read_csv

#: Highest score of one GMFM item (0 = does not initiate ... 3 = completes).
ITEM_MAX_SCORE = 3
#: Score codes that mean "not tested" on the CanChild sheet (9 or blank).
NOT_TESTED_CODE = 9


@dataclass(frozen=True, slots=True)
class Item:
    """One GMFM-88 item."""

    number: int
    dimension: str
    title: str
    in_gmfm66: bool


@dataclass(frozen=True, slots=True)
class Dimension:
    """One GMFM dimension (A-E) with its item range and maximum raw score."""

    code: str
    name: str
    first_item: int
    last_item: int
    max_raw: int
    gmfm66_items: int

    @property
    def item_numbers(self) -> range:
        return range(self.first_item, self.last_item + 1)

    @property
    def n_items(self) -> int:
        return self.last_item - self.first_item + 1


def _load_items() -> tuple[Item, ...]:
    items = tuple(
        Item(
            number=int(row["number"]),
            dimension=row["dimension"],
            title=row["title"],
            in_gmfm66=row["in_gmfm66"] == "yes",
        )
        for row in read_csv("gmfm88_items.csv")
    )
    if [i.number for i in items] != list(range(1, 89)):
        raise DataFileError(
            "gmfm88_items.csv must list items 1..88 in order",
            code="malformed_file",
            params={"file": "gmfm88_items.csv"},
        )
    return items


def _load_dimensions(items: tuple[Item, ...]) -> MappingProxyType[str, Dimension]:
    dims = {}
    for row in read_csv("gmfm_dimensions.csv"):
        dim = Dimension(
            code=row["code"],
            name=row["name"],
            first_item=int(row["first_item"]),
            last_item=int(row["last_item"]),
            max_raw=int(row["max_raw"]),
            gmfm66_items=int(row["gmfm66_items"]),
        )
        members = [i for i in items if i.dimension == dim.code]
        if (
            [i.number for i in members] != list(dim.item_numbers)
            or dim.max_raw != ITEM_MAX_SCORE * dim.n_items
            or sum(i.in_gmfm66 for i in members) != dim.gmfm66_items
        ):
            raise DataFileError(
                f"GMFM catalogue files disagree on dimension {dim.code}",
                code="malformed_file",
                params={"file": "gmfm_dimensions.csv", "dimension": dim.code},
            )
        dims[dim.code] = dim
    return MappingProxyType(dims)


ITEMS: tuple[Item, ...] = _load_items()
DIMENSIONS: MappingProxyType[str, Dimension] = _load_dimensions(ITEMS)
DIMENSION_CODES: tuple[str, ...] = tuple(DIMENSIONS)
ITEM_BY_NUMBER: MappingProxyType[int, Item] = MappingProxyType({i.number: i for i in ITEMS})
GMFM66_ITEMS: tuple[int, ...] = tuple(i.number for i in ITEMS if i.in_gmfm66)
