"""Patches to moto's DynamoDB internals that make a benchmark's fan-out fast on the emulator.

Written against moto 5.2.5 (``WRITTEN_AGAINST``). ``bench.delivery`` applies both for each scenario
(``--faithful-moto`` leaves moto alone), and ``bench.latency`` and ``bench.load`` apply them inside
the local stack's process. Neither changes what a benchmark counts: requests and request units are
counted by botocore hooks on the client side (``bench.counting`` and the delivery benchmark's unit
meter), and under both patches every request gets the same answer from moto as without them. They
change how long moto takes to give it.

``moto_transactions_undo_touched_items``
    moto's ``DynamoDBBackend.transact_write_items`` backs up each table the transaction names with
    ``copy.deepcopy`` of the whole table, once per item of the transaction, and puts the copies back
    when it cancels the transaction. Claiming 10,000 deliveries 25 at a time copies a table of 10,000
    items 10,000 times: minutes of the emulator's time, none of Vigil's. The patch swaps the ``copy``
    module that ``moto.dynamodb.models`` imported for a stand-in whose ``deepcopy`` hands a table back
    uncopied, and wraps ``transact_write_items`` to deep-copy instead each item the transaction names
    (at most 100) and put exactly those back when moto raises. A transaction writes only the items it
    names, so the table ends as moto's own rollback would leave it; the response, including
    ``TransactionCanceledException`` and its reasons, is still moto's.
    Touches: ``moto.dynamodb.models.copy`` (the module global), ``DynamoDBBackend.transact_write_items
    (self, transact_items)`` and its use of ``copy.deepcopy``, ``DynamoDBBackend.get_table(self,
    table_name)``, ``Table.get_item(self, hash_key, range_key)``, ``Table.delete_item(self, hash_key,
    range_key)``, the ``items``, ``hash_key_attr`` and ``range_key_attr`` a ``Table`` sets up, and
    ``moto.dynamodb.models.dynamo_type.DynamoType(type_as_dict)``.

``moto_dynamodb_reads_as_plain_json``
    moto serializes every response by walking botocore's output shapes value by value, which takes
    most of a fan-out's time (a Query of 10,000 index rows, 400 BatchGetItems). Its DynamoDB results
    are already in the JSON wire format, so for GetItem, BatchGetItem, Query and Scan the patch writes
    them with ``json.dumps`` (binary values base64, as the protocol wants); anything else, or a result
    ``json.dumps`` cannot write, goes to moto's serializer. botocore parses either body into the same
    response, so items read, bytes and read units come out the same. The first responses under 64 KiB
    are produced both ways and compared, so a moto whose output would differ stops the run instead of
    skewing it.
    Touches: ``moto.dynamodb.responses.DynamoResult`` with its ``result`` and its ``execute_result
    (self, context)`` (inherited from ``moto.core.responses.ActionResult``), and the
    ``operation_model`` of ``moto.core.responses.ActionContext``.

Each patch checks, when entered, that the internals it touches are there with the names and
parameters listed, and raises ``EmulatorPatchError`` naming the installed moto version and the
missing internal otherwise. On exit it puts back exactly what moto's modules and classes held.
``tests/integration/test_emulator_patches.py`` applies each against the installed moto.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import importlib
import inspect
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import moto

WRITTEN_AGAINST = "5.2.5"  # the moto release whose internals the patches are written for

PLAIN_JSON_READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan"})
PLAIN_JSON_COMPARED = 50  # responses produced both ways and compared, at the start of a patch
_PLAIN_JSON_COMPARED_BYTES = 64 * 1024  # compared on small responses: moto's serializer is the slow part

_TRANSACTIONS = "moto_transactions_undo_touched_items"
_READS = "moto_dynamodb_reads_as_plain_json"


class EmulatorPatchError(RuntimeError):
    """moto's internals are not the ones a patch is written against."""


@contextmanager
def faster_moto(*, transactions: bool, reads: bool) -> Iterator[None]:
    """The patches asked for, for the duration of the block."""
    with contextlib.ExitStack() as stack:
        if transactions:
            stack.enter_context(moto_transactions_undo_touched_items())
        if reads:
            stack.enter_context(moto_dynamodb_reads_as_plain_json())
        yield


# --- TransactWriteItems: put back the items a cancelled transaction named --------------------------


@contextmanager
def moto_transactions_undo_touched_items() -> Iterator[None]:
    """moto's TransactWriteItems without its whole-table copies: the same tables, the same answers."""
    models, dynamo_type = check_transaction_internals()
    original: Callable[..., Any] = models.DynamoDBBackend.transact_write_items
    real_copy = models.copy

    class NoTableCopies:
        """Stands in for the ``copy`` module inside moto's DynamoDB backend: tables are not copied."""

        def deepcopy(self, value: Any, memo: Any = None) -> Any:
            if isinstance(value, models.Table):
                return value
            return real_copy.deepcopy(value, memo)

        def __getattr__(self, name: str) -> Any:
            return getattr(real_copy, name)

    def keys_of(backend: Any, entry: Mapping[str, Any]) -> tuple[Any, Any, Any] | None:
        try:
            op_type, op = next(iter(entry.items()))
            table = backend.get_table(op["TableName"])
            source = op["Item"] if op_type == "Put" else op["Key"]
            hash_key = dynamo_type.DynamoType(source[table.hash_key_attr])
            range_key = dynamo_type.DynamoType(source[table.range_key_attr]) if table.range_key_attr else None
        except Exception:  # moto's own call below reports the malformed request
            return None
        return table, hash_key, range_key

    def transact_write_items(self: Any, transact_items: Any) -> Any:
        saved = []
        for entry in transact_items:
            found = keys_of(self, entry)
            if found is not None:
                table, hash_key, range_key = found
                before = table.get_item(hash_key, range_key)
                saved.append((table, hash_key, range_key, real_copy.deepcopy(before)))
        try:
            return original(self, transact_items)
        except Exception:
            for table, hash_key, range_key, before in reversed(saved):
                if before is None:
                    if table.get_item(hash_key, range_key) is not None:
                        table.delete_item(hash_key, range_key)
                elif range_key is not None:
                    table.items[hash_key][range_key] = before
                else:
                    table.items[hash_key] = before
            raise

    with (
        _replaced(models, "copy", NoTableCopies()),
        _replaced(models.DynamoDBBackend, "transact_write_items", transact_write_items),
    ):
        yield


def check_transaction_internals() -> tuple[Any, Any]:
    """``moto.dynamodb.models`` and its ``dynamo_type`` module, once checked to be what
    ``moto_transactions_undo_touched_items`` is written against."""
    models = _module(_TRANSACTIONS, "moto.dynamodb.models")
    dynamo_type = _module(_TRANSACTIONS, "moto.dynamodb.models.dynamo_type")
    if _internal(_TRANSACTIONS, models, "copy") is not copy:
        raise _changed(_TRANSACTIONS, "moto.dynamodb.models.copy", "is not the standard copy module")
    transact = _function(
        _TRANSACTIONS, models, "DynamoDBBackend.transact_write_items", ["self", "transact_items"], exact=True
    )
    _refers_to(_TRANSACTIONS, transact, "DynamoDBBackend.transact_write_items", ["copy", "deepcopy"])
    _function(_TRANSACTIONS, models, "DynamoDBBackend.get_table", ["self", "table_name"])
    _function(_TRANSACTIONS, models, "Table.get_item", ["self", "hash_key", "range_key"])
    _function(_TRANSACTIONS, models, "Table.delete_item", ["self", "hash_key", "range_key"])
    table_init = _internal(_TRANSACTIONS, models, "Table.__init__")
    _refers_to(_TRANSACTIONS, table_init, "Table.__init__", ["items", "hash_key_attr", "range_key_attr"])
    _function(_TRANSACTIONS, dynamo_type, "DynamoType.__init__", ["self", "type_as_dict"])
    return models, dynamo_type


# --- reads: the JSON moto already holds, written with json.dumps -----------------------------------


@contextmanager
def moto_dynamodb_reads_as_plain_json(*, compared: int = PLAIN_JSON_COMPARED) -> Iterator[None]:
    """moto's DynamoDB read responses written with ``json.dumps``; the first ``compared`` small
    ones are also serialized by moto and must match."""
    responses = check_read_internals()
    original: Callable[..., Any] = responses.DynamoResult.execute_result
    checked = 0

    def execute_result(self: Any, context: Any) -> Any:
        nonlocal checked
        if str(context.operation_model.name) not in PLAIN_JSON_READS:
            return original(self, context)
        try:
            body = json.dumps(self.result, default=_json_default)
        except TypeError:
            return original(self, context)
        if checked < compared and len(body) < _PLAIN_JSON_COMPARED_BYTES:
            checked += 1
            status, headers, reference = original(self, context)
            if json.loads(reference) != json.loads(body):
                raise EmulatorPatchError(
                    f"{_READS}: moto {moto.__version__}'s {context.operation_model.name} response differs "
                    f"from plain JSON (the patch is written against moto {WRITTEN_AGAINST})"
                )
            return status, headers, body
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, body

    with _replaced(responses.DynamoResult, "execute_result", execute_result):
        yield


def check_read_internals() -> Any:
    """``moto.dynamodb.responses``, once checked to be what ``moto_dynamodb_reads_as_plain_json``
    is written against."""
    responses = _module(_READS, "moto.dynamodb.responses")
    core = _module(_READS, "moto.core.responses")
    _function(_READS, responses, "DynamoResult.execute_result", ["self", "context"], exact=True)
    if not isinstance(_internal(_READS, responses, "DynamoResult.result"), property):
        raise _changed(_READS, "moto.dynamodb.responses.DynamoResult.result", "is not a property")
    context_fields = getattr(_internal(_READS, core, "ActionContext"), "__dataclass_fields__", {})
    if "operation_model" not in context_fields:
        raise _changed(_READS, "moto.core.responses.ActionContext.operation_model", "does not exist")
    return responses


def _json_default(value: object) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not JSON")


# --- checking and replacing moto's internals ------------------------------------------------------


@contextmanager
def _replaced(owner: Any, name: str, replacement: object) -> Iterator[None]:
    """``owner.name`` is ``replacement`` inside the block; afterwards ``owner`` holds exactly what it
    held before (nothing of its own, when it inherited the attribute)."""
    own = vars(owner)
    had, before = name in own, own.get(name)
    setattr(owner, name, replacement)
    try:
        yield
    finally:
        if had:
            setattr(owner, name, before)
        else:
            delattr(owner, name)


def _changed(patch: str, internal: str, how: str) -> EmulatorPatchError:
    return EmulatorPatchError(
        f"{patch}: in moto {moto.__version__}, {internal} {how}; the patch is written against moto "
        f"{WRITTEN_AGAINST}. Run the benchmark on moto unpatched (--faithful-moto; bench.latency without "
        "--fast-moto) or update bench/emulator_patches.py for this moto."
    )


def _module(patch: str, name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        raise _changed(patch, name, "does not exist") from None


def _internal(patch: str, module: Any, dotted: str) -> Any:
    """``module.<dotted>`` (``"Class.attribute"``), or the error naming what is missing."""
    value = module
    for name in dotted.split("."):
        try:
            value = getattr(value, name)
        except AttributeError:
            raise _changed(patch, f"{module.__name__}.{dotted}", "does not exist") from None
    return value


def _function(
    patch: str, module: Any, dotted: str, parameters: Sequence[str], *, exact: bool = False
) -> Callable[..., Any]:
    """A function of moto's whose parameters begin with ``parameters`` (the rest optional), or are
    exactly those when the patch replaces it with a function of that signature."""
    where = f"{module.__name__}.{dotted}"
    function: Callable[..., Any] = _internal(patch, module, dotted)
    try:
        found = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        raise _changed(patch, where, "is not a function") from None
    names = [p.name for p in found]
    extra = found[len(parameters) :]
    required = [p for p in extra if p.default is p.empty and p.kind not in {p.VAR_POSITIONAL, p.VAR_KEYWORD}]
    if names[: len(parameters)] != list(parameters) or (extra if exact else required):
        expected = ", ".join(parameters) + ("" if exact else ", ...")
        raise _changed(patch, where, f"takes ({', '.join(names)}) where the patch expects ({expected})")
    return function


def _refers_to(patch: str, function: Callable[..., Any], where: str, names: Sequence[str]) -> None:
    """The global and attribute names a function's code uses: how a patch knows what moto's code
    reaches for (the ``copy`` module it imported, the attributes a table sets up)."""
    used = set(getattr(getattr(function, "__code__", None), "co_names", ()))
    missing = [name for name in names if name not in used]
    if missing:
        raise _changed(patch, where, f"no longer uses {', '.join(missing)}")
