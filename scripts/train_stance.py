"""Train the stance cross-encoder into models/stance/ (48 min measured on 2 shared CPU cores).

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/train_stance.py [--out models/stance] [--seed 13] [--epochs 2]

Prints progress to stderr and the final meta.json (metrics included) as JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from training.stance import DEFAULT_DATA, TrainProgress, train_stance  # noqa: E402


def show(p: TrainProgress) -> None:
    loss = f" loss {p.loss:.4f}" if p.loss is not None else ""
    print(f"{p.stage} {p.done}/{p.total}{loss}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("models/stance"))
    parser.add_argument("--data", type=Path, nargs="+", default=list(DEFAULT_DATA), help="evidence JSONL files")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-pairs", type=int, default=None, help="train pairs per file (quick runs)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-bf16", action="store_true", help="train in plain fp32 (about 3x slower)")
    args = parser.parse_args()
    meta = train_stance(
        args.out, data_paths=args.data, seed=args.seed, epochs=args.epochs, max_pairs=args.max_pairs,
        threads=args.threads, bf16=not args.no_bf16, progress=show,
    )
    print(json.dumps(meta, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
