"""The integration gateway (`qbo serve`): a FastAPI app over the integration store."""
