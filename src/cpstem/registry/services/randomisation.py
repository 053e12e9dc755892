"""Randomisation in the registry: the scheme, its concealed list, allocation and unblinding.

The list itself comes from the pure layer (:func:`cpstem.design.randomisation.randomisation_list`
for stratified permuted blocks, :func:`cpstem.design.randomisation.minimise` for Pocock--Simon
minimisation); this module stores it, conceals it and hands out its slots.

- :func:`define_scheme` -- the study's scheme (one per registry): arms ``cells`` and
  ``control`` (the enrolment groups) with their ratio, the stratification factors (``site``,
  ``gmfcs``, ``age_band``; default bands: each GMFCS level, the GMFCS-E&R age bands), the
  method and the eligibility checklist.
- :func:`generate` -- an administrator generates the concealed list from a seed; the seed is kept
  only in :class:`~cpstem.registry.models.randomisation.ConcealedSeed`; the list's SHA-256 is
  recorded (audit trail of the scheme, the event log, and printed for the trial master file).
- :func:`upload` -- or uploads one (CSV ``stratum,sequence,arm``; validated, every problem with
  its line and column); the file's SHA-256 is recorded.
- :func:`verify` -- recomputes the hash of the stored list (and for a generated list regenerates
  it from the seed; for an upload, optionally compares the original file): proves that the list
  was not changed since it was made.
- :func:`randomise` -- a clinician randomises an eligible child: the next free slot of the
  child's stratum is taken inside one transaction that first locks the scheme row
  (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the transaction is ``BEGIN IMMEDIATE``,
  the database's one write lock), so two randomisations never take the same slot; the child's
  enrolment group and date are set through the registry's write path in the same transaction.
- :func:`unblind` -- an administrator or clinician reveals a child's allocation to the blinded
  roles, with a reason.

Every step is an append-only :class:`~cpstem.registry.models.randomisation.RandomisationEvent`
with who, when and why; the scheme and the patient keep their django-simple-history trails.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from django.db import IntegrityError, transaction
from django.utils import timezone

from cpstem.design.randomisation import minimise, randomisation_list
from cpstem.measures import gmfcs as gmfcs_scale
from cpstem.measures.levels import ROMAN
from cpstem.outcomes.dates import age_years
from cpstem.registry.clock import today
from cpstem.registry.errors import FieldError, FieldErrors, RegistryError
from cpstem.registry.models import Patient
from cpstem.registry.models.patients import EnrolmentGroup
from cpstem.registry.models.randomisation import (
    AllocationSlot,
    ConcealedSeed,
    EventKind,
    ListSource,
    Method,
    RandomisationEvent,
    RandomisationScheme,
    Unblinding,
)
from cpstem.registry.models.sites import AnyUser, Role, role_of
from cpstem.registry.services import write

__all__ = [
    "FACTORS",
    "ListFileError",
    "VerifyResult",
    "define_scheme",
    "eligibility_check",
    "generate",
    "randomise",
    "scheme",
    "status",
    "stratum_of",
    "unblind",
    "upload",
    "verify",
]

#: The stratification factors the registry can derive from a child's record.
FACTORS = ("site", "gmfcs", "age_band")
#: The arms are the enrolment groups.
ARMS = (EnrolmentGroup.CELLS.value, EnrolmentGroup.CONTROL.value)
#: The eligibility checklist when the scheme gives none (a cpstem policy: the protocol's own
#: criteria replace it; consent is checked from the record, not ticked).
DEFAULT_ELIGIBILITY = (
    ("inclusion", "All inclusion criteria of the protocol are met"),
    ("exclusion", "No exclusion criterion of the protocol applies"),
    ("baseline", "The baseline assessment is done or booked before any treatment"),
)
#: Columns of an uploaded list (a header row; other columns, e.g. block, are ignored).
UPLOAD_COLUMNS = ("stratum", "sequence", "arm")
#: Roles that may unblind (emergency unblinding by an administrator or the investigator).
UNBLINDING_ROLES = (Role.ADMIN, Role.CLINICIAN)


def _refuse(field_name: str, message: str, code: str, **params: Any) -> FieldErrors:
    return FieldErrors({field_name: [FieldError(message, code, params)]})


def _require_role(by: AnyUser, roles: Sequence[str], what: str) -> None:
    """``by`` None is the command line run by the registry's administrator (data dir access)."""
    from django.core.exceptions import PermissionDenied

    if by is None:
        return
    if role_of(by) not in roles:
        raise PermissionDenied(f"{what}: only {' or '.join(roles)}")


def _who(by: AnyUser) -> Any:
    return by if by is not None and getattr(by, "is_authenticated", False) else None


def _reason(reason: str | None, what: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise _refuse("reason", f"give the reason for {what} (kept in the audit trail)", "required")
    return text


def _event(
    s: RandomisationScheme,
    kind: str,
    by: AnyUser,
    reason: str = "",
    patient: Patient | None = None,
    **detail: Any,
) -> RandomisationEvent:
    return RandomisationEvent.objects.create(
        scheme=s, kind=kind, by=_who(by), reason=reason, patient=patient, detail=detail
    )


def _save_scheme(s: RandomisationScheme, by: AnyUser, reason: str) -> None:
    s._change_reason = reason  # type: ignore[attr-defined]
    s._history_user = _who(by)  # type: ignore[attr-defined]
    s.save()


# --- the scheme -------------------------------------------------------------------------------


def scheme() -> RandomisationScheme | None:
    """The registry's scheme (one per registry), or None."""
    return RandomisationScheme.objects.order_by("id").first()


def require_scheme() -> RandomisationScheme:
    s = scheme()
    if s is None:
        raise RegistryError(
            "no randomisation scheme yet: an administrator defines one "
            "(`cpstem randomisation generate --name ...` or the design page)",
            code="no_scheme",
        )
    return s


def default_gmfcs_bands() -> dict[str, list[int]]:
    """Each GMFCS level its own stratum (I ... V)."""
    return {ROMAN[i - 1]: [i] for i in range(1, 6)}


def default_age_bands() -> list[list[Any]]:
    """The GMFCS-E&R age bands (Palisano 2008, from the measures' data file)."""
    return [[label, lo, hi] for label, lo, hi in gmfcs_scale.age_bands()]


def define_scheme(
    name: str,
    *,
    ratio: Sequence[int] = (1, 1),
    factors: Sequence[str] = FACTORS,
    gmfcs_bands: Mapping[str, Sequence[int]] | None = None,
    age_bands: Sequence[Sequence[Any]] | None = None,
    sites: Sequence[str] | None = None,
    method: str = Method.BLOCKS,
    block_sizes: Sequence[int] = (2, 4, 6),
    per_stratum: int = 24,
    probability: float = 0.8,
    eligibility: Sequence[Sequence[str]] | None = None,
    by: AnyUser = None,
    reason: str | None = None,
) -> RandomisationScheme:
    """Define the registry's scheme (administrators; refused once one exists)."""
    from cpstem.registry.models import Site

    _require_role(by, (Role.ADMIN,), "defining the randomisation")
    why = _reason(reason, "the randomisation scheme")
    if scheme() is not None:
        raise _refuse("name", "the registry already has a randomisation scheme", "exists")
    if not name.strip():
        raise _refuse("name", "give the study's name", "required")
    unknown = [f for f in factors if f not in FACTORS]
    if unknown or len(set(factors)) != len(factors):
        raise _refuse(
            "factors",
            f"factors {list(factors)}: use distinct ones of {', '.join(FACTORS)}",
            "not_allowed",
            allowed=list(FACTORS),
        )
    if method not in Method.values:
        raise _refuse("method", f"method {method!r}: use blocks or minimisation", "not_allowed")
    ratio_t = [int(r) for r in ratio]
    if len(ratio_t) != 2 or min(ratio_t) < 1:
        raise _refuse(
            "ratio", f"ratio {ratio_t}: two positive whole numbers (cells, control)", "out_of_range"
        )
    bands = {
        str(k): sorted(int(x) for x in v) for k, v in (gmfcs_bands or default_gmfcs_bands()).items()
    }
    covered = sorted(x for v in bands.values() for x in v)
    if covered != [1, 2, 3, 4, 5]:
        raise _refuse(
            "gmfcs_bands",
            "GMFCS bands: every level I-V exactly once",
            "invalid",
            levels=covered,
        )
    ages = [[str(a[0]), float(a[1]), float(a[2])] for a in (age_bands or default_age_bands())]
    for (_, lo, hi), nxt in zip(ages, [*ages[1:], None], strict=True):
        if not lo < hi or (nxt is not None and nxt[1] != hi):
            raise _refuse(
                "age_bands",
                "age bands: [label, from_years, below_years], each starting where the last ends",
                "invalid",
            )
    site_codes = list(sites) if sites else list(Site.objects.values_list("code", flat=True))
    if "site" in factors and not site_codes:
        raise _refuse("sites", "the site factor needs at least one site", "required")
    checklist = [[str(k), str(t)] for k, t in (eligibility or DEFAULT_ELIGIBILITY)]
    if not checklist or len({k for k, _ in checklist}) != len(checklist):
        raise _refuse("eligibility", "give distinct eligibility criteria", "invalid")
    if method == Method.BLOCKS:  # the pure layer checks the block sizes now, not at generation
        randomisation_list(ARMS, 1, block_sizes=block_sizes, ratio=ratio_t, seed=0)
    with transaction.atomic():
        s = RandomisationScheme(
            name=name.strip(),
            arms=list(ARMS),
            ratio=ratio_t,
            factors=list(factors),
            gmfcs_bands=bands,
            age_bands=ages,
            sites=site_codes,
            method=method,
            block_sizes=[int(b) for b in block_sizes],
            per_stratum=int(per_stratum),
            probability=float(probability),
            eligibility=checklist,
        )
        _save_scheme(s, by, why)
        _event(s, EventKind.SCHEME, by, why, method=method, factors=list(factors))
    return s


def strata(s: RandomisationScheme) -> dict[str, list[str]]:
    """factor -> its levels, in the scheme's factor order."""
    levels = {
        "site": list(s.sites),
        "gmfcs": list(s.gmfcs_bands),
        "age_band": [a[0] for a in s.age_bands],
    }
    return {f: levels[f] for f in s.factors}


def stratum_keys(s: RandomisationScheme) -> list[str]:
    return ["|".join(c) for c in itertools.product(*strata(s).values())]


def stratum_levels(s: RandomisationScheme, p: Patient, on: date) -> dict[str, str]:
    """The child's level of each factor on ``on`` (raises :class:`FieldErrors`)."""
    out: dict[str, str] = {}
    for f in s.factors:
        if f == "site":
            if p.site.code not in s.sites:
                raise _refuse(
                    "site",
                    f"site {p.site.code} is not in the randomisation's strata "
                    f"({', '.join(s.sites)}): an administrator extends the list first",
                    "site_not_in_strata",
                    site=p.site.code,
                )
            out[f] = p.site.code
        elif f == "gmfcs":
            level = p.level_on("gmfcs", on)
            if level is None:
                raise _refuse(
                    "gmfcs",
                    "no GMFCS level recorded: record it (+ GMFCS/MACS/CFCS) before randomising",
                    "gmfcs_missing",
                )
            out[f] = next(k for k, v in s.gmfcs_bands.items() if level in v)
        else:
            age = age_years(p.birth_date, on)
            band = next((a[0] for a in s.age_bands if a[1] <= age < a[2]), None)
            if band is None:
                raise _refuse(
                    "age_band",
                    f"age {age:.1f} years is outside the randomisation's age bands "
                    f"({s.age_bands[0][1]:g}-{s.age_bands[-1][2]:g} years)",
                    "age_out_of_band",
                    age_years=round(age, 2),
                )
            out[f] = band
    return out


def stratum_of(s: RandomisationScheme, p: Patient, on: date | None = None) -> str:
    """The child's stratum key (levels joined by ``|`` in factor order, as the list has it)."""
    return "|".join(stratum_levels(s, p, on or today()).values())


# --- the list ---------------------------------------------------------------------------------


def canonical(s: RandomisationScheme, rows: Sequence[tuple[str, int, str]] | None = None) -> str:
    """The list as text: a header (arms, ratio, strata) and one ``stratum<TAB>sequence<TAB>arm``
    line per slot in stratum and sequence order; its SHA-256 is the list's hash."""
    if rows is None:
        rows = list(
            AllocationSlot.objects.filter(scheme=s)
            .order_by("stratum", "sequence")
            .values_list("stratum", "sequence", "arm")
        )
    header = json.dumps(
        {"arms": list(s.arms), "ratio": list(s.ratio), "strata": strata(s)},
        sort_keys=True,
        separators=(",", ":"),
    )
    body = "".join(f"{k}\t{q}\t{a}\n" for k, q, a in sorted(rows))
    return header + "\n" + body


def _digest(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def _no_list_yet(s: RandomisationScheme) -> None:
    if s.method != Method.BLOCKS:
        raise _refuse(
            "method", "minimisation allocates without a list: nothing to generate", "no_list"
        )
    if s.list_source or AllocationSlot.objects.filter(scheme=s).exists():
        raise _refuse(
            "list",
            f"the list was already {s.list_source or 'made'}: a concealed list is never replaced",
            "list_exists",
        )


@dataclass(frozen=True)
class ListMade:
    """What generation or upload recorded: the hashes and the slot count (never the arms)."""

    source: str
    slots: int
    strata: int
    list_sha256: str
    design_sha256: str = ""
    upload_sha256: str = ""


def generate(
    s: RandomisationScheme,
    *,
    seed: int | None = None,
    by: AnyUser = None,
    reason: str | None = None,
) -> ListMade:
    """Generate the concealed list (administrators): stratified permuted blocks from a seed
    (default: a fresh random one), which is stored only in the concealed seed table."""
    _require_role(by, (Role.ADMIN,), "generating the randomisation list")
    why = _reason(reason, "generating the list")
    seed = secrets.randbits(62) if seed is None else int(seed)
    design = randomisation_list(
        tuple(s.arms),
        s.per_stratum,
        block_sizes=s.block_sizes,
        ratio=s.ratio,
        strata=strata(s),
        seed=seed,
    )
    rows = [(k, q, a) for k, q, _, _, a in design.entries]
    return _store_list(
        s, rows, ListSource.GENERATED, EventKind.GENERATED, by, why,
        seed=seed, design_sha256=design.sha256,
    )  # fmt: skip


def _store_list(
    s: RandomisationScheme,
    rows: list[tuple[str, int, str]],
    source: str,
    kind: str,
    by: AnyUser,
    why: str,
    seed: int | None = None,
    design_sha256: str = "",
    upload_sha256: str = "",
) -> ListMade:
    """Store a generated or uploaded list in one transaction (a scheme has one list, never
    replaced): the slots, the concealed seed, the hashes and the audit event."""
    with transaction.atomic():
        s = RandomisationScheme.objects.select_for_update().get(pk=s.pk)
        _no_list_yet(s)
        AllocationSlot.objects.bulk_create(
            AllocationSlot(scheme=s, stratum=k, sequence=q, arm=a) for k, q, a in rows
        )
        if seed is not None:
            ConcealedSeed.objects.create(scheme=s, seed=seed)
        s.list_source, s.list_created_at = source, timezone.now()
        s.list_created_by = _who(by)
        s.list_sha256 = _digest(canonical(s, rows))
        s.design_sha256 = design_sha256 or s.design_sha256
        s.upload_sha256 = upload_sha256 or s.upload_sha256
        _save_scheme(s, by, why)
        hashes = {"design_sha256": design_sha256} if design_sha256 else {}
        hashes |= {"upload_sha256": upload_sha256} if upload_sha256 else {}
        made = ListMade(source, len(rows), len({k for k, _, _ in rows}), s.list_sha256, **hashes)
        _event(s, kind, by, why, slots=made.slots, list_sha256=s.list_sha256, **hashes)
    return made


class ListFileError(RegistryError):
    """An uploaded list that cannot be used: every problem with its line and column."""

    default_code = "invalid_list"

    def __init__(self, problems: Sequence[Mapping[str, Any]]):
        self.problems = [dict(p) for p in problems]
        shown = "; ".join(
            f"line {p['line']}, column {p['column']}: {p['message']}" for p in self.problems[:20]
        )
        more = f" (and {len(self.problems) - 20} more)" if len(self.problems) > 20 else ""
        super().__init__(
            f"the list file cannot be used: {shown}{more}",
            code="invalid_list",
            field="file",
            params={"problems": self.problems},
        )

    def as_field_errors(self) -> FieldErrors:
        return FieldErrors({"file": [FieldError(self.message, self.code, self.params)]})


def parse_list(s: RandomisationScheme, data: bytes) -> list[tuple[str, int, str]]:
    """The rows ``(stratum, sequence, arm)`` of a CSV list, or :class:`ListFileError` naming
    every malformed line: missing columns, a sequence that is not a whole number from 1, an
    arm or stratum the scheme does not have, a duplicate slot, gaps in a stratum's sequence."""
    problems: list[dict[str, Any]] = []

    def bad(line: int, column: str, message: str, code: str) -> None:
        problems.append({"line": line, "column": column, "message": message, "code": code})

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ListFileError(
            [{"line": line, "column": "-", "message": "not UTF-8 text", "code": "encoding"}]
        ) from None
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ListFileError(
            [{"line": 1, "column": "-", "message": "the file is empty", "code": "empty"}]
        ) from None
    except csv.Error as exc:
        raise ListFileError(
            [{"line": 1, "column": "-", "message": f"not CSV: {exc}", "code": "malformed"}]
        ) from None
    missing = [c for c in UPLOAD_COLUMNS if c not in header]
    if missing:
        raise ListFileError(
            [
                {
                    "line": 1,
                    "column": c,
                    "message": f"header has no column {c!r} (needs {', '.join(UPLOAD_COLUMNS)})",
                    "code": "missing_column",
                }
                for c in missing
            ]
        )
    col = {c: header.index(c) for c in UPLOAD_COLUMNS}
    keys, arms = set(stratum_keys(s)), set(s.arms)
    seen: dict[tuple[str, int], int] = {}
    rows: list[tuple[str, int, str]] = []
    try:
        for record in reader:
            line = reader.line_num
            if not record or all(not c.strip() for c in record):
                continue
            if len(record) != len(header):
                bad(line, "-", f"{len(record)} fields, the header has {len(header)}", "malformed")
                continue
            stratum = record[col["stratum"]].strip()
            seq_text = record[col["sequence"]].strip()
            arm = record[col["arm"]].strip()
            ok = True
            if stratum not in keys:
                bad(
                    line,
                    "stratum",
                    f"unknown stratum {stratum!r} (e.g. {min(keys)!r})",
                    "unknown_stratum",
                )
                ok = False
            try:
                if not (seq_text.isascii() and seq_text.isdigit()):
                    raise ValueError
                seq = int(seq_text)
                if seq < 1:
                    raise ValueError
            except ValueError:
                bad(
                    line,
                    "sequence",
                    f"sequence {seq_text!r}: a whole number from 1",
                    "not_a_number",
                )
                ok = False
            if arm not in arms:
                bad(
                    line,
                    "arm",
                    f"unknown arm {arm!r} (allowed: {', '.join(s.arms)})",
                    "unknown_arm",
                )
                ok = False
            if not ok:
                continue
            if (stratum, seq) in seen:
                bad(
                    line,
                    "sequence",
                    f"duplicate: stratum {stratum} sequence {seq} is already "
                    f"on line {seen[(stratum, seq)]}",
                    "duplicate",
                )
                continue
            seen[(stratum, seq)] = line
            rows.append((stratum, seq, arm))
    except csv.Error as exc:
        bad(reader.line_num, "-", f"not CSV: {exc}", "malformed")
    if not problems:
        if not rows:
            bad(2, "-", "the list has no slots", "empty")
        by_stratum: dict[str, list[int]] = {}
        for k, q, _ in rows:
            by_stratum.setdefault(k, []).append(q)
        for k, qs in sorted(by_stratum.items()):
            gaps = sorted(set(range(1, max(qs) + 1)) - set(qs))
            if gaps:
                bad(
                    seen[(k, max(qs))],
                    "sequence",
                    f"stratum {k}: sequence numbers must run "
                    f"1..{max(qs)} without gaps (missing {gaps[:5]})",
                    "gap",
                )
    if problems:
        raise ListFileError(problems)
    return rows


def upload(
    s: RandomisationScheme, data: bytes, *, by: AnyUser = None, reason: str | None = None
) -> ListMade:
    """Store an uploaded list (administrators) after :func:`parse_list`; its SHA-256 and the
    hash of the stored list are recorded."""
    _require_role(by, (Role.ADMIN,), "uploading the randomisation list")
    why = _reason(reason, "uploading the list")
    rows = parse_list(s, data)
    return _store_list(
        s, rows, ListSource.UPLOADED, EventKind.UPLOADED, by, why, upload_sha256=_digest(data)
    )


@dataclass(frozen=True)
class VerifyResult:
    """Whether the stored list is the one that was generated or uploaded, and why not."""

    ok: bool
    recorded_sha256: str
    computed_sha256: str
    problems: tuple[str, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        if self.ok:
            return f"list verified: SHA-256 {self.computed_sha256} as recorded"
        return "list CHANGED since it was made: " + "; ".join(self.problems)


def verify(
    s: RandomisationScheme,
    *,
    file: bytes | None = None,
    by: AnyUser = None,
    reason: str | None = None,
) -> VerifyResult:
    """Recompute the list's hash (administrators and monitors). A generated list is also
    regenerated from its concealed seed and compared slot by slot; an uploaded one, when the
    original ``file`` is given, is compared with it (its SHA-256 and its rows)."""
    _require_role(by, (Role.ADMIN, Role.MONITOR), "verifying the randomisation list")
    s = RandomisationScheme.objects.get(pk=s.pk)  # as stored, not as the caller last read it
    if not s.list_source:
        raise _refuse("list", "there is no list yet", "no_list")
    rows = list(
        AllocationSlot.objects.filter(scheme=s)
        .order_by("stratum", "sequence")
        .values_list("stratum", "sequence", "arm")
    )
    computed = _digest(canonical(s, rows))
    problems = []
    if computed != s.list_sha256:
        problems.append(f"the stored list hashes to {computed}, recorded {s.list_sha256}")
    if s.list_source == ListSource.GENERATED:
        seed = ConcealedSeed.objects.filter(scheme=s).values_list("seed", flat=True).first()
        if seed is None:
            problems.append("the concealed seed is missing")
        else:
            design = randomisation_list(
                tuple(s.arms),
                s.per_stratum,
                block_sizes=s.block_sizes,
                ratio=s.ratio,
                strata=strata(s),
                seed=seed,
            )
            again = sorted((k, q, a) for k, q, _, _, a in design.entries)
            if design.sha256 != s.design_sha256:
                problems.append("the regenerated design hash differs from the recorded one")
            if again != sorted(rows):
                changed = sum(1 for x, y in zip(again, sorted(rows), strict=False) if x != y)
                problems.append(
                    f"the stored slots differ from the list regenerated from the seed "
                    f"({changed} slot(s) differ, {len(rows)} stored, {len(again)} generated)"
                )
    if file is not None:
        if _digest(file) != s.upload_sha256:
            problems.append(
                f"the file's SHA-256 {_digest(file)} is not the uploaded one {s.upload_sha256}"
            )
        elif sorted(parse_list(s, file)) != sorted(rows):
            problems.append("the stored slots differ from the uploaded file")
    result = VerifyResult(not problems, s.list_sha256, computed, tuple(problems))
    why = (reason or "").strip() or "verification"
    with transaction.atomic():
        s = RandomisationScheme.objects.select_for_update().get(pk=s.pk)
        s.verified_at, s.verified_ok = timezone.now(), result.ok
        _save_scheme(s, by, f"list verified: {'unchanged' if result.ok else 'CHANGED'}")
        _event(
            s,
            EventKind.VERIFIED if result.ok else EventKind.VERIFY_FAILED,
            by,
            why,
            computed_sha256=computed,
            recorded_sha256=s.list_sha256,
            problems=list(problems),
        )
    return result


# --- randomising a child ----------------------------------------------------------------------


def eligibility_check(
    s: RandomisationScheme, p: Patient, confirmed: Mapping[str, bool], on: date
) -> dict[str, str]:
    """The child's stratum levels, or :class:`FieldErrors`: consent not active
    (``consent_missing`` / ``consent_withdrawn``), already randomised (``already_randomised``),
    cells already given (``treated_before_randomisation``), a checklist item not confirmed
    (``not_confirmed``, on ``eligibility``), or no stratum (see :func:`stratum_levels`)."""
    errors: dict[str, list[FieldError]] = {}

    def add(field_name: str, message: str, code: str, **params: Any) -> None:
        errors.setdefault(field_name, []).append(FieldError(message, code, params))

    if p.is_randomised:
        add("patient", "this child is already randomised", "already_randomised")
    if p.consent_date is None:
        add(
            "consent",
            "no consent recorded: record the consent date and version first",
            "consent_missing",
        )
    elif p.consent_withdrawn_date is not None:
        add("consent", "consent was withdrawn", "consent_withdrawn")
    n = p.administration_set.count()
    if n:
        add(
            "patient",
            f"{n} cell administration(s) already recorded: randomisation comes "
            "before any treatment",
            "treated_before_randomisation",
            administrations=n,
        )
    unknown = sorted(set(confirmed) - {k for k, _ in s.eligibility})
    if unknown:
        add("eligibility", f"unknown criteria {unknown}", "unknown_criterion", criteria=unknown)
    missing = [k for k, _ in s.eligibility if confirmed.get(k) is not True]
    if missing:
        texts = dict(s.eligibility)
        add(
            "eligibility",
            "not confirmed: " + "; ".join(texts[k] for k in missing),
            "not_confirmed",
            criteria=missing,
        )
    levels: dict[str, str] = {}
    try:
        levels = stratum_levels(s, p, on)
    except FieldErrors as exc:
        for k, v in exc.details.items():
            errors.setdefault(k, []).extend(v)
    if errors:
        raise FieldErrors(errors)
    return levels


def _minimised_arm(s: RandomisationScheme, levels: Mapping[str, str], n: int) -> str:
    """Pocock--Simon: the arm for the next child from the allocations so far (random element
    seeded from the concealed seed and the allocation number: reproducible, not predictable)."""
    seed = ConcealedSeed.objects.filter(scheme=s).values_list("seed", flat=True).first()
    if seed is None:
        seed = secrets.randbits(62)
        ConcealedSeed.objects.create(scheme=s, seed=seed)
    existing = []
    for stratum, arm in AllocationSlot.objects.filter(scheme=s).values_list("stratum", "arm"):
        existing.append(dict(zip(s.factors, stratum.split("|"), strict=True)) | {"arm": arm})
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, n])))
    return minimise(existing, dict(levels), rng, arms=s.arms, probability=s.probability).arm


def randomise(
    p: Patient,
    *,
    confirmed: Mapping[str, bool],
    by: AnyUser = None,
    on: date | None = None,
) -> AllocationSlot:
    """Randomise an eligible child (clinicians of its site, administrators): take the next free
    slot of its stratum and set its enrolment group and date, in one transaction; only the
    returned slot says the arm."""
    _require_role(by, (Role.ADMIN, Role.CLINICIAN), "randomising")
    on = on or today()
    try:
        with transaction.atomic():
            # One randomisation of the scheme at a time: the scheme row's lock on PostgreSQL;
            # SQLite transactions here begin IMMEDIATE (the write lock) anyway.
            s = RandomisationScheme.objects.select_for_update().get(pk=require_scheme().pk)
            p = Patient.objects.select_for_update().select_related("site").get(pk=p.pk)
            levels = eligibility_check(s, p, confirmed, on)
            stratum = "|".join(levels.values())
            if s.method == Method.MINIMISATION:
                n = AllocationSlot.objects.filter(scheme=s).count()
                arm = _minimised_arm(s, levels, n)
                seq = AllocationSlot.objects.filter(scheme=s, stratum=stratum).count() + 1
                slot = AllocationSlot.objects.create(
                    scheme=s, stratum=stratum, sequence=seq, arm=arm
                )
            else:
                if not s.list_source:
                    raise _refuse(
                        "list",
                        "no randomisation list yet: an administrator generates or uploads it",
                        "no_list",
                    )
                slot = (
                    AllocationSlot.objects.filter(scheme=s, stratum=stratum, patient__isnull=True)
                    .order_by("sequence")
                    .first()
                )
                if slot is None:
                    raise _refuse(
                        "list",
                        f"the list of stratum {stratum} is used up: an administrator extends it",
                        "list_exhausted",
                        stratum=stratum,
                    )
            taken = AllocationSlot.objects.filter(pk=slot.pk, patient__isnull=True).update(
                patient=p,
                allocated_at=timezone.now(),
                allocated_by=_who(by),
                eligibility=dict(confirmed),
            )
            if taken != 1:  # cannot happen under the lock; never hand out a slot twice
                raise _refuse("list", "the slot was taken meanwhile: try again", "conflict")
            slot.refresh_from_db()
            p.group, p.enrolment_date = slot.arm, on
            p._history_user = _who(by)  # type: ignore[attr-defined]
            write.save(
                p,
                reason=f"randomised ({s.name}): stratum {stratum}, slot {slot.sequence}",
            )
            _event(
                s,
                EventKind.RANDOMISED,
                by,
                "randomised",
                p,
                stratum=stratum,
                sequence=slot.sequence,
            )
    except IntegrityError:  # the child's slot is unique: a second randomisation of the child
        raise _refuse("patient", "this child is already randomised", "already_randomised") from None
    return slot


def allocation(p: Patient) -> AllocationSlot | None:
    return AllocationSlot.objects.filter(patient=p).first()


def unblind(p: Patient, *, by: AnyUser = None, reason: str | None = None) -> Unblinding:
    """Reveal a randomised child's allocation to the blinded roles (emergency unblinding by an
    administrator or the child's clinician), with the reason; audited."""
    _require_role(by, UNBLINDING_ROLES, "unblinding")
    why = _reason(reason, "unblinding")
    with transaction.atomic():
        slot = allocation(p)
        if slot is None:
            raise _refuse("patient", "this child is not randomised", "not_randomised")
        u = Unblinding.objects.create(
            patient=p, by=_who(by), role=role_of(by) or "command line", reason=why
        )
        _event(slot.scheme, EventKind.UNBLINDED, by, why, p, role=u.role)
    return u


# --- status -----------------------------------------------------------------------------------


def status(s: RandomisationScheme) -> dict[str, Any]:
    """The scheme and its list as the design page shows it: no future allocation, only counts
    of children already allocated per stratum and arm, and free slots per stratum."""
    allocated = Counter(
        AllocationSlot.objects.filter(scheme=s, patient__isnull=False).values_list("stratum", "arm")
    )
    free = Counter(
        AllocationSlot.objects.filter(scheme=s, patient__isnull=True).values_list(
            "stratum", flat=True
        )
    )
    keys = stratum_keys(s)
    keys += sorted(({k for k, _ in allocated} | set(free)) - set(keys))
    rows = [
        {
            "stratum": k,
            "levels": dict(zip(s.factors, k.split("|"), strict=True)),
            "allocated": {a: allocated.get((k, a), 0) for a in s.arms},
            "free_slots": free.get(k, 0),
        }
        for k in keys
    ]
    totals = {a: sum(r["allocated"][a] for r in rows) for a in s.arms}
    return {
        "name": s.name,
        "method": s.method,
        "arms": list(s.arms),
        "ratio": list(s.ratio),
        "factors": list(s.factors),
        "strata": strata(s),
        "block_sizes": list(s.block_sizes) if s.method == Method.BLOCKS else [],
        "per_stratum": s.per_stratum,
        "eligibility": [{"key": k, "text": t} for k, t in s.eligibility],
        "list_source": s.list_source or None,
        "list_sha256": s.list_sha256 or None,
        "design_sha256": s.design_sha256 or None,
        "upload_sha256": s.upload_sha256 or None,
        "list_created_at": s.list_created_at,
        "verified_at": s.verified_at,
        "verified_ok": s.verified_ok,
        "slots": sum(free.values()) + sum(allocated.values()),
        "allocated_total": totals,
        "strata_counts": [r for r in rows if sum(r["allocated"].values()) or r["free_slots"]],
        "unblinded": Unblinding.objects.filter(patient__allocation__scheme=s).count(),
    }
