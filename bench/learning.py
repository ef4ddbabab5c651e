"""The miniature Table 3 (`lsrl table3`'s defaults): RL-Outcome and LSRL from the shipped tiny Huginn on tiny-hard,
three seeds each, scored with the start model on 200 held-out problems at depths 1..32. About 45 minutes on 2 CPU
cores; finished runs in the output folder are reused. `--reuse` takes the folder's learning.json as it is (after
`lsrl table3 --out OUT`) instead of scoring again.

Run: python bench/learning.py [OUT=runs/table3] [--reuse]  -> bench/results/learning.json"""
import json, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from common import write
from lsrl.learning import table3, table_markdown


def train_seconds(folder) -> float:
    "A run's training time: the sum of its updates' wall times (metrics.jsonl)."
    lines = (Path(folder) / "metrics.jsonl").read_text().splitlines()
    return round(sum(json.loads(line)["time_total"] for line in lines), 1)


def main(out: str = "runs/table3", reuse: bool = False) -> Path:
    result = json.loads((Path(out) / "learning.json").read_text()) if reuse else table3(out, jobs=3)
    print(table_markdown(result))
    keep = ("task", "n", "seeds", "rows", "depth", "deep", "gflops_per_token", "curves", "train", "settings")
    runs = {m: {Path(f).name: train_seconds(f) for f in fs} for m, fs in result["runs"].items()}
    return write("learning", json.loads(json.dumps({k: result[k] for k in keep} | dict(train_s=runs), default=str)))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--reuse"]
    print(main(*args[:1], reuse="--reuse" in sys.argv))
