#!/usr/bin/env bash
# Build the service's image with podman and run one task end to end inside it (see README.md, "Docker").
# Steps: install podman/runc/mmdebstrap if missing (apt); a Debian trixie base (python3 3.13) made with mmdebstrap and
# cached under $IMAGE_CACHE; `podman build` with BASE_IMAGE set to it; then tests/image/run_task.py starts Redis and the
# scripted model on the host's loopback, the container with --network host, checks /healthz and /readyz, and runs a task.
# Each step prints how long it took. Run as root (rootful podman). Exit status 0 only when everything passed.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE_CACHE=${IMAGE_CACHE:-/var/cache/open-swe-image}
SUITE=${IMAGE_SUITE:-trixie}
BASE=localhost/open-swe-base:$SUITE
IMAGE=${IMAGE_TAG:-localhost/open-swe:test}
# The session may lack CAP_SYS_RESOURCE: the runtime cannot raise limits, so ask for no more than the hard limits (and
# 4096 processes: measured here, runc refused 65536 with "error setting rlimit type 6" though the hard limit was 96363).
NOFILE=$(ulimit -Hn); NPROC=$(ulimit -Hu)
[ "$NOFILE" = unlimited ] || [ "$NOFILE" -gt 65536 ] && NOFILE=65536
[ "$NPROC" = unlimited ] || [ "$NPROC" -gt 4096 ] && NPROC=4096
PODMAN=(podman --runtime runc)
LIMITS=(--ulimit "nofile=$NOFILE:$NOFILE" --ulimit "nproc=$NPROC:$NPROC")

step() { STEP_NAME=$1; STEP_START=$(date +%s.%N); echo "== $1" >&2; }
done_step() { printf 'step %-18s %6.1f s\n' "$STEP_NAME" "$(echo "$(date +%s.%N) - $STEP_START" | bc)"; }

step tools
missing=()
for tool in podman runc mmdebstrap bc; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
done_step

step base
if ! "${PODMAN[@]}" image exists "$BASE"; then
  mkdir -p "$IMAGE_CACHE"
  tarball=$IMAGE_CACHE/$SUITE-python3.tar
  if [ ! -s "$tarball" ]; then
    mmdebstrap --quiet --format=tar --variant=minbase --include=python3,python3-venv,ca-certificates "$SUITE" "$tarball.part"
    mv "$tarball.part" "$tarball"
  fi
  "${PODMAN[@]}" import --quiet "$tarball" "$BASE" >/dev/null
fi
done_step

step build
certs=()
[ -d /etc/ssl/certs ] && certs=(-v /etc/ssl/certs:/etc/ssl/certs:ro)
"${PODMAN[@]}" build --quiet --format docker --network host "${certs[@]}" "${LIMITS[@]}" \
  --build-arg BASE_IMAGE="$BASE" --build-arg UV_NATIVE_TLS=1 -t "$IMAGE" . >/dev/null
"${PODMAN[@]}" image prune -f >/dev/null  # the layers a rebuild left untagged: keeps the disk bounded
done_step

command -v uv >/dev/null || export PATH="$HOME/.local/bin:$PATH"
IMAGE="$IMAGE" PODMAN_ULIMITS="${LIMITS[*]}" uv run --frozen python -m tests.image.run_task
