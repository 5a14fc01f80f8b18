"""Render the held-out clean-stage test documents tests/data/heldout/<stem>.txt into <stem>.pdf.

    python tests/data/heldout/render.py

Same renderer as the sample (scripts/render_sample.py: 300 dpi drawing, skew, noise, blur, JPEG, image
only; stored at 150 dpi instead of 200), but a layout the sample's cleaner was never tuned on: other fonts and sizes, a two-line
running header (institution + document number), other footers ("- 2 -"; an address line over "2/3"),
left-aligned text, en-dash incisos and "Art. 1°" typed with a degree sign. The .txt files are the ground
truth (data/sample/README.md convention: ASCII "I - " incisos, "º" ordinals); the substitutions below turn
them into what the page shows.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location(
    "render_sample", HERE.parents[2] / "scripts" / "render_sample.py"
)
render_sample = importlib.util.module_from_spec(_spec)
sys.modules["render_sample"] = render_sample
_spec.loader.exec_module(render_sample)

SCAN_FONT_DIR = render_sample.SCAN_FONT_DIR
ScanStyle = render_sample.ScanStyle
render_scanned = render_sample.render_scanned

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
STYLES = {
    # Sans 10.5 pt, ragged right, no first-line indent; "- 2 -" footer; "Art. 1°", "§ 1°".
    "portaria_monitoria_ifsa": (
        ScanStyle(
            regular=DEJAVU / "DejaVuSans.ttf",
            bold=DEJAVU / "DejaVuSans-Bold.ttf",
            font_pt=10.5,
            header=(
                "INSTITUTO FEDERAL DE SERRA AZUL",
                "Portaria Normativa nº 17/2025 – Gabinete da Reitoria",
            ),
            footer="- {n} -",
            justify=False,
            indent=0.0,
            store_dpi=150,  # an office scanner's usual setting; keeps 3 pages of dense sans text < 400 KB
        ),
        True,
    ),
    # Century Schoolbook 11 pt, justified; a two-line footer: the address, then "2/3".
    "edital_feira_pedra_branca": (
        ScanStyle(
            regular=SCAN_FONT_DIR / "C059-Roman.otf",
            bold=SCAN_FONT_DIR / "C059-Bold.otf",
            font_pt=11.0,
            header=("CÂMARA MUNICIPAL DE PEDRA BRANCA DO SUL", "Edital de Chamamento Público nº 4/2025"),
            footer="Praça da Matriz, 120 – Centro – CEP 98.450-000 – Pedra Branca do Sul\n{n}/{m}",
            indent=28.0,
            store_dpi=150,
        ),
        False,
    ),
}
_INCISO_RE = re.compile(r"^([IVXLC]+) - ", re.MULTILINE)
_ORDINAL_RE = re.compile(r"^((?:Art\.|§) \d)º", re.MULTILINE)


def page_text(text: str, degree_sign: bool) -> str:
    """The ground truth as printed: en-dash incisos; with `degree_sign`, "Art. 1°" / "§ 1°" for "º"."""
    text = _INCISO_RE.sub(r"\1 – ", text)
    return _ORDINAL_RE.sub(r"\1°", text) if degree_sign else text


def main() -> None:
    for stem, (style, degree_sign) in STYLES.items():
        text = (HERE / f"{stem}.txt").read_text(encoding="utf-8")
        data = render_scanned(stem, page_text(text, degree_sign), style)
        (HERE / f"{stem}.pdf").write_bytes(data)
        print(f"{stem}.pdf: {len(data) / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
