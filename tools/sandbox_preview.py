"""Cards as the CDS Hooks sandbox shows them, to read them as a prescriber would.

The sandbox itself (cds-hooks/sandbox) cannot run here (no internet beyond package
registries), so this page copies what its card list does (src/components/CardList/
card-list.jsx): cards sorted most severe first; the summary in bold, coloured by indicator;
"Source:" and the source label; the detail through react-markdown with soft line breaks
shown as breaks (here markdown-it, CommonMark with tables and ``breaks``); suggestions as
emphasised buttons and links as plain buttons.

    .venv/bin/python tools/sandbox_preview.py > var/sandbox-preview.html
    chromium --headless --no-sandbox --screenshot=var/sandbox-preview.png \
        --window-size=900,3000 file://$PWD/var/sandbox-preview.html
"""

from __future__ import annotations

import html
import json
import sys
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.cds_hooks.services import SERVICE_FOR_HOOK  # noqa: E402
from service.main import create_app  # noqa: E402
from tests.scenarios.builder import hook_request  # noqa: E402

SANDBOX_MARKDOWN = MarkdownIt("commonmark", {"breaks": True}).enable("table")
COLOURS = {"info": "#0079be", "warning": "#ffae42", "critical": "#c00"}
ORDER = {"critical": 0, "warning": 1, "info": 2}

#: The prescriptions of issue 11 and the second wave, as vignettes (tests/scenarios format).
VIGNETTES: list[dict[str, Any]] = [
    {
        "name": "oxycodone 10mg QDS for a man on MR morphine 60mg BD and pregabalin (issue 11)",
        "hook": "order-sign",
        "current": [
            {"product": "Morphine 60mg modified-release tablets", "sig": "one twice a day"},
            {"product": "Pregabalin 75mg capsules", "sig": "one twice a day"},
        ],
        "proposed": [{"product": "Oxycodone 5mg capsules", "sig": "two four times a day"}],
    },
    {
        "name": "diazepam for a man on MR morphine 60mg BD and pregabalin (critical)",
        "hook": "order-sign",
        "current": [
            {"product": "Morphine 60mg modified-release tablets", "sig": "one twice a day"},
            {"product": "Pregabalin 75mg capsules", "sig": "one twice a day"},
        ],
        "proposed": [{"product": "Diazepam 5mg tablets", "sig": "one three times a day"}],
    },
    {
        "name": "morphine MR 60mg BD started for a woman on no opioid (a new start)",
        "hook": "order-sign",
        "sex": "female",
        "proposed": [
            {"product": "Morphine 60mg modified-release tablets", "sig": "one twice a day"}
        ],
    },
]


def card_html(card: dict[str, Any]) -> str:
    colour = COLOURS.get(card["indicator"], "#333")
    parts = [
        f'<div class="card alert-{card["indicator"]}">',
        f'<div class="summary" style="color:{colour}">{html.escape(card["summary"])}</div>',
    ]
    if card.get("source", {}).get("label"):
        parts.append(
            f'<div class="source">Source: <a>{html.escape(card["source"]["label"])}</a></div>'
        )
    if card.get("detail"):
        parts.append(SANDBOX_MARKDOWN.render(card["detail"]))
    buttons = [
        f'<button class="emph">{html.escape(s["label"])}</button>'
        for s in card.get("suggestions", [])
    ]
    links = [f"<button>{html.escape(link['label'])}</button>" for link in card.get("links", [])]
    parts += [
        f'<div class="row">{"".join(buttons)}</div>',
        f'<div class="row">{"".join(links)}</div>',
    ]
    return "\n".join(parts) + "</div>"


def main() -> None:
    app = create_app()
    client = TestClient(app)
    dictionary = app.state.pipeline.dictionary
    examples = json.loads((ROOT / "openapi/examples/hook-requests.json").read_text("utf-8"))
    requests = [(name, e.get("value", e)) for name, e in examples.items()]
    requests += [(v["name"], hook_request(v, dictionary)[1]) for v in VIGNETTES]
    sections = []
    for name, body in requests:
        service = SERVICE_FOR_HOOK.get(body["hook"], "opioid-safety-sign")
        response = client.post(f"/cds-services/{service}", json=body)
        cards = sorted(response.json().get("cards", []), key=lambda c: ORDER[c["indicator"]])
        shown = "\n".join(card_html(c) for c in cards) or "<div>No Cards</div>"
        sections.append(f"<h2>{html.escape(name)}</h2>\n{shown}")
    print(PAGE.replace("{body}", "\n".join(sections)))


PAGE = """<!doctype html><html><head><meta charset="utf-8">
<title>Cards as the sandbox shows them</title>
<style>
body{font-family:Helvetica,Arial,sans-serif;max-width:820px;margin:16px auto;font-size:14px}
h2{font-size:13px;color:#555;margin-top:28px}
.card{border:1px solid #ddd;border-left:6px solid #ccc;padding:10px 14px;margin:8px 0}
.alert-info{border-left-color:#0079be}.alert-warning{border-left-color:#ffae42}
.alert-critical{border-left-color:#c00}
.summary{font-size:18px;font-weight:700}.source{color:#666;margin:4px 0}
table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #ddd;padding:3px 6px;text-align:left}
button{margin:6px 6px 0 0;padding:6px 10px;border:1px solid #aaa;background:#f4f4f4}
button.emph{background:#007cc3;color:#fff;border-color:#007cc3}
</style></head><body><h1>Cards as the CDS Hooks sandbox shows them</h1>{body}</body></html>"""


if __name__ == "__main__":
    main()
