"""Where a streamed answer is cut into sentences for engines that take whole messages.

A cut in the wrong place is audible: a number read as two sentences ("three. five"), or a
Chinese answer that never starts because it has no spaces.
"""

from __future__ import annotations

from custom_components.zego_digital_human.speech.streamed import (
    MAX_SENTENCE_CHARS,
    split_sentences,
)


def test_sentences_end_at_a_mark_followed_by_space() -> None:
    """Complete sentences come out stripped; the unfinished rest waits for more text."""
    assert split_sentences("Hello there. It is 3.5 degrees! Take a") == (
        ["Hello there.", "It is 3.5 degrees!"],
        " Take a",
    )
    # A mark at the very end may be a decimal point still being written.
    assert split_sentences("It costs 3.") == ([], "It costs 3.")


def test_full_width_marks_and_line_breaks_end_a_sentence() -> None:
    """Chinese has no spaces after its full stops; a list item ends at its line break."""
    assert split_sentences("你好。今天下雨") == (["你好。"], "今天下雨")
    assert split_sentences("- milk\n- eggs") == (["- milk"], "- eggs")


def test_a_run_on_answer_is_cut_at_a_space() -> None:
    """Text without any end mark still reaches the engine before the agent is done."""
    words = "word " * (MAX_SENTENCE_CHARS // 2)
    sentences, rest = split_sentences(words)
    assert sentences
    assert all(len(sentence) <= MAX_SENTENCE_CHARS for sentence in sentences)
    assert " ".join([*sentences, rest.strip()]).split() == words.split()
