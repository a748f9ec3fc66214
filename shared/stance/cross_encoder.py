"""The offline stance judge: a MiniLM cross-encoder that reads the query against each sentence.

Each (query, sentence) pair gets three probabilities (supports, contradicts, neutral).
A sentence's evidence score is 1 - P(neutral). The pair is neutral unless its strongest
sentence reaches `evidence_threshold`; then the stance is that sentence's likelier of
supports / contradicts, and the rationale is every sentence that reaches
`rationale_threshold` (at least the strongest one). Both thresholds were tuned at
training time on a tuning split and live in meta.json. (Taking the stance from the
probability mass over all rationale sentences instead did worse on the tuning split,
most on PubMedQA, where many sentences lean one way and the conclusion the other.)

Weights are stored as fp16 safetensors and converted to fp32 on load. torch and
transformers are imported inside functions, so importing this module (for
`split_sentences`, say) stays cheap.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from shared.errors import PermanentError
from shared.stance.base import DEFAULT_MODEL_DIR, STANCES, Judgement, StanceSettings

WEIGHTS_FILE = "model.safetensors"
META_FILE = "meta.json"

# Words that end in a period without ending a sentence (compared lower-cased, period stripped).
_ABBREVIATIONS = frozenset(
    "al e.g i.e eg ie vs cf fig figs eq eqs ref refs no nos approx ca dr prof mr mrs ms st resp "
    "incl viz vol pp sp spp jan feb mar apr jun jul aug sep sept oct nov dec inc ltd co corp".split()
)
_CANDIDATE = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*(?=\s)")
# Next sentence: a capital, a digit, an opening quote or bracket, or a symbol that starts lower-case
# but has a capital or digit inside (gene and assay names: "p62", "mtDNA", "miR-193a", "cDNA").
_NEXT_STARTS = re.compile(r"\s+(?:[\"'\u201c\u2018(\[]?[A-Z0-9]|[a-z]+[A-Z0-9])")
_BLANK_LINE = re.compile(r"\n\s*\n")
_ACRONYM = re.compile(r"(?:[a-z]\.)+[a-z]")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans (start, end) of the sentences of `text`, in order, whitespace trimmed.

    Splits after '.', '!' or '?' when whitespace and then an upper-case letter, a digit, an
    opening quote or bracket, or a lower-case symbol name ("mtDNA", "p62") follow, and always
    at blank lines. It does not split
    after abbreviations ("e.g.", "et al.", "Fig."), single initials ("J. Smith"), dotted
    acronyms ("U.S."), nor inside decimals ("2.5 mg"), which have no whitespace.
    """
    cuts: list[int] = []
    for m in _CANDIDATE.finditer(text):
        if not _NEXT_STARTS.match(text, m.end()):
            continue
        word = re.search(r"(\S*)$", text[: m.start()]).group(1)
        bare = word.strip("(\"'[])").lower()
        if m.group().startswith(".") and word[-1:].isalpha() and (
            bare in _ABBREVIATIONS or (len(bare) == 1 and bare.isalpha()) or _ACRONYM.fullmatch(bare)
        ):
            continue
        cuts.append(m.end())
    cuts.extend(m.start() for m in _BLANK_LINE.finditer(text))
    spans, start = [], 0
    for end in [*sorted(set(cuts)), len(text)]:
        piece = text[start:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            spans.append((start + lead, start + len(piece.rstrip())))
        start = end
    return spans


def sentences_of(text: str) -> list[str]:
    """The sentences of `text` as strings (see `split_sentences`)."""
    return [text[a:b] for a, b in split_sentences(text)]


def decide(
    probs: list[list[float]], evidence_threshold: float, rationale_threshold: float, model: str = ""
) -> Judgement:
    """Turn per-sentence (supports, contradicts, neutral) probabilities into a Judgement."""
    evidence = [1.0 - p[2] for p in probs]
    if not probs or max(evidence) < evidence_threshold:
        return Judgement("neutral", 1.0 - max(evidence, default=0.0), [], evidence, model)
    best = max(range(len(probs)), key=evidence.__getitem__)
    rationale = sorted({best, *(i for i, e in enumerate(evidence) if e >= rationale_threshold)})
    k = 0 if probs[best][0] >= probs[best][1] else 1
    return Judgement(STANCES[k], probs[best][k], rationale, evidence, model)


# ---- torch side: shared with training.stance -------------------------------------------


def build_model(base_path: Path):
    """(tokenizer, encoder, head) from a sentence-transformers / BERT folder, head freshly initialised."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(base_path))
    encoder = AutoModel.from_pretrained(str(base_path), add_pooling_layer=False)
    head = torch.nn.Linear(encoder.config.hidden_size, len(STANCES))
    return tokenizer, encoder, head


def tokenize(tokenizer, pairs: list[tuple[str, str]], max_length: int):
    return tokenizer(
        [q for q, _ in pairs], [s for _, s in pairs], truncation=True, max_length=max_length,
        padding=True, return_tensors="pt",
    )


def logits_of(encoder, head, batch):
    """Mean-pooled encoder states through the linear head: (batch, 3) logits."""
    hidden = encoder(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
    return head(pooled.float())


def save_model(out_dir: Path, tokenizer, encoder, head, meta: dict[str, Any]) -> None:
    """Weights as one fp16 safetensors file (encoder.* and head.*), config, tokenizer, meta.json."""
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    tensors = {f"encoder.{k}": v for k, v in encoder.state_dict().items()}
    tensors |= {f"head.{k}": v for k, v in head.state_dict().items()}
    save_file({k: v.detach().to("cpu").half().contiguous() for k, v in tensors.items()}, str(out_dir / WEIGHTS_FILE))
    encoder.config.save_pretrained(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))
    write_meta(out_dir, meta)


def write_meta(out_dir: Path, meta: dict[str, Any]) -> None:
    (out_dir / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


def load_model(model_dir: Path):
    """(tokenizer, encoder, head) from a folder written by `save_model`, in fp32, eval mode."""
    import torch
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    tensors = {k: v.float() for k, v in load_file(str(model_dir / WEIGHTS_FILE)).items()}
    config = AutoConfig.from_pretrained(str(model_dir))
    encoder = AutoModel.from_config(config, add_pooling_layer=False)
    encoder.load_state_dict({k[8:]: v for k, v in tensors.items() if k.startswith("encoder.")})
    head = torch.nn.Linear(config.hidden_size, len(STANCES))
    head.load_state_dict({k[5:]: v for k, v in tensors.items() if k.startswith("head.")})
    encoder.float().eval()
    head.float().eval()
    return AutoTokenizer.from_pretrained(str(model_dir)), encoder, head


class CrossEncoderJudge:
    """The shipped cross-encoder as a StanceJudge. Cheap to construct; weights load on first use.

    Raises PermanentError when the model folder or its meta.json is missing.
    """

    def __init__(
        self,
        model_dir: Path | None = None,
        *,
        batch_size: int = 32,
        threads: int | None = None,
        evidence_threshold: float | None = None,
        rationale_threshold: float | None = None,
        bf16: bool = False,
    ):
        self.bf16 = bf16  # CPU bf16 autocast (a CPU with native bf16); the thresholds were tuned in fp32
        self.model_dir = Path(model_dir or DEFAULT_MODEL_DIR)
        try:
            self.meta = json.loads((self.model_dir / META_FILE).read_text())
        except (OSError, ValueError) as e:
            raise PermanentError(f"no usable stance model in {self.model_dir}: {e}") from e
        self.batch_size = batch_size
        self.threads = threads
        self.max_length = int(self.meta["max_length"])
        self.evidence_threshold = evidence_threshold if evidence_threshold is not None else self.meta["evidence_threshold"]
        self.rationale_threshold = (
            rationale_threshold if rationale_threshold is not None else self.meta["rationale_threshold"]
        )
        self.name = f"cross-encoder:{self.meta['name']}"
        self._model = None

    @classmethod
    def from_settings(cls, settings: StanceSettings) -> CrossEncoderJudge:
        return cls(
            settings.model_dir, batch_size=settings.batch_size, threads=settings.threads,
            evidence_threshold=settings.evidence_threshold, rationale_threshold=settings.rationale_threshold,
        )

    def warm(self) -> None:
        """Load the weights and run one small judgement now, so the first real one pays for neither."""
        self._loaded()
        self.sentence_probs([("warm-up query", "A warm-up sentence.")])

    def _loaded(self):
        if self._model is None:
            import torch

            if self.threads:
                torch.set_num_threads(self.threads)
            self._model = load_model(self.model_dir)
        return self._model

    def sentence_probs(self, pairs: list[tuple[str, str]]) -> list[list[float]]:
        """(supports, contradicts, neutral) probabilities for each (query, sentence) pair, in order."""
        import torch

        tokenizer, encoder, head = self._loaded()
        # Longest first, so each batch pads to similar lengths.
        order = sorted(range(len(pairs)), key=lambda i: -len(pairs[i][0]) - len(pairs[i][1]))
        out: list[list[float]] = [[]] * len(pairs)
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            for at in range(0, len(order), self.batch_size):
                idx = order[at : at + self.batch_size]
                batch = tokenize(tokenizer, [pairs[i] for i in idx], self.max_length)
                probs = torch.softmax(logits_of(encoder, head, batch).float(), dim=-1).tolist()
                for i, p in zip(idx, probs, strict=True):
                    out[i] = p
        return out

    def judge(self, query: str, sentences: list[str]) -> Judgement:
        return self.judge_many([(query, sentences)])[0]

    def judge_many(self, pairs: list[tuple[str, list[str]]]) -> list[Judgement]:
        flat = [(q, s) for q, sents in pairs for s in sents]
        probs = self.sentence_probs(flat)
        judgements, at = [], 0
        for _, sents in pairs:
            judgements.append(
                decide(probs[at : at + len(sents)], self.evidence_threshold, self.rationale_threshold, self.name)
            )
            at += len(sents)
        return judgements
