"""The local stack's kept state: the snapshot file's format, its data directory, and the keeper."""

from __future__ import annotations

import io
import json
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from vigil_local import datadir, persistence, snapshot, stack
from vigil_local.emulator import action_of
from vigil_local.persistence import StateKeeper
from vigil_local.pump import IDLE_SECONDS, QueueBinding, QueuePump
from vigil_local.snapshot import FORMAT, MAGIC, SnapshotUnusable
from vigil_local.state_lock import StateLock

SAVED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Queue:
    """Holds what moto's SQS queue holds that pickle cannot: a Condition (on an RLock) and a Lock."""

    def __init__(self) -> None:
        self.messages = ["m1", "m2"]
        self.ready = threading.Condition()
        self.guard = threading.Lock()
        self.owner = threading.RLock()


def file_bytes(state: object) -> bytes:
    return snapshot.encode(snapshot.dumps(state), saved_at=SAVED_AT)


def restamped(data: bytes, **changes: Any) -> bytes:
    """The same file with some of its stamp's fields changed."""
    stamp, payload = snapshot.read_stamp(data)
    return MAGIC + json.dumps({**asdict(stamp), **changes}).encode() + b"\n" + payload


# ------------------------------------------------------------------ the file format


def test_a_state_with_locks_comes_back_with_new_unheld_locks() -> None:
    queue = Queue()
    with queue.ready, queue.guard:  # held while saved: the copies are not
        restored = snapshot.decode(file_bytes({"queue": queue, "same": queue}))

    assert isinstance(restored, dict)
    copy = restored["queue"]
    assert copy.messages == ["m1", "m2"]
    assert restored["same"] is copy  # shared objects stay shared
    assert copy.guard.acquire(blocking=False)
    assert copy.ready.acquire(blocking=False)
    assert copy.owner.acquire(blocking=False)
    with copy.ready:
        copy.ready.notify_all()


def test_the_pickler_registers_nothing_process_wide() -> None:
    import copyreg  # noqa: PLC0415  # only this test looks at it

    before = dict(copyreg.dispatch_table)
    snapshot.dumps(Queue())
    assert dict(copyreg.dispatch_table) == before


def test_the_file_starts_with_a_stamp_of_what_wrote_it() -> None:
    data = file_bytes({"a": 1})

    assert data.startswith(MAGIC)
    stamp, payload = snapshot.read_stamp(data)
    moto_version, python_version = snapshot.running_versions()
    assert (stamp.format, stamp.moto, stamp.python) == (FORMAT, moto_version, python_version)
    assert stamp.saved_at == "2026-03-01T12:00:00+00:00"
    assert stamp.size == len(payload)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"format": FORMAT + 1}, f"it is in format {FORMAT + 1}; this version reads format {FORMAT}"),
        ({"moto": "0.0.1"}, "it was written with moto 0.0.1"),
        ({"python": "2.7"}, "it was written by Python 2.7"),
        ({"sha256": "0" * 64}, "its contents do not match its checksum"),
    ],
)
def test_a_file_from_another_version_or_changed_is_refused_before_unpickling(
    changes: dict[str, Any], reason: str
) -> None:
    data = restamped(file_bytes({"a": 1}), **changes)

    with pytest.raises(SnapshotUnusable) as refused:
        snapshot.decode(data)
    assert reason in refused.value.reason


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "not a Vigil local-state file"),
        (b"\x80\x05K\x01.", "not a Vigil local-state file"),  # a bare pickle
        (MAGIC + b"{not json}\n", "its stamp is damaged"),
        (MAGIC + b'{"format": 1}\n', "its stamp is damaged"),
        (MAGIC + b"x" * (snapshot.MAX_STAMP_BYTES + 10), "its stamp is missing or damaged"),
    ],
)
def test_what_is_not_a_snapshot_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(SnapshotUnusable) as refused:
        snapshot.decode(data)
    assert refused.value.reason == reason


def test_a_file_cut_short_is_refused() -> None:
    data = file_bytes({"a": list(range(1000))})

    with pytest.raises(SnapshotUnusable) as refused:
        snapshot.decode(data[:-10])
    assert "checksum" in refused.value.reason


def test_writing_replaces_the_file_whole_private_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "state.snapshot"
    path.write_bytes(b"old")

    snapshot.write_atomically(path, b"new contents")

    assert path.read_bytes() == b"new contents"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.snapshot"]


# ------------------------------------------------------------------ loading and setting aside


def test_load_is_none_without_a_file_and_the_state_with_one(tmp_path: Path) -> None:
    path = tmp_path / "state.snapshot"
    assert persistence.load(path) is None

    snapshot.write_atomically(path, file_bytes({"backends": {}, "outbox": {}}))
    assert persistence.load(path) == {"backends": {}, "outbox": {}}


def test_load_refuses_a_file_others_may_write(tmp_path: Path) -> None:
    path = tmp_path / "state.snapshot"
    snapshot.write_atomically(path, file_bytes({"backends": {}}))
    path.chmod(0o666)

    with pytest.raises(datadir.DataDirError, match="writable by others"):
        persistence.load(path)


def test_load_refuses_a_snapshot_of_something_else(tmp_path: Path) -> None:
    path = tmp_path / "state.snapshot"
    snapshot.write_atomically(path, file_bytes(["not", "a", "state"]))

    with pytest.raises(SnapshotUnusable, match="does not hold the local stack's state"):
        persistence.load(path)


def test_an_unusable_snapshot_is_set_aside_under_a_new_name_never_deleted(tmp_path: Path) -> None:
    path = tmp_path / "state.snapshot"
    path.write_bytes(b"old")
    moment = datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)

    first = persistence.set_aside(path, now=moment)
    path.write_bytes(b"older")
    second = persistence.set_aside(path, now=moment)

    assert first.name == "state.snapshot.unusable-20260301T120005Z"
    assert second.name == "state.snapshot.unusable-20260301T120005Z-2"
    assert (first.read_bytes(), second.read_bytes()) == (b"old", b"older")
    assert not path.exists()


def test_a_stack_saved_before_a_table_was_added_lacks_an_output_and_the_current_one_lacks_none() -> None:
    declared = {k: "x" for k in stack.load_template()["Outputs"]}
    before = {k: v for k, v in declared.items() if k != "RotationsTableName"}

    assert stack.missing_outputs(declared) == []
    assert stack.missing_outputs(before) == ["RotationsTableName"]


# ------------------------------------------------------------------ the data directory


def test_the_data_directory_is_made_private_with_its_readme(tmp_path: Path) -> None:
    directory = datadir.prepare(tmp_path / "data")

    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert (directory / datadir.MARKER).is_file()
    assert datadir.prepare(directory) == directory  # again: it is ours


def test_a_save_cut_off_by_a_kill_leaves_nothing_behind(tmp_path: Path) -> None:
    directory = datadir.prepare(tmp_path / "data")
    (directory / f".{datadir.SNAPSHOT_FILE}.x1y2.tmp").write_bytes(b"half")

    datadir.prepare(directory)

    assert sorted(p.name for p in directory.iterdir()) == [datadir.MARKER]


def test_a_directory_of_other_files_is_not_taken(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")

    with pytest.raises(datadir.DataDirError, match="holds other files"):
        datadir.prepare(tmp_path)


def test_vigil_data_dir_moves_it_and_the_checkout_keeps_it_by_default(tmp_path: Path) -> None:
    assert datadir.data_dir({}) == datadir.REPO_ROOT / ".vigil"
    assert datadir.data_dir({"VIGIL_DATA_DIR": str(tmp_path / "x")}) == tmp_path / "x"


def test_the_secret_is_made_once_private_and_long_enough(tmp_path: Path) -> None:
    directory = datadir.prepare(tmp_path / "data")

    secret = datadir.ack_secret(directory)

    assert len(secret.encode()) >= 32
    assert datadir.ack_secret(directory) == secret
    assert stat.S_IMODE((directory / datadir.ACK_SECRET_FILE).stat().st_mode) == 0o600
    other = datadir.ack_secret(datadir.prepare(tmp_path / "other"))
    assert other != secret  # random per data directory


def test_a_short_secret_file_is_refused(tmp_path: Path) -> None:
    directory = datadir.prepare(tmp_path / "data")
    path = directory / datadir.ACK_SECRET_FILE
    path.write_text("short")
    path.chmod(0o600)

    with pytest.raises(datadir.DataDirError, match="fewer than 32 bytes"):
        datadir.ack_secret(directory)


def test_reset_deletes_a_data_directory_and_says_so(tmp_path: Path) -> None:
    directory = datadir.prepare(tmp_path / "data")
    datadir.ack_secret(directory)

    said = datadir.reset(directory)

    assert not directory.exists()
    assert said.startswith(f"Deleted {directory}")
    assert "starts empty" in datadir.reset(directory)


def test_reset_refuses_a_directory_that_is_not_one(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep")

    with pytest.raises(datadir.DataDirError, match="not a Vigil data directory"):
        datadir.reset(tmp_path)
    assert (tmp_path / "precious.txt").exists()


def test_one_stack_at_a_time_uses_a_data_directory_and_reset_waits_for_it(tmp_path: Path) -> None:
    directory = datadir.prepare(tmp_path / "data")
    held = datadir.claim(directory)
    try:
        with pytest.raises(datadir.DataDirError, match="another local stack is using"):
            datadir.claim(directory)
        with pytest.raises(datadir.DataDirError, match="stop it"):
            datadir.reset(directory)
    finally:
        held.close()
    datadir.claim(directory).close()
    assert datadir.reset(directory).startswith("Deleted")


def test_make_reset_runs_with_the_standard_library_alone() -> None:
    source = Path(datadir.__file__).read_text(encoding="utf-8")
    imported = {
        line.split()[1].split(".")[0]
        for line in source.splitlines()
        if line.startswith(("import ", "from ")) and "__future__" not in line
    }
    assert imported <= {"fcntl", "os", "secrets", "shutil", "stat", "sys", "collections", "pathlib", "typing"}


# ------------------------------------------------------------------ the keeper


def test_the_keeper_saves_soon_after_a_change_and_on_stop(tmp_path: Path) -> None:
    path = tmp_path / "state.snapshot"
    state = {"backends": {}, "count": 0}
    keeper = StateKeeper(path, lock=StateLock(), collect=lambda: dict(state)).start()
    try:
        keeper.changed()
        deadline = time.monotonic() + 5
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert persistence.load(path) == {"backends": {}, "count": 0}
        state["count"] = 1
        keeper.changed()
    finally:
        keeper.stop()
    assert persistence.load(path) == {"backends": {}, "count": 1}


def test_a_keeper_never_started_saves_nothing(tmp_path: Path) -> None:
    keeper = StateKeeper(tmp_path / "state.snapshot", lock=StateLock(), collect=lambda: {"backends": {}})
    keeper.changed()
    keeper.stop()
    assert not (tmp_path / "state.snapshot").exists()


def test_a_state_that_cannot_be_saved_is_retried_not_lost(tmp_path: Path) -> None:
    path = tmp_path / "state.snapshot"
    broken = {"backends": {}, "socket": threading.Thread()}  # a thread cannot be pickled
    keeper = StateKeeper(path, lock=StateLock(), collect=lambda: broken)

    assert keeper.save() is False
    assert not path.exists()
    broken.pop("socket")
    assert keeper.save() is True
    assert persistence.load(path) == {"backends": {}}


# ------------------------------------------------------------------ what the emulator counts as a change


def environ(method: str, *, target: str = "", form: bytes = b"", query: str = "") -> dict[str, Any]:
    env: dict[str, Any] = {"REQUEST_METHOD": method, "QUERY_STRING": query, "wsgi.input": io.BytesIO(form)}
    if target:
        env["HTTP_X_AMZ_TARGET"] = target
    if form:
        env["CONTENT_TYPE"] = "application/x-www-form-urlencoded; charset=utf-8"
        env["CONTENT_LENGTH"] = str(len(form))
    return env


@pytest.mark.parametrize(
    ("request_environ", "expected"),
    [
        (environ("POST", target="DynamoDB_20120810.PutItem"), ("PutItem", True)),
        (environ("POST", target="DynamoDB_20120810.Query"), ("Query", False)),
        (environ("POST", target="AmazonSQS.SendMessage"), ("SendMessage", True)),
        (environ("POST", target="AmazonSQS.ReceiveMessage"), ("ReceiveMessage", False)),
        (environ("POST", form=b"Action=Publish&Version=2010-03-31"), ("Publish", True)),
        (environ("POST", form=b"Action=DescribeStacks"), ("DescribeStacks", False)),
        (environ("GET", query="Action=ListTopics"), ("ListTopics", False)),
        (environ("POST"), (None, True)),  # SES v2's SendEmail, S3's PutObject: REST, by method
        (environ("GET"), (None, False)),
    ],
)
def test_requests_that_change_the_state_are_told_from_reads(
    request_environ: dict[str, Any], expected: tuple[str | None, bool]
) -> None:
    assert action_of(request_environ) == expected


def test_a_form_read_for_its_action_is_put_back_for_moto() -> None:
    form = b"Action=Publish&Message=hello"
    request_environ = environ("POST", form=form)

    action_of(request_environ)

    assert request_environ["wsgi.input"].read() == form


# ------------------------------------------------------------------ the stack's own start


def test_a_demo_that_cannot_be_seeded_is_logged_and_the_stack_serves_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from vigil_local import runner  # noqa: PLC0415  # only this test starts to build a stack
    from vigil_local.demo import DemoSeedFailed  # noqa: PLC0415  # as above

    def refused(*_: object, **__: object) -> dict[str, str]:
        raise DemoSeedFailed("POST /verify/x answered 429")

    monkeypatch.setattr(runner, "seed_demo", refused)
    stack = runner.LocalStack(demo=True)

    stack._seed_demo(receiver=None)

    assert stack.demo_failure == "DemoSeedFailed: POST /verify/x answered 429"
    assert stack.demo_subscribers == {}


# ------------------------------------------------------------------ the pump under the lock


class FakeSqs:
    """The two SQS calls the pump makes, on one in-memory queue."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.waiting: list[dict[str, Any]] = []
        self.deleted: list[str] = []

    def send(self, message_id: str) -> None:
        with self._lock:
            self.waiting.append({"MessageId": message_id, "ReceiptHandle": f"rh-{message_id}", "Body": "{}"})

    def receive_message(self, **_: Any) -> dict[str, Any]:
        with self._lock:
            batch, self.waiting = self.waiting[:10], self.waiting[10:]
        return {"Messages": batch}

    # boto3's parameter names.
    def delete_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.deleted += [entry["ReceiptHandle"] for entry in Entries]
        return {}


def pump_of(sqs: FakeSqs, handler: Callable[[dict[str, Any], Any], Any], lock: StateLock) -> QueuePump:
    binding = QueueBinding(name="vigil-local-send", url="url", arn="arn", handler=handler, function_name="f")
    return QueuePump(cast(Any, sqs), [binding], region="us-east-1", lock=lock).start()


def test_an_idle_pump_takes_a_sent_message_at_once_when_woken() -> None:
    sqs, handled = FakeSqs(), threading.Event()
    pump = pump_of(sqs, lambda _event, _context: handled.set(), StateLock())
    try:
        time.sleep(0.1)  # the queue was empty: the pump waits, outside the lock
        sqs.send("m1")
        woken = time.monotonic()
        pump.wake()
        assert handled.wait(IDLE_SECONDS)
        assert time.monotonic() - woken < IDLE_SECONDS / 2
    finally:
        pump.stop()
    assert sqs.deleted == ["rh-m1"]


def test_a_pump_invocation_is_one_reader_from_receive_to_delete() -> None:
    sqs, lock = FakeSqs(), StateLock()
    inside, release = threading.Event(), threading.Event()

    def handler(_event: dict[str, Any], _context: Any) -> None:
        inside.set()
        release.wait(5)

    sqs.send("m1")
    pump = pump_of(sqs, handler, lock)
    try:
        assert inside.wait(5)
        assert lock.readers == 1
        saved = threading.Event()

        def snapshot() -> None:
            with lock.writing():
                saved.set()

        threading.Thread(target=snapshot, daemon=True).start()
        assert not saved.wait(0.2)  # the snapshot waits for the invocation...
        release.set()
        assert saved.wait(5)  # ...and comes after its delete
        assert sqs.deleted == ["rh-m1"]
    finally:
        release.set()
        pump.stop()


def test_a_kept_value_made_meanwhile_by_another_process_wins(tmp_path: Path) -> None:
    path = datadir.prepare(tmp_path / "data") / datadir.ADMIN_KEY_FILE

    def made_elsewhere_first() -> str:
        path.write_text("vk_theirs_0123456789\n")
        path.chmod(0o600)
        return "vk_mine_0123456789"

    assert datadir.kept_secret(path, make=made_elsewhere_first, what="admin key") == "vk_theirs_0123456789"
    assert sorted(p.name for p in path.parent.iterdir()) == [datadir.MARKER, datadir.ADMIN_KEY_FILE]
