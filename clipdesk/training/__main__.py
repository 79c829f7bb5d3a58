"""``python -m clipdesk.training``: retrain, evaluate and ship tiny-shapes."""

from clipdesk.training.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
