"""A local Pipedrive: API v2 persons, v1 users/personFields/recents/notes, admin routes.

`app.build_app(token, data)` is the entry point; `emulator/server.py` serves it over HTTPS.
"""
