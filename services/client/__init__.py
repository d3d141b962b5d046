"""A typed client of Signifier's HTTP API, for the CLI, the Celery workers and (later) library users.

It speaks the wire only: it imports nothing of the server but the domain errors, so it can ship alone.
"""
