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


def inline_images(html: str, base: Path) -> str:
    """Every <img src="relative path"> replaced by a data URI of the file (a missing file is left as it is)."""
    def repl(m):
        src = m.group(2)
        path = (base / src).resolve()
        if src.startswith("data:") or not path.is_file():
            return m.group(0)
        kind = {"png": "image/png", "svg": "image/svg+xml"}.get(path.suffix.lstrip("."), "application/octet-stream")
        return f'{m.group(1)}data:{kind};base64,{base64.b64encode(path.read_bytes()).decode()}{m.group(3)}'
    return re.sub(r'(<img[^>]*\bsrc=")([^"]+)(")', repl, html)


def render(markdown_path: Path) -> str:
    import markdown
    text = Path(markdown_path).read_text(encoding="utf-8")
    body = markdown.markdown(text, extensions=["tables", "fenced_code"])
    title = next((line[2:] for line in text.splitlines() if line.startswith("# ")), "Report")
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>"
            f"<style>{STYLE}</style>{CHECK}</head><body>{inline_images(body, Path(markdown_path).parent)}</body></html>\n")


def write(markdown_path: Path) -> Path:
    out = Path(markdown_path).with_suffix(".html")
    from .. import guard
    guard.write_text(out, render(markdown_path))
    return out
