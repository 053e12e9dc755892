"""The Result base's shared pieces: str() is summary(); the fixed-width tables of summaries."""

from dataclasses import dataclass

from cpstem.results import Result, text_table


def test_text_table_is_fixed_width():
    lines = text_table(
        ["first study, long name", "b"],
        [("estimate", 10, ".4f", [0.5, -1.25]), ("p", 6, "", ["<.001", "0.5"])],
        8,
        "study",
    )
    assert lines == [
        "study     estimate     p",
        "first st    0.5000 <.001",
        "b          -1.2500   0.5",
    ]


@dataclass(frozen=True)
class _WithSummary(Result):
    x: float

    def summary(self) -> str:
        return f"x is {self.x:g}"


@dataclass(frozen=True)
class _Plain(Result):
    x: float


def test_str_is_the_summary_or_the_repr():
    assert str(_WithSummary(2.0)) == "x is 2" and f"{_WithSummary(3.0)}" == "x is 3"
    assert str(_Plain(2.0)) == "_Plain(x=2.0)"
