"""Evaluation harness: runs a suite of real tasks through the real service (over REST) against any OpenAI-compatible
endpoint, grades each in a fresh copy, prints a table and one JSON object on its last line.

    python bench/eval.py --model gpt-4.1                           # OPENAI_API_KEY from the environment
    python bench/eval.py --base-url http://localhost:11434/v1 --model qwen2.5-coder:32b
    python bench/eval.py --policy oracle                           # scripted: must resolve every task
    python bench/eval.py --policy noop --tasks inflection-1,ms-1   # scripted: must resolve none

See the README section "Evaluation" and `python bench/eval.py --help`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

try:
    from bench.eval.cli import main
except ImportError as exc:  # a python without the project's dependencies
    sys.exit(f"error: {exc}; run it with the project's environment: .venv/bin/python bench/eval.py (or make eval)")

if __name__ == "__main__":
    sys.exit(main())
