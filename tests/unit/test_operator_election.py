"""The elector's glue (taipod.operator.election) around the pure decision (taipod.core.election): when a lead earned by
a write ends, and how long one request of the elector can take."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from tests.k8s_helpers import wait_until

from taipod.core.election import Timing
from taipod.operator.election import LeaderElector, election_configuration
from taipod.operator.kubeapi import ApiError, KubeApi

TIMING = Timing(lease_duration=3, renew_deadline=1.0, retry_period=0.1)


class SlowReadApi:
    """Stands in for an API server that answers a read only after the renew deadline, as one that was frozen and is
    back (the e2e test test_operator_ha freezes a real one, but cannot choose when within a round it resumes)."""

    def __init__(self, read_seconds: float) -> None:
        self.read_seconds = read_seconds
        self.version = 0
        self.writes: list[tuple[str, dict[str, Any]]] = []

    def request(self, method: str, path: str, body: Any = None, **_: Any) -> dict[str, Any]:
        if method == "GET":
            time.sleep(self.read_seconds)  # the slow answer itself, not a wait for a condition
            raise ApiError(404, "Not Found", {})
        self.version += 1
        self.writes.append((method, body))
        return {"metadata": {"resourceVersion": str(self.version)}, "spec": body["spec"]}


def test_a_lead_earned_after_a_slow_read_lasts_the_renew_deadline_from_the_write() -> None:
    """The read took longer than the renew deadline; the create that follows succeeds at once: the replica leads for
    the renew deadline after that write (it used to count from the round's start, so it stopped at once)."""
    api = SlowReadApi(read_seconds=TIMING.renew_deadline * 1.5)
    stopped: list[bool] = []

    async def scenario() -> tuple[bool, bool, float]:
        elector = LeaderElector(api, "ns", "ns", TIMING, identity="a", on_stopped=lambda: stopped.append(True))  # type: ignore[arg-type]
        round_started = time.monotonic()
        await elector.try_once()
        leading, may_act = elector.leading, elector.may_act()
        lead_from_round_start = elector._until - round_started
        await elector.stop()
        return leading, may_act, lead_from_round_start

    leading, may_act, lead_from_round_start = asyncio.run(scenario())
    assert [method for method, _ in api.writes] == ["POST", "PATCH"]  # created, then released by stop()
    assert leading and may_act
    # Counted from the write, which came after the slow read.
    assert lead_from_round_start >= api.read_seconds + TIMING.renew_deadline
    assert stopped == [True]  # by stop(), not by an expired deadline


@pytest.fixture
def silent_server() -> Iterator[tuple[str, list[socket.socket]]]:
    """A loopback TCP server that accepts connections and never answers: a frozen API server."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not done.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    done.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


def test_the_elector_sends_a_request_once_and_gives_up_at_its_timeout(
    silent_server: tuple[str, list[socket.socket]],
) -> None:
    """The operator's client retries a timed-out read three times (urllib3's default); the elector's does not, so one
    round lasts at most its timeout and the campaign's next round is the retry."""
    host, accepted = silent_server
    shared = client.Configuration()
    shared.host = host
    own = election_configuration(shared)
    assert shared.retries is None  # the operator's own client is left as it was

    with pytest.raises(Exception, match="timed out"):
        KubeApi(own).request("GET", "/apis/coordination.k8s.io/v1/namespaces/ns/leases/x", timeout=0.3)
    wait_until(lambda: len(accepted) >= 1, 10, "the elector's connection accepted")
    assert len(accepted) == 1

    with pytest.raises(Exception, match="timed out"):
        KubeApi(shared).request("GET", "/apis/coordination.k8s.io/v1/namespaces/ns/leases/x", timeout=0.3)
    # The first try and urllib3's three retries, each on a new connection.
    wait_until(lambda: len(accepted) == 1 + 4, 10, "the operator client's four connections accepted")
