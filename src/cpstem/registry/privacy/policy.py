"""What a researcher sees of each field of the patient data: one table, one decision per field.

Every concrete field of every model that holds patient data has exactly one entry here, with
the reason for the decision; ``tests/registry/test_privacy.py`` fails when a model gains a field
without one. Clinicians, monitors and administrators see every field of the sites they may see;
the table decides only the pseudonymised research view.

Treatments (what the researcher gets):

``show``
    Coded values (choice fields, booleans), numbers and scores, and text checked against a
    closed format by the model (HLA match ``5/6``, goal dimensions ``D,E``, the MAS / Tardieu
    ratings): shown as stored. None of them can carry a name or a remark.
``key``
    A database key, for links and joins only. Patient keys are random (they reveal neither the
    order of entry nor a count); record keys name no one.
``date``
    A calendar date: replaced by the child's age in completed months on that day (``date`` ->
    ``age_months``, ``resolution_date`` -> ``resolution_age_months``, ...).
``term``
    Free text that is shown only when it is a term of a closed list (``terms.toml``): the
    canonical term, else ``"other"``.
``coarse``
    A quasi-identifier, coarsened (:data:`COARSEN`): gestational age in completed weeks, birth
    weight to the nearest 100 g.
``hide``
    Free text (notes, "other ..." descriptions, lot numbers), direct identifiers (study ID, birth
    date), record-keeping timestamps and staff: never shown.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from cpstem.registry.models import (
    Administration,
    AdverseEvent,
    AllocationSlot,
    Classification,
    FollowUpVisit,
    GMFM66Assessment,
    GMFM88Assessment,
    LabValue,
    Lock,
    Patient,
    Query,
    RandomisationEvent,
    RehabEpisode,
    Signature,
    SpasticityAssessment,
    Unblinding,
    Verification,
)


class T(StrEnum):
    """How a field is shown to researchers (see the module docs)."""

    SHOW = "show"
    KEY = "key"
    DATE = "date"
    TERM = "term"
    COARSE = "coarse"
    HIDE = "hide"


_RECORD = {
    "id": (T.KEY, "record key, for links"),
    "patient": (T.KEY, "the patient's random key"),
    "date": (T.DATE, "the event's calendar date"),
    "created_at": (T.HIDE, "entry timestamp: a calendar date"),
    "updated_at": (T.HIDE, "entry timestamp: a calendar date"),
    "version": (T.HIDE, "record keeping (optimistic locking): how often the record was edited"),
}

#: model -> field name -> (treatment for researchers, reason).
FIELDS: dict[type, dict[str, tuple[T, str]]] = {
    Patient: {
        "id": (T.KEY, "random patient key (URLs and API ids)"),
        "site": (T.SHOW, "the site code (a centre, not a person)"),
        "study_id": (T.HIDE, "the sites' pseudonym: links the child to the clinic's files"),
        "research_id": (T.SHOW, "the random research pseudonym"),
        "birth_date": (T.HIDE, "direct identifier; ages in months are shown instead"),
        "sex": (T.SHOW, "coded F/M/U"),
        "gestational_age_weeks": (T.COARSE, "quasi-identifier: completed weeks only"),
        "birth_weight_g": (T.COARSE, "quasi-identifier: nearest 100 g"),
        "subtype": (T.SHOW, "coded SCPE subtype"),
        "topography": (T.SHOW, "coded topography"),
        "mrics": (T.SHOW, "coded MRICS class"),
        "preterm_birth": (T.SHOW, "boolean risk factor"),
        "growth_restriction": (T.SHOW, "boolean risk factor"),
        "maternal_infection": (T.SHOW, "boolean risk factor"),
        "nsaid_paracetamol_exposure": (T.SHOW, "boolean risk factor"),
        "hie": (T.SHOW, "boolean risk factor"),
        "risk_other": (T.HIDE, "free text"),
        "group": (T.SHOW, "coded enrolment group: cells / control"),
        "enrolment_date": (T.DATE, "calendar date (the controls' schedule anchor)"),
        "consent_date": (T.DATE, "calendar date"),
        "consent_version": (T.HIDE, "free text; dates the consent form and so the enrolment"),
        "consent_withdrawn_date": (T.DATE, "calendar date"),
        "is_synthetic": (T.SHOW, "boolean: demo record"),
        "gmfcs": (T.SHOW, "coded level I-V"),
        "created_at": (T.HIDE, "entry timestamp: a calendar date"),
        "updated_at": (T.HIDE, "entry timestamp: a calendar date"),
        "version": (T.HIDE, "record keeping (optimistic locking): how often it was edited"),
    },
    Classification: _RECORD
    | {
        "system": (T.SHOW, "coded GMFCS/MACS/CFCS"),
        "level": (T.SHOW, "coded level I-V"),
    },
    Administration: _RECORD
    | {
        "product": (T.SHOW, "coded product"),
        "product_other": (T.HIDE, "free text"),
        "origin": (T.SHOW, "coded origin"),
        "hla_match": (T.SHOW, "validated format matched/typed, e.g. 5/6"),
        "cells_total": (T.SHOW, "number"),
        "weight_kg": (T.SHOW, "number (the dose per kg is computed from it)"),
        "dose_cells_per_kg": (T.SHOW, "number"),
        "dose_confirmed": (T.SHOW, "boolean"),
        "route": (T.SHOW, "coded route"),
        "route_other": (T.HIDE, "free text"),
        "gcsf": (T.SHOW, "boolean adjunct"),
        "epo": (T.SHOW, "boolean adjunct"),
        "immunosuppression": (T.SHOW, "boolean adjunct"),
        "adjunct_other": (T.HIDE, "free text"),
        "lot": (T.HIDE, "lot numbers lead to the cell bank's donor records"),
        "notes": (T.HIDE, "free text"),
    },
    RehabEpisode: _RECORD
    | {
        "therapy": (T.SHOW, "coded therapy"),
        "therapy_other": (T.HIDE, "free text"),
        "hours_per_week": (T.SHOW, "number"),
        "end_date": (T.DATE, "calendar date"),
        "notes": (T.HIDE, "free text"),
    },
    GMFM88Assessment: _RECORD
    | {
        "items": (T.SHOW, "item scores 0-3 / not tested"),
        "with_aids": (T.SHOW, "boolean"),
        "goal_dimensions": (T.SHOW, "validated letters A-E"),
        "pct_a": (T.SHOW, "score"),
        "pct_b": (T.SHOW, "score"),
        "pct_c": (T.SHOW, "score"),
        "pct_d": (T.SHOW, "score"),
        "pct_e": (T.SHOW, "score"),
        "total": (T.SHOW, "score"),
        "goal_total": (T.SHOW, "score"),
        "n_not_tested": (T.SHOW, "count"),
        "assessor": (T.HIDE, "a member of staff (names the site's therapist)"),
        "notes": (T.HIDE, "free text"),
        "duplicate_confirmed": (T.SHOW, "boolean: second assessment that day confirmed"),
        "blinded_assessor": (T.SHOW, "boolean: assessed by an assessor blinded to allocation"),
    },
    GMFM66Assessment: _RECORD
    | {
        "score": (T.SHOW, "score"),
        "se": (T.SHOW, "number"),
        "ci_lower": (T.SHOW, "number"),
        "ci_upper": (T.SHOW, "number"),
        "source": (T.SHOW, "coded source"),
        "sheet": (T.KEY, "the GMFM-88 sheet it was computed from"),
        "notes": (T.HIDE, "free text"),
        "duplicate_confirmed": (T.SHOW, "boolean: second assessment that day confirmed"),
        "blinded_assessor": (T.SHOW, "boolean: assessed by an assessor blinded to allocation"),
    },
    SpasticityAssessment: _RECORD
    | {
        "mas": (T.SHOW, "validated coded ratings (muscle, side, grade)"),
        "tardieu": (T.SHOW, "validated coded ratings and angles"),
        "notes": (T.HIDE, "free text"),
        "duplicate_confirmed": (T.SHOW, "boolean: second assessment that day confirmed"),
        "blinded_assessor": (T.SHOW, "boolean: assessed by an assessor blinded to allocation"),
    },
    LabValue: _RECORD
    | {
        "analyte": (T.TERM, "free text: shown only as a term of the closed analyte list"),
        "value": (T.SHOW, "number"),
        "unit": (T.TERM, "free text: shown only as a term of the closed unit list"),
        "notes": (T.HIDE, "free text"),
    },
    AdverseEvent: _RECORD
    | {
        "term": (T.TERM, "free text: shown only as a CTCAE term of the closed list"),
        "resolution_date": (T.DATE, "calendar date"),
        "grade": (T.SHOW, "coded CTCAE grade"),
        "serious": (T.SHOW, "boolean"),
        "relatedness": (T.SHOW, "coded relatedness"),
        "administration": (T.KEY, "the administration it followed"),
        "action": (T.SHOW, "coded action"),
        "outcome": (T.SHOW, "coded outcome"),
        "notes": (T.HIDE, "free text"),
        "relatedness_confirmed": (
            T.SHOW,
            "boolean: relatedness before any administration confirmed",
        ),
    },
    FollowUpVisit: {
        "id": (T.KEY, "visit key"),
        "patient": (T.KEY, "the patient's random key"),
        "administration": (T.KEY, "the administration it follows (empty: a control's enrolment)"),
        "label": (T.SHOW, "visit name from the schedule (configuration, not entered text)"),
        "months": (T.SHOW, "months after the administration"),
        "target_date": (T.DATE, "calendar date"),
        "window_start": (T.DATE, "calendar date"),
        "window_end": (T.DATE, "calendar date"),
        "done_on": (T.DATE, "calendar date"),
    },
    # Monitoring (queries, source data verification): closed to researchers as a whole (the
    # views and the API refuse them); the decisions hold should they ever be projected.
    Query: {
        "id": (T.KEY, "query number"),
        "patient": (T.KEY, "the patient's random key"),
        "kind": (T.SHOW, "coded record kind"),
        "record_id": (T.KEY, "the record queried"),
        "field": (T.HIDE, "text (a field name; researchers see no queries)"),
        "state": (T.SHOW, "coded state"),
        "opened_by": (T.HIDE, "a member of staff (the monitor)"),
        "opened_at": (T.HIDE, "record-keeping timestamp: a calendar date"),
        "updated_at": (T.HIDE, "record-keeping timestamp: a calendar date"),
    },
    Verification: {
        "id": (T.KEY, "verification key"),
        "patient": (T.KEY, "the patient's random key"),
        "kind": (T.SHOW, "coded record kind"),
        "record_id": (T.KEY, "the record verified"),
        "version": (T.HIDE, "record keeping: how often the record was edited"),
        "verified_by": (T.HIDE, "a member of staff (the monitor)"),
        "verified_at": (T.HIDE, "record-keeping timestamp: a calendar date"),
        "cleared_at": (T.HIDE, "record-keeping timestamp: a calendar date"),
    },
    # monitoring: locks and electronic signatures are record keeping about the data, by staff;
    # closed to researchers (the audit trail is), kept here so that every field is decided
    Lock: {
        "id": (T.KEY, "lock key"),
        "patient": (T.KEY, "the patient's random key (empty: a site lock)"),
        "site": (T.SHOW, "the site code (a centre, not a person)"),
        "locked_by": (T.HIDE, "staff"),
        "locked_at": (T.HIDE, "record-keeping timestamp: a calendar date"),
        "reason": (T.HIDE, "free text"),
        "unlocked_by": (T.HIDE, "staff"),
        "unlocked_at": (T.HIDE, "record-keeping timestamp: a calendar date"),
        "unlock_reason": (T.HIDE, "free text"),
    },
    Signature: {
        "id": (T.KEY, "signature key"),
        "patient": (T.KEY, "the patient's random key"),
        "signer": (T.HIDE, "staff"),
        "signer_name": (T.HIDE, "staff: a person's name"),
        "signer_username": (T.HIDE, "staff"),
        "signer_role": (T.HIDE, "staff: the signer's role (signatures are closed to researchers)"),
        "meaning_code": (T.HIDE, "signatures are closed to researchers"),
        "meaning": (T.HIDE, "signatures are closed to researchers"),
        "signed_at": (T.HIDE, "record-keeping timestamp: a calendar date"),
        "content_hash": (T.HIDE, "record keeping: a fingerprint of the signed data"),
        "content_version": (T.HIDE, "record keeping: record keys and versions"),
        "superseded_at": (T.HIDE, "record-keeping timestamp: a calendar date"),
        "superseded_reason": (T.HIDE, "names the record changed, with its date"),
    },
    # Randomisation: researchers read the allocation as the patient's enrolment group; the slots,
    # the audit log and the unblindings are record keeping (staff, timestamps, free text).
    AllocationSlot: {
        "id": (T.KEY, "slot key"),
        "scheme": (T.KEY, "the randomisation scheme"),
        "stratum": (T.HIDE, "the concealed list's stratum (site and levels): record keeping"),
        "sequence": (T.HIDE, "position in the concealed list: record keeping"),
        "arm": (T.HIDE, "the allocation: researchers read it as the patient's group"),
        "patient": (T.KEY, "the patient's random key"),
        "allocated_at": (T.HIDE, "timestamp: a calendar date"),
        "allocated_by": (T.HIDE, "staff"),
        "eligibility": (T.HIDE, "the confirmed checklist: record keeping"),
    },
    Unblinding: {
        "id": (T.KEY, "record key"),
        "patient": (T.KEY, "the patient's random key"),
        "by": (T.HIDE, "staff"),
        "role": (T.HIDE, "staff role: record keeping"),
        "at": (T.HIDE, "timestamp: a calendar date"),
        "reason": (T.HIDE, "free text"),
    },
    RandomisationEvent: {
        "id": (T.KEY, "record key"),
        "scheme": (T.KEY, "the randomisation scheme"),
        "kind": (T.SHOW, "coded step"),
        "at": (T.HIDE, "timestamp: a calendar date"),
        "by": (T.HIDE, "staff"),
        "patient": (T.KEY, "the patient's random key"),
        "reason": (T.HIDE, "free text"),
        "detail": (T.HIDE, "hashes, strata, sequence numbers: record keeping"),
    },
}

#: The closed list of each ``term`` field (a section of ``terms.toml``).
TERM_LISTS: dict[tuple[type, str], str] = {
    (LabValue, "analyte"): "lab_analyte",
    (LabValue, "unit"): "lab_unit",
    (AdverseEvent, "term"): "adverse_event_term",
}

#: What researchers get for free text that is not a term of its closed list.
OTHER = "other"


def _completed_weeks(value: Any) -> int | None:
    return None if value is None else math.floor(float(value))


def _nearest_100(value: Any) -> int | None:
    return None if value is None else int(math.floor(float(value) / 100 + 0.5) * 100)


#: The coarsening of each ``coarse`` field.
COARSEN: dict[tuple[type, str], Callable[[Any], Any]] = {
    (Patient, "gestational_age_weeks"): _completed_weeks,
    (Patient, "birth_weight_g"): _nearest_100,
}


def treatment(model: type, name: str) -> T:
    """The decision for one field (KeyError for a field without one)."""
    return FIELDS[model][name][0]


def _norm(text: str) -> str:
    return " ".join(str(text).split()).casefold()


@cache
def _vocabulary(section: str) -> dict[str, str]:
    path = resources.files("cpstem.registry.privacy").joinpath("terms.toml")
    with path.open("rb") as fh:
        spec = tomllib.load(fh)[section]
    out = {_norm(t): t for t in spec["terms"]}
    out |= {_norm(k): v for k, v in spec.get("synonyms", {}).items()}
    return out


def coded_term(model: type, name: str, text: Any) -> str | None:
    """The closed-list term a free text stands for, else :data:`OTHER` (``None`` stays)."""
    if text is None or text == "":
        return None
    return _vocabulary(TERM_LISTS[(model, name)]).get(_norm(text), OTHER)


def date_key(name: str) -> str:
    """The key of a date field's age in months: ``date`` -> ``age_months``,
    ``resolution_date`` -> ``resolution_age_months``, ``done_on`` -> ``done_age_months``."""
    if name == "date":
        return "age_months"
    for suffix in ("_date", "_on"):
        if name.endswith(suffix):
            return name[: -len(suffix)] + "_age_months"
    return name + "_age_months"
