"""CP subtype (SCPE) and topographical distribution."""

from __future__ import annotations

from cpstem.measures.coded import CodedCategory, catalogued


@catalogued("scpe", "subtypes", "CP subtype")
class Subtype(CodedCategory):
    """SCPE subtype of cerebral palsy."""

    SPASTIC_UNILATERAL = "spastic_unilateral"
    SPASTIC_BILATERAL = "spastic_bilateral"
    DYSKINETIC_DYSTONIC = "dyskinetic_dystonic"
    DYSKINETIC_CHOREOATHETOTIC = "dyskinetic_choreoathetotic"
    ATAXIC = "ataxic"
    MIXED_UNCLASSIFIED = "mixed_unclassified"

    @property
    def group(self) -> str:
        """Main SCPE group: spastic, dyskinetic, ataxic or other."""
        return self.entries()[self.value]["group"]


@catalogued("topography", "values", "topography")
class Topography(CodedCategory):
    """Distribution of the motor impairment over the limbs."""

    HEMIPLEGIA = "hemiplegia"
    MONOPLEGIA = "monoplegia"
    DIPLEGIA = "diplegia"
    TRIPLEGIA = "triplegia"
    TETRAPLEGIA = "tetraplegia"

    @property
    def laterality(self) -> str:
        return self.entries()[self.value]["laterality"]
