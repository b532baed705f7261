"""One way for an API endpoint to answer a service's refusal (`ServiceError`).

    with refusal_as(400, ErrorOut, field=True, conflict=409):
        hh = services.household_update(...)

A `ServiceError` raised inside the block leaves it as `Refusal(status, body)`, which the handler that
fupin/api/api.py registers answers as JSON. The body is `{"detail": message}`, plus `"field": exc.field` with
`field=True`; given the endpoint's declared error schema, the body is shaped by it as a returned `Status` would be
(its defaults filled in, e.g. `"field": null`). A `ConflictError` answers `conflict` when given, otherwise `status`.
Any other exception passes through untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import BaseModel

from fupin.core.errors import ConflictError, ServiceError


class Refusal(Exception):
    """A service's refusal on its way to the client: the HTTP status and the JSON body to answer with."""

    def __init__(self, status: int, body: dict):
        super().__init__(body.get("detail", ""))
        self.status = status
        self.body = body


@contextmanager
def refusal_as(status: int, schema: type[BaseModel] | None = None, *, field: bool = False,
               conflict: int | None = None) -> Iterator[None]:
    """Turn a `ServiceError` raised in the block into `Refusal` (see the module's description)."""
    try:
        yield
    except ServiceError as exc:
        body = {"detail": exc.message}
        if field:
            body["field"] = exc.field
        if schema is not None:
            body = schema.model_validate(body).model_dump()
        answer = conflict if conflict is not None and isinstance(exc, ConflictError) else status
        raise Refusal(answer, body) from exc
