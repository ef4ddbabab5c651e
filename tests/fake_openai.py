"""A local OpenAI-compatible chat-completions server for tests and benchmarks.

It grades deterministically from the prompt lsrl sends (so expected scores can be computed independently with
`reference_process` / `reference_final`) and injects faults: from an explicit plan (`server.plan.append("429")`) or at
a seeded rate. It binds 127.0.0.1 only, on a free port."""
import collections, json, random, re, socket, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RETRYABLE = ("429", "500", "503", "slow", "drop", "malformed", "schema", "count")
FAULTS = RETRYABLE + ("range",)
MIDPOINTS = {(False, True): 1.85, (True, True): 1.2, (True, False): 0.15, (False, False): 0.95}


def _num(s):
    try: return float(s.replace(",", ""))
    except ValueError: return None


def reference_process(gold: str, snapshots):
    "The server's deterministic process grade: last number, exact match, IQS from a checksum, PS by the rule."
    evals, prev = [], None
    for k, s in enumerate(snapshots, 1):
        nums = re.findall(r"-?\d[\d,]*(?:\.\d+)?", s)
        ext = nums[-1] if nums else "None"
        correct = ext != "None" and _num(ext) is not None and _num(ext) == _num(gold)
        iqs = round((sum(map(ord, s)) % 21) / 10, 1)
        ps = (1 + iqs / 2 if correct else iqs) if k == 1 else MIDPOINTS[(prev, correct)]
        evals.append({"depth_index": k, "extracted_final_answer": ext,
                      "answer_correctness": "Correct" if correct else "Incorrect", "IQS": iqs, "PS": ps})
        prev = correct
    return {"evaluations": evals}


def reference_final(gold: str, solution: str) -> bool:
    nums = re.findall(r"-?\d[\d,]*(?:\.\d+)?", solution)
    return bool(nums) and _num(nums[-1]) == _num(gold)


def parse_prompt(text: str):
    "('process', gold, snapshots) or ('final', gold, solution) from an lsrl grader prompt."
    gold = re.search(r"Ground-truth final answer: (.*)", text).group(1).strip()
    if "final_correctness_score" in text:
        sol = re.search(r"Proposed solution:\n(.*?)\n\nExtract the final", text, re.S).group(1)
        return "final", gold, sol
    snaps = [m.group(2) for m in re.finditer(r"\[Depth (\d+)\]\n(.*?)\n\[End of depth \1\]", text, re.S)]
    return "process", gold, [("" if s == "(empty)" else s) for s in snaps]


class FakeOpenAI:
    def __init__(self, latency: float = 0.0, fault_rate: float = 0.0, faults=FAULTS, seed: int = 0,
                 slow_seconds: float = 3.0, retry_after: str = "0.05"):
        self.latency, self.fault_rate, self.faults = latency, fault_rate, tuple(faults)
        self.slow_seconds, self.retry_after = slow_seconds, retry_after
        self.rng, self.lock = random.Random(seed), threading.Lock()
        self.plan = collections.deque()
        self.counts = collections.Counter()
        self.requests = self.in_flight = self.max_in_flight = 0
        self.auth_headers = 0
        self.status_override = None  # e.g. 401 for every request

    # counts of faults that make the client retry (a 'count'/'range'/'schema' fault on a final request is harmless)
    @property
    def retryable_injected(self): return sum(self.counts[f] for f in RETRYABLE)

    def start(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: Nagle + delayed ACK would add ~40 ms each
            def log_message(self, *a): pass  # silent: nothing (not even headers) reaches any log
            def do_POST(self): owner._handle(self)

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # the default backlog of 5 refuses bursts of concurrent connections

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self): return self.start()
    def __exit__(self, *a): self.stop()

    def _pick_fault(self):
        with self.lock:
            self.requests += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if self.plan: fault = self.plan.popleft()
            elif self.fault_rate and self.rng.random() < self.fault_rate: fault = self.rng.choice(self.faults)
            else: fault = None
            return fault

    def _handle(self, h):
        body = json.loads(h.rfile.read(int(h.headers.get("Content-Length", 0))) or b"{}")
        self.auth_headers += h.headers.get("Authorization", "").startswith("Bearer ")
        fault = self._pick_fault()
        try:
            if self.latency: time.sleep(self.latency)
            if self.status_override: return self._error(h, self.status_override, None, "override")
            kind, gold, payload = parse_prompt(body["messages"][-1]["content"])
            if fault in ("count", "range", "schema") and kind == "final" and fault != "schema": fault = None
            self._count(fault or "ok")
            if fault == "drop":
                h.close_connection = True
                try: h.connection.shutdown(socket.SHUT_RDWR)
                except OSError: pass
                return
            if fault == "429": return self._error(h, 429, {"Retry-After": self.retry_after}, "rate limited")
            if fault in ("500", "503"): return self._error(h, int(fault), None, "server error")
            if fault == "slow": time.sleep(self.slow_seconds)
            if kind == "final":
                content = json.dumps({"final_correctness_score": 1.0 if reference_final(gold, payload) else 0.0})
            else:
                grade = reference_process(gold, payload)
                if fault == "count": grade["evaluations"] = grade["evaluations"][:-1] or grade["evaluations"] * 2
                if fault == "range": grade["evaluations"][0].update(IQS=3.7, PS=-0.5)
                content = json.dumps(grade)
            if fault == "malformed": content = content[: len(content) // 2]
            if fault == "schema": content = json.dumps({"grades": "all fine", "depths": len(content)})
            self._reply(h, 200, {"id": "cmpl-local", "object": "chat.completion", "created": int(time.time()),
                                 "model": body.get("model"), "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": content}}],
                                 "usage": {"prompt_tokens": len(json.dumps(body)) // 4,
                                           "completion_tokens": len(content) // 4,
                                           "total_tokens": len(json.dumps(body)) // 4 + len(content) // 4}})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): nothing to answer
        finally:
            with self.lock: self.in_flight -= 1

    def _count(self, what):
        with self.lock: self.counts[what] += 1

    def _error(self, h, status, headers, msg):
        self._reply(h, status, {"error": {"message": msg, "type": "server_error", "code": status}}, headers)

    def _reply(self, h, status, obj, headers=None):
        data = json.dumps(obj).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items(): h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)


if __name__ == "__main__":  # standalone, for benchmarks: prints its base URL, serves until killed
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--fault-rate", type=float, default=0.0)
    args = ap.parse_args()
    srv = FakeOpenAI(latency=args.latency, fault_rate=args.fault_rate).start()
    print(srv.base_url, flush=True)
    threading.Event().wait()
