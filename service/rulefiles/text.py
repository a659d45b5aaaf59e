"""Wording from rule files, made to read the same in every CDS client.

Rule files wrap long sentences over several YAML lines. CommonMark joins such lines into one
paragraph, but clients differ: the CDS Hooks sandbox renders card detail with
``react-markdown`` and ``softBreak="br"`` (cds-hooks/sandbox, src/components/CardList), so
every source line break becomes a visible one and a sentence breaks mid-line. Paragraphs are
therefore joined into single lines once, at load time; blocks whose lines carry structure
(tables, lists, headings, quotes) keep their lines, a list item wrapped onto indented lines
becoming one line.
"""

from __future__ import annotations

import re

_STRUCTURED = re.compile(r"^\s*(\||[-*+] |\d+[.)] |#|>)")


def reflow(markdown: str) -> str:
    """Each plain paragraph on one line; structured blocks untouched; a trailing newline kept
    only if there was one."""
    blocks = re.split(r"\n[ \t]*\n", markdown.strip("\n"))
    out = []
    for block in blocks:
        lines = block.split("\n")
        if any(_STRUCTURED.match(line) for line in lines):
            # A list item wrapped onto indented lines is one line too.
            kept: list[str] = []
            for line in lines:
                if kept and line.strip() and not _STRUCTURED.match(line) and line[:1].isspace():
                    kept[-1] = f"{kept[-1].rstrip()} {line.strip()}"
                else:
                    kept.append(line)
            out.append("\n".join(kept))
        else:
            out.append(" ".join(line.strip() for line in lines if line.strip()))
    text = "\n\n".join(out)
    return text + "\n" if markdown.endswith("\n") else text
