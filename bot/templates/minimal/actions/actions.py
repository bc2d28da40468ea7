"""Custom actions: Python code the bot runs, written against rasa-sdk as for Rasa.

Carebot runs this package in its own process (or, with an action_endpoint in
endpoints.yml, calls an action server running it: `carebot run actions`).

An example, to uncomment: list "action_hello_world" under actions: in domain.yml and use
it in a story or rule.
"""

# from typing import Any
#
# from rasa_sdk import Action, Tracker
# from rasa_sdk.executor import CollectingDispatcher
#
#
# class ActionHelloWorld(Action):
#     def name(self) -> str:
#         return "action_hello_world"
#
#     def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
#             domain: dict[str, Any]) -> list[dict[str, Any]]:
#         dispatcher.utter_message(text="Hello World!")
#         return []
