"""`questlog eval …` and `questlog train …`: measuring and training the evidence steps."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

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


@eval_app.command("evidence")
def eval_evidence(file: Path, as_json: bool = typer.Option(False, "--json"),
                  split: str = typer.Option(None, help="Only one split of the file: train, tune or validation "
                                                       "(as the stance trainer splits it by claim)."),
                  limit: int = typer.Option(None, help="Only the first N pairs.")) -> None:
    """Stance macro-F1 and rationale sentence F1 of the production stance step on an evidence JSONL file."""
    from shared.settings import Settings
    from shared.stance import make_judge
    from shared.stance.evaluate import evaluate_evidence

    settings = Settings()
    try:
        judge = make_judge(settings.stance, settings.llm)
        with Bar() as bar:
            result = evaluate_evidence(judge, file, split=split, limit=limit,
                                       progress=lambda done, total: bar("judge pairs", done, total))
    except PermanentError as e:
        _fail(str(e))
    if as_json:
        print(json.dumps(result))
        return
    print(f"pairs {result['n']}  stance macro-F1 {result['stance_macro_f1']:.4f}  "
          f"rationale F1 {result['rationale_f1']:.4f}")
    for label, m in result["per_label"].items():
        print(f"  {label:<12} P {m['precision']:.3f}  R {m['recall']:.3f}  F1 {m['f1']:.3f}  n {m['support']}")


@train_app.command("stance")
def train_stance_cmd(out: Path = typer.Option(None, help="Where to write the model (default: the shipped "
                                                         "models/stance folder)."),
                     epochs: int = typer.Option(2), seed: int = typer.Option(13),
                     max_pairs: int = typer.Option(None, help="Cap on training pairs (for a quick run).")) -> None:
    """Train the stance and rationale cross-encoder reproducibly from the packaged MiniLM weights."""
    from shared.stance import DEFAULT_MODEL_DIR
    from shared.stance.train import train_stance

    with Bar() as bar:
        metrics = train_stance(out or DEFAULT_MODEL_DIR, epochs=epochs, seed=seed, max_pairs=max_pairs,
                               progress=lambda p: bar(p.stage, p.done, p.total))
    print(json.dumps(metrics, indent=2))
