"""The evaluation harness behind `bench/eval.py`: a suite of real tasks, their environments, grading, and the
scripted oracle/noop models that prove the grading. See the README section "Evaluation"."""
