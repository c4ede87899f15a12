"""ui.session_store: expiry on a fake clock, least-recently-put eviction, the byte budget, oversize snapshots,
token validation against hostile values, and many threads at once. Pure: no Streamlit server."""

import secrets
import threading

import numpy as np
import pytest

from ui.session_store import DEFAULT_MAX_BYTES, DEFAULT_MAX_ENTRIES, DEFAULT_TTL_SECONDS, SessionStore, valid_token


class FakeClock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def tok(i: int) -> str:
    return f"{i:032x}"


def sized(snapshot) -> int:
    """Snapshots in these tests are (name, bytes) pairs."""
    return snapshot[1]


# --- tokens ---------------------------------------------------------------------------------------------------
def test_valid_tokens_are_what_the_component_makes():
    assert valid_token(secrets.token_hex(16))
    assert valid_token("0123456789abcdef" * 2)
    assert valid_token(tok(0))


@pytest.mark.parametrize("value", [
    None, 0, 1, 12345678901234567890123456789012, 1.5, True, b"0123456789abcdef0123456789abcdef",
    bytearray(b"0" * 32), {"token": "0" * 32}, ["0" * 32], ("0" * 32,), {"0" * 32}, object(),
    "", "0" * 31, "0" * 33, "0" * 10_000, "0123456789ABCDEF" * 2, "0123456789abcdeg" * 2,
    " " + "0" * 31, "0" * 31 + "\n", "0" * 16 + "-" + "0" * 15, "12345678-1234-4123-8123-123456789abc",
    "０" * 32,  # fullwidth digits: str.isdigit and int(x, 16) take them
    "٠" * 32,  # Arabic-Indic digits
    "0" * 31 + "\x00", "0" * 31 + "é", "' OR 1=1 --" + "0" * 21, "../" * 10 + "00",
])
def test_everything_else_is_refused(value):
    assert not valid_token(value)


def test_a_str_subclass_is_refused():
    class Sneaky(str):
        def __eq__(self, other):
            return True

        __hash__ = str.__hash__

    assert not valid_token(Sneaky("0" * 32))


def test_the_store_refuses_bad_tokens():
    store = SessionStore()
    with pytest.raises(ValueError):
        store.put("not a token", "x")
    with pytest.raises(ValueError):
        store.put(None, "x")
    assert store.get("not a token") is None
    assert store.get({"a": 1}) is None  # unhashable: no TypeError either
    store.drop(["a"])
    assert len(store) == 0


# --- put, get, drop ---------------------------------------------------------------------------------------------
def test_put_get_drop():
    store = SessionStore()
    snapshot = {"runs": [1, 2, 3]}
    assert store.get(tok(1)) is None
    assert store.put(tok(1), snapshot)
    assert store.get(tok(1)) is snapshot  # the very object: no copy
    assert store.get(tok(2)) is None
    store.put(tok(1), "newer")
    assert store.get(tok(1)) == "newer" and len(store) == 1
    store.drop(tok(1))
    store.drop(tok(1))  # twice: nothing happens
    assert store.get(tok(1)) is None and len(store) == 0


def test_defaults():
    store = SessionStore()
    assert (store.max_entries, store.ttl_seconds, store.max_bytes) == (100, 30 * 60, 256 * 1024 * 1024)
    assert (DEFAULT_MAX_ENTRIES, DEFAULT_TTL_SECONDS, DEFAULT_MAX_BYTES) == (100, 1800, 268_435_456)
    store.put(tok(1), np.zeros(10**6))
    assert store.total_bytes() == 0  # the default size_of counts nothing


@pytest.mark.parametrize("kwargs", [{"max_entries": 0}, {"ttl_seconds": 0}, {"ttl_seconds": -1},
                                    {"max_bytes": -1}])
def test_nonsense_limits_are_refused(kwargs):
    with pytest.raises(ValueError):
        SessionStore(**kwargs)


# --- expiry ------------------------------------------------------------------------------------------------------
def test_an_entry_expires_ttl_after_its_last_put_and_get_does_not_extend_it():
    clock = FakeClock()
    store = SessionStore(ttl_seconds=1800, clock=clock)
    store.put(tok(1), "a")
    clock.advance(1799)
    assert store.get(tok(1)) == "a"  # a get just before the end ...
    clock.advance(1)
    assert store.get(tok(1)) is None  # ... did not extend it: gone at exactly ttl
    assert len(store) == 0


def test_put_extends_the_life():
    clock = FakeClock()
    store = SessionStore(ttl_seconds=60, clock=clock)
    store.put(tok(1), "a")
    clock.advance(50)
    store.put(tok(1), "b")
    clock.advance(50)
    assert store.get(tok(1)) == "b"
    clock.advance(10)
    assert store.get(tok(1)) is None


def test_expired_entries_leave_the_count_and_the_bytes():
    clock = FakeClock()
    store = SessionStore(ttl_seconds=60, size_of=sized, clock=clock)
    store.put(tok(1), ("a", 100))
    clock.advance(30)
    store.put(tok(2), ("b", 10))
    assert (len(store), store.total_bytes()) == (2, 110)
    clock.advance(30)
    assert (len(store), store.total_bytes()) == (1, 10)
    clock.advance(30)
    assert (len(store), store.total_bytes()) == (0, 0)
    assert store.purge_expired() == 0


def test_purge_expired_counts():
    clock = FakeClock()
    store = SessionStore(ttl_seconds=60, clock=clock)
    for i in range(5):
        store.put(tok(i), i)
    clock.advance(30)
    store.put(tok(9), 9)
    clock.advance(30)
    assert store.purge_expired() == 5  # expired, held until something looks (a put, a len, a purge)
    assert len(store) == 1


def test_expired_entries_go_before_live_ones():
    clock = FakeClock()
    store = SessionStore(max_entries=3, ttl_seconds=100, clock=clock)
    store.put(tok(1), 1)
    clock.advance(10)
    store.put(tok(2), 2)
    store.put(tok(3), 3)
    clock.advance(95)  # tok(1) has expired, 2 and 3 have 5 s left
    store.put(tok(4), 4)
    assert [store.get(tok(i)) for i in (1, 2, 3, 4)] == [None, 2, 3, 4]


# --- eviction ----------------------------------------------------------------------------------------------------
def test_the_least_recently_put_goes_first_when_full():
    clock = FakeClock()
    store = SessionStore(max_entries=3, clock=clock)
    for i in (1, 2, 3):
        store.put(tok(i), i)
        clock.advance(1)
    store.get(tok(1))  # reading does not count as use
    store.put(tok(2), "2 again")  # putting does
    store.put(tok(4), 4)
    assert [store.get(tok(i)) for i in (1, 2, 3, 4)] == [None, "2 again", 3, 4]
    store.put(tok(5), 5)
    assert [store.get(tok(i)) for i in (2, 3, 4, 5)] == ["2 again", None, 4, 5]
    assert len(store) == 3


def test_the_byte_budget_evicts_the_least_recently_put_until_it_holds():
    store = SessionStore(max_entries=100, max_bytes=1000, size_of=sized)
    store.put(tok(1), ("a", 400))
    store.put(tok(2), ("b", 400))
    store.put(tok(3), ("c", 150))
    assert store.total_bytes() == 950
    store.put(tok(4), ("d", 500))  # 1450 > 1000: drop a (1050, still too much), then b (650)
    assert [store.get(tok(i)) for i in (1, 2)] == [None, None]
    assert store.get(tok(3)) == ("c", 150) and store.get(tok(4)) == ("d", 500)
    assert store.total_bytes() == 650 and len(store) == 2


def test_replacing_a_snapshot_counts_only_its_new_size():
    store = SessionStore(max_bytes=1000, size_of=sized)
    store.put(tok(1), ("a", 600))
    store.put(tok(1), ("a2", 700))
    assert store.total_bytes() == 700
    store.put(tok(2), ("b", 300))
    assert store.total_bytes() == 1000 and len(store) == 2  # exactly at the budget: kept


def test_a_snapshot_bigger_than_the_budget_is_not_stored_and_drops_the_older_one():
    store = SessionStore(max_bytes=1000, size_of=sized)
    store.put(tok(1), ("small", 100))
    store.put(tok(2), ("other", 100))
    assert store.put(tok(1), ("huge", 1001)) is False
    assert store.get(tok(1)) is None  # no stale state comes back on a reload
    assert store.get(tok(2)) == ("other", 100)  # and nobody else was evicted for it
    assert store.total_bytes() == 100 and len(store) == 1


def test_size_of_sums_numpy_arrays():
    def size_of(snapshot):
        return sum(a.nbytes for a in snapshot["arrays"])

    store = SessionStore(max_bytes=10_000, size_of=size_of)
    store.put(tok(1), {"arrays": [np.zeros(500, np.float64), np.zeros(500, np.float32)]})  # 6,000 bytes
    assert store.total_bytes() == 6000
    store.put(tok(2), {"arrays": [np.zeros(1000, np.float32)]})  # 4,000: 10,000 in all, fits
    store.put(tok(3), {"arrays": [np.zeros(1, np.uint8)]})  # one byte too many: the oldest goes
    assert store.get(tok(1)) is None and len(store) == 2 and store.total_bytes() == 4001


def test_a_negative_size_counts_as_zero():
    store = SessionStore(max_bytes=10, size_of=lambda s: -5)
    store.put(tok(1), "x")
    assert store.total_bytes() == 0


def test_repr_says_what_is_held():
    store = SessionStore(size_of=sized)
    store.put(tok(1), ("a", 2048))
    assert "1 entries" in repr(store) and "2,048 bytes" in repr(store)


# --- threads -----------------------------------------------------------------------------------------------------
def test_many_threads_at_once_keep_the_limits_and_the_books_balanced():
    store = SessionStore(max_entries=20, max_bytes=5000, size_of=sized)
    tokens = [tok(i) for i in range(60)]
    errors = []
    start = threading.Barrier(8)

    def work(seed):
        rng = np.random.default_rng(seed)
        try:
            start.wait()
            for _ in range(2000):
                t = tokens[rng.integers(len(tokens))]
                action = rng.integers(10)
                if action < 5:
                    store.put(t, (t, int(rng.integers(0, 600))))
                elif action < 8:
                    got = store.get(t)
                    assert got is None or got[0] == t  # never someone else's snapshot
                elif action < 9:
                    store.drop(t)
                else:
                    assert len(store) <= 20 and store.total_bytes() <= 5000
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors, errors[:3]
    assert len(store) <= 20 and store.total_bytes() <= 5000
    # the running byte total equals the sum of what is held
    held = [store.get(t) for t in tokens]
    assert store.total_bytes() == sum(s[1] for s in held if s is not None)
    assert len(store) == sum(s is not None for s in held)


def test_size_of_runs_outside_the_lock():
    """A slow size_of (walking many arrays) does not hold up other sessions' gets."""
    inside, release = threading.Event(), threading.Event()

    def slow_size(snapshot):
        if snapshot == "slow":
            inside.set()
            assert release.wait(10)
        return 1

    store = SessionStore(size_of=slow_size)
    store.put(tok(1), "fast")
    putter = threading.Thread(target=store.put, args=(tok(2), "slow"))
    putter.start()
    assert inside.wait(10)
    assert store.get(tok(1)) == "fast"  # would deadlock (time out) if size_of held the lock
    release.set()
    putter.join(10)
    assert store.get(tok(2)) == "slow"


def test_store_is_one_per_process():
    pytest.importorskip("streamlit")
    from ui.session_store import store

    first = store()
    assert store() is first
    assert isinstance(first, SessionStore)


def test_one_snapshot_under_two_tokens_counts_once():
    """ui.persist keeps a live session under its browser's token and its tab's: one object, counted once."""
    store = SessionStore(max_bytes=1000, size_of=lambda s: s["size"])
    session = {"size": 600}
    store.put(tok(1), session)
    store.put(tok(2), session)
    assert store.total_bytes() == 600 and len(store) == 2
    session["size"] = 700  # it grew (a new run): the newest measurement counts, once
    store.put(tok(1), session)
    assert store.total_bytes() == 700
    store.put(tok(3), {"size": 300})  # 1000: both sessions fit, as they would not if the first counted twice
    assert store.total_bytes() == 1000 and len(store) == 3
    store.drop(tok(1))
    assert store.total_bytes() == 1000  # still held under the tab's token
    store.drop(tok(2))
    assert store.total_bytes() == 300
    store.drop(tok(3))
    assert store.total_bytes() == 0 and len(store) == 0


def test_eviction_of_a_shared_snapshot_frees_its_bytes_only_with_its_last_entry():
    store = SessionStore(max_entries=2, max_bytes=10_000, size_of=lambda s: s["size"])
    shared = {"size": 500}
    store.put(tok(1), shared)
    store.put(tok(2), shared)
    store.put(tok(3), {"size": 100})  # three entries > 2: tok(1) goes; tok(2) still holds the object
    assert store.get(tok(1)) is None and store.get(tok(2)) is shared
    assert store.total_bytes() == 600
    store.put(tok(4), {"size": 50})  # tok(2) goes, and the object's 500 bytes with it
    assert store.total_bytes() == 150
