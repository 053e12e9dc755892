"""Queries (discrepancy notes): open, answer, close, re-open; the thread and the counts.

The workflow (REDCap Data Resolution Workflow, OpenClinica discrepancy notes)::

    open --answer--> answered --close--> closed --reopen--> open --answer--> ...
      \\--close--> closed          answered --reopen--> open

- a monitor (or an administrator) opens a query on a record or on one field of it, closes it
  and re-opens it (:func:`open_query`, :func:`close`, :func:`reopen`);
- the site's clinicians (and administrators) answer (:func:`answer`) and usually correct the
  record: a change saved through the write path with a reason for change that starts with
  ``Query #N:`` is linked to query N as a ``correction`` step of its thread, with the record's
  new version (:func:`link_correction`, called by :func:`cpstem.registry.services.write.save`).

Every step is a :class:`~cpstem.registry.models.monitoring.QueryMessage` (who, when, what); the
query's state is audited by django-simple-history with the step as the reason. A refusal is a
:class:`~cpstem.registry.errors.FieldErrors` with a code (``invalid_transition``,
``unknown_field``, ``required``, ``max_length``, ``control_characters``); a role that may not
do a step gets ``PermissionDenied``; a query or record the user may not see is a 404.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.http import Http404

from cpstem.registry import access
from cpstem.registry.errors import FieldErrors
from cpstem.registry.models import Patient
from cpstem.registry.models.monitoring import (
    RECORD_MODELS,
    Query,
    QueryAction,
    QueryMessage,
    QueryState,
    RecordKind,
    kind_of,
)
from cpstem.registry.models.sites import AnyUser
from cpstem.registry.services.changes import refused_characters

#: The longest message of a query's thread.
MESSAGE_MAX_LENGTH = 2000

#: Characters a message may have that a reason for change may not (the other control and
#: format characters are refused as in a reason): a message may have paragraphs.
_ALLOWED_CONTROLS = {"\n", "\t"}

#: Fields of a record that cannot be queried (keys and record keeping).
_NOT_QUERYABLE = {"id", "patient", "version", "created_at", "updated_at", "research_id"}

#: state -> action -> the state after it.
TRANSITIONS: dict[str, dict[str, str]] = {
    QueryState.OPEN: {
        QueryAction.ANSWER: QueryState.ANSWERED,
        QueryAction.CLOSE: QueryState.CLOSED,  # e.g. opened by mistake
    },
    QueryState.ANSWERED: {
        QueryAction.ANSWER: QueryState.ANSWERED,  # a second answer (more detail)
        QueryAction.CLOSE: QueryState.CLOSED,
        QueryAction.REOPEN: QueryState.OPEN,  # the answer does not resolve it
    },
    QueryState.CLOSED: {QueryAction.REOPEN: QueryState.OPEN},
}

#: A reason for change that links a correction to a query: ``Query #12: ...``.
QUERY_REASON = re.compile(r"^\s*Query #(\d{1,12})\b")


# --- input checks -----------------------------------------------------------------------------


def check_message(text: object) -> str:
    """The message, stripped, line breaks normalised; :class:`FieldErrors` on ``message`` when
    it is missing (``required``), too long (``max_length``) or contains control or format
    characters other than line breaks and tabs (``control_characters``)."""
    value = text.replace("\r\n", "\n").strip() if isinstance(text, str) else ""
    if not value:
        raise FieldErrors.one("message", "write a message", "required")
    bad = refused_characters(value, _ALLOWED_CONTROLS)
    if bad:
        raise FieldErrors.one(
            "message",
            f"the message contains control or formatting characters ({', '.join(bad)}): "
            "write plain text",
            "control_characters",
            {"characters": bad},
        )
    if len(value) > MESSAGE_MAX_LENGTH:
        raise FieldErrors.one(
            "message",
            f"the message has {len(value)} characters: at most {MESSAGE_MAX_LENGTH} are kept",
            "max_length",
            {"limit_value": MESSAGE_MAX_LENGTH, "show_value": len(value)},
        )
    return value


def check_kind(kind: object) -> str:
    if not isinstance(kind, str) or kind not in RECORD_MODELS:
        raise FieldErrors.one(
            "kind",
            f"unknown record kind: use one of {', '.join(RecordKind.values)}",
            "invalid_choice",
            {"allowed": list(RecordKind.values)},
        )
    return kind


def queryable_fields(kind: str) -> dict[str, str]:
    """field name -> label of the fields of a record kind a query may be about."""
    model = RECORD_MODELS[check_kind(kind)]
    return {
        f.name: str(f.verbose_name)
        for f in model._meta.concrete_fields
        if f.name not in _NOT_QUERYABLE and f.editable
    }


def check_field(kind: str, field: object) -> str:
    """The field name ('' = the record as a whole); ``unknown_field`` otherwise."""
    name = field.strip() if isinstance(field, str) else ""
    if name and name not in queryable_fields(kind):
        raise FieldErrors.one(
            "field",
            f"{name[:64]!r} is not a field of this record",
            "unknown_field",
            {"allowed": sorted(queryable_fields(kind))},
        )
    return name


# --- finding records and queries --------------------------------------------------------------


def record_for(patient: Patient, kind: str, record_id: int) -> models.Model:
    """The record of ``patient`` (already visible to the caller); 404 when there is none."""
    model = RECORD_MODELS[check_kind(kind)]
    if model is Patient:
        if record_id != patient.pk:
            raise Http404("no such record")
        return patient
    obj = model._default_manager.filter(pk=record_id, patient=patient).first()
    if obj is None:
        raise Http404("no such record")
    return obj


def record_of_query(query: Query) -> models.Model | None:
    """The record a query is about (``None``: deleted since)."""
    model = RECORD_MODELS.get(query.kind)
    if model is None:
        return None
    return model._default_manager.filter(pk=query.record_id).first()


def visible(user: AnyUser) -> models.QuerySet[Query]:
    """The queries the user may see: the sites' own staff, their sites (researchers: 403)."""
    if not access.sees_monitoring(user):
        raise PermissionDenied("queries are not part of the pseudonymised research view")
    qs = Query.objects.select_related("patient", "patient__site", "opened_by")
    sites = access.visible_site_ids(user)
    return qs if sites is None else qs.filter(patient__site_id__in=sites)


def get_visible(user: AnyUser, qid: int) -> Query:
    """One query the user may see; 404 otherwise (another site's query is not revealed)."""
    query = visible(user).filter(pk=qid).first()
    if query is None:
        raise Http404("no such query")
    return query


def for_patient(user: AnyUser, patient: Patient) -> models.QuerySet[Query]:
    return visible(user).filter(patient=patient)


def for_record(user: AnyUser, kind: str, record_id: int) -> list[Query]:
    return list(visible(user).filter(kind=kind, record_id=record_id).order_by("id"))


def counts(queries: models.QuerySet[Query]) -> dict[str, int]:
    """Number of queries per state (every state present, 0 when none)."""
    found = Counter(dict(queries.order_by().values_list("state").annotate(n=models.Count("pk"))))
    return {s: int(found.get(s, 0)) for s in QueryState.values}


# --- the workflow -----------------------------------------------------------------------------


def _step(query: Query, action: str, user: AbstractBaseUser | None, text: str, **extra) -> None:
    QueryMessage.objects.create(query=query, action=action, author=user, text=text, **extra)


@transaction.atomic
def open_query(
    user: AbstractBaseUser,
    patient: Patient,
    kind: object,
    record_id: int,
    field: object,
    message: object,
) -> Query:
    """Open a query on a record of ``patient`` (visible to ``user``), or on one field of it."""
    access.require_monitor(user)
    name = check_kind(kind)
    record = record_for(patient, name, record_id)
    field_name = check_field(name, field)
    text = check_message(message)
    query = Query(patient=patient, kind=name, record_id=record.pk, field=field_name)
    query.opened_by = user  # type: ignore[assignment]
    query._change_reason = "query opened"  # type: ignore[attr-defined]
    query.save()
    _step(query, QueryAction.OPEN, user, text)
    return query


def _transition(query: Query, user: AbstractBaseUser, action: str, message: object) -> Query:
    text = check_message(message)
    with transaction.atomic():
        current = Query.objects.select_for_update().get(pk=query.pk)
        after = TRANSITIONS.get(current.state, {}).get(action)
        if after is None:
            verb = QueryAction(action).label
            raise FieldErrors.one(
                "state",
                f"query #{current.pk} is {current.state}: it cannot be {verb} now",
                "invalid_transition",
                {"state": current.state, "action": action},
            )
        current.state = after
        current._change_reason = f"query {QueryAction(action).label}"  # type: ignore[attr-defined]
        current.save()
        _step(current, action, user, text)
    return current


def answer(user: AbstractBaseUser, query: Query, message: object) -> Query:
    """A clinician's (or an administrator's) answer to a query of a visible patient."""
    if not access.can_answer_queries(user):
        raise PermissionDenied("queries are answered by the site's clinicians")
    return _transition(query, user, QueryAction.ANSWER, message)


def close(user: AbstractBaseUser, query: Query, message: object) -> Query:
    access.require_monitor(user)
    return _transition(query, user, QueryAction.CLOSE, message)


def reopen(user: AbstractBaseUser, query: Query, message: object) -> Query:
    access.require_monitor(user)
    return _transition(query, user, QueryAction.REOPEN, message)


ACTIONS = {"answer": answer, "close": close, "reopen": reopen}


def allowed_actions(user: AnyUser, query: Query) -> list[str]:
    """The steps ``user`` may take on ``query`` now (for the page's buttons)."""
    possible = TRANSITIONS.get(query.state, {})
    out = []
    if access.can_answer_queries(user) and QueryAction.ANSWER in possible:
        out.append("answer")
    if access.can_monitor(user):
        out += [a for a in ("close", "reopen") if a in possible]
    return out


def link_correction(instance: models.Model, reason: str | None) -> Query | None:
    """After a change saved by the write path: a reason for change ``Query #N: ...`` about this
    very record links the change to query N (a ``correction`` step with the record's version
    and the reason). Called inside the write path's transaction."""
    m = QUERY_REASON.match(reason or "")
    kind = kind_of(instance)
    if m is None or kind is None:
        return None
    query = Query.objects.filter(pk=int(m[1]), kind=kind, record_id=instance.pk).first()
    if query is None:
        return None
    history: Any = getattr(type(instance), "history", None)
    row = history.filter(id=instance.pk).order_by("-history_id").first() if history else None
    author = row.history_user if row is not None and row.history_user_id else None
    _step(
        query,
        QueryAction.CORRECTION,
        author,
        (reason or "").strip(),
        record_version=getattr(instance, "version", None),
    )
    return query


def reason_for(query: Query) -> str:
    """The reason for change the edit form reached from a query starts with."""
    return f"Query #{query.pk}: corrected against the source document"


__all__ = [
    "ACTIONS",
    "MESSAGE_MAX_LENGTH",
    "TRANSITIONS",
    "allowed_actions",
    "answer",
    "check_field",
    "check_message",
    "close",
    "counts",
    "for_patient",
    "for_record",
    "get_visible",
    "link_correction",
    "open_query",
    "queryable_fields",
    "reason_for",
    "record_for",
    "record_of_query",
    "reopen",
    "visible",
]
