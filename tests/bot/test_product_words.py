"""The product words of a request pick the catalogue's matching products."""

from actions.product_words import matching

NAMES = ["Leather Boots", "Running Shoes", "Noise-Cancelling Headphones", "Loafers"]


def test_a_product_type_in_the_request_finds_that_product():
    assert matching("can you recommend good headphones?", NAMES) == [2]


def test_the_product_sharing_most_words_wins():
    assert matching("running shoes please", NAMES) == [1]


def test_a_request_without_product_words_matches_nothing():
    assert matching("recommend something good", NAMES) == []
