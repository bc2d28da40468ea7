from nlp.pii import luhn_valid, redact


def kinds(text, spacy_nlp):
    return [s.kind for s in redact(text, spacy_nlp(text))[1]]


def test_email_is_redacted(spacy_nlp):
    text = "my email is jane.doe@example.com"
    assert redact(text, spacy_nlp(text))[0] == "my email is [EMAIL]"


def test_luhn_valid_card_number_is_redacted(spacy_nlp):
    text = "card 4111 1111 1111 1111 was declined"
    assert redact(text, spacy_nlp(text))[0] == "card [CARD] was declined"


def test_digits_failing_luhn_are_not_treated_as_a_card(spacy_nlp):
    text = "reference 4111 1111 1111 1112 please"
    assert "CARD" not in kinds(text, spacy_nlp)


def test_dashed_card_number_is_redacted(spacy_nlp):
    assert kinds("use 5500-0000-0000-0004", spacy_nlp) == ["CARD"]


def test_phone_numbers_are_redacted(spacy_nlp):
    assert kinds("call +1 (555) 123-4567 or 07700 900123", spacy_nlp) == ["PHONE", "PHONE"]


def test_street_address_is_redacted(spacy_nlp):
    text = "ship it to 42 Elm Street instead"
    assert redact(text, spacy_nlp(text))[0] == "ship it to [ADDRESS] instead"


def test_person_name_is_redacted(spacy_nlp):
    text = "Hi, my name is John Smith"
    redacted, spans = redact(text, spacy_nlp(text))
    assert "John Smith" not in redacted
    assert "PERSON" in [s.kind for s in spans]


def test_order_numbers_and_amounts_are_not_pii(spacy_nlp):
    text = "order A10023 cost $25 and has 3 items on the way"
    assert redact(text, spacy_nlp(text)) == (text, [])


def test_spans_point_into_the_original_text(spacy_nlp):
    text = "email a@b.co, card 4111111111111111"
    spans = redact(text, spacy_nlp(text))[1]
    assert [text[s.start : s.end] for s in spans] == ["a@b.co", "4111111111111111"]


def test_luhn_checksum():
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")


def test_lower_case_name_after_my_name_is_is_redacted():
    assert redact("hi, my name is john smith", doc=None)[0] == "hi, my name is [PERSON]"


def test_words_after_my_name_is_that_are_not_names_stay():
    assert redact("my name is on the order", doc=None)[1] == []


def test_messages_without_capitalised_words_skip_the_ner():
    from nlp.pii import may_name_someone

    assert not may_name_someone("where is my order A10023?")
    assert may_name_someone("this is Maria Garcia")
