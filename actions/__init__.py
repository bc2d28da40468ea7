"""The shop's custom actions (rasa-sdk), their data access and the product recommender.

`actions.actions` holds the Action classes, `actions.shop` the ShopRepository and the
use_shop / current_shop context the server sets around each action run, and
`actions.recommender` the Recommender with train_recommender / load_recommender.
"""
