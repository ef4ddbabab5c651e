"""Grader throughput: calls/s against max_concurrency with a local OpenAI-compatible server (its own process, on
127.0.0.1) answering after a fixed latency (300 ms), as a fraction of the ideal concurrency / latency; and a cached
re-grade (must make zero HTTP calls). Writes bench/results/grader.json."""
import subprocess, sys, tempfile, time
from pathlib import Path

from common import table, write
from lsrl.grader import GradeRequest, NanoGrader

SERVER = Path(__file__).parents[1] / "tests" / "fake_openai.py"

LATENCY = 0.3


def reqs(n, tag):
    return [GradeRequest(f"Problem {tag}-{i}: 12 + 30?", "42", ["12 + 30 = 42", "The answer is 42."], final="42")
            for i in range(n)]


def main():
    rows = []
    proc = subprocess.Popen([sys.executable, str(SERVER), "--latency", str(LATENCY)], stdout=subprocess.PIPE, text=True)
    base_url = proc.stdout.readline().strip()
    try:
        rows, cached = measure(base_url)
    finally:
        proc.kill()
        proc.wait()
    print(f"\ngrader throughput, server latency {LATENCY * 1e3:.0f} ms (1 process call per trajectory, 8 waves)")
    print(table(rows, list(rows[0])))
    print(f"cached re-grade of {cached['trajectories']} trajectories: {cached['regrade_http_calls']} HTTP calls, "
          f"{cached['regrade_cache_hits']} cache hits, {cached['regrade_seconds']:.3f}s")
    print(f"written: {write('grader', dict(latency_s=LATENCY, rows=rows, cached=cached))}")


def measure(base_url):
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for conc in (1, 4, 8, 16, 32, 64):
            n = 8 * conc
            g = NanoGrader(api_key="sk-bench", base_url=base_url, max_concurrency=conc, process_calls=1,
                           final_checker="rule", timeout=30)
            t = time.perf_counter()
            g.grade_all(reqs(n, conc))
            dt = time.perf_counter() - t
            rate, ideal = g.stats.calls / dt, conc / LATENCY
            rows.append(dict(concurrency=conc, calls=g.stats.calls, seconds=dt, calls_per_s=rate, ideal=ideal,
                             fraction_of_ideal=rate / ideal))
            print(table(rows[-1:], list(rows[-1])), flush=True)
        cache = Path(d) / "grades.sqlite"
        batch = reqs(64, "cached")
        first = NanoGrader(api_key="sk-bench", base_url=base_url, max_concurrency=32, cache_path=cache)
        first.grade_all(batch)
        # the re-grade goes to a dead address: any HTTP call would fail and show up as a failure
        again = NanoGrader(api_key="sk-bench", base_url="http://127.0.0.1:9/v1", max_concurrency=32, cache_path=cache,
                           max_retries=0)
        t = time.perf_counter()
        again.grade_all(batch)
        cached = dict(trajectories=len(batch), first_calls=first.stats.calls, regrade_http_calls=again.stats.calls,
                      regrade_failures=again.stats.failures, regrade_cache_hits=again.stats.cache_hits,
                      regrade_seconds=time.perf_counter() - t)
    return rows, cached


if __name__ == "__main__":
    main()
