"""Many targets: configured and discovered (organizations), the Celery executor, the scheduler and its webhooks."""
