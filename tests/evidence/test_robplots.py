"""Risk-of-bias figures and the slide-ready forest plot."""

import pandas as pd
import pytest
from PIL import Image

from cpstem import evidence as ev
from cpstem.evidence import EvidenceError
from cpstem.evidence.robplots import forest_with_rob, rob_summary, slide_forest, traffic_light

ROB = pd.DataFrame(
    {
        "study": ["Sun 2017", "Sun 2022"],
        "d1_randomisation": ["some concerns", "some concerns"],
        "d2_deviations": ["low", "some concerns"],
        "d3_missing_data": ["low", "low"],
        "d4_measurement": ["low", "some concerns"],
        "d5_selection": ["low", "some concerns"],
        "overall": ["some concerns", "high"],
    }
)


def test_traffic_light_and_summary(tmp_path):
    fig = traffic_light(ROB, tmp_path / "tl.png", title="RoB 2")
    assert (tmp_path / "tl.png").stat().st_size > 10_000
    # 2 studies x 6 columns of circles
    assert sum(len(c.get_offsets()) for c in fig.axes[0].collections) == 12
    rob_summary(ROB, tmp_path / "sum.png", weights=[60, 40])
    assert (tmp_path / "sum.png").stat().st_size > 5_000
    with pytest.raises(EvidenceError) as info:
        traffic_light(ROB.drop(columns="overall"))
    assert (info.value.code, info.value.field) == ("missing_column", "overall")


def test_forest_with_rob_column_and_slide(tmp_path):
    # the bundled 12-month MD: Sun 2017 0.6 (vi 6.8^2/32 + 5.5^2/31), Amanat 2021 8.07 (SE 3.234)
    res = ev.rma(
        [0.6, 8.07], [6.8**2 / 32 + 5.5**2 / 31, 3.234**2], labels=["Sun 2017", "Amanat 2021"]
    )
    fig = forest_with_rob(res, ["some concerns", "high"], tmp_path / "f.png")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "RoB" in texts and "x" in texts and "-" in texts
    with pytest.raises(EvidenceError) as info:
        forest_with_rob(res, ["low"])
    assert info.value.code == "inconsistent"
    slide_forest(
        res,
        tmp_path / "slide.png",
        title="GMFM-66",
        rob=["some concerns", "high"],
        reference=("IPD", 1.42, 0.31, 2.52),
    )
    with Image.open(tmp_path / "slide.png") as im:
        assert im.size == (1920, 1080)  # 16:9 at 120 dpi
