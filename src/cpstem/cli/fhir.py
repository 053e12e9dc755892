"""The FHIR parts of ``cpstem export --fhir`` and ``cpstem import --fhir``."""

from __future__ import annotations

from pathlib import Path

from cpstem.cli.console import console, err_console


def export_fhir(out: Path, site: str | None, pseudonymised: bool) -> None:
    """Write the site's (or every site's) children as FHIR R4 NDJSON, one resource per line."""
    from cpstem.registry import privacy
    from cpstem.registry.errors import RegistryError
    from cpstem.registry.fhir.export import ndjson_lines
    from cpstem.registry.models import Patient, Site

    patients = Patient.objects.select_related("site").order_by("site__code", "study_id")
    if site:
        if not Site.objects.filter(code=site).exists():
            raise RegistryError(f"no site {site!r} (see `cpstem site list`)")
        patients = patients.filter(site__code=site)
    proj = privacy.research() if pseudonymised else privacy.Projection("admin")
    n = 0
    with out.open("w", encoding="utf-8", newline="\n") as fh:
        for line in ndjson_lines(patients.iterator(), proj):
            fh.write(line + "\n")
            n += 1
    kind = "pseudonymised " if pseudonymised else ""
    count = patients.count()
    console.print(
        f"Wrote {out}: {n} {kind}FHIR R4 resources of {count} patient{'' if count == 1 else 's'}.",
        soft_wrap=True,
    )


def import_fhir(file: Path) -> None:
    """Import a FHIR Bundle (.json) or NDJSON export of cpstem: all or nothing."""
    from cpstem.registry.fhir.importer import (
        FhirImportError,
        import_resources,
        read_resources,
    )

    try:
        summary = import_resources(read_resources(file), reason=f"imported from FHIR {file.name}")
    except FhirImportError as exc:
        for where, field, message in exc.problems:
            err_console.print(
                f"{file.name} {where}{' ' + field if field else ''}: {message}",
                markup=False,
                soft_wrap=True,
            )
        raise
    console.print(f"{summary} from {file.name}.", soft_wrap=True)
