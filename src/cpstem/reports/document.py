"""A small document model rendered to Markdown and to self-contained, escaped HTML."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Para:
    text: str
    style: str = ""  # "", "note" or "warning"


@dataclass(frozen=True)
class Bullets:
    items: list[str]


@dataclass(frozen=True)
class Table:
    frame: pd.DataFrame
    caption: str = ""


@dataclass(frozen=True)
class Image:
    path: str  # relative to the report folder
    caption: str


Block = Heading | Para | Bullets | Table | Image


@dataclass
class Document:
    """An ordered list of blocks with a title."""

    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)

    def markdown(self) -> str:
        out = [f"# {_md(self.title)}", ""]
        for b in self.blocks:
            out += [*_block_md(b), ""]
        return "\n".join(out).rstrip() + "\n"

    def html(self) -> str:
        body = "\n".join(_block_html(b) for b in self.blocks)
        return _PAGE.format(title=html.escape(self.title), body=body)


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if pd.isna(value) else f"{value:g}"
    return "" if value is None else str(value)


def _block_md(b: Block) -> list[str]:
    if isinstance(b, Heading):
        return ["#" * b.level + " " + _md(b.text)]
    if isinstance(b, Para):
        prefix = {"note": "> ", "warning": "> **Caution:** "}.get(b.style, "")
        return [prefix + _md(b.text)]
    if isinstance(b, Bullets):
        return [f"- {_md(i)}" for i in b.items]
    if isinstance(b, Image):
        return [f"![{_md(b.caption)}]({b.path})", "", f"*{_md(b.caption)}*"]
    cols = [str(c) for c in b.frame.columns]
    lines = [f"*{_md(b.caption)}*", ""] if b.caption else []
    lines.append("| " + " | ".join(_md(c) for c in cols) + " |")
    lines.append("|" + "---|" * len(cols))
    for row in b.frame.itertuples(index=False):
        lines.append("| " + " | ".join(_md(_cell(v)) for v in row) + " |")
    return lines


def _block_html(b: Block) -> str:
    esc = html.escape
    if isinstance(b, Heading):
        return f"<h{b.level}>{esc(b.text)}</h{b.level}>"
    if isinstance(b, Para):
        cls = f' class="{b.style}"' if b.style else ""
        return f"<p{cls}>{esc(b.text)}</p>"
    if isinstance(b, Bullets):
        return "<ul>" + "".join(f"<li>{esc(i)}</li>" for i in b.items) + "</ul>"
    if isinstance(b, Image):
        return (
            f'<figure><img src="{esc(b.path)}" alt="{esc(b.caption)}">'
            f"<figcaption>{esc(b.caption)}</figcaption></figure>"
        )
    head = "".join(f"<th>{esc(str(c))}</th>" for c in b.frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{esc(_cell(v))}</td>" for v in row) + "</tr>"
        for row in b.frame.itertuples(index=False)
    )
    caption = f"<caption>{esc(b.caption)}</caption>" if b.caption else ""
    return (
        f'<div class="scroll"><table>{caption}<thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table></div>"
    )


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #1d2433; line-height: 1.45; }}
h1 {{ font-size: 1.6rem; }} h2 {{ margin-top: 2.2rem; border-bottom: 1px solid #ccd; }}
table {{ border-collapse: collapse; margin: 1rem 0; font-size: 0.88rem; }}
caption {{ text-align: left; font-style: italic; padding-bottom: 0.3rem; }}
th, td {{ border: 1px solid #ccd; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }}
th {{ background: #eef1f7; }}
figure {{ margin: 1rem 0; }} img {{ max-width: 100%; }}
figcaption {{ font-size: 0.85rem; color: #555; }}
p.note {{ background: #f3f6fb; padding: 0.5rem 0.8rem; border-left: 3px solid #6b8fd6; }}
p.warning {{ background: #fdf5e6; padding: 0.5rem 0.8rem; border-left: 3px solid #d69a2d; }}
div.scroll {{ overflow-x: auto; }}
@page {{ size: A4 landscape; margin: 12mm; }}
@media print {{
  body {{ max-width: none; margin: 0; font-size: 9pt; }}
  table {{ font-size: 6.5pt; }} th, td {{ padding: 0.1rem 0.25rem; }}
  figure, table {{ break-inside: avoid; }} img {{ max-height: 16cm; }}
}}
</style></head>
<body><h1>{title}</h1>
{body}
</body></html>
"""
