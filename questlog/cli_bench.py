"""`questlog bench ...`: speed and memory benchmarks; each prints one JSON object on stdout, progress on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from questlog.cli_common import err, fail

bench_app = typer.Typer(help="Benchmarks (print JSON).")


@bench_app.command("ingest")
def bench_ingest(papers: int = typer.Option(300, "--papers"), as_json: bool = typer.Option(True, "--json")) -> None:
    """Push N snapshot papers through the whole pipeline and time it against raw encode."""
    from questlog.bench import bench_ingest as run

    print(json.dumps(run(papers, progress=lambda m: err.print(m))))


@bench_app.command("backfill")
def bench_backfill(papers: int = typer.Option(20000, "--papers"),
                   corpus: Path = typer.Option(None, "--corpus", help="ML Anthology papers folder (default: "
                                                                      "../shared/data/mlanthology/papers)."),
                   ledger_url: str = typer.Option(None, "--ledger-url", help="A PostgreSQL ledger instead of "
                                                                              "SQLite (scale-out)."),
                   as_json: bool = typer.Option(True, "--json")) -> None:
    """N real ML papers through the pipeline, then a question's backfill over them and search latency."""
    from questlog.bench_backfill import bench_backfill as run

    folder = corpus or Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mlanthology" / "papers"
    if not folder.is_dir():
        fail(f"no ML Anthology papers at {folder}; pass --corpus DIR")
    if papers < 128:
        fail("--papers must be at least 128")
    print(json.dumps(run(folder, papers, ledger_url, progress=lambda m: err.print(m))))


@bench_app.command("chaos")
def bench_chaos(papers: int = typer.Option(300, "--papers"),
                seed: int = typer.Option(1, "--seed", help="Seeds when each fault strikes."),
                no_aof: bool = typer.Option(False, "--no-aof", help="Redis keeps nothing: it comes back empty."),
                keep: bool = typer.Option(False, "--keep", help="Keep both runs' data directories (logs)."),
                as_json: bool = typer.Option(True, "--json")) -> None:
    """Kill the embed, vector and io workers, beat and Redis during an ingest; compare with a fault-free run."""
    from questlog.bench_chaos import bench_chaos as run

    print(json.dumps(run(papers, seed=seed, aof=not no_aof, keep=keep, progress=lambda m: err.print(m))))


@bench_app.command("read")
def bench_read(pdfs: Path = typer.Option(None, "--pdfs", help="Folder of PDFs to read (default: the test PDFs "
                                                               "in ../shared/data/fulltext beside the repository)."),
               as_json: bool = typer.Option(True, "--json")) -> None:
    """Full text against abstract only: PDF pages/s, passages per paper, papers/s through reader + embed."""
    from questlog.bench_read import bench_read as run

    folder = pdfs or Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fulltext"
    if not folder.is_dir():
        fail(f"no folder of PDFs at {folder}; pass --pdfs DIR")
    print(json.dumps(run(folder, progress=lambda m: err.print(m))))
