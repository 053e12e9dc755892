"""HTML to PDF with WeasyPrint (needs the system's Pango library: ``make system-deps``)."""

from __future__ import annotations

from cpstem.errors import CpstemError


class PdfUnavailable(CpstemError):
    """WeasyPrint or the Pango library it needs is not installed."""


def html_to_pdf(html: str) -> bytes:
    """The PDF of a self-contained HTML page (images as data URIs, CSS inline)."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: Pango is missing
        raise PdfUnavailable(
            f"PDF output needs WeasyPrint and Pango ({exc}); install them with `make system-deps`",
            code="pdf_unavailable",
        ) from exc
    pdf = HTML(string=html).write_pdf()
    assert pdf is not None  # write_pdf() without a target returns the bytes
    return bytes(pdf)
