"""A user's own trial file: formats per measure and one clear error per problem."""

import re

import pytest

from cpstem.evidence import EvidenceError
from cpstem.reports.evidence_input import parse_study_table

SMD = """# my trials
study,m1i,sd1i,n1i,m2i,sd2i,n2i,subgroup
A 2020,7.6,2.4,27,3.0,1.7,27,MSC
B 2021,9.1,6.7,31,9.0,6.3,33,MNC
"""


def test_continuous_table():
    t = parse_study_table(SMD, "smd", name="t.csv")
    assert t.measure == "SMD" and t.k == 2 and t.studies == ["A 2020", "B 2021"]
    assert list(t.columns["n1i"]) == [27, 31] and t.subgroups == ["MSC", "MNC"]
    assert t.lines == [3, 4]


def test_binary_tables_in_both_layouts():
    a = parse_study_table("study,ai,n1i,ci,n2i\nX,1,45,0,49\n", "RR")
    b = parse_study_table("study,ai,bi,ci,di\nX,1,44,0,49\n", "RR")
    assert set(a.columns) == {"ai", "n1i", "ci", "n2i"} and set(b.columns) == {
        "ai",
        "bi",
        "ci",
        "di",
    }


def test_generic_with_standard_errors():
    t = parse_study_table("study,yi,sei\nX,0.5,0.2\nY,0.1,0.3\n", "GEN")
    assert list(t.columns["sei"]) == [0.2, 0.3]


@pytest.mark.parametrize(
    ("text", "measure", "message"),
    [
        (
            SMD.replace("2.4,27", "abc,27"),
            "SMD",
            "t.csv line 3, column sd1i: 'abc' is not a number",
        ),
        (
            SMD.replace("2.4,27", "-2.4,27"),
            "SMD",
            "t.csv line 3, column sd1i: -2.4 must be greater than 0",
        ),
        (SMD.replace("2.4,27", "2.4,27.5"), "SMD", "column n1i: 27.5 must be a whole number"),
        (SMD.replace("2.4,27", "2.4,1"), "SMD", "column n1i: must be at least 2"),
        (SMD.replace("2.4,27", "2.4,"), "SMD", "t.csv line 3, column n1i: value is missing"),
        (SMD.replace("A 2020", ""), "SMD", "column study: the study label is empty"),
        (SMD.replace("sd2i", "sd_2"), "SMD", "needs the columns m1i,sd1i,n1i,m2i,sd2i,n2i"),
        (SMD, "XYZ", "measure 'XYZ' is not supported"),
        ("study,ai,n1i,ci,n2i\nX,50,45,0,49\n", "OR", "column ai: 50 events exceed n1i = 45"),
        ("study,ri,ni\nX,1.2,30\n", "ZCOR", "column ri: 1.2 must lie between -1 and 1"),
        ("study,yi,vi\nX,inf,0.1\n", "GEN", "'inf' is not a finite number"),
        ("study,m1i,sd1i,n1i,m2i,sd2i,n2i\nX,-1,1,5,2,1,5\n", "ROM", "needs positive means"),
        ("study,yi,vi\n", "GEN", "no studies"),
        ("", "GEN", "no header line"),
        ("x,yi,vi\n1,2,3\n", "GEN", "a 'study' column is required"),
    ],
)
def test_errors_name_line_and_column(text, measure, message):
    with pytest.raises(EvidenceError, match=re.escape(message)):
        parse_study_table(text, measure, name="t.csv")


def test_named_subgroup_column_must_exist():
    with pytest.raises(EvidenceError, match="no column 'route'"):
        parse_study_table(SMD, "SMD", subgroup="route")


def test_cli_lists_the_same_measures():
    from cpstem.cli.evidence import MEASURES as CLI_MEASURES
    from cpstem.reports.evidence_input import MEASURES

    assert set(CLI_MEASURES) == set(MEASURES)


@pytest.mark.parametrize(
    ("text", "measure", "code", "field", "params"),
    [
        (
            SMD.replace("2.4,27", "abc,27"),
            "SMD",
            "not_a_number",
            "sd1i",
            {"source": "t.csv", "line": 3, "column": "sd1i", "value": "abc"},
        ),
        (SMD.replace("2.4,27", "-2.4,27"), "SMD", "not_positive", "sd1i", {"line": 3}),
        (SMD.replace("2.4,27", "2.4,27.5"), "SMD", "not_a_count", "n1i", {"value": "27.5"}),
        (SMD.replace("2.4,27", "2.4,1"), "SMD", "too_small", "n1i", {"line": 3, "minimum": 2}),
        (SMD.replace("2.4,27", "2.4,"), "SMD", "required", "n1i", {"line": 3}),
        (SMD.replace("A 2020", ""), "SMD", "required", "study", {"line": 3}),
        (
            SMD.replace("sd2i", "sd_2"),
            "SMD",
            "missing_column",
            "sd2i",
            {"missing": ["sd2i"], "line": None},
        ),
        (SMD, "XYZ", "unsupported_measure", "measure", {"measure": "XYZ"}),
        (
            "study,ai,n1i,ci,n2i\nX,50,45,0,49\n",
            "OR",
            "exceeds_total",
            "ai",
            {"line": 2, "value": 50, "total_column": "n1i", "total": 45},
        ),
        ("study,ri,ni\nX,1.2,30\n", "ZCOR", "out_of_range", "ri", {"value": "1.2"}),
        ("study,yi,vi\nX,inf,0.1\n", "GEN", "not_finite", "yi", {"line": 2}),
        (
            "study,m1i,sd1i,n1i,m2i,sd2i,n2i\nX,2,1,5,-1,1,5\n",
            "ROM",
            "not_positive",
            "m2i",
            {"line": 2, "value": -1},
        ),
        ("study,yi,vi\n", "GEN", "empty", None, {"source": "t.csv"}),
        ("x,yi,vi\n1,2,3\n", "GEN", "missing_column", "study", {"source": "t.csv"}),
    ],
)
def test_errors_carry_code_field_and_line(text, measure, code, field, params):
    with pytest.raises(EvidenceError) as info:
        parse_study_table(text, measure, name="t.csv")
    err = info.value
    assert (err.code, err.field) == (code, field)
    assert {k: err.params[k] for k in params} == params


def test_unknown_subgroup_column_is_coded():
    with pytest.raises(EvidenceError) as info:
        parse_study_table(SMD, "SMD", subgroup="route")
    assert (info.value.code, info.value.field) == ("missing_column", "route")
