"""The codes and URLs of cpstem's FHIR format (``codes.toml``, each with its source)."""

from __future__ import annotations

from functools import cache
from typing import Any

from cpstem.datafiles import toml_data


@cache
def spec() -> dict[str, Any]:
    return toml_data("cpstem.registry.fhir", "codes.toml")


def base() -> str:
    return str(spec()["base"])


def system(name: str) -> str:
    return str(spec()["systems"][name])


def codesystem(name: str) -> str:
    """The URL of a cpstem CodeSystem (KeyError for one not declared in ``codes.toml``)."""
    spec()["codesystems"][name]
    return f"{base()}/CodeSystem/{name}"


def extension_url(name: str) -> str:
    """The URL of a cpstem extension (KeyError for one not declared in ``codes.toml``)."""
    spec()["extensions"][name]
    return f"{base()}/StructureDefinition/{name}"


def coding(name: str) -> dict[str, str]:
    """A standard coding of ``[codes]`` (system, code, display)."""
    return dict(spec()["codes"][name])


def cpstem_coding(codesystem_name: str, code: Any, display: str | None = None) -> dict[str, str]:
    out = {"system": codesystem(codesystem_name), "code": str(code)}
    if display:
        out["display"] = display
    return out


QUESTIONNAIRE_GMFM88 = "https://cpstem.org/fhir/Questionnaire/gmfm88"
