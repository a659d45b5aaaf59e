"""Rule wording reads the same in clients that show soft line breaks (the sandbox)."""

from __future__ import annotations

from service.rulefiles import reflow


def test_a_wrapped_paragraph_becomes_one_line() -> None:
    text = "With this prescription the patient's opioids add up to\n**120 mg** a day.\n"
    assert (
        reflow(text) == "With this prescription the patient's opioids add up to **120 mg** a day.\n"
    )


def test_paragraphs_stay_apart_and_tables_and_lists_keep_their_lines() -> None:
    text = (
        "First paragraph,\nwrapped.\n\n| A | B |\n|---|---|\n| 1 | 2 |\n\n"
        "**Also:**\n- one\n- two\n\nLast\nparagraph."
    )
    assert reflow(text) == (
        "First paragraph, wrapped.\n\n| A | B |\n|---|---|\n| 1 | 2 |\n\n"
        "**Also:**\n- one\n- two\n\nLast paragraph."
    )


def test_a_list_item_wrapped_onto_indented_lines_becomes_one_line() -> None:
    text = "Offer:\n- Agree a plan to reduce by\n  10% every 2 weeks;\n- Review in 4 weeks."
    assert (
        reflow(text)
        == "Offer:\n- Agree a plan to reduce by 10% every 2 weeks;\n- Review in 4 weeks."
    )
