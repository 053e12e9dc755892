"""MRI Classification System (MRICS) categories A1-E."""

from __future__ import annotations

from cpstem.measures.coded import CodedCategory, catalogued


@catalogued("mrics", "categories", "MRICS category")
class MRICS(CodedCategory):
    """Predominant MRI pattern (Himmelmann 2017)."""

    A1 = "A1"
    A2 = "A2"
    B1 = "B1"
    B2 = "B2"
    B3 = "B3"
    C1 = "C1"
    C2 = "C2"
    C3 = "C3"
    D = "D"
    E = "E"

    @property
    def group(self) -> str:
        """Main category letter: A maldevelopment ... E normal."""
        return self.value[0]
