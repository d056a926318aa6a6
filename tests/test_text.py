"""Captions are shortened for listening and split for early first sound."""

from looksay import text

PROSE = ("**A detailed photograph** of a tabby cat sitting on a wooden floor. The cat has "
         "green eyes, e.g. bright ones, and looks at the camera. Soft window light falls "
         "from the left. The background is a blurred beige wall. Style: natural, 35mm.")


def test_clean_removes_markup_and_preambles():
    raw = "Sure! Here is a detailed description of the image:\n\n- **A cat** on a *mat*."
    assert text.clean(raw) == "A cat on a mat."


def test_sentences_keep_abbreviations_together():
    said = text.sentences(PROSE)
    assert said[1] == ("The cat has green eyes, e.g. bright ones, and looks at the camera.")
    assert len(said) == 5


def test_shorten_keeps_the_first_sentences():
    out = text.for_listening(PROSE, max_sentences=2, max_chars=1000)
    assert out.startswith("A detailed photograph of a tabby cat")
    assert out.endswith("looks at the camera.")
    assert "window light" not in out


def test_shorten_cuts_at_a_word_within_the_limit():
    out = text.shorten("word " * 100, max_sentences=0, max_chars=60)
    assert len(out) <= 61
    assert out.endswith("word.")
    assert "  " not in out


def test_shorten_prefers_a_sentence_end():
    out = text.shorten(PROSE.replace("**", ""), max_sentences=0, max_chars=120)
    assert out == "A detailed photograph of a tabby cat sitting on a wooden floor."


def test_chunks_first_is_one_sentence_and_all_within_limit():
    pieces = text.chunks(text.clean(PROSE), max_chars=120)
    assert pieces[0] == "A detailed photograph of a tabby cat sitting on a wooden floor."
    assert all(len(p) <= 120 for p in pieces)
    assert " ".join(pieces) == text.clean(PROSE)


def test_a_sentence_longer_than_the_limit_is_split_at_pauses():
    long = "Red, " * 30 + "and blue."
    pieces = text.chunks(long, max_chars=50)
    assert all(len(p) <= 50 for p in pieces)
    assert " ".join(pieces).split() == long.split()


def test_html_tags_and_quote_marks_are_removed_but_comparisons_stay():
    assert text.clean("<b>Hot</b> coffee.\n> quoted") == "Hot coffee. quoted"
    assert text.clean("A sign says 3 > 2.") == "A sign says 3 > 2."
