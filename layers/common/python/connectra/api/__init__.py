"""The FastAPI application served by the API Lambda (Mangum) and by uvicorn locally."""
