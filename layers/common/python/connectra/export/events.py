"""The export function's input: `{job_id}` from the export state machine (or a direct
asynchronous invocation). Step Functions may pass more keys along; they are ignored."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict


class ExportJobEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    job_id: uuid.UUID
