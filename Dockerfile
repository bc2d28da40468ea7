# Carebot: the bot server with its models built into the image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    CAREBOT_PROJECT_DIR=/app \
    CAREBOT_MODELS_DIR=/app/models \
    CAREBOT_DATABASE_URL=sqlite:////data/carebot.db \
    CAREBOT_SPOOL_DIR=/data/spool

WORKDIR /app

# The CPU build of torch first, from PyTorch's CPU index: PyPI's default pulls CUDA (GBs).
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY nlp ./nlp
COPY analytics ./analytics
COPY actions ./actions
COPY domain.yml ./
COPY data ./data
RUN pip install .

# Models are built at image build time (never downloaded at run time): NLU, sentiment and
# the recommender, which learns from the demo shop's orders.
RUN useradd --create-home --uid 10001 carebot \
    && mkdir -p /data \
    && CAREBOT_DATABASE_URL=sqlite:////tmp/build.db carebot train --no-progress \
    && rm -f /tmp/build.db* \
    # no secret may be baked into the image: each container makes its own (or set
    # CAREBOT_SESSION_SECRET, the same on every container of one deployment)
    && rm -rf /app/.carebot \
    && chown -R carebot:carebot /app /data

USER carebot
VOLUME ["/data"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4).status == 200 else 1)"

# Seed the demo shop on first start (an empty /data volume), then serve.
CMD ["sh", "-c", "[ -f /data/carebot.db ] || carebot demo-data; exec carebot serve --host 0.0.0.0 --port 8080"]
