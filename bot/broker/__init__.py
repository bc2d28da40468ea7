"""Rasa-shaped deployment: endpoints.yml's ``tracker_store`` and ``lock_store`` mapped onto
Carebot's database and Redis settings, and its ``event_broker`` (RabbitMQ, type pika) fed
every tracker event in Rasa's event-broker format (docs/deployment.md)."""
