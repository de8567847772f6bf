"""The browser lab: a local web app (FastAPI) over the library's initialization,
regularization and landscape tools and the run store.

Start it with ``weightlab lab``; :func:`weightlab.lab.app.create_app` builds the app for
any ASGI server.  docs/lab.md describes the sections, the JSON API and the limits.
"""
