"""`make report`: results/tables/REPORT.md as one self-contained REPORT.html (figures inline as data URIs, the
style in the page), which opens in a browser with no network. Markdown is rendered by Python-Markdown."""
from __future__ import annotations

import base64
import re
from pathlib import Path

STYLE = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}th,td{border:1px solid #ccc;padding:3px 6px}
th{background:#f3f3f3}img{max-width:100%;border:1px solid #eee}code{background:#f6f6f6;padding:0 3px}
hr{margin:3em 0}"""
# marks every image on load (data-loaded="yes"/"no"): a reader sees a broken one at once, the test reads the marks
CHECK = """<script>window.addEventListener('load',()=>{for(const i of document.images){
i.dataset.loaded=(i.complete&&i.naturalWidth>0)?'yes':'no'}document.body.dataset.images=document.images.length})
</script>"""


def inline_images(html: str, base: Path, figures: Path) -> str:
    """Every <img src="relative path"> of the report's own figures (a PNG or SVG in `figures`, <results>/figures/)
    replaced by a data URI of the file; any other source is left as it is, never read."""
    figures = figures.resolve()

    def repl(m):
        src = m.group(2)
        path = (base / src).resolve()
        if src.startswith("data:") or path.parent != figures or path.suffix not in (".png", ".svg") or \
                not path.is_file():
            return m.group(0)
        kind = {"png": "image/png", "svg": "image/svg+xml"}.get(path.suffix.lstrip("."), "application/octet-stream")
        return f'{m.group(1)}data:{kind};base64,{base64.b64encode(path.read_bytes()).decode()}{m.group(3)}'
    return re.sub(r'(<img[^>]*\bsrc=")([^"]+)(")', repl, html)


def render(markdown_path: Path, figures: Path) -> str:
    """The page. HTML written into the Markdown (a recipe's title or notes, say) is shown as text, never run: the
    report's own markup is Markdown only."""
    import html as html_mod

    import markdown
    text = Path(markdown_path).read_text(encoding="utf-8")
    md = markdown.Markdown(extensions=["tables", "fenced_code"])
    md.preprocessors.deregister("html_block")  # raw HTML blocks and inline tags are escaped like any other text
    md.inlinePatterns.deregister("html")
    body = md.convert(text)
    title = html_mod.escape(next((line[2:] for line in text.splitlines() if line.startswith("# ")), "Report"))
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>"
            f"<style>{STYLE}</style>{CHECK}</head><body>{inline_images(body, Path(markdown_path).parent, figures)}"
            "</body></html>\n")


def write(markdown_path: Path, figures: Path) -> Path:
    """REPORT.html beside REPORT.md, with the figures of `figures` inlined."""
    out = Path(markdown_path).with_suffix(".html")
    from ..base import guard
    guard.write_text(out, render(markdown_path, figures))
    return out
