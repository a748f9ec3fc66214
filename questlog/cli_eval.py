"""`questlog eval …` and `questlog train …`: measuring and training the evidence steps."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from shared.errors import PermanentError

eval_app = typer.Typer(help="Measure retrieval and evidence quality on public benchmark formats.")
train_app = typer.Typer(help="Train the offline models.")
err = Console(stderr=True, soft_wrap=True)


class Bar:
    """One progress bar per stage, on stderr (stdout stays clean for --json)."""

    def __init__(self) -> None:
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=err, transient=False)
        self.tasks: dict[str, int] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(stage, total=total)
        self.progress.update(self.tasks[stage], completed=done, total=total)

    def __enter__(self) -> "Bar":
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(2)


@eval_app.command("retrieval")
def eval_retrieval(folder: Path, as_json: bool = typer.Option(False, "--json"),
                   split: str = typer.Option("test", help="Which qrels/<split>.tsv to score."),
                   keep_data: Path = typer.Option(None, help="Keep the ingested corpus in this data directory.")
                   ) -> None:
    """nDCG@10, recall@10 and recall@100 of the production retrieval on a BEIR-layout folder."""
    from questlog.evals.retrieval import evaluate

    try:
        with Bar() as bar:
            result = evaluate(folder, progress=bar, split=split, keep=keep_data)
    except PermanentError as e:
        _fail(str(e))
    if as_json:
        print(json.dumps({"default": result["default"], "components": result["components"]}))
        return
    err.print(f"{result['queries']} queries over {result['documents']} documents")
    for row in [result["default"], *result["components"]]:
        print(f"{row['retriever']:<28} nDCG@10 {row['ndcg@10']:.4f}  recall@10 {row['recall@10']:.4f}  "
              f"recall@100 {row['recall@100']:.4f}")


@eval_app.command("links")
def eval_links(folder: Path, as_json: bool = typer.Option(False, "--json"),
               split: str = typer.Option("test", help="Which qrels/<split>.tsv to score."),
               keep_data: Path = typer.Option(None, help="Keep the throwaway data directory here."),
               query_split: str = typer.Option(None, help="Only the queries of one split (train, tune or "
                                                          "validation), as the trainers cut them."),
               sample: int = typer.Option(None, help="Keep only N documents (a fixed choice): a small library "
                                                     "like a new user's."),
               new_library: bool = typer.Option(False, help="Ask the questions of an empty library, then ingest "
                                                            "every document after them, as a new user's library "
                                                            "grows (default: 9 in 10 before, 1 in 10 after).")
               ) -> None:
    """Precision and recall of the links the production linker records, against graded qrels."""
    from questlog.evals.links import evaluate_links

    if query_split not in (None, "train", "tune", "validation"):
        _fail(f"--query-split must be train, tune or validation; got {query_split!r}")
    try:
        with Bar() as bar:
            result = evaluate_links(folder, progress=bar, split=split, keep=keep_data, query_split=query_split,
                                         sample=sample, new_library=new_library)
    except PermanentError as e:
        _fail(str(e))
    if as_json:
        print(json.dumps(result))
        return
    err.print(f"{result['questions']} questions over {result['documents']} documents "
              f"({result['held_back_documents']} ingested after the questions)")
    print(f"links {result['links']}  precision {result['precision']:.3f} (strict {result['precision_strict']:.3f})  "
          f"recall {result['recall']:.3f} (any {result['recall_any']:.3f})  F1 {result['f1']:.3f}  "
          f"nDCG@10 {result['ndcg@10']:.3f}")
    for q in result["per_question"]:
        print(f"  {q['id']:<8} links {q['links']:>4}  P {q['precision']:.2f}  R {q['recall']:.2f}  "
              f"nDCG@10 {q['ndcg@10']:.2f}  {q['question'][:70]}")


@eval_app.command("feedback")
def eval_feedback(folder: Path, as_json: bool = typer.Option(False, "--json"),
                  labels: int = typer.Option(20, help="Verdicts the simulated user gives per question."),
                  candidates: int = typer.Option(100, help="Each retriever's top N read as candidates (the "
                                                           "linker reads 40; wider leaves more to re-rank)."),
                  split: str = typer.Option("test", help="Which qrels/<split>.tsv holds the verdicts."),
                  keep_data: Path = typer.Option(None, help="Keep the throwaway data directory here.")) -> None:
    """Precision@10 and recall after N simulated verdicts per question, with and without learning from them."""
    from questlog.evals.feedback import evaluate_feedback

    try:
        with Bar() as bar:
            result = evaluate_feedback(folder, progress=bar, split=split, labels=labels, candidates=candidates,
                                       keep=keep_data)
    except PermanentError as e:
        _fail(str(e))
    if as_json:
        print(json.dumps(result))
        return
    err.print(f"{result['questions']} questions, {result['labels']} verdicts each")
    for arm in ("with_learning", "without_learning", "same_verdicts"):
        print(f"{arm:<17} precision@10 {result[arm]['precision@10']:.3f}  recall {result[arm]['recall']:.3f}")


@eval_app.command("evidence")
def eval_evidence(file: Path, as_json: bool = typer.Option(False, "--json"),
                  split: str = typer.Option(None, help="Only one split of the file: train, tune or validation "
                                                       "(as the trainers split it, by query)."),
                  limit: int = typer.Option(None, help="Only the first N pairs.")) -> None:
    """Stance, answer and rationale scores of the linker's evidence judge on an evidence JSONL file."""
    from questlog.cli_common import settings as read_settings
    from questlog.evals.evidence import evaluate_pairs
    from shared.relevance import build_judge

    settings = read_settings()
    try:
        judge = build_judge(settings)
        with Bar() as bar:
            result = evaluate_pairs(judge, file, split=split, limit=limit,
                                    progress=lambda done, total: bar("judge pairs", done, total))
    except PermanentError as e:
        _fail(str(e))
    if as_json:
        print(json.dumps(result))
        return
    line = f"pairs {result['n']}  stance macro-F1 {result['stance_macro_f1']:.4f}  rationale F1 {result['rationale_f1']:.4f}"
    if "answer_macro_f1" in result:
        line += f"  answer macro-F1 {result['answer_macro_f1']:.4f} ({result['answer_pairs']} pairs)"
    print(line)
    for label, m in result["per_label"].items():
        print(f"  {label:<12} P {m['precision']:.3f}  R {m['recall']:.3f}  F1 {m['f1']:.3f}  n {m['support']}")


@train_app.command("evidence")
def train_evidence_cmd(out: Path = typer.Option(None, help="Where to write rules.json (default: the shipped "
                                                           "models/evidence folder)."),
                       work: Path = typer.Option(Path(".questlog/train-evidence"),
                                                 help="Where the training questions' corpus is ingested (kept, "
                                                      "so a second run skips the ingest)."),
                       others: int = typer.Option(7000, help="Background abstracts from the arXiv snapshot "
                                                             "ingested with the judged papers.")) -> None:
    """Learn the evidence judge's rules (gate, rationale, answer) from the research questions judged by
    reading, with their bars chosen out of fold (see docs/evidence.md). Reads ../shared/data."""
    import pickle

    from shared.relevance import DEFAULT_MODEL_DIR
    from training.candidate_rows import candidate_rows, training_questions
    from training.evidence_rules import learn

    try:
        rows_file = work / "candidate_rows.pkl"
        if rows_file.exists():
            rows = pickle.loads(rows_file.read_bytes())
        else:
            rows = candidate_rows(work / "data", others=others)
            rows_file.write_bytes(pickle.dumps(rows))
        _, queries, qrels = training_questions()
        by_text = {q["text"]: qrels.get(q["_id"], {}) for q in queries}
        ingested = work / "data" / "ingested"  # candidate_rows records the library's size there
        rules = learn(out or DEFAULT_MODEL_DIR, rows, by_text, progress=lambda m: err.print(m),
                      library_passages=int(ingested.read_text()) if ingested.exists() else None)
    except (OSError, PermanentError) as e:
        _fail(str(e))
    print(json.dumps(rules["report"], indent=2))


@train_app.command("stance")
def train_stance_cmd(out: Path = typer.Option(None, help="Where to write the model (default: the shipped "
                                                         "models/stance folder)."),
                     epochs: int = typer.Option(2), seed: int = typer.Option(13),
                     max_pairs: int = typer.Option(None, help="Cap on training pairs (for a quick run).")) -> None:
    """Train the stance and rationale cross-encoder reproducibly from the packaged MiniLM weights."""
    from shared.stance import DEFAULT_MODEL_DIR
    from training.stance import train_stance

    with Bar() as bar:
        metrics = train_stance(out or DEFAULT_MODEL_DIR, epochs=epochs, seed=seed, max_pairs=max_pairs,
                               progress=lambda p: bar(p.stage, p.done, p.total))
    print(json.dumps(metrics, indent=2))
