"""The nano grader through the real `openai` package over HTTP against a local server with injected faults."""
import asyncio, json, logging, multiprocessing as mp, time
import pytest
from fake_openai import FakeOpenAI, reference_final, reference_process
from lsrl.grader import GradeCache, GradeRequest, NanoGrader, SymbolicGrader

KEY = "sk-lsrl-test-SECRET-0123456789"
Q = "Tom has 12 apples and buys 30 more. How many apples does he have?"


def requests(n, depths=4):
    snaps = ["Tom has 12 apples.", "He buys 30, so 12 + 30 = 42.", "The answer is 45.", "So he has 42 apples."]
    return [GradeRequest(f"{Q} (#{i})", "42", [s + f" step {i}" if j == 0 else s for j, s in enumerate(snaps[:depths])],
                         final="He has 42 apples." if i % 2 == 0 else "He has 41 apples.") for i in range(n)]


def expected(req):
    ref = reference_process(req.gold, req.snapshots)["evaluations"]
    return [e["IQS"] for e in ref], [e["PS"] for e in ref], reference_final(req.gold, req.final)


def grader(server, **kw):
    kw = dict(dict(api_key=KEY, base_url=server.base_url, backoff_base=0.001, backoff_max=0.05, timeout=5, seed=0),
              **kw)
    return NanoGrader(**kw)


@pytest.fixture
def server():
    with FakeOpenAI() as s: yield s


def test_happy_path_scores_and_accounting(server):
    reqs = requests(5)
    g = grader(server)
    results = g.grade_all(reqs)
    assert len(results) == 5
    for req, res in zip(reqs, results):
        iqs, ps, fin = expected(req)
        assert res.iqs == pytest.approx(iqs) and res.ps == pytest.approx(ps) and res.final_correct == fin
        assert res.depth_correct == [False, True, False, True] and res.extracted[1] == "42"
        assert (res.calls, res.retries, res.failures, res.fallback) == (3, 0, 0, False)
    s = g.stats
    assert s.calls == server.requests == 15 and server.auth_headers == 15 and s.trajectories == 5
    assert s.prompt_tokens > 0
    assert s.cost_usd == pytest.approx((s.prompt_tokens * 0.10 + s.completion_tokens * 0.40) / 1e6)


@pytest.mark.parametrize("fault", ["429", "500", "503", "drop", "malformed", "schema", "count"])
def test_each_retryable_fault_is_retried_and_counted(server, fault):
    server.plan.extend([fault])
    g = grader(server, process_calls=1, final_checker="rule")
    res = g.grade(requests(1)[0])
    iqs, ps, _ = expected(requests(1)[0])
    assert res.iqs == pytest.approx(iqs) and not res.fallback
    assert (res.calls, res.retries, res.failures) == (2, 1, 0) and server.counts[fault] == 1
    assert g.stats.invalid_replies == (fault in ("malformed", "schema", "count"))


def test_retry_after_is_honoured(server):
    server.retry_after = "0.4"
    server.plan.extend(["429"])
    g = grader(server, process_calls=1, final_checker="rule", backoff_base=0.0001)
    t = time.perf_counter()
    res = g.grade(requests(1)[0])
    assert time.perf_counter() - t >= 0.4 and res.retries == 1


def test_timeout_is_retried():
    with FakeOpenAI(slow_seconds=6.0) as s:
        s.plan.extend(["slow"])
        g = grader(s, process_calls=1, final_checker="rule", timeout=1.0)
        t = time.perf_counter()
        res = g.grade(requests(1)[0])
        # the client gave up on the slow reply (6 s) and retried, rather than waiting for it
        assert res.retries == 1 and not res.fallback and time.perf_counter() - t < 5


def test_out_of_range_scores_are_clamped_not_retried(server):
    server.plan.extend(["range"])
    g = grader(server, process_calls=1, final_checker="rule")
    res = g.grade(requests(1)[0])
    assert res.iqs[0] == 2.0 and res.ps[0] == 0.0 and res.clamped == 2 and res.retries == 0 and g.stats.clamped == 2


def test_one_of_two_process_calls_failing_uses_the_other(server):
    server.plan.extend(["500", "500"])
    g = grader(server, max_retries=1, final_checker="rule")
    req = requests(1)[0]
    res = g.grade(req)
    # with two calls in flight, one may take both faults (and fail) or each one fault (and both succeed)
    assert not res.fallback and res.iqs == pytest.approx(expected(req)[0]) and res.failures in (0, 1)


def test_all_calls_failing_falls_back(server):
    server.status_override = 503
    req = requests(1)[0]
    res = grader(server, max_retries=2).grade(req)
    sym = SymbolicGrader().grade(req)
    assert res.fallback and res.final_fallback and res.iqs == sym.iqs and res.failures == 3 and res.retries == 6
    assert res.final_correct is True  # the rule checker reads "42" from the final solution
    neutral = grader(server, max_retries=0, fallback="neutral").grade(req)
    assert neutral.iqs == [1.0] * 4 and neutral.ps == [1.0] * 4 and neutral.fallback


def test_client_errors_are_not_retried(server):
    server.status_override = 401
    g = grader(server, process_calls=1)
    res = g.grade(requests(1)[0])
    assert (res.calls, res.retries, res.failures) == (2, 0, 2) and res.fallback


def test_cache_makes_regrading_free(server, tmp_path):
    reqs = requests(6)
    first = grader(server, cache_path=tmp_path / "grades.sqlite").grade_all(reqs)
    n = server.requests
    g2 = grader(server, cache_path=tmp_path / "grades.sqlite")
    again = g2.grade_all(reqs)
    assert server.requests == n and g2.stats.calls == 0 and g2.stats.cache_hits == 18
    assert [r.iqs for r in again] == [r.iqs for r in first]
    assert [r.final_correct for r in again] == [r.final_correct for r in first]
    # a different prompt version or model is a different entry
    g3 = grader(server, cache_path=tmp_path / "grades.sqlite", model="gpt-4.1-mini")
    g3.grade_all(reqs[:1])
    assert server.requests == n + 3


def _writer(path, worker, n):
    c = GradeCache(path)
    for i in range(n): c.put(GradeCache.key(worker=worker, i=i), json.dumps({"w": worker, "i": i}))


def test_cache_is_safe_with_concurrent_writer_processes(tmp_path):
    path = tmp_path / "shared.sqlite"
    GradeCache(path)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), w, 150)) for w in range(4)]
    for p in procs: p.start()
    for p in procs: p.join(300)
    assert all(p.exitcode == 0 for p in procs), \
        f"writer exit codes {[p.exitcode for p in procs]} (None: still running after 300 s)"
    c = GradeCache(path)
    assert len(c) == 600 and json.loads(c.get(GradeCache.key(worker=3, i=149))) == {"w": 3, "i": 149}


def test_api_key_never_leaks(server, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    server.plan.extend(["429", "malformed", "drop"])
    g = grader(server, cache_path=tmp_path / "c.sqlite", max_retries=1)
    results = g.grade_all(requests(3))
    server.status_override = 401
    bad = grader(server, max_retries=0).grade_all(requests(1))
    texts = [caplog.text, repr(g), str(g.stats.as_dict()), repr(results), repr(bad)]
    for f in tmp_path.iterdir(): texts.append(f.read_bytes().decode("latin-1"))
    try: NanoGrader(api_key=KEY, fallback="nope")
    except ValueError as e: texts.append(str(e))
    assert not any(KEY in t for t in texts)
    assert any("grader call" in r.message for r in caplog.records)  # logging did happen


def test_concurrency_limit_is_global():
    with FakeOpenAI(latency=0.05) as s:
        g = grader(s, max_concurrency=5)
        g.grade_all(requests(12))
        assert s.max_in_flight <= 5 and s.requests == 36


def test_user_templates_and_rule_final_checker(server, tmp_path):
    tpl = tmp_path / "process.txt"
    tpl.write_text("Grade each depth as JSON (fields depth_index, extracted_final_answer, answer_correctness, IQS, "
                   "PS).\nProblem: {problem}\nGround-truth final answer: {ground_truth}\n"
                   "There are {num_depths} depths:\n{snapshots}\n")
    g = grader(server, process_template=tpl, final_checker="rule")
    req = requests(1)[0]
    res = g.grade(req)
    assert g.process_template.version.startswith("user-") and res.calls == 2  # no final call with the rule checker
    assert res.iqs == pytest.approx(expected(req)[0])
    snap = grader(server, final_source="snapshot_r").grade(req)
    assert snap.final_correct is True  # the last snapshot says 42


def test_grade_all_inside_a_running_event_loop(server):
    async def notebook_cell():  # Jupyter runs cells inside an event loop
        return grader(server, process_calls=1).grade_all(requests(2))
    assert len(asyncio.run(notebook_cell())) == 2


def test_soak_1000_calls_with_20_percent_faults():
    """>= 1,000 HTTP calls with ~20% injected faults: no crash, no trajectory lost, every retry and fallback counted."""
    # timeout well above a normal reply's latency on a busy 2-core machine, well below an injected slow reply's
    with FakeOpenAI(fault_rate=0.2, seed=7, slow_seconds=5.0) as s:
        g = grader(s, max_concurrency=32, max_retries=6, timeout=2.5)
        reqs = requests(300, depths=3)
        results = g.grade_all(reqs)
        assert len(results) == 300 and all(len(r.iqs) == 3 and len(r.ps) == 3 for r in results)
        st = g.stats
        assert st.calls >= s.requests >= 1000 and sum(r.calls for r in results) == st.calls
        # every failed attempt was retried or counted as a failure: the injected faults, plus attempts that died on a
        # pooled connection the server had just closed (they never reach the handler, as on a real network)
        unreached = st.calls - s.requests
        assert st.retries + st.failures == s.retryable_injected + unreached
        assert sum(r.retries for r in results) == st.retries and sum(r.fallback for r in results) == st.fallbacks
        assert 0.15 < sum(v for k, v in s.counts.items() if k != "ok") / s.requests < 0.25
        assert sum(r.clamped for r in results) == 2 * s.counts["range"] > 0  # each 'range' reply has 2 scores clamped
        for req, res in zip(reqs, results):
            if not res.fallback and not res.clamped: assert res.iqs == pytest.approx(expected(req)[0])
