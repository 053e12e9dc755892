"""Registry models: sites and roles, patients, treatment, assessments, safety, follow-up."""

from cpstem.registry.models import accounts  # noqa: F401  (the audit trail of accounts)
from cpstem.registry.models.assessments import (
    GMFM66Assessment,
    GMFM88Assessment,
    LabValue,
    SpasticityAssessment,
)
from cpstem.registry.models.locking import Lock, Signature
from cpstem.registry.models.monitoring import Query, QueryMessage, Verification
from cpstem.registry.models.patients import Classification, Patient
from cpstem.registry.models.randomisation import (
    AllocationSlot,
    ConcealedSeed,
    RandomisationEvent,
    RandomisationScheme,
    Unblinding,
)
from cpstem.registry.models.safety import AdverseEvent
from cpstem.registry.models.schedule import FollowUpVisit
from cpstem.registry.models.sites import ApiToken, Profile, Role, Site
from cpstem.registry.models.treatment import Administration, RehabEpisode

#: Models whose history belongs to a patient (the per-patient audit trail).
PATIENT_RECORDS = (
    Classification,
    Administration,
    RehabEpisode,
    GMFM88Assessment,
    GMFM66Assessment,
    SpasticityAssessment,
    LabValue,
    AdverseEvent,
)

__all__ = [
    "PATIENT_RECORDS",
    "Administration",
    "AdverseEvent",
    "AllocationSlot",
    "ApiToken",
    "Classification",
    "ConcealedSeed",
    "FollowUpVisit",
    "GMFM66Assessment",
    "GMFM88Assessment",
    "LabValue",
    "Lock",
    "Patient",
    "Profile",
    "Query",
    "QueryMessage",
    "RandomisationEvent",
    "RandomisationScheme",
    "RehabEpisode",
    "Role",
    "Signature",
    "Site",
    "SpasticityAssessment",
    "Unblinding",
    "Verification",
]
