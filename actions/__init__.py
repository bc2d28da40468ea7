"""The demo shop's custom actions (rasa-sdk), as a Rasa project's own `actions` package.

`actions.actions` holds the Action classes, `actions.replies` their wording and
`actions.settings` where they find the shop (the environment, or `configure` in tests).
The data access and the recommender are Carebot's: analytics/store/shop.py and
analytics/insights/recommender.py.
"""
