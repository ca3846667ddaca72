"""Prints `eval/corpora/zhwiki` as PDFs, to measure what a person's PDFs get against the same articles as text.

    python eval/corpora/zhwiki_pdf.py OUT_DIR            # one A4 PDF per article
    python eval/corpora/zhwiki_pdf.py OUT_DIR --book 10  # ten articles per PDF, with a running header and page footer
    rag ingest OUT_DIR --index IDX && rag eval answers --dataset eval/data/zhwiki_tune.jsonl --index IDX

Chromium lays the articles out (title as a heading, 11–12 pt WenQuanYi Micro Hei, A4, 2.5 cm margins), so the PDFs
wrap lines mid-sentence and, as books, break paragraphs across pages, as a real document does. Needs Playwright and
Debian's `chromium` with `fonts-wqy-microhei` (the browser test's set-up, `.ci/run`).
"""
from __future__ import annotations

import argparse
import html
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "zhwiki"
FONT = "font-family:'WenQuanYi Micro Hei'"
HEADER = f"<div style=\"font-size:9px;width:100%;text-align:center;{FONT}\">维基百科条目选编（CC BY-SA 4.0）</div>"
FOOTER = (f"<div style=\"font-size:9px;width:100%;text-align:center;{FONT}\">第 <span class='pageNumber'></span> 页，"
          "共 <span class='totalPages'></span> 页</div>")
MARGINS = {side: "2.5cm" for side in ("top", "bottom", "left", "right")}


def article_html(path: Path) -> str:
    """One article (title line, paragraphs) as HTML: the title a heading, each paragraph a <p>."""
    title, *body = path.read_text(encoding="utf-8").split("\n")
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in body if line.strip())
    return f"<h2>{html.escape(title)}</h2>{paragraphs}"


def page_html(articles: list[str], points: int) -> str:
    style = f"body{{{FONT};font-size:{points}pt;line-height:1.5}}"
    return f"<html><head><meta charset='utf-8'><style>{style}</style></head><body>{''.join(articles)}</body></html>"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--book", type=int, default=0, help="articles per PDF (with header and footer); 0: one each")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    files = sorted(CORPUS.glob("*.txt"))
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium)
        page = browser.new_page()
        if args.book:
            for number, first in enumerate(range(0, len(files), args.book)):
                page.set_content(page_html([article_html(f) for f in files[first:first + args.book]], 11))
                page.pdf(path=str(args.out / f"book{number}.pdf"), format="A4", margin=MARGINS,
                         display_header_footer=True, header_template=HEADER, footer_template=FOOTER)
        else:
            for path in files:
                page.set_content(page_html([article_html(path)], 12))
                page.pdf(path=str(args.out / f"{path.stem}.pdf"), format="A4", margin=MARGINS)
        browser.close()
    print(f"wrote {len(list(args.out.glob('*.pdf')))} PDFs to {args.out}")


if __name__ == "__main__":
    main()
