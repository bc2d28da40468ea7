# Carebot: the bot server with its models built into the image, in three stages.
#   deps    - a virtualenv (/opt/venv) with what serving needs: no torch, no transformers
#   models  - the same virtualenv plus torch and the [train] extra; `carebot train` builds the
#             base models (sentiment branch, exported to ONNX) and the demo shop's models
#   runtime - python:3.11-slim + the deps stage's virtualenv + the models: serves them on
#             ONNX Runtime; no torch, no compilers, no training data
# Build: docker build -t carebot .   Run: docker run -p 8080:8080 -v carebot-data:/data carebot

FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    CAREBOT_PROJECT_DIR=/app \
    CAREBOT_MODELS_DIR=/app/models \
    CAREBOT_BASE_MODELS_DIR=/app/models \
    CAREBOT_DATABASE_URL=sqlite:////data/carebot.db \
    CAREBOT_SPOOL_DIR=/data/spool

WORKDIR /app


# ---- deps: the serving virtualenv ----------------------------------------------------------
FROM base AS deps

# Compilers only here, in case a dependency has no wheel for the platform; the runtime stage
# copies /opt/venv alone.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*

COPY pyproject.toml README.md /src/
COPY bot /src/bot
COPY nlp /src/nlp
COPY analytics /src/analytics
COPY actions /src/actions
RUN python -m venv /opt/venv \
    && pip install --upgrade pip \
    && pip install /src \
    # the runtime must not carry the training stack (pyproject: the [train] extra)
    && python -c "import importlib.util as u, sys; bad = [m for m in ('torch', 'transformers', 'sentence_transformers') if u.find_spec(m)]; sys.exit(f'serving venv has {bad}' if bad else 0)"


# ---- models: train with torch --------------------------------------------------------------
FROM deps AS models

# The CPU build of torch first, from PyTorch's CPU index: PyPI's default pulls CUDA (GBs).
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
    && pip install '/src[train]'

# The demo shop (a Rasa project) the image serves.
COPY config.yml domain.yml carebot.yml endpoints.yml credentials.yml ./
COPY data ./data
COPY actions ./actions

# Models are built at image build time (never downloaded at run time): NLU, sentiment and
# the recommender, which learns from the demo shop's orders. The base models are exported to
# ONNX (nlu.onnx, nlu.int8.onnx, tokenizer.json) so that serving needs no torch.
RUN CAREBOT_DATABASE_URL=sqlite:////tmp/build.db carebot train --no-progress \
    && rm -f /tmp/build.db* \
    && test -f /app/models/nlu.int8.onnx -o -f /app/models/nlu.onnx \
    && test -f /app/models/tokenizer.json \
    # no secret may be baked into the image: each container makes its own (or set
    # CAREBOT_SESSION_SECRET, the same on every container of one deployment)
    && rm -rf /app/.carebot


# ---- runtime ------------------------------------------------------------------------------
FROM base AS runtime

COPY --from=deps /opt/venv /opt/venv
COPY config.yml domain.yml carebot.yml endpoints.yml credentials.yml ./
COPY data ./data
COPY actions ./actions
COPY --from=models /app/models ./models

RUN useradd --create-home --uid 10001 carebot \
    && mkdir -p /data \
    && chown -R carebot:carebot /app /data \
    # the models load here without torch, scikit-learn or SciPy (the serving path imports ONNX
    # Runtime, and the intent classifier's numpy serving form)
    && python -c "import sys; from nlp.pipeline import NLU; NLU.load('/app/models'); sys.exit(any(m in sys.modules for m in ('torch', 'sklearn', 'scipy')))"

USER carebot
VOLUME ["/data"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4).status == 200 else 1)"

# Seed the demo shop on first start (an empty /data volume), then serve.
CMD ["sh", "-c", "[ -f /data/carebot.db ] || carebot demo-data; exec carebot serve --host 0.0.0.0 --port 8080"]
