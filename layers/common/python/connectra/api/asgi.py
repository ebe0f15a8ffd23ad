"""The ASGI application for uvicorn (local mode): the same app the Lambda serves."""

from connectra.api.app import create_app

app = create_app()
