"""`grader serve`: the course's submission website (issue #15).

A student logs in with a token, uploads a submission for an assignment, watches it go from
queued to grading to done and reads the same report as ``report.html``; staff see the class.

- ``settings``: every option of the service, declared once (command line and ``course.toml``);
- ``db`` and ``migrations/``: the tables (SQLAlchemy 2) and their Alembic migrations;
- ``accounts`` and ``security``: login tokens (stored hashed), the signed session cookie, CSRF;
- ``storage``: uploads streamed under a cap, stored content-addressed, checked by the intake;
- ``queue``: jobs in the database with leases (claim, heartbeat, complete exactly once);
- ``worker`` and ``supervisor``: worker processes grading with the batch engine's ``grade_job``;
- ``results``: the class from the database, as the batch's summary and gradebook read it;
- ``app``, ``student``, ``staff``: the ASGI application (FastAPI) and its pages (Jinja).
"""
