"""Schemathesis hooks for the conformance level (loaded by the fuzzer's process through
``SCHEMATHESIS_HOOKS=tests.fuzz.hooks``).

One request is altered, never dropped: ``DELETE /keys/{key_id}`` naming the key the fuzzer calls with
is sent for ``STAND_IN_KEY_ID`` instead (a key that does not exist: a 404, checked like any answer).
The fuzzer learns that id from ``GET /keys`` (the stateful phase's inferred links, and values it
reuses from earlier answers); once it makes another admin key the service lets it revoke its own
(only the last active admin key is kept), and every later request would be a 401.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis

# The id of the admin key the fuzzer calls with (its environment says which).
FUZZER_KEY_ID = os.environ.get("VIGIL_FUZZ_KEY_ID", "")
STAND_IN_KEY_ID = "fuzzer-own-key-kept"


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    operation = case.operation
    if (operation.method.upper(), operation.path) != ("DELETE", "/keys/{key_id}"):
        return
    if FUZZER_KEY_ID and (case.path_parameters or {}).get("key_id") == FUZZER_KEY_ID:
        case.path_parameters["key_id"] = STAND_IN_KEY_ID


# POST /inbound/email takes the message's bytes as message/rfc822 (or text/plain, or octet-stream):
# sent as they are, like application/octet-stream.
schemathesis.serializer.alias("message/rfc822", "application/octet-stream")
